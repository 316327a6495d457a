/**
 * nn-ts against TensorFlow.js (WASM SIMD backend) on the four MNIST nets, side by side.
 *
 *   npm run bench                         # all nets, 2 timed epochs each, both frameworks
 *   npm run bench -- --nets S,L --epochs 3 --json
 *   npm run bench -- --peer none          # nn-ts only
 *   npm run bench -- --threads 1          # nn-ts on one thread (NN_TS_THREADS for its child)
 *
 * Each (framework, net) pair runs in its own child process, alternating nn-ts and TensorFlow.js, so
 * peak RSS is per framework and machine noise falls on both. Both sides get the same initial weights
 * (exported from nn-ts), the same optimizer (Adam, constant learning rate), batch size and batch order.
 * One warm-up epoch is trained and not timed; the median of the timed epochs is reported.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as E from 'fp-ts/Either'
// The modules themselves, not '../src/index.ts': the index also loads Viz (vega) and ONNX, ~45 MB of
// resident memory a training run does not use and that would count in its peak RSS.
import * as Data from '../src/data/index.ts'
import * as Init from '../src/init/Initializer.ts'
import * as Layers from '../src/layers/index.ts'
import * as Loss from '../src/losses/Loss.ts'
import * as Optim from '../src/optim/index.ts'
import * as Random from '../src/random/Key.ts'
import { kernels } from '../src/tensor/backend.ts'
import * as Tensor from '../src/tensor/Tensor.ts'
import * as Train from '../src/train/index.ts'
import * as Tree from '../src/tree/Tree.ts'

type NetName = 'S' | 'M' | 'L' | 'BN'
interface NetSpec {
  readonly hidden: ReadonlyArray<number>
  readonly activation: 'sigmoid' | 'relu'
  readonly batchNorm: boolean
  readonly batchSize: number
  readonly lr: number
}
const NETS: Record<NetName, NetSpec> = {
  S: { hidden: [40, 30, 20], activation: 'relu', batchNorm: false, batchSize: 100, lr: 1e-3 },
  M: { hidden: [256, 128], activation: 'relu', batchNorm: false, batchSize: 128, lr: 1e-3 },
  L: { hidden: [800], activation: 'relu', batchNorm: false, batchSize: 128, lr: 1e-3 },
  BN: { hidden: [256, 128], activation: 'relu', batchNorm: true, batchSize: 128, lr: 1e-3 }
}
/** PyTorch on this machine, median epoch seconds (measured by the project, see issue 4). */
const PYTORCH: Record<NetName, number> = { S: 0.29, M: 0.56, L: 1.18, BN: 0.82 }

const buildNetwork = (spec: NetSpec): Layers.AnyLayer => {
  const sizes = [784, ...spec.hidden, 10]
  const layers: Layers.AnyLayer[] = []
  for (let i = 0; i + 1 < sizes.length; i++) {
    layers.push(Layers.dense(sizes[i] as number, sizes[i + 1] as number, { weightInit: Init.heNormal }))
    if (i + 2 < sizes.length) {
      if (spec.batchNorm) layers.push(Layers.batchNorm(sizes[i + 1] as number, { eps: 1e-3, keepRunning: 0.99 }))
      layers.push(spec.activation === 'relu' ? Layers.relu() : Layers.sigmoid())
    }
  }
  return Layers.sequential(...layers)
}

/** Multiply-adds of one training step per example: forward, dW and dx (no dx for the first layer). */
const flopsPerExample = (spec: NetSpec): number => {
  const sizes = [784, ...spec.hidden, 10]
  let f = 0
  for (let i = 0; i + 1 < sizes.length; i++) f += 2 * (sizes[i] as number) * (sizes[i + 1] as number) * (i === 0 ? 2 : 3)
  return f
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

interface RunResult {
  readonly framework: 'nn-ts' | 'tfjs-wasm'
  readonly net: NetName
  readonly epochSeconds: ReadonlyArray<number>
  /** CPU seconds (all threads) per timed epoch: less sensitive than wall time to other load. */
  readonly epochCpuSeconds: ReadonlyArray<number>
  readonly finalLoss: number
  readonly peakRssMB: number
  readonly backend: string
}

const loadTrain = (): Data.Dataset => {
  const m = Data.loadMnist()()
  if (E.isLeft(m)) throw new Error(m.left.message)
  return m.right.train
}

/** Trains one net with nn-ts for `epochs` timed epochs after one warm-up epoch. */
const runNnTs = (net: NetName, epochs: number): RunResult => {
  const spec = NETS[net]
  const train = loadTrain()
  const network = buildNetwork(spec)
  const optimizer = Optim.adam(spec.lr)
  const step = Train.trainEpoch(network, Loss.softmaxCrossEntropy, optimizer)
  let state = Train.initialState(network, optimizer, 0)
  const times: number[] = []
  const cpu: number[] = []
  let loss = Number.NaN
  for (let e = 0; e <= epochs; e++) {
    const batches = Data.epochBatchStream(train, spec.batchSize, Random.key(1), e)
    const c = process.cpuUsage()
    const t = performance.now()
    const [r, next] = step(batches)(state)
    const dt = (performance.now() - t) / 1000
    const dc = process.cpuUsage(c)
    if (E.isLeft(r)) throw new Error(r.left.message)
    state = next
    loss = r.right.loss
    if (e > 0) {
      times.push(dt)
      cpu.push((dc.user + dc.system) / 1e6)
    }
  }
  return {
    framework: 'nn-ts',
    net,
    epochSeconds: times,
    epochCpuSeconds: cpu,
    finalLoss: loss,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    backend: kernels.name
  }
}

/** The same training in TensorFlow.js with its WASM backend, starting from nn-ts's initial weights. */
const runTfjs = async (net: NetName, epochs: number): Promise<RunResult> => {
  const tf = await import('@tensorflow/tfjs')
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  const { createRequire } = await import('node:module')
  const path = await import('node:path')
  const dist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/'
  wasm.setWasmPaths(dist)
  await tf.setBackend('wasm')
  await tf.ready()
  const spec = NETS[net]
  const train = loadTrain()
  const init = Train.initialState(buildNetwork(spec), Optim.adam(spec.lr), 0)
  const denseParams = Tree.leaves(init.params).filter((l) => l.path.endsWith('.W') || l.path.endsWith('.b'))
  const sizes = [784, ...spec.hidden, 10]
  const model = tf.sequential()
  for (let i = 0; i + 1 < sizes.length; i++) {
    model.add(tf.layers.dense({ units: sizes[i + 1] as number, inputShape: i === 0 ? [784] : undefined }))
    if (i + 2 < sizes.length) {
      if (spec.batchNorm) model.add(tf.layers.batchNormalization({ momentum: 0.99, epsilon: 1e-3 }))
      model.add(tf.layers.activation({ activation: spec.activation }))
    }
  }
  const denseLayers = model.layers.filter((l) => l.getClassName() === 'Dense')
  denseLayers.forEach((layer, i) => {
    const W = denseParams[2 * i]?.tensor as Tensor.Tensor
    const b = denseParams[2 * i + 1]?.tensor as Tensor.Tensor
    layer.setWeights([tf.tensor2d(W.data as Float32Array, W.shape as [number, number]), tf.tensor1d(b.data as Float32Array)])
  })
  model.compile({ optimizer: tf.train.adam(spec.lr), loss: (y, logits) => tf.losses.softmaxCrossEntropy(y, logits) })
  const times: number[] = []
  let loss = Number.NaN
  for (let e = 0; e <= epochs; e++) {
    const batches = Data.epochBatchStream(train, spec.batchSize, Random.key(1), e)
    const t = performance.now()
    let sum = 0
    for (const b of batches) {
      const x = tf.tensor2d(b.inputs.data as Float32Array, b.inputs.shape as [number, number])
      const y = tf.tensor2d(b.targets.data as Float32Array, b.targets.shape as [number, number])
      const l = (await model.trainOnBatch(x, y)) as number
      sum += l * b.labels.length
      x.dispose()
      y.dispose()
    }
    const dt = (performance.now() - t) / 1000
    loss = sum / Data.size(train)
    if (e > 0) times.push(dt)
  }
  return { framework: 'tfjs-wasm', net, epochSeconds: times, epochCpuSeconds: [], finalLoss: loss, peakRssMB: process.resourceUsage().maxRSS / 1024, backend: tf.getBackend() }
}

const { values: args } = parseArgs({
  options: {
    nets: { type: 'string', default: 'S,M,L,BN' },
    epochs: { type: 'string', default: '2' },
    peer: { type: 'string', default: 'tfjs' },
    json: { type: 'boolean', default: false },
    threads: { type: 'string' },
    child: { type: 'string' }
  }
})
const epochs = Number(args.epochs)
if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`--epochs must be a positive integer, got ${args.epochs}`)

if (args.child !== undefined) {
  // Child mode: run one (framework, net) pair and print its result as JSON.
  const [framework, net] = args.child.split(':') as ['nn-ts' | 'tfjs-wasm', NetName]
  const result = framework === 'nn-ts' ? runNnTs(net, epochs) : await runTfjs(net, epochs)
  process.stdout.write(JSON.stringify(result) + '\n')
} else {
  const nets = args.nets.split(',').map((n) => n.trim()) as NetName[]
  for (const n of nets) if (!(n in NETS)) throw new Error(`unknown net '${n}': expected S, M, L or BN`)
  const frameworks = args.peer === 'none' ? (['nn-ts'] as const) : (['nn-ts', 'tfjs-wasm'] as const)
  const self = fileURLToPath(import.meta.url)
  const rows: Array<Record<string, unknown>> = []
  for (const net of nets) {
    const results: Partial<Record<'nn-ts' | 'tfjs-wasm', RunResult>> = {}
    for (const framework of frameworks) {
      process.stderr.write(`${framework} net ${net}: ${epochs} timed epochs ...\n`)
      const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', `${framework}:${net}`, '--epochs', String(epochs)], {
        encoding: 'utf8',
        env: args.threads === undefined ? process.env : { ...process.env, NN_TS_THREADS: args.threads },
        maxBuffer: 1 << 24
      })
      if (child.status !== 0) throw new Error(`${framework} net ${net} failed:\n${child.stderr}`)
      results[framework] = JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as RunResult
    }
    const ours = results['nn-ts'] as RunResult
    const peer = results['tfjs-wasm']
    const oursMedian = median(ours.epochSeconds)
    const gflops = (flopsPerExample(NETS[net]) * 60000) / oursMedian / 1e9
    rows.push({
      net,
      nnTsSeconds: oursMedian,
      nnTsCpuSeconds: median(ours.epochCpuSeconds),
      tfjsSeconds: peer === undefined ? null : median(peer.epochSeconds),
      speedupVsTfjs: peer === undefined ? null : median(peer.epochSeconds) / oursMedian,
      pytorchSeconds: PYTORCH[net],
      ratioToPytorch: oursMedian / PYTORCH[net],
      nnTsGflops: gflops,
      nnTsPeakRssMB: ours.peakRssMB,
      tfjsPeakRssMB: peer?.peakRssMB ?? null,
      nnTsFinalLoss: ours.finalLoss,
      tfjsFinalLoss: peer?.finalLoss ?? null,
      backend: ours.backend
    })
  }
  if (args.json) process.stdout.write(JSON.stringify({ epochs, machine: `${process.platform} ${process.arch}, node ${process.version}`, rows }) + '\n')
  else {
    const f = (x: unknown, d = 2) => (typeof x === 'number' ? x.toFixed(d) : '-')
    process.stdout.write('net | nn-ts s/epoch | nn-ts CPU s/epoch | tfjs-wasm s/epoch | speed-up | PyTorch s/epoch | nn-ts/PyTorch | GFLOP/s | RSS nn-ts MB | RSS tfjs MB\n')
    for (const r of rows) {
      process.stdout.write(
        `${r['net']} | ${f(r['nnTsSeconds'])} | ${f(r['nnTsCpuSeconds'])} | ${f(r['tfjsSeconds'])} | ${f(r['speedupVsTfjs'], 1)}× | ${f(r['pytorchSeconds'])} | ${f(r['ratioToPytorch'], 1)}× | ${f(r['nnTsGflops'], 1)} | ${f(r['nnTsPeakRssMB'], 0)} | ${f(r['tfjsPeakRssMB'], 0)}\n`
      )
    }
    process.stdout.write(`(kernels: ${String(rows[0]?.['backend'])}; median of ${epochs} epochs after one warm-up; 60k MNIST)\n`)
  }
}
