/**
 * Faults around `nn-ts train` (issue 12, items 1, 2, 6, 7): nothing lost, nothing hangs.
 *
 * - Pipes: a closed stdout/stderr (`nn-ts train … 2>&1 | head -1`) never stops training or saving.
 * - Signals: SIGINT/SIGTERM mid-training exit 130/143 after saving a checkpoint and printing the
 *   command to resume; that command ends bit for bit where an uninterrupted run ends; a second signal
 *   exits at once with no temporary file left.
 * - Checks before work: a read-only file system, a missing permission, a file in the way or a folder
 *   at the checkpoint's path is reported before any data is read, naming the cause, creating nothing.
 * - NaN/Infinity: Infinity that appears only in Adam's second moment is caught; the last good state
 *   goes to its own file and the last periodic checkpoint stays; both resume.
 * - `--checkpoint-every` writes resumable checkpoints mid-epoch; resume applies or refuses each changed
 *   spec field.
 *
 * Subprocesses run the real entry point (`node --import tsx src/cli/main.ts`, so signals reach the
 * CLI and not a wrapper) with a timeout on every wait: a hang fails the test instead of blocking it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readCheckpoint } from '../src/checkpoint/file.ts'
import { run } from '../src/cli/run.ts'
import type { Signals, StopSignal } from '../src/cli/run.ts'
import { Data, Optim, Tensor, Tree } from '../src/index.ts'
import { writeReport } from '../src/viz/report.ts'

const ROOT = resolve(import.meta.dirname, '..')
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const MAIN = join(ROOT, 'src', 'cli', 'main.ts')
/** The longest any child may take (start-up of node + tsx on a busy machine included) before the test fails. */
const CHILD_TIMEOUT_MS = 40_000

let dir = ''
const at = (name: string): string => join(dir, name)
const live = new Set<ChildProcess>()

afterAll(() => {
  for (const child of live) child.kill('SIGKILL')
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

// in process

interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const cli = async (argv: ReadonlyArray<string>, signals?: Signals): Promise<Outcome> => {
  let stdout = ''
  let stderr = ''
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), progress: false, ...(signals === undefined ? {} : { signals }) })
  return { code, stdout, stderr }
}

const lastJson = (o: Outcome): Record<string, unknown> => JSON.parse(o.stdout.trim().split('\n').at(-1) as string) as Record<string, unknown>

type CheckpointState = Awaited<ReturnType<typeof readState>>
const readState = async (file: string) => {
  const c = await readCheckpoint(file)()
  if (E.isLeft(c)) throw new Error(c.left.message)
  return { ...c.right.state, spec: c.right.spec as Record<string, unknown> }
}

/** Two states equal bit for bit: params, layer state, optimizer state, key and step. */
const expectSameState = (a: CheckpointState, b: CheckpointState): void => {
  expect(a.step).toBe(b.step)
  expect(a.rng.words).toEqual(b.rng.words)
  expect(Tree.equals(a.params, b.params)).toBe(true)
  expect(Tree.equals(a.layerState, b.layerState)).toBe(true)
  expect(Tree.equals(a.optState, b.optState)).toBe(true)
}

const tempFiles = (folder: string): string[] => (existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.tmp')) : [])

// subprocesses

interface Child {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves when the child has exited and its streams are closed; fails (and kills it) after the timeout. */
  readonly closed: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Resolves when stdout matches `pattern`; fails if the child closes first or after the timeout. */
  readonly waitFor: (pattern: RegExp) => Promise<void>
}

/** `nn-ts <argv>` as a real process (optionally under `prefix`, e.g. `unshare …`), in the test folder. */
const startCli = (argv: ReadonlyArray<string>, prefix: ReadonlyArray<string> = []): Child => {
  const command = [...prefix, process.execPath, '--import', TSX, MAIN, ...argv]
  const child = spawn(command[0] as string, command.slice(1), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let stdout = ''
  let stderr = ''
  const listeners = new Set<() => void>()
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString()
    for (const l of listeners) l()
  })
  child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()))
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      fail(new Error(`nn-ts ${argv.join(' ')} did not end within ${CHILD_TIMEOUT_MS} ms; stderr: ${stderr}`))
    }, CHILD_TIMEOUT_MS)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      live.delete(child)
      ok({ code, signal })
    })
  })
  const waitFor = (pattern: RegExp): Promise<void> =>
    new Promise<void>((ok, fail) => {
      const check = (): void => {
        if (!pattern.test(stdout)) return
        listeners.delete(check)
        ok()
      }
      listeners.add(check)
      check()
      void closed.then(
        () => fail(new Error(`nn-ts ended before printing ${pattern}; stdout: ${stdout}; stderr: ${stderr}`)),
        fail
      )
    })
  return { child, stdout: () => stdout, stderr: () => stderr, closed, waitFor }
}

// fixtures: 4×4 "images" of three classes (a bright row, column or diagonal), as in test/bad-input

const image = (cls: number, k: number): number[] => {
  const px = new Array<number>(16).fill(10 + ((k * 7) % 20))
  for (let i = 0; i < 4; i++) px[cls === 0 ? (k % 4) * 4 + i : cls === 1 ? i * 4 + (k % 4) : i * 5] = 250
  return px
}

const writeSet = (prefix: string, n: number): void => {
  const labels = Array.from({ length: n }, (_, i) => i % 3)
  writeFileSync(at(`${prefix}-images.idx`), Data.encodeIdx({ dtype: 'uint8', shape: [n, 4, 4], data: labels.flatMap((c, i) => image(c, i)) }))
  writeFileSync(at(`${prefix}-labels.idx`), Data.encodeIdx({ dtype: 'uint8', shape: [n], data: labels }))
}

/** The same pictures as float32 pixels in [0, 1], row `poisoned` (or every row) multiplied by 1e30. */
const writeScaled = (prefix: string, n: number, poisoned: number | 'all'): void => {
  const labels = Array.from({ length: n }, (_, i) => i % 3)
  const pixels = labels.flatMap((c, i) => image(c, i).map((v) => (v / 255) * (poisoned === 'all' || poisoned === i ? 1e30 : 1)))
  writeFileSync(at(`${prefix}-images.idx`), Data.encodeIdx({ dtype: 'float32', shape: [n, 16], data: pixels }))
  writeFileSync(at(`${prefix}-labels.idx`), Data.encodeIdx({ dtype: 'uint8', shape: [n], data: labels }))
}

const data = (train: string, test?: string): Record<string, unknown> => ({
  type: 'idx',
  trainImages: `${train}-images.idx`,
  trainLabels: `${train}-labels.idx`,
  ...(test === undefined ? {} : { testImages: `${test}-images.idx`, testLabels: `${test}-labels.idx` })
})

/** A 16-8-3 network; 48 training examples in batches of 8: 6 steps per epoch. */
const spec = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'tiny',
  input: 16,
  layers: [{ type: 'dense', units: 8, weightInit: 'heNormal' }, { type: 'relu' }, { type: 'dense', units: 3 }],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.05 },
  training: { epochs: 10, batchSize: 8, seed: 1 },
  data: data('train', 'test'),
  ...over
})

const writeSpec = (name: string, content: Record<string, unknown>): string => {
  writeFileSync(at(name), JSON.stringify(content, null, 2))
  return name
}

/** 6000 examples in batches of 8: 750 steps per epoch, so a run of `epochs` lasts long enough to be interrupted. */
const LONG_STEPS_PER_EPOCH = 750

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nn-ts-cli-faults-'))
  writeSet('train', 48)
  writeSet('test', 24)
  writeSet('big', 6000)
  writeScaled('huge', 48, 'all')
  // Row 30 comes in the fourth batch of epoch 1 with seed 1 (step 3): a divergence after two periodic checkpoints.
  writeScaled('poisoned', 48, 30)
  writeScaled('clean', 48, -1)
  writeSpec('good.json', spec())
  writeSpec('one.json', spec({ training: { epochs: 1, batchSize: 8, seed: 1 } }))
  writeSpec('long.json', spec({ training: { epochs: 3, batchSize: 8, seed: 1 }, data: data('big') }))
})

describe('pipes: a closed stdout or stderr never stops training or saving', () => {
  it('both closed before the first line: the run ends normally and writes its checkpoint', { timeout: 60_000 }, async () => {
    const c = startCli(['train', '--spec', 'good.json', '--out', 'pipe-closed', '--no-pictures'])
    c.child.stdout?.destroy()
    c.child.stderr?.destroy()
    const { code } = await c.closed
    expect(code).toBe(0)
    expect((await readState(at('pipe-closed/checkpoint.safetensors'))).step).toBe(60)
  })

  it('`2>&1 | head -1`: closed after the first line, mid-run; the run goes on to its last step', { timeout: 60_000 }, async () => {
    const c = startCli(['train', '--spec', 'long.json', '--out', 'pipe-head', '--no-pictures', '--checkpoint-every', '500'])
    await c.waitFor(/\n/)
    const seen = c.stdout()
    c.child.stdout?.destroy()
    c.child.stderr?.destroy()
    const { code } = await c.closed
    expect(code, c.stderr()).toBe(0)
    expect(seen).toMatch(/^tiny: /)
    expect((await readState(at('pipe-head/checkpoint.safetensors'))).step).toBe(3 * LONG_STEPS_PER_EPOCH)
    expect(tempFiles(at('pipe-head'))).toEqual([])
  })
})

describe('signals', () => {
  it('SIGINT and SIGTERM mid-training: exit 130 and 143, a checkpoint, the command to resume; resuming ends bit for bit where an uninterrupted run ends', { timeout: 90_000 }, async () => {
    const children = (['SIGINT', 'SIGTERM'] as const).map((signal) => ({ signal, c: startCli(['train', '--spec', 'long.json', '--out', `stopped-${signal}`, '--no-pictures']) }))
    // The header is printed once the data is loaded, right before the first step.
    const outcomes = await Promise.all(
      children.map(async ({ signal, c }) => {
        await c.waitFor(/seed 1\n/)
        c.child.kill(signal)
        const { code } = await c.closed
        return { signal, c, code }
      })
    )
    for (const { signal, c, code } of outcomes) {
      expect(code, c.stderr()).toBe(signal === 'SIGINT' ? 130 : 143)
      const stop = new RegExp(`${signal}: training stopped at step (\\d+) \\(epoch 1, step \\d+ of ${LONG_STEPS_PER_EPOCH}\\); the checkpoint is saved in (\\S+)\\. To go on:\\n  (nn-ts train .*)\\n`).exec(c.stderr())
      expect(stop, c.stderr()).not.toBeNull()
      const [, step, file, command] = stop as RegExpExecArray
      expect(file).toBe(join(`stopped-${signal}`, 'checkpoint.safetensors'))
      expect((await readState(at(file as string))).step).toBe(Number(step))
      expect(command).toBe(`nn-ts train --spec long.json --resume ${file} --out stopped-${signal} --no-pictures`)
      expect(tempFiles(at(`stopped-${signal}`))).toEqual([])
    }
    // The printed command (checked above), run in this process with its paths taken from the folder
    // the child ran in, against an uninterrupted run.
    const command = (/To go on:\n {2}nn-ts (.*)\n/.exec((outcomes[0] as (typeof outcomes)[number]).c.stderr()) as RegExpExecArray)[1] as string
    const words = command.split(' ').map((w, i, all) => (['--spec', '--resume', '--out'].includes(all[i - 1] as string) ? at(w) : w))
    const resumed = await cli(words)
    expect(resumed.code, resumed.stderr).toBe(0)
    const straight = await cli(['train', '--spec', at('long.json'), '--out', at('straight'), '--no-pictures'])
    expect(straight.code, straight.stderr).toBe(0)
    const [r, s] = [await readState(at('stopped-SIGINT/checkpoint.safetensors')), await readState(at('straight/checkpoint.safetensors'))]
    expect(r.step).toBe(3 * LONG_STEPS_PER_EPOCH)
    expectSameState(r, s)
  })

  it('a second signal exits at once with its own code, leaving no temporary file; the checkpoint stays whole', { timeout: 60_000 }, async () => {
    // A checkpoint every step: the exit comes during or between writes.
    const c = startCli(['train', '--spec', 'long.json', '--out', 'twice', '--no-pictures', '--checkpoint-every', '1'])
    await c.waitFor(/seed 1, a checkpoint every 1 step\n/)
    // Both arrive before the child's next turn of its event loop (the graceful stop needs a step and
    // a save, many turns): whichever is handled first asks for a graceful stop, the other ends the
    // process at once, with its own code, before a stop is reported.
    c.child.kill('SIGTERM')
    c.child.kill('SIGINT')
    const { code } = await c.closed
    expect([130, 143], c.stderr()).toContain(code)
    expect(c.stderr()).toMatch(/(SIGINT|SIGTERM): stopping after the current step/)
    expect(c.stderr()).not.toMatch(/To go on/)
    expect(tempFiles(at('twice'))).toEqual([])
    if (existsSync(at('twice/checkpoint.safetensors'))) expect((await readState(at('twice/checkpoint.safetensors'))).step).toBeGreaterThan(0)
  })
})

describe('check before work: where training writes is probed before any data is read', () => {
  /** A failure reported before training: exit 2, the cause named, no header (nothing was loaded), `out` not created. */
  const expectRefusedBeforeWork = (o: Outcome, out: string | undefined, ...mentions: string[]): void => {
    expect(o.code, o.stderr).toBe(2)
    expect(o.stdout).not.toMatch(/training examples/)
    for (const m of mentions) expect(o.stderr).toContain(m)
    expect(o.stderr.match(/nn-ts: /g)).toHaveLength(1)
    if (out !== undefined) expect(existsSync(out)).toBe(false)
  }

  // A read-only file system needs a mount: a private mount namespace (unshare -m) keeps it to the child.
  const canMountReadOnly = (): boolean =>
    spawnSync('unshare', ['-m', 'sh', '-c', 'mkdir -p "$1" && mount -t tmpfs -o ro tmpfs "$1" && ! touch "$1/probe" 2>/dev/null', 'sh', join(tmpdir(), `nn-ts-ro-check-${process.pid}`)], { timeout: 10_000 }).status === 0
  it.skipIf(process.platform !== 'linux' || !canMountReadOnly())('a read-only file system (a read-only tmpfs in a private mount namespace): EROFS', { timeout: 60_000 }, async () => {
    const roMount = at('ro-mount')
    mkdirSync(roMount, { recursive: true })
    const out = join(roMount, 'out')
    const c = startCli(['train', '--spec', 'good.json', '--out', out, '--no-pictures'], ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"', 'sh', roMount])
    const { code } = await c.closed
    expectRefusedBeforeWork({ code: code ?? -1, stdout: c.stdout(), stderr: c.stderr() }, out, `--out ${out}`, 'the file system is read-only (EROFS)')
  })

  // chmod 555 stops a user; root writes anyway, but sysfs refuses new files to root too (EACCES).
  const isRoot = process.getuid?.() === 0
  const sysRefuses = (): boolean => {
    // The operation the CLI's probe does: create a new file.
    const probe = `/sys/nn-ts-probe-${process.pid}`
    try {
      writeFileSync(probe, '', { flag: 'wx' })
      rmSync(probe)
      return false
    } catch (e) {
      return (e as { code?: string }).code === 'EACCES'
    }
  }
  it.skipIf(isRoot && !sysRefuses())('no permission to create the folder: EACCES (a chmod 555 folder as a user; /sys as root, which chmod does not stop)', async () => {
    const parent = isRoot ? '/sys' : at('locked')
    if (!isRoot) {
      mkdirSync(parent)
      chmodSync(parent, 0o555)
    }
    const out = join(parent, `nn-ts-out-${process.pid}`)
    const o = await cli(['train', '--spec', at('good.json'), '--out', out, '--no-pictures'])
    expectRefusedBeforeWork(o, out, `--out ${out}: cannot create it in ${parent}`, '(EACCES)')
  })

  it('a file in the way of the folder', async () => {
    writeFileSync(at('a-file'), 'not a folder')
    const out = at('a-file/run')
    expectRefusedBeforeWork(await cli(['train', '--spec', at('good.json'), '--out', out]), out, `${at('a-file')} is a file, not a folder`)
  })

  it('--out is a file', async () => {
    expectRefusedBeforeWork(await cli(['train', '--spec', at('good.json'), '--out', at('a-file')]), undefined, `--out ${at('a-file')} is a file, expected a folder`)
  })

  it('a folder where the checkpoint goes', async () => {
    mkdirSync(at('blocked/checkpoint.safetensors'), { recursive: true })
    const o = await cli(['train', '--spec', at('good.json'), '--out', at('blocked'), '--no-pictures'])
    expect(o.code).toBe(2)
    expect(o.stdout).not.toMatch(/training examples/)
    expect(o.stderr).toContain(`${at('blocked/checkpoint.safetensors')} is a directory, expected a checkpoint file there`)
    expect(readdirSync(at('blocked'))).toEqual(['checkpoint.safetensors'])
  })

  it('a picture that cannot be written leaves no temporary file', async () => {
    const folder = at('pictures')
    // A non-empty folder where a picture goes: the rename over it fails after the temporary file is written.
    mkdirSync(join(folder, 'confusion-matrix.png', 'inside'), { recursive: true })
    const history = { trainLoss: [0.9, 0.5], trainError: [0.3, 0.15], valLoss: [1, 0.6], valError: [0.35, 0.2], seconds: [2, 2] }
    const r = await writeReport(folder, { history, labels: [1, 7], predictions: [1, 1], images: Tensor.zeros([2, 784]), pngScale: 1 })()
    expect(E.isLeft(r)).toBe(true)
    expect(tempFiles(folder)).toEqual([])
  })
})

describe('NaN and Infinity never cost the resumable state', () => {
  // Adam as the spec names it has a fused step, which reports non-finite moments from its own pass;
  // with weightDecay (0 here) it is a chain without one, whose state trainStep walks.
  it.each([
    ['a fused step', 'huge-fused', {}, 'optState[0].nu[0].W'],
    ['a chain (weightDecay 0)', 'huge-chain', { weightDecay: 0 }, 'optState[1][0].nu[0].W']
  ])("Infinity only in Adam's second moment (inputs ×1e30, params stay finite) stops training at that step: %s", async (_kind, name, extra, where) => {
    writeSpec(`${name}.json`, spec({ optimizer: { type: 'adam', learningRate: 0.001, ...extra }, data: data('huge') }))
    const o = await cli(['train', '--spec', at(`${name}.json`), '--out', at(name), '--no-pictures', '--json'])
    expect(o.code, o.stderr).toBe(3)
    expect(o.stderr).toContain(`NaN or Infinity at step 0 in ${where} after the optimizer update`)
    expect(lastJson(o)).toMatchObject({ ok: false, exitCode: 3, error: { kind: 'nonFinite', step: 0, lastGoodStep: 0, checkpoint: at(`${name}/checkpoint.nan-stop.safetensors`) } })
    // The last good state is the first one: finite everywhere, and a valid checkpoint.
    const s = await readState(at(`${name}/checkpoint.nan-stop.safetensors`))
    expect(s.step).toBe(0)
    expect(Tree.firstNonFinite(s.params)).toBeUndefined()
    expect(Tree.firstNonFinite(s.optState)).toBeUndefined()
    expect(readdirSync(at(name))).toEqual(['checkpoint.nan-stop.safetensors'])
  })

  it('a NaN stop writes the last good state to its own file, keeps the last periodic checkpoint, and both resume', async () => {
    writeSpec('poisoned.json', spec({ optimizer: { type: 'adam', learningRate: 0.01 }, data: data('poisoned') }))
    const o = await cli(['train', '--spec', at('poisoned.json'), '--out', at('nan'), '--no-pictures', '--checkpoint-every', '2', '--json'])
    expect(o.code, o.stderr).toBe(3)
    expect(lastJson(o)).toMatchObject({
      error: { kind: 'nonFinite', step: 3, lastGoodStep: 3, checkpoint: at('nan/checkpoint.nan-stop.safetensors'), lastCheckpoint: { file: at('nan/checkpoint.safetensors'), step: 2 } }
    })
    expect(o.stderr).toContain(`${at('nan/checkpoint.safetensors')} (step 2) is as it was`)
    expect((await readState(at('nan/checkpoint.safetensors'))).step).toBe(2)
    expect((await readState(at('nan/checkpoint.nan-stop.safetensors'))).step).toBe(3)
    // With the bad row fixed (a data change applies on resume, with a warning), both go on to the end.
    writeSpec('fixed.json', spec({ optimizer: { type: 'adam', learningRate: 0.01 }, data: data('clean') }))
    for (const from of ['checkpoint.safetensors', 'checkpoint.nan-stop.safetensors']) {
      const r = await cli(['train', '--spec', at('fixed.json'), '--resume', at(`nan/${from}`), '--out', at(`nan-resumed-${from}`), '--no-pictures'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain(`resuming with data.trainImages "${at('clean-images.idx')}" (the checkpoint was trained with "${at('poisoned-images.idx')}")`)
      expect((await readState(at(`nan-resumed-${from}/checkpoint.safetensors`))).step).toBe(60)
    }
  })
})

describe('--checkpoint-every', () => {
  it('writes the checkpoint every N steps and after every epoch; one written mid-epoch resumes to the same end', async () => {
    // A stand-in for the process's signals, asked after every step (after the periodic checkpoint):
    // it keeps a copy of every new version of the checkpoint.
    const file = at('every/checkpoint.safetensors')
    let last: Buffer | undefined
    const copies: string[] = []
    const signals: Signals = {
      requested: (): StopSignal | undefined => {
        if (!existsSync(file)) return undefined
        const bytes = readFileSync(file)
        if (last === undefined || !bytes.equals(last)) {
          last = bytes
          const copy = at(`every-${copies.length}.json`)
          copyFileSync(file, copy)
          copies.push(copy)
        }
        return undefined
      },
      catching: () => undefined,
      atForcedExit: () => () => undefined
    }
    const o = await cli(['train', '--spec', at('good.json'), '--out', at('every'), '--no-pictures', '--checkpoint-every', '4'], signals)
    expect(o.code, o.stderr).toBe(0)
    expect(o.stdout).toContain('a checkpoint every 4 steps')
    const steps = await Promise.all(copies.map(async (c) => (await readState(c)).step))
    // Multiples of 4 (periodic) and of 6 (epoch ends); the end of the last epoch (60) is seen here as
    // the periodic write, the write at the end of its epoch has nothing new to write.
    expect(steps).toEqual([4, 6, 8, 12, 16, 18, 20, 24, 28, 30, 32, 36, 40, 42, 44, 48, 52, 54, 56, 60])
    const mid = copies[0] as string
    const r = await cli(['train', '--spec', at('good.json'), '--resume', mid, '--out', at('every-resumed'), '--no-pictures'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('(resuming at step 4, epoch 1, step 4 of 6)')
    expectSameState(await readState(at('every-resumed/checkpoint.safetensors')), await readState(file))
  })

  it('refuses a value that is not a positive whole number', async () => {
    for (const bad of ['0', '2.5', '1e3', 'x']) {
      const o = await cli(['train', '--spec', at('good.json'), '--out', at('never'), '--checkpoint-every', bad])
      expect(o.code).toBe(2)
      expect(o.stderr).toContain('--checkpoint-every expects a positive whole number of steps')
    }
    expect(existsSync(at('never'))).toBe(false)
  })
})

describe('resume never ignores the spec: each changed field applies (said once) or is refused', () => {
  let base = ''
  beforeAll(async () => {
    const o = await cli(['train', '--spec', at('good.json'), '--out', at('base'), '--no-pictures'])
    if (o.code !== 0) throw new Error(o.stderr)
    base = at('base/checkpoint.safetensors')
  })

  const resume = (name: string, over: Record<string, unknown>, out: string): Promise<Outcome> =>
    cli(['train', '--spec', at(writeSpec(name, spec(over))), '--resume', base, '--out', at(out), '--no-pictures'])

  it('a new learning rate applies: said once, effective, and recorded in the new checkpoint', async () => {
    const epochs = { training: { epochs: 12, batchSize: 8, seed: 1 } }
    const changed = await resume('lr.json', { ...epochs, optimizer: { type: 'adam', learningRate: 0.002 } }, 'lr')
    expect(changed.code, changed.stderr).toBe(0)
    expect(changed.stdout.match(/resuming with optimizer\.learningRate 0\.002 \(the checkpoint was trained with 0\.05\)/g)).toHaveLength(1)
    expect(changed.stdout.match(/the learning rate from step 60 on is 0\.002/g)).toHaveLength(1)
    const same = await resume('same-lr.json', epochs, 'same-lr')
    expect(same.code, same.stderr).toBe(0)
    const [a, b] = [await readState(at('lr/checkpoint.safetensors')), await readState(at('same-lr/checkpoint.safetensors'))]
    expect(Optim.learningRate(a.optState)).toBe(0.002)
    expect((a.spec['optimizer'] as Record<string, unknown>)['learningRate']).toBe(0.002)
    expect(Optim.learningRate(b.optState)).toBe(0.05)
    expect(Tree.equals(a.params, b.params)).toBe(false)
  })

  it("a schedule's rate at the resumed step follows the new total of epochs", async () => {
    writeSpec('cosine.json', spec({ optimizer: { type: 'adam', learningRate: 0.05, schedule: { type: 'cosine' } } }))
    expect((await cli(['train', '--spec', at('cosine.json'), '--out', at('cosine'), '--no-pictures'])).code).toBe(0)
    const o = await cli([
      'train', '--spec', at(writeSpec('cosine14.json', spec({ optimizer: { type: 'adam', learningRate: 0.05, schedule: { type: 'cosine' } }, training: { epochs: 14, batchSize: 8, seed: 1 } }))),
      '--resume', at('cosine/checkpoint.safetensors'), '--out', at('cosine14'), '--no-pictures'
    ])
    expect(o.code, o.stderr).toBe(0)
    expect(o.stdout).toContain('resuming with training.epochs 14 (the checkpoint was trained with 10)')
    // The horizon is 14 epochs of 6 steps now; at step 60 the old one (60 steps) had reached 0.
    expect(o.stdout).toContain(`the learning rate from step 60 on is ${Optim.cosineDecay(0.05, { steps: 84 })(60)} as the spec gives it (the checkpoint's optimizer would have gone on with 0)`)
  })

  it.each([
    ['training.batchSize', { training: { epochs: 10, batchSize: 16, seed: 1 } }, '16', '8'],
    ['training.seed', { training: { epochs: 10, batchSize: 8, seed: 2 } }, '2', '1'],
    ['training.validationSize', { training: { epochs: 10, batchSize: 8, seed: 1, validationSize: 8 } }, '8', '0'],
    ['layers[1].type', { layers: [{ type: 'dense', units: 8, weightInit: 'heNormal' }, { type: 'tanh' }, { type: 'dense', units: 3 }] }, '"tanh"', '"relu"'],
    ['loss', { loss: 'categoricalCrossEntropy' }, '"categoricalCrossEntropy"', '"softmaxCrossEntropy"'],
    ['optimizer.type', { optimizer: { type: 'rmsprop', learningRate: 0.05 } }, '"rmsprop"', '"adam"'],
    ['optimizer.clipByGlobalNorm', { optimizer: { type: 'adam', learningRate: 0.05, clipByGlobalNorm: 1 } }, '1', 'absent']
  ])('%s is refused with exit 2, naming both values; nothing is written', async (field, over, now, was) => {
    const out = `refused-${field}`
    const o = await resume(`${field}.json`, over, out)
    expect(o.code).toBe(2)
    expect(o.stderr).toContain(`${field} is ${now} in ${at(`${field}.json`)}, but ${was} in the checkpoint`)
    expect(existsSync(at(out))).toBe(false)
  })

  it('epochs and names apply, each said once', async () => {
    const o = await resume('renamed.json', { name: 'tiny2', training: { epochs: 11, batchSize: 8, seed: 1 } }, 'renamed')
    expect(o.code, o.stderr).toBe(0)
    expect(o.stdout.match(/resuming with training\.epochs 11 \(the checkpoint was trained with 10\)/g)).toHaveLength(1)
    expect(o.stdout.match(/resuming with name "tiny2" \(the checkpoint was trained with "tiny"\)/g)).toHaveLength(1)
    expect((await readState(at('renamed/checkpoint.safetensors'))).step).toBe(66)
  })
})

describe('messages', () => {
  it('one epoch is "1 epoch"', async () => {
    const o = await cli(['train', '--spec', at('one.json'), '--out', at('one'), '--no-pictures'])
    expect(o.code, o.stderr).toBe(0)
    expect(o.stdout).toContain('48 training examples / 24 test; 1 epoch, batch 8')
  })
  it('a misspelt command or flag gets a suggestion', async () => {
    const command = await cli(['trian'])
    expect(command.code).toBe(2)
    expect(command.stderr).toContain("unknown command 'trian' (did you mean 'train'?)")
    const flag = await cli(['train', '--spec', 'x.json', '--chekpoint-every', '3'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toContain("unknown flag --chekpoint-every for `nn-ts train` (did you mean '--checkpoint-every'?)")
    // Nothing close: no suggestion.
    expect((await cli(['frobnicate'])).stderr).not.toContain('did you mean')
  })
})
