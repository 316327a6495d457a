/**
 * The three commands. Each reads and checks all of its inputs before it computes or writes anything,
 * and returns either a summary (printed as one JSON object with `--json`) or a `CliError`.
 *
 * `train` never loses the resumable state: the checkpoint is written atomically (after every epoch,
 * every `--checkpoint-every` steps, at the end, and when SIGINT/SIGTERM stops training), a NaN/Infinity
 * stop saves the last good state to its own file, and a checkpoint that cannot be written stops
 * training with the previous one intact. Where it writes is probed before any data is read.
 *
 * @internal
 */
import { randomBytes } from 'node:crypto'
import { readdirSync, unlinkSync } from 'node:fs'
import { lstat, mkdir, open, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import * as Checkpoint from '../checkpoint/index.ts'
import { readCheckpoint, writeCheckpoint } from '../checkpoint/file.ts'
import { loadLabelledIdx } from '../data/mnist.ts'
import * as Data from '../data/index.ts'
import type { OptState } from '../optim/Transform.ts'
import * as Random from '../random/Key.ts'
import * as Spec from '../spec/index.ts'
import { type Callback, type CallbackError, type FitResult, type Progress, fit } from '../train/fit.ts'
import { type EpochMetrics, type NonFiniteError, type TrainState, evaluate, predictLabels, stepsPerEpoch } from '../train/step.ts'
import type { Tree } from '../tree/Tree.ts'
import { writeReport } from '../viz/report.ts'
import { fsReason } from '../io/fsReason.ts'
import { type CliError, input, usage } from './errors.ts'
import { checkFits, checkTrainingBatches, loadCheckpoint, loadData, loadExamples, loadSpec, restoreInto } from './load.ts'
import { CHECKPOINT_NAME, NAN_STOP_NAME, type Change, compareSpecs, show, withScheduledRate } from './resume.ts'

/** The signals that stop training gracefully. @internal */
export type StopSignal = 'SIGINT' | 'SIGTERM'

/**
 * How signals reach a command (`main.ts` connects them to the process). While `catching` is on, a
 * first SIGINT/SIGTERM is only recorded — the command polls `requested` after every training step,
 * saves and stops — and the process is not ended; otherwise, and at a second signal, it exits at
 * once after running the cleanups registered with `atForcedExit`.
 * @internal
 */
export interface Signals {
  readonly requested: () => StopSignal | undefined
  readonly catching: (on: boolean) => void
  /** Registers a synchronous cleanup (e.g. removing temporary files) for an exit at once; returns its removal. */
  readonly atForcedExit: (cleanup: () => void) => () => void
}

/** Where a command writes: stdout and stderr lines, and the stream the trainer draws progress on. @internal */
export interface Io {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** Progress of `Train.fit` (e.g. `progressBar(process.stderr)`); `false` for none. */
  readonly progress: Progress | false
  /** SIGINT/SIGTERM; absent: training is never stopped by a signal. */
  readonly signals?: Signals
}

/** What a command reports: printed as JSON with `--json`. @internal */
export type Summary = Readonly<Record<string, unknown>>

type Flags = Readonly<Record<string, string | boolean | undefined>>

type State = TrainState<Tree, Tree, OptState>

const EVAL_BATCH = 1000

/** The width of the images `Viz.writeReport` draws (28×28 digits). */
const MNIST_PIXELS = 784

/** Exit codes of a stop by signal: 128 + the signal's number. */
const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 }

/** At most this long (ms) between two turns of the event loop during training, so a signal is seen. */
const SIGNAL_POLL_MS = 50

/** Human-readable lines go to stdout, or to stderr when stdout is reserved for the JSON object. */
const say = (io: Io, json: boolean) => (line: string): void => (json ? io.stderr(`${line}\n`) : io.stdout(`${line}\n`))

const percent = (error: number): string => `${(100 * (1 - error)).toFixed(2)} %`

/** `1 epoch`, `2 epochs`: a count with its noun, singular for exactly one. @internal */
export const count = (n: number, noun: string, plural = `${noun}s`): string => `${n} ${n === 1 ? noun : plural}`

const evaluateOn = (built: Spec.Built, state: State, d: Data.Dataset): EpochMetrics =>
  evaluate(built.network, built.loss, state.params, state.layerState, Data.batches(d, EVAL_BATCH))

/** `examples/seed.spec.json` → `seed`: the default name of the output folder. */
const specName = (file: string): string => basename(file).replace(/\.json$/i, '').replace(/\.spec$/i, '') || 'run'

const errorCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined

/** Why a file operation failed, in words, with the system's code to search for: `the file system is read-only (EROFS)`. */
const fsCause = (e: unknown): string => {
  const code = errorCode(e)
  return code === undefined ? fsReason(e) : `${fsReason(e)} (${code})`
}

/** A path as a shell reads it back: bare when it is safe, else in single quotes. */
const shellWord = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** Writes a checkpoint of `state` (creating the folder first); the write itself is atomic. */
const save = (file: string, state: State, spec: Spec.Spec): TE.TaskEither<CliError, string> =>
  pipe(
    TE.tryCatch(
      () => mkdir(dirname(file), { recursive: true }),
      (e) => input(`cannot create the output folder for ${file}: ${fsCause(e)}`)
    ),
    TE.chain(() => pipe(writeCheckpoint(file, Checkpoint.make(state, spec)), TE.mapLeft((e) => input(e.message.includes(file) ? e.message : `${file}: ${e.message}`)))),
    TE.map(() => file)
  )

// train: checks before work

/** Where a run writes, and the checkpoint files in it. */
interface Paths {
  readonly outDir: string
  readonly checkpoint: string
  readonly nanStop: string
}

/**
 * Finds out, before any data is read, whether training could write its results: `--out` must be a
 * folder or not exist yet, the nearest folder that exists must take a new file (a temporary file is
 * created and removed there, so a read-only file system, a missing permission or a file in the way is
 * named now, not after the first epoch), and the checkpoint paths must not be folders. Creates nothing.
 */
const probeOut = (paths: Paths): TE.TaskEither<CliError, void> => async () => {
  const { outDir } = paths
  // The folder itself, or the nearest ancestor that exists: the one the folder would be created in.
  let dir = resolve(outDir)
  for (;;) {
    const found = await stat(dir).then(
      (s) => ({ ok: true as const, s }),
      (e: unknown) => ({ ok: false as const, e })
    )
    if (found.ok) {
      if (found.s.isDirectory()) break
      return E.left(
        input(dir === resolve(outDir) ? `--out ${outDir} is a file, expected a folder (or a path that does not exist yet)` : `--out ${outDir}: cannot create the folder there: ${dir} is a file, not a folder`)
      )
    }
    const code = errorCode(found.e)
    const parent = dirname(dir)
    // Missing (or a file in the way, found when the walk reaches it): look one level up.
    if ((code === 'ENOENT' || code === 'ENOTDIR') && parent !== dir) {
      dir = parent
      continue
    }
    return E.left(input(`--out ${outDir}: cannot look at ${dir}: ${fsCause(found.e)}`))
  }
  const probe = join(dir, `.nn-ts-probe-${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  try {
    const handle = await open(probe, 'wx')
    await handle.close()
  } catch (e) {
    const what = dir === resolve(outDir) ? 'cannot write in it' : `cannot create it in ${dir}`
    return E.left(input(`--out ${outDir}: ${what}: ${fsCause(e)}; training would run and then fail to save`))
  } finally {
    await unlink(probe).catch(() => undefined)
  }
  for (const file of [paths.checkpoint, paths.nanStop]) {
    const found = await lstat(file).catch(() => undefined)
    if (found?.isDirectory() === true) return E.left(input(`${file} is a directory, expected a checkpoint file there (or nothing): training would run and then fail to save`))
  }
  return E.right(undefined)
}

/** `--checkpoint-every N`: a positive whole number of steps. */
const checkpointEvery = (flags: Flags): E.Either<CliError, number | undefined> => {
  const v = flags['checkpoint-every']
  if (v === undefined || typeof v === 'boolean') return E.right(undefined)
  const n = Number(v)
  return /^\s*[0-9]+\s*$/.test(v) && Number.isSafeInteger(n) && n >= 1
    ? E.right(n)
    : E.left(usage(`--checkpoint-every expects a positive whole number of steps, found ${JSON.stringify(v)}`))
}

// train: resume

/** A checkpoint restored to go on with the spec given now. */
interface Resumed {
  readonly state: State
  /** What changed and applies, said once before training. */
  readonly notes: ReadonlyArray<string>
}

const describeChange = (c: Change): string => `${c.field} ${show(c.now)} (the checkpoint was trained with ${show(c.was)})`

/**
 * A checkpoint to continue from, at any step, with the spec given now: every field that differs
 * from the checkpoint's spec applies (and is listed in `notes`) or is refused, naming the field and
 * both values (`resumeRules`). The learning rate the spec gives for the resumed step replaces the one
 * in the optimizer's state, where the optimizer keeps it.
 */
const resumeFrom = (file: string, specFile: string, spec: Spec.Spec, built: Spec.Built): TE.TaskEither<CliError, Resumed> =>
  pipe(
    readCheckpoint(file),
    TE.mapLeft((e) => input(e.message.includes(file) ? e.message : `${file}: ${e.message}`)),
    TE.chainEitherK((c) => {
      const stored = Spec.decode(c.spec)
      const restored = restoreInto(file, built, c)
      const notes: string[] = []
      if (E.isLeft(stored)) {
        notes.push(`note: ${file} stores no spec nn-ts can read (${stored.left.message}), so the spec's settings are taken as they are`)
      } else {
        const verdict = compareSpecs(stored.right as unknown as Readonly<Record<string, unknown>>, spec as unknown as Readonly<Record<string, unknown>>)
        if (verdict.refused.length > 0) {
          const lines = verdict.refused.map((c) => `  ${c.field} is ${show(c.now)} in ${specFile}, but ${show(c.was)} in the checkpoint: ${c.why}`)
          // The restore's own complaint (a shape that does not fit), when there is one, says what it means for the params.
          const fit = E.isLeft(restored) ? [`  (${restored.left.message})`] : []
          return E.left(
            input(
              `cannot resume ${file} with ${specFile}: ${verdict.refused.length === 1 ? 'a field differs' : `${verdict.refused.length} fields differ`} that a resumed run cannot change:\n${[...lines, ...fit].join('\n')}\n` +
                `Use the checkpoint's values for ${verdict.refused.length === 1 ? 'it' : 'them'}, or start a new run without --resume (see \`nn-ts train --help\`).`
            )
          )
        }
        for (const change of verdict.applied) notes.push(`resuming with ${describeChange(change)}: ${change.why}`)
      }
      return pipe(
        restored,
        E.map((state): Resumed => {
          const rate = withScheduledRate(built.optimizer, state.optState)
          if (rate.was !== undefined && rate.now !== undefined && !Object.is(rate.was, rate.now)) {
            notes.push(`the learning rate from step ${state.step} on is ${rate.now} as the spec gives it (the checkpoint's optimizer would have gone on with ${rate.was})`)
          }
          return { state: { ...state, optState: rate.optState }, notes }
        })
      )
    })
  )

// train: the plan

interface Plan {
  readonly specFile: string
  readonly spec: Spec.Spec
  readonly built: Spec.Built
  readonly train: Data.Dataset
  readonly validation?: Data.Dataset
  readonly test?: Data.Dataset
  readonly initial?: State
  readonly resumeNotes: ReadonlyArray<string>
  readonly epochs: number
  readonly paths: Paths
  readonly checkpointEvery?: number
}

/** Everything `train` needs, read and checked; nothing has been written yet. */
const plan = (flags: Flags): TE.TaskEither<CliError, Plan> => {
  const specFile = flags['spec'] as string
  const outDir = typeof flags['out'] === 'string' ? flags['out'] : join('out', specName(specFile))
  const paths: Paths = { outDir, checkpoint: join(outDir, CHECKPOINT_NAME), nanStop: join(outDir, NAN_STOP_NAME) }
  return pipe(
    TE.Do,
    TE.bind('every', () => TE.fromEither(checkpointEvery(flags))),
    TE.chainFirst(() => probeOut(paths)),
    TE.bind('spec', () => loadSpec(specFile)),
    TE.bind('data', ({ spec }) => loadData(spec)),
    TE.bind('train', ({ spec, data }) => TE.fromEither(checkFits(spec, data.train, data.source))),
    TE.bind('test', ({ spec, data }) => (data.test === undefined ? TE.right(undefined) : TE.fromEither(checkFits(spec, data.test, `${data.source} (test set)`)))),
    TE.bind('parts', ({ spec, train }) => {
      const { validationSize, seed } = spec.training
      const v = validationSize ?? 0
      if (v >= Data.size(train)) {
        return TE.left(input(`${specFile}: training.validationSize is ${v}, but the training data has only ${count(Data.size(train), 'example')}; expected fewer than ${Data.size(train)}`))
      }
      // The same split as examples/mnist.ts: the seed decides which rows validate.
      return TE.right(v === 0 ? { train, validation: undefined } : Data.split(train, v, Random.key(seed ?? 0)))
    }),
    // BatchNorm cannot train on a last batch of one row: refused now, with batch sizes that work.
    TE.chainFirst(({ spec, parts }) => TE.fromEither(checkTrainingBatches(spec, Data.size(parts.train), specFile))),
    // The training size fixes the horizon of a cosine schedule without `steps`.
    TE.bind('built', ({ spec, parts }) => TE.right(Spec.build(spec, { trainSize: Data.size(parts.train) }))),
    TE.bind('resumed', ({ spec, built }) => (typeof flags['resume'] === 'string' ? resumeFrom(flags['resume'], specFile, spec, built) : TE.right(undefined))),
    TE.map(({ every, spec, built, parts, test, resumed }): Plan => ({
      specFile,
      spec,
      built,
      train: parts.train,
      ...(parts.validation === undefined ? {} : { validation: parts.validation }),
      ...(test === undefined ? {} : { test }),
      ...(resumed === undefined ? {} : { initial: resumed.state }),
      resumeNotes: resumed?.notes ?? [],
      // Resuming continues to the spec's epochs, so an interrupted run ends where it would have.
      epochs: built.training.epochs,
      paths,
      ...(every === undefined ? {} : { checkpointEvery: every })
    }))
  )
}

// train: running

/** The checkpoint written last by this run. */
interface Saved {
  readonly file: string
  readonly step: number
}

/** Why training ended before its last epoch, as the CLI handles it (after saving what can be saved). */
type Stop =
  | { readonly kind: 'nonFinite'; readonly error: NonFiniteError; readonly state: State }
  | { readonly kind: 'failed'; readonly error: CliError; readonly state: State }

/** The command that continues this run from `checkpoint`, with the flags it was started with. */
const resumeCommand = (p: Plan, flags: Flags, checkpoint: string): string =>
  [
    'nn-ts train',
    `--spec ${shellWord(p.specFile)}`,
    `--resume ${shellWord(checkpoint)}`,
    `--out ${shellWord(p.paths.outDir)}`,
    ...(p.checkpointEvery === undefined ? [] : [`--checkpoint-every ${p.checkpointEvery}`]),
    ...(flags['no-pictures'] === true ? ['--no-pictures'] : []),
    ...(flags['json'] === true ? ['--json'] : [])
  ].join(' ')

/** Where step `step` sits: `epoch 2, step 13 of 24`. */
const position = (p: Plan, step: number): string => {
  const per = stepsPerEpoch(Data.size(p.train), p.built.training.batchSize)
  const epoch = Math.floor(step / per)
  return step % per === 0 ? `the end of epoch ${epoch}` : `epoch ${epoch + 1}, step ${step % per} of ${per}`
}

/** `nn-ts train`. @internal */
export const train = (flags: Flags, json: boolean, io: Io): TE.TaskEither<CliError, Summary> => {
  const log = say(io, json)
  return pipe(
    plan(flags),
    TE.chainFirstIOK((p) => () => {
      const sizes = [count(Data.size(p.train), 'training example'), p.validation === undefined ? undefined : `${Data.size(p.validation)} validation`, p.test === undefined ? undefined : `${Data.size(p.test)} test`]
      log(`${p.spec.name ?? flags['spec']}: ${p.built.network.name}`)
      log(
        `${sizes.filter((s) => s !== undefined).join(' / ')}; ${count(p.epochs, 'epoch')}${p.initial === undefined ? '' : ` (resuming at step ${p.initial.step}, ${position(p, p.initial.step)})`}, batch ${p.built.training.batchSize}, seed ${p.built.training.seed}` +
          (p.checkpointEvery === undefined ? '' : `, a checkpoint every ${count(p.checkpointEvery, 'step')}`)
      )
      for (const note of p.resumeNotes) log(note)
    }),
    TE.chain((p) => trainPlanned(p, flags, io, log))
  )
}

/** Removes the temporary files this process may have left in `dir` (at an exit at once: a write cut short). */
const removeOwnTempFiles = (dir: string): void => {
  // Every writer here names its temporary files `<name>.<pid>.tmp` or `<name>.<pid>-<8 hex digits>.tmp`.
  const own = new RegExp(`\\.${process.pid}(-[0-9a-f]{8})?\\.tmp$`)
  let names: string[] = []
  try {
    names = readdirSync(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (!own.test(name)) continue
    try {
      unlinkSync(join(dir, name))
    } catch {
      // Best effort: the process is exiting.
    }
  }
}

const trainPlanned = (p: Plan, flags: Flags, io: Io, log: (line: string) => void): TE.TaskEither<CliError, Summary> => {
  const signals = io.signals
  let saved: Saved | undefined
  /** Saves `state` to the checkpoint unless this run already saved that step there. */
  const checkpoint = (state: State): TE.TaskEither<CliError, string> =>
    saved !== undefined && saved.step === state.step
      ? TE.right(saved.file)
      : pipe(
          save(p.paths.checkpoint, state, p.spec),
          TE.map((file) => {
            saved = { file, step: state.step }
            return file
          })
        )
  const asCallbackError = (e: CliError): CallbackError => ({ _tag: 'CallbackError', callback: 'checkpoint', message: e.message })
  const callbacks: Callback[] = [
    ...(p.checkpointEvery === undefined
      ? []
      : [
          {
            name: 'checkpointEvery',
            onStep: ({ state }) => (state.step % (p.checkpointEvery as number) === 0 ? pipe(checkpoint(state), TE.bimap(asCallbackError, () => 'continue' as const)) : TE.right('continue' as const))
          } satisfies Callback
        ]),
    { name: 'checkpoint', onEpoch: ({ state }) => pipe(checkpoint(state), TE.bimap(asCallbackError, () => 'continue' as const)) },
    ...(signals === undefined ? [] : [signalWatch(signals)])
  ]
  let stopCleanup: (() => void) | undefined
  const start: TE.TaskEither<never, void> = TE.fromIO(() => {
    stopCleanup = signals?.atForcedExit(() => removeOwnTempFiles(p.paths.outDir))
    signals?.catching(true)
  })
  const end = <A>(t: TE.TaskEither<CliError, A>): TE.TaskEither<CliError, A> => async () => {
    const r = await t()
    signals?.catching(false)
    return r
  }
  return pipe(
    start,
    TE.chain(() =>
      end(
        pipe(
          runFit(p, callbacks, io),
          TE.orElse((stop): TE.TaskEither<CliError, FitResult<Tree, Tree, OptState>> => stopped(p, stop, saved, flags)),
          TE.chain((result) =>
            pipe(
              checkpoint(result.state),
              TE.chain((file) => {
                const signal = signals?.requested()
                if (signal === undefined) return TE.right({ result, file })
                return TE.left(interrupted(p, flags, signal, result.state, file))
              })
            )
          )
        )
      )
    ),
    TE.chain(({ result, file }) => finish(p, result, file, flags['no-pictures'] === true, log)),
    // The cleanup stays registered through the pictures (a signal then exits at once), not after.
    TE.chainFirstIOK(() => () => stopCleanup?.()),
    TE.orElseFirstIOK(() => () => stopCleanup?.())
  )
}

/** Stops training after the step during which SIGINT/SIGTERM arrived; turns the event loop now and then so the signal gets through. */
const signalWatch = (signals: Signals): Callback => {
  let lastTurn = performance.now()
  return {
    name: 'signal',
    onStep: () => async () => {
      if (performance.now() - lastTurn >= SIGNAL_POLL_MS) {
        // The steps run back to back; a signal handler runs only when the event loop gets a turn.
        await new Promise<void>((resolve) => setImmediate(resolve))
        lastTurn = performance.now()
      }
      return E.right(signals.requested() === undefined ? 'continue' : 'stop')
    }
  }
}

/** Runs `Train.fit` on the plan with `callbacks`. */
const runFit = (p: Plan, callbacks: ReadonlyArray<Callback>, io: Io): TE.TaskEither<Stop, FitResult<Tree, Tree, OptState>> =>
  pipe(
    fit({
      network: p.built.network,
      loss: p.built.loss,
      optimizer: p.built.optimizer,
      train: p.train,
      ...(p.validation === undefined ? {} : { validation: p.validation }),
      epochs: p.epochs,
      batchSize: p.built.training.batchSize,
      seed: p.built.training.seed,
      ...(p.initial === undefined ? {} : { initial: p.initial }),
      callbacks,
      ...(io.progress === false ? {} : { progress: io.progress })
    }),
    TE.mapLeft((f): Stop => {
      switch (f.error._tag) {
        case 'NonFinite':
          return { kind: 'nonFinite', error: f.error, state: f.state }
        case 'BatchShapeError':
        case 'CallbackError':
          return { kind: 'failed', error: input(f.error.message), state: f.state }
        case 'FitOptionsError':
          return { kind: 'failed', error: input(f.message), state: f.state }
      }
    })
  )

/** What is left after a stop: a NaN/Infinity stop saves the last good state to its own file; a failure says which checkpoint is intact. */
const stopped = (p: Plan, stop: Stop, saved: Saved | undefined, flags: Flags): TE.TaskEither<CliError, never> => {
  const intact = saved === undefined ? '' : `; ${saved.file} (step ${saved.step}) is intact`
  if (stop.kind === 'failed') {
    return TE.left({ ...stop.error, message: `${stop.error.message}; training stopped at step ${stop.state.step}${intact}` })
  }
  const e = stop.error
  const where = `training stopped: NaN or Infinity at step ${e.step} in ${e.where}`
  // The last good state resumes at its step, but resumed as it is it diverges again at once: it goes
  // to its own file, and the last regular checkpoint (from before the divergence) stays.
  return pipe(
    save(p.paths.nanStop, stop.state, p.spec),
    TE.match(
      (failure) => ({
        kind: 'nonFinite' as const,
        message: `${where}; the last good state (step ${stop.state.step}) could not be saved: ${failure.message}${intact}`,
        details: { step: e.step, where: e.where, lastGoodStep: stop.state.step, ...(saved === undefined ? {} : { lastCheckpoint: saved }) }
      }),
      (file) => ({
        kind: 'nonFinite' as const,
        message:
          `${where}; the last good state (step ${stop.state.step}, before that step) is saved in ${file}` +
          (saved === undefined ? '' : `, and ${saved.file} (step ${saved.step}) is as it was`) +
          `. Resumed as it is, it reaches the same value at the same step: change its cause first (a learning rate changed in the spec applies on resume), then e.g. ${resumeCommand(p, flags, saved?.file ?? file)}`,
        details: { step: e.step, where: e.where, checkpoint: file, lastGoodStep: stop.state.step, ...(saved === undefined ? {} : { lastCheckpoint: saved }) }
      })
    ),
    TE.fromTask,
    TE.chain((error): TE.TaskEither<CliError, never> => TE.left(error))
  )
}

/** A stop by signal, after the checkpoint at `state` was written to `file`: where, and how to go on. */
const interrupted = (p: Plan, flags: Flags, signal: StopSignal, state: State, file: string): CliError => {
  const per = stepsPerEpoch(Data.size(p.train), p.built.training.batchSize)
  const finished = state.step >= p.epochs * per
  const message = finished
    ? `${signal}: training had finished (step ${state.step}); the checkpoint ${file} is complete, the rest (score, pictures) is skipped`
    : `${signal}: training stopped at step ${state.step} (${position(p, state.step)}); the checkpoint is saved in ${file}. To go on:\n  ${resumeCommand(p, flags, file)}`
  return {
    kind: 'interrupted',
    message,
    exitCode: SIGNAL_EXIT[signal],
    details: { signal, step: state.step, checkpoint: file, ...(finished ? {} : { resume: resumeCommand(p, flags, file) }) }
  }
}

/** After training: the test (or validation) score, the pictures, the summary. */
const finish = (p: Plan, result: FitResult<Tree, Tree, OptState>, checkpoint: string, noPictures: boolean, log: (line: string) => void): TE.TaskEither<CliError, Summary> => {
  const evalSet = p.test ?? p.validation
  const scored = evalSet === undefined ? undefined : evaluateOn(p.built, result.state, evalSet)
  const which = p.test === undefined ? 'validation' : 'test'
  if (scored !== undefined) log(`${which} accuracy ${percent(scored.error)}  (error ${(100 * scored.error).toFixed(2)} %, loss ${scored.loss.toFixed(4)})`)
  log(`checkpoint: ${checkpoint}`)
  const seconds = result.history.seconds
  const summary: Summary = {
    ok: true,
    checkpoint,
    step: result.state.step,
    epochs: result.history.trainLoss.length,
    ...(scored === undefined ? {} : { [`${which}Accuracy`]: 1 - scored.error, [`${which}Loss`]: scored.loss }),
    secondsPerEpoch: seconds.length === 0 ? null : seconds.reduce((a, b) => a + b, 0) / seconds.length,
    history: result.history,
    ...(p.resumeNotes.length === 0 ? {} : { resumeNotes: p.resumeNotes })
  }
  if (noPictures || evalSet === undefined || result.history.trainLoss.length === 0) return TE.right(summary)
  if (evalSet.inputs.shape[1] !== MNIST_PIXELS) {
    log(`pictures skipped: the report draws 28×28 digits, these examples have ${count(evalSet.inputs.shape[1] as number, 'feature')}`)
    return TE.right(summary)
  }
  const predicted = predictLabels(p.built.network, result.state.params, result.state.layerState, evalSet.inputs, EVAL_BATCH)
  return pipe(
    writeReport(p.paths.outDir, { history: result.history, labels: evalSet.labels, predictions: predicted, images: evalSet.inputs, classes: evalSet.classes }),
    TE.match(
      (e) => {
        // Pictures are a courtesy: the model is trained and saved, so a failed picture is a warning.
        log(`warning: could not write the pictures: ${e.message}`)
        return summary
      },
      (report) => {
        log(`pictures: ${report.files.join(', ')}`)
        return { ...summary, pictures: report.files }
      }
    ),
    TE.fromTask
  )
}

// eval

const testData = (flags: Flags, spec: Spec.Spec): TE.TaskEither<CliError, { readonly data: Data.Dataset; readonly source: string }> => {
  const images = flags['images']
  const labels = flags['labels']
  if (typeof images === 'string' || typeof labels === 'string') {
    if (typeof images !== 'string' || typeof labels !== 'string') {
      return TE.left({ kind: 'usage', message: `--images and --labels go together; expected both, found only --${typeof images === 'string' ? 'images' : 'labels'}` })
    }
    const classes = Spec.network(spec).outWidth as number
    return pipe(
      TE.fromIOEither(loadLabelledIdx(images, labels, classes)),
      TE.bimap((e) => input(e.message), (data) => ({ data, source: images }))
    )
  }
  const d = spec.data
  if (d !== undefined && d.type === 'idx') {
    if (d.testImages === undefined || d.testLabels === undefined) {
      return TE.left(input(`the checkpoint's spec has no test data (data.testImages, data.testLabels); pass --images and --labels`))
    }
    return pipe(
      loadData({ ...spec, data: { ...d, trainImages: d.testImages, trainLabels: d.testLabels } }),
      TE.map((l) => ({ data: l.train, source: d.testImages as string }))
    )
  }
  return pipe(
    loadData(spec),
    TE.chain((l) => (l.test === undefined ? TE.left(input('no test data')) : TE.right({ data: l.test, source: `${l.source} test set` })))
  )
}

/** `nn-ts eval`. @internal */
export const evalCommand = (flags: Flags, json: boolean, io: Io): TE.TaskEither<CliError, Summary> => {
  const file = flags['checkpoint'] as string
  const log = say(io, json)
  return pipe(
    TE.Do,
    TE.bind('restored', () => loadCheckpoint(file)),
    TE.bind('test', ({ restored }) => testData(flags, restored.spec)),
    TE.bind('checked', ({ restored, test }) => TE.fromEither(checkFits(restored.spec, test.data, test.source))),
    TE.map(({ restored, checked, test }) => {
      const m = evaluateOn(restored.built, restored.state, checked)
      log(`${test.source}: accuracy ${percent(m.error)}  (error ${(100 * m.error).toFixed(2)} %, loss ${m.loss.toFixed(4)}) on ${count(m.size, 'example')}, checkpoint at step ${restored.state.step}`)
      return { ok: true, checkpoint: file, data: test.source, examples: m.size, accuracy: 1 - m.error, error: m.error, loss: m.loss, step: restored.state.step }
    })
  )
}

// predict

/** `nn-ts predict`. @internal */
export const predictCommand = (flags: Flags, json: boolean, io: Io): TE.TaskEither<CliError, Summary> => {
  const file = flags['checkpoint'] as string
  const inputFile = flags['input'] as string
  return pipe(
    TE.Do,
    TE.bind('restored', () => loadCheckpoint(file)),
    TE.bind('examples', () => loadExamples(inputFile)),
    TE.chainEitherK(({ restored, examples }) => {
      const features = examples.shape[1] as number
      if (features !== restored.spec.input) {
        return E.left(input(`${inputFile} has ${count(features, 'feature')} per example, but the network in ${file} takes ${restored.spec.input}; expected examples of ${count(restored.spec.input, 'feature')}`))
      }
      return E.right(predictLabels(restored.built.network, restored.state.params, restored.state.layerState, examples, EVAL_BATCH))
    }),
    TE.map((labels) => {
      if (!json) io.stdout(labels.length === 0 ? '' : `${labels.join('\n')}\n`)
      return { ok: true, checkpoint: file, input: inputFile, predictions: labels }
    })
  )
}
