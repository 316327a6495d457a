/**
 * Seconds per training step of the benchmark nets on MNIST-shaped random data: the micro-benchmark the
 * performance levers of issue 14 were measured with (fused optimizer steps, named kernels, skipped
 * input gradients, FMA kernels). Run it twice — before and after a change — alternating, and compare.
 *
 *   npx tsx bench/levers.ts                              # net L, Adam, 300 timed steps
 *   npx tsx bench/levers.ts --net S --opt momentum --steps 1000
 *   npx tsx bench/levers.ts --net Ld                     # net L with dropout on the pixels first
 *   npx tsx bench/levers.ts --net BN --threads 2         # start the second thread first
 *   npx tsx bench/levers.ts --net Ld --part backward     # only the backward pass, as a trainer asks it
 *   npx tsx bench/levers.ts --fma                        # products with fused multiply-adds (relaxed SIMD)
 *
 * Nets (ReLU, He normal, as bench/nets.ts): S 784-40-30-20-10 batch 100; L 784-800-10 batch 128;
 * Ld the MNIST example's net L, dropout(0.2)-784-800-dropout(0.5)-10 batch 128; BN
 * 784-256-BN-128-BN-10 batch 128. Data: 16 fixed batches of uniform [0, 1) pixels and random labels,
 * cycled, so nothing but the step itself is timed. Prints one JSON line.
 */
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/lib/Either.js'
import * as Data from '../src/data/index.ts'
import * as Init from '../src/init/Initializer.ts'
import * as Layers from '../src/layers/index.ts'
import * as Loss from '../src/losses/Loss.ts'
import * as Optim from '../src/optim/index.ts'
import * as Random from '../src/random/Key.ts'
import { kernels } from '../src/tensor/backend.ts'
import * as Train from '../src/train/index.ts'

const { values: args } = parseArgs({
  options: {
    net: { type: 'string', default: 'L' },
    opt: { type: 'string', default: 'adam' },
    steps: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '30' },
    threads: { type: 'string', default: '1' },
    part: { type: 'string', default: 'step' },
    fma: { type: 'boolean', default: false }
  }
})

const he = { weightInit: Init.heNormal }
const NETS: Record<string, { network: Layers.AnyLayer; batch: number }> = {
  S: {
    network: Layers.sequential(
      Layers.dense(784, 40, he), Layers.relu(), Layers.dense(40, 30, he), Layers.relu(),
      Layers.dense(30, 20, he), Layers.relu(), Layers.dense(20, 10, he)
    ),
    batch: 100
  },
  L: { network: Layers.sequential(Layers.dense(784, 800, he), Layers.relu(), Layers.dense(800, 10, he)), batch: 128 },
  Ld: {
    network: Layers.sequential(
      Layers.dropout(0.2), Layers.dense(784, 800, he), Layers.relu(), Layers.dropout(0.5), Layers.dense(800, 10, he)
    ),
    batch: 128
  },
  BN: {
    network: Layers.sequential(
      Layers.dense(784, 256, he), Layers.batchNorm(256, { eps: 1e-3 }), Layers.relu(),
      Layers.dense(256, 128, he), Layers.batchNorm(128, { eps: 1e-3 }), Layers.relu(), Layers.dense(128, 10, he)
    ),
    batch: 128
  }
}

const OPTIMIZERS: Record<string, () => Optim.AnyTransformation> = {
  sgd: () => Optim.sgd(0.05),
  momentum: () => Optim.momentum(0.01, 0.9),
  nesterov: () => Optim.nesterov(0.01, 0.9),
  ema: () => Optim.emaMomentum(0.1, 0.9),
  adam: () => Optim.adam(1e-3),
  adamw: () => Optim.adamw(1e-3, { weightDecay: 1e-2 }),
  rmsprop: () => Optim.rmsprop(1e-3)
}

const net = NETS[args.net]
const makeOptimizer = OPTIMIZERS[args.opt]
if (net === undefined) throw new Error(`--net: expected one of ${Object.keys(NETS).join(', ')}, got ${args.net}`)
if (makeOptimizer === undefined) throw new Error(`--opt: expected one of ${Object.keys(OPTIMIZERS).join(', ')}, got ${args.opt}`)
const steps = Number(args.steps)
const warmup = Number(args.warmup)

if (args.fma) {
  const { useRelaxedSimd } = await import('../src/node/engine.ts')
  const variant = useRelaxedSimd()
  if (E.isLeft(variant)) throw new Error(`--fma: ${variant.left}`)
}
if (args.threads === '2') {
  const { useThreads } = await import('../src/node/threads.ts')
  if (!useThreads()) throw new Error('--threads 2: the second thread did not start')
  const { wasm } = await import('../src/tensor/wasm/backend.ts')
  const deadline = Date.now() + 10_000
  while (E.isRight(wasm) && !wasm.right.threadsReady() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
}

const batches: Data.Dataset[] = Array.from({ length: 16 }, (_, i) => {
  const inputs = Random.uniform(Random.key(1000 + i), [net.batch, 784], 0, 1, 'float32')
  const labels = Array.from(Random.uniform(Random.key(2000 + i), [net.batch], 0, 10, 'float64').data, (u) => Math.min(9, Math.floor(u)))
  return Data.unsafeFromLabelled(inputs, labels, 10)
})

const optimizer = makeOptimizer()
const step = Train.trainStep(net.network, Loss.softmaxCrossEntropy, optimizer)
let state = Train.initialState(net.network, optimizer, 0)
const steps1 = (n: number, from: number): void => {
  for (let i = 0; i < n; i++) {
    const [r, next] = step(batches[(from + i) % batches.length] as Data.Dataset)(state)
    if (E.isLeft(r)) throw new Error(r.left.message)
    state = next
  }
}
/** Forward passes in train mode, or backward passes (of one forward) as the trainer asks for them. */
const parts = (part: 'forward' | 'backward') => (n: number, from: number): void => {
  const ctx = { mode: 'train' as const, key: Random.key(7) }
  const first = batches[0] as Data.Dataset
  const forward = net.network.apply(state.params, state.layerState, first.inputs, ctx)
  const dy = Loss.softmaxCrossEntropy.apply(forward.y, first.targets).grad
  for (let i = 0; i < n; i++) {
    if (part === 'forward') net.network.apply(state.params, state.layerState, (batches[(from + i) % batches.length] as Data.Dataset).inputs, ctx)
    else forward.backward(dy, { needDx: false })
  }
}
const run = args.part === 'step' ? steps1 : args.part === 'forward' || args.part === 'backward' ? parts(args.part) : undefined
if (run === undefined) throw new Error(`--part: expected step, forward or backward, got ${args.part}`)
run(warmup, 0)
const cpu0 = process.cpuUsage()
const t0 = performance.now()
run(steps, warmup)
const seconds = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
const cpuSeconds = (cpu.user + cpu.system) / 1e6
// CPU seconds (all threads) are less disturbed than wall seconds by other load on a shared machine.
process.stdout.write(
  JSON.stringify({
    net: args.net,
    opt: args.opt,
    part: args.part,
    steps,
    msPerStep: (1000 * seconds) / steps,
    cpuMsPerStep: (1000 * cpuSeconds) / steps,
    backend: kernels.name
  }) + '\n'
)
