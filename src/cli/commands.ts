/**
 * The three commands. Each reads and checks all of its inputs before it computes or writes anything,
 * and returns either a summary (printed as one JSON object with `--json`) or a `CliError`.
 *
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { mkdir, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import * as Checkpoint from '../checkpoint/index.ts'
import { readCheckpoint, writeCheckpoint } from '../checkpoint/file.ts'
import { loadLabelledIdx } from '../data/mnist.ts'
import * as Data from '../data/index.ts'
import type { OptState } from '../optim/Transform.ts'
import * as Random from '../random/Key.ts'
import * as Spec from '../spec/index.ts'
import { type Callback, type CallbackError, type FitResult, type Progress, fit } from '../train/fit.ts'
import { type EpochMetrics, type NonFiniteError, type TrainState, evaluate, predictLabels } from '../train/step.ts'
import type { Tree } from '../tree/Tree.ts'
import { writeReport } from '../viz/report.ts'
import { fsReason } from '../io/fsReason.ts'
import { type CliError, input } from './errors.ts'
import { checkFits, loadCheckpoint, loadData, loadExamples, loadSpec, restoreInto } from './load.ts'

/** Where a command writes: stdout and stderr lines, and the stream the trainer draws progress on. @internal */
export interface Io {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** Progress of `Train.fit` (e.g. `progressBar(process.stderr)`); `false` for none. */
  readonly progress: Progress | false
}

/** What a command reports: printed as JSON with `--json`. @internal */
export type Summary = Readonly<Record<string, unknown>>

type Flags = Readonly<Record<string, string | boolean | undefined>>

type State = TrainState<Tree, Tree, OptState>

const EVAL_BATCH = 1000

/** The width of the images `Viz.writeReport` draws (28×28 digits). */
const MNIST_PIXELS = 784

/** Human-readable lines go to stdout, or to stderr when stdout is reserved for the JSON object. */
const say = (io: Io, json: boolean) => (line: string): void => (json ? io.stderr(`${line}\n`) : io.stdout(`${line}\n`))

const percent = (error: number): string => `${(100 * (1 - error)).toFixed(2)} %`

const evaluateOn = (built: Spec.Built, state: State, d: Data.Dataset): EpochMetrics =>
  evaluate(built.network, built.loss, state.params, state.layerState, Data.batches(d, EVAL_BATCH))

/** `examples/seed.spec.json` → `seed`: the default name of the output folder. */
const specName = (file: string): string => basename(file).replace(/\.json$/i, '').replace(/\.spec$/i, '') || 'run'

/** Writes a checkpoint of `state` (creating the folder first); the write itself is atomic. */
const save = (file: string, state: State, spec: Spec.Spec): TE.TaskEither<CliError, string> =>
  pipe(
    TE.tryCatch(
      () => mkdir(join(file, '..'), { recursive: true }),
      (e) => input(`cannot create the output folder for ${file}: ${fsReason(e)}`)
    ),
    TE.chain(() => pipe(writeCheckpoint(file, Checkpoint.make(state, spec)), TE.mapLeft((e) => input(e.message.includes(file) ? e.message : `${file}: ${e.message}`)))),
    TE.map(() => file)
  )

// train

interface Plan {
  readonly spec: Spec.Spec
  readonly built: Spec.Built
  readonly train: Data.Dataset
  readonly validation?: Data.Dataset
  readonly test?: Data.Dataset
  readonly initial?: State
  readonly epochs: number
  readonly outDir: string
}

/** `--out` must be a folder or not exist yet: found out now, not after the first epoch's training. */
const checkOutDir = (outDir: string): TE.TaskEither<CliError, void> => async () => {
  const found = await stat(outDir).catch(() => undefined)
  return found === undefined || found.isDirectory()
    ? E.right(undefined)
    : E.left(input(`--out ${outDir} is a file, expected a folder (or a path that does not exist yet)`))
}

/** Everything `train` needs, read and checked; nothing has been written yet. */
const plan = (flags: Flags): TE.TaskEither<CliError, Plan> => {
  const specFile = flags['spec'] as string
  const outDir = typeof flags['out'] === 'string' ? flags['out'] : join('out', specName(specFile))
  return pipe(
    TE.Do,
    TE.chainFirst(() => checkOutDir(outDir)),
    TE.bind('spec', () => loadSpec(specFile)),
    TE.bind('data', ({ spec }) => loadData(spec)),
    TE.bind('train', ({ spec, data }) => TE.fromEither(checkFits(spec, data.train, data.source))),
    TE.bind('test', ({ spec, data }) => (data.test === undefined ? TE.right(undefined) : TE.fromEither(checkFits(spec, data.test, `${data.source} (test set)`)))),
    TE.bind('parts', ({ spec, train }) => {
      const { validationSize, seed } = spec.training
      const v = validationSize ?? 0
      if (v >= Data.size(train)) {
        return TE.left(input(`${specFile}: training.validationSize is ${v}, but the training data has only ${Data.size(train)} examples; expected fewer than ${Data.size(train)}`))
      }
      // The same split as examples/mnist.ts: the seed decides which rows validate.
      return TE.right(v === 0 ? { train, validation: undefined } : Data.split(train, v, Random.key(seed ?? 0)))
    }),
    // The training size fixes the horizon of a cosine schedule without `steps`.
    TE.bind('built', ({ spec, parts }) => TE.right(Spec.build(spec, { trainSize: Data.size(parts.train) }))),
    TE.bind('initial', ({ built }) => (typeof flags['resume'] === 'string' ? resumeFrom(flags['resume'], built) : TE.right(undefined))),
    TE.map(({ spec, built, parts, test, initial }) => {
      return {
        spec,
        built,
        train: parts.train,
        ...(parts.validation === undefined ? {} : { validation: parts.validation }),
        ...(test === undefined ? {} : { test }),
        ...(initial === undefined ? {} : { initial }),
        // Resuming continues to the spec's epochs, so an interrupted run ends where it would have.
        epochs: built.training.epochs,
        outDir
      }
    })
  )
}

/** A checkpoint to continue from: the same network and optimizer, at any step. */
const resumeFrom = (file: string, built: Spec.Built): TE.TaskEither<CliError, State> =>
  pipe(
    readCheckpoint(file),
    TE.mapLeft((e) => input(e.message.includes(file) ? e.message : `${file}: ${e.message}`)),
    TE.chainEitherK((c) => restoreInto(file, built, c))
  )

/** Why training stopped early, as the CLI reports it (after saving what can be saved). */
type Stop = { readonly kind: 'nonFinite'; readonly error: NonFiniteError; readonly state: State } | { readonly kind: 'failed'; readonly error: CliError }

/** Trains with a checkpoint after every epoch; a checkpoint that cannot be written stops training. */
const runFit = (p: Plan, checkpointFile: string, io: Io): TE.TaskEither<Stop, FitResult<Tree, Tree, OptState>> => {
  const checkpointEachEpoch: Callback = {
    name: 'checkpoint',
    onEpoch: ({ state }) =>
      pipe(
        save(checkpointFile, state, p.spec),
        TE.bimap((e): CallbackError => ({ _tag: 'CallbackError', callback: 'checkpoint', message: e.message }), () => 'continue' as const)
      )
  }
  return pipe(
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
      callbacks: [checkpointEachEpoch],
      ...(io.progress === false ? {} : { progress: io.progress })
    }),
    TE.mapLeft((f): Stop => {
      switch (f.error._tag) {
        case 'NonFinite':
          return { kind: 'nonFinite', error: f.error, state: f.state }
        case 'BatchShapeError':
        case 'CallbackError':
          return { kind: 'failed', error: input(f.error.message) }
        case 'FitOptionsError':
          return { kind: 'failed', error: input(f.message) }
      }
    })
  )
}

/** `nn-ts train`. @internal */
export const train = (flags: Flags, json: boolean, io: Io): TE.TaskEither<CliError, Summary> => {
  const log = say(io, json)
  return pipe(
    plan(flags),
    TE.chainFirstIOK((p) => () => {
      const sizes = [`${Data.size(p.train)} training`, p.validation === undefined ? undefined : `${Data.size(p.validation)} validation`, p.test === undefined ? undefined : `${Data.size(p.test)} test`]
      log(`${p.spec.name ?? flags['spec']}: ${p.built.network.name}`)
      log(`${sizes.filter((s) => s !== undefined).join(' / ')} examples; ${p.epochs} epochs${p.initial === undefined ? '' : ` (resuming at step ${p.initial.step})`}, batch ${p.built.training.batchSize}, seed ${p.built.training.seed}`)
    }),
    TE.chain((p) => {
      const checkpointFile = join(p.outDir, 'checkpoint.json')
      return pipe(
        runFit(p, checkpointFile, io),
        TE.orElse((stop): TE.TaskEither<CliError, FitResult<Tree, Tree, OptState>> => {
          if (stop.kind === 'failed') return TE.left(stop.error)
          const e = stop.error
          // The state fit returns is the last good one, resumable at its step: save it, then report
          // where training broke.
          return pipe(
            save(checkpointFile, stop.state, p.spec),
            TE.chain((file) =>
              TE.left<CliError, FitResult<Tree, Tree, OptState>>({
                kind: 'nonFinite',
                message: `training stopped: NaN or Infinity at step ${e.step} in ${e.where}; the last good state (step ${stop.state.step}, before that step) is saved in ${file}`,
                details: { step: e.step, where: e.where, checkpoint: file, lastGoodStep: stop.state.step }
              })
            )
          )
        }),
        TE.chain((result) =>
          pipe(
            save(checkpointFile, result.state, p.spec),
            TE.chain((file) => finish(p, result, file, flags['no-pictures'] === true, log))
          )
        )
      )
    })
  )
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
    history: result.history
  }
  if (noPictures || evalSet === undefined || result.history.trainLoss.length === 0) return TE.right(summary)
  if (evalSet.inputs.shape[1] !== MNIST_PIXELS) {
    log(`pictures skipped: the report draws 28×28 digits, these examples have ${evalSet.inputs.shape[1]} features`)
    return TE.right(summary)
  }
  const predicted = predictLabels(p.built.network, result.state.params, result.state.layerState, evalSet.inputs, EVAL_BATCH)
  return pipe(
    writeReport(p.outDir, { history: result.history, labels: evalSet.labels, predictions: predicted, images: evalSet.inputs, classes: evalSet.classes }),
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
      log(`${test.source}: accuracy ${percent(m.error)}  (error ${(100 * m.error).toFixed(2)} %, loss ${m.loss.toFixed(4)}) on ${m.size} examples, checkpoint at step ${restored.state.step}`)
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
        return E.left(input(`${inputFile} has ${features} features per example, but the network in ${file} takes ${restored.spec.input}; expected examples of ${restored.spec.input} features`))
      }
      return E.right(predictLabels(restored.built.network, restored.state.params, restored.state.layerState, examples, EVAL_BATCH))
    }),
    TE.map((labels) => {
      if (!json) io.stdout(labels.length === 0 ? '' : `${labels.join('\n')}\n`)
      return { ok: true, checkpoint: file, input: inputFile, predictions: labels }
    })
  )
}
