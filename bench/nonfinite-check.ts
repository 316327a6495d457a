/**
 * What the optimizer-state check of `Train.trainStep` costs (issue 12 item 1): the time of
 * `Tree.firstNonFinite(optState)` — a walk of the whole new optimizer state, what the check adds to a
 * step — against the time of the step that includes it, measured in alternating rounds (steps, then as
 * many checks of the state the steps left, then steps again …), so a drift in the machine's speed
 * falls on both sides of each ratio.
 *
 * That walk is what `trainStep` does for an optimizer without a fused step (`--opt adam-chain`: Adam
 * as a chain built by hand). An optimizer with a fused step (`adam`, `sgd`, …) reports whether the new
 * params and moments are finite from its kernel's own pass, and `trainStep` walks the moments only
 * when it saw a non-finite value: for those the figure here is an upper bound on the check's cost.
 *
 * A whole-step A/B (the step with and without the check, two copies of one function) was tried and
 * dropped: its A/A control (both copies with the check) already differed by 10–20 % on a shared
 * 2-core machine (JIT and GC effects), far above the effect to measure.
 *
 * Prints one JSON line per net with the medians over the rounds.
 *
 *   npx tsx bench/nonfinite-check.ts                    # nets S and L, Adam, 15 rounds of 20 steps
 *   npx tsx bench/nonfinite-check.ts --nets L --opt adam-chain --rounds 30
 *   npx tsx bench/nonfinite-check.ts --threads 2        # the second thread started, as the CLI runs
 *
 * Nets and data as bench/levers.ts: S 784-40-30-20-10 batch 100, L 784-800-10 batch 128, ReLU, He
 * normal; 16 fixed batches of uniform [0, 1) pixels and random labels, cycled. CPU time (all threads
 * of this process) is reported next to wall time: on a shared machine it is the less disturbed one.
 */
import * as E from 'fp-ts/lib/Either.js'
import * as Data from '../src/data/index.ts'
import * as Init from '../src/init/Initializer.ts'
import * as Layers from '../src/layers/index.ts'
import * as Loss from '../src/losses/Loss.ts'
import * as Optim from '../src/optim/index.ts'
import * as Random from '../src/random/Key.ts'
import { kernels } from '../src/tensor/backend.ts'
import * as Train from '../src/train/index.ts'
import * as Tree from '../src/tree/Tree.ts'
import { parseFlags, usageError } from './flags.ts'

const args = parseFlags('bench/nonfinite-check.ts', {
  nets: { type: 'string', default: 'S,L' },
  opt: { type: 'string', default: 'adam' },
  rounds: { type: 'string', default: '15' },
  steps: { type: 'string', default: '20' },
  warmup: { type: 'string', default: '20' },
  threads: { type: 'string', default: '1' }
})

const he = { weightInit: Init.heNormal }
const NETS: Record<string, { readonly network: Layers.AnyLayer; readonly batch: number }> = {
  S: {
    network: Layers.sequential(
      Layers.dense(784, 40, he), Layers.relu(), Layers.dense(40, 30, he), Layers.relu(),
      Layers.dense(30, 20, he), Layers.relu(), Layers.dense(20, 10, he)
    ),
    batch: 100
  },
  L: { network: Layers.sequential(Layers.dense(784, 800, he), Layers.relu(), Layers.dense(800, 10, he)), batch: 128 }
}

const OPTIMIZERS: Record<string, () => Optim.AnyTransformation> = {
  sgd: () => Optim.sgd(0.05),
  momentum: () => Optim.momentum(0.01, 0.9),
  adam: () => Optim.adam(1e-3),
  // The same computation with no fused step: trainStep checks its state by walking it.
  'adam-chain': () => Optim.chain(Optim.scaleByAdam(), Optim.scaleByLearningRate(1e-3)),
  rmsprop: () => Optim.rmsprop(1e-3)
}

const makeOptimizer = OPTIMIZERS[args.opt] ?? usageError('bench/nonfinite-check.ts', `--opt: expected one of ${Object.keys(OPTIMIZERS).join(', ')}, got ${args.opt}`)
const rounds = Number(args.rounds)
const stepsPerRound = Number(args.steps)
const warmup = Number(args.warmup)

if (args.threads === '2') {
  const { useThreads } = await import('../src/node/threads.ts')
  if (!useThreads()) throw new Error('--threads 2: the second thread did not start')
  const { wasm } = await import('../src/tensor/wasm/backend.ts')
  const deadline = Date.now() + 10_000
  while (E.isRight(wasm) && !wasm.right.threadsReady() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** Wall and CPU milliseconds of `f`. */
const timed = (f: () => void): { readonly wall: number; readonly cpu: number } => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  f()
  const wall = performance.now() - t0
  const c = process.cpuUsage(c0)
  return { wall, cpu: (c.user + c.system) / 1000 }
}

for (const name of args.nets.split(',')) {
  const net = NETS[name] ?? usageError('bench/nonfinite-check.ts', `--nets: expected names among ${Object.keys(NETS).join(', ')}, got ${name}`)
  const batches: Data.Dataset[] = Array.from({ length: 16 }, (_, i) => {
    const inputs = Random.uniform(Random.key(1000 + i), [net.batch, 784], 0, 1, 'float32')
    const labels = Array.from(Random.uniform(Random.key(2000 + i), [net.batch], 0, 10, 'float64').data, (u) => Math.min(9, Math.floor(u)))
    return Data.unsafeFromLabelled(inputs, labels, 10)
  })
  const optimizer = makeOptimizer()
  const step = Train.trainStep(net.network, Loss.softmaxCrossEntropy, optimizer)
  let state = Train.initialState(net.network, optimizer, 0)
  const steps = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const [r, next] = step(batches[state.step % batches.length] as Data.Dataset)(state)
      if (E.isLeft(r)) throw new Error(r.left.message)
      state = next
    }
  }
  // The check as trainStep runs it: one walk of the new optimizer state per step.
  let found = 0
  const checks = (n: number): void => {
    for (let i = 0; i < n; i++) if (Tree.firstNonFinite(state.optState) !== undefined) found++
  }
  steps(warmup)
  checks(warmup)
  const wallRatios: number[] = []
  const cpuRatios: number[] = []
  const stepMs: number[] = []
  const checkMs: number[] = []
  for (let r = 0; r < rounds; r++) {
    const s = timed(() => steps(stepsPerRound))
    const c = timed(() => checks(stepsPerRound))
    stepMs.push(s.wall / stepsPerRound)
    checkMs.push(c.wall / stepsPerRound)
    wallRatios.push(c.wall / s.wall)
    cpuRatios.push(c.cpu / s.cpu)
  }
  if (found !== 0) throw new Error(`the optimizer state of net ${name} became non-finite`)
  const values = Tree.leaves(state.optState).reduce((n, l) => n + (typeof l.value === 'number' ? 1 : l.value.data.length), 0)
  process.stdout.write(
    JSON.stringify({
      net: name,
      opt: args.opt,
      backend: kernels.name,
      threads: Number(args.threads),
      optStateValues: values,
      rounds,
      stepsPerRound,
      msPerStep: median(stepMs),
      msPerCheck: median(checkMs),
      // The check's share of a step that includes it (median of the rounds' ratios), and the spread.
      checkOverStepWall: median(wallRatios),
      checkOverStepCpu: median(cpuRatios),
      checkOverStepWallMin: Math.min(...wallRatios),
      checkOverStepWallMax: Math.max(...wallRatios)
    }) + '\n'
  )
}
