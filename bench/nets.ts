/**
 * nn-ts against PyTorch (CPU) and TensorFlow.js (WASM SIMD backend) on the MNIST nets, in one run.
 *
 *   npm run bench                                  # nets S, M, L, BN, start; 2 timed epochs; both peers
 *   npm run bench -- --nets S,L --epochs 3 --json
 *   npm run bench -- --peers torch                 # peers: torch, tfjs, both (torch,tfjs) or none
 *   npm run bench -- --epochs 1 --subset 6000      # a quick end-to-end check on 6000 training rows
 *   npm run bench -- --threads 1                   # nn-ts on one thread (NN_TS_THREADS for its child)
 *   npm run bench -- --torch-threads 1 --openblas-threads 2   # fix PyTorch's threads (default: auto)
 *
 * Each (framework, net) pair runs in its own child process, alternating nn-ts, PyTorch and TensorFlow.js
 * net by net, so peak RSS is per framework and machine noise falls on all of them; every figure printed
 * was measured in this run. All three build each net from one layer list (`NETS`), start from nn-ts's
 * initial parameters (TensorFlow.js gets them in-process, PyTorch through a file this process writes),
 * and train with Adam (b1 0.9, b2 0.999, eps 1e-8) at the same learning rates on the same batches in the
 * same order (PyTorch reads the rate of every step and the row order from files: the rates come from
 * nn-ts's schedule, the indices out of `Data.epochBatchStream` itself, run on a dataset of row
 * numbers), so the final losses agree to about four digits. One known difference: PyTorch's BatchNorm
 * updates its running variance with the unbiased batch variance (nn-ts and tfjs: the biased one), so
 * eval-mode outputs of the BN nets differ slightly (test accuracy in the last digit). One warm-up epoch is trained and not timed; the median of the timed epochs is
 * reported. Then inference: `predict` over the 10k test images in batches of 1000 in eval mode, one
 * warm-up pass and the median of `--predict-reps` passes, as images per second.
 *
 * PyTorch runs only under Debian's own interpreter, /usr/bin/python3 (python3-torch with OpenBLAS);
 * when it cannot import torch the run says so and goes on with the other frameworks. For that child only
 * OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the environment (forcing a core type and
 * L2 size slows OpenBLAS here), so OpenBLAS picks its kernels for the CPU it finds; the child reports
 * the core and build it ran. Its threads: the fastest of the allowed settings, found in the same run
 * (see `autoThreads`).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
// The modules themselves, not '../src/index.ts': the index also loads Viz (vega) and ONNX, ~45 MB of
// resident memory a training run does not use and that would count in its peak RSS.
import * as Data from '../src/data/index.ts'
import { loadMnist as loadMnistFiles, mnistFiles } from '../src/data/mnist.ts'
import * as Init from '../src/init/Initializer.ts'
import * as Layers from '../src/layers/index.ts'
import * as Loss from '../src/losses/Loss.ts'
import * as Optim from '../src/optim/index.ts'
import * as Random from '../src/random/Key.ts'
import { useThreads } from '../src/node/threads.ts'
import { kernels } from '../src/tensor/backend.ts'
import * as Tensor from '../src/tensor/Tensor.ts'
import * as Train from '../src/train/index.ts'
import { parseFlags, usageError } from './flags.ts'

/** One layer, described once and built by each framework. */
type LayerSpec =
  | { readonly op: 'dense'; readonly in: number; readonly out: number; readonly init: 'heNormal' | 'glorotUniform' }
  | { readonly op: 'batchNorm'; readonly features: number; readonly eps: number; readonly keepRunning: number }
  | { readonly op: 'relu' }

/** The learning rate of update number `step`: constant, or `Optim.cosineDecay(peak, { steps, alpha })`. */
type Schedule =
  | { readonly kind: 'constant'; readonly value: number }
  | { readonly kind: 'cosine'; readonly peak: number; readonly steps: number; readonly alpha: number }

interface NetSpec {
  readonly describe: string
  readonly layers: ReadonlyArray<LayerSpec>
  readonly batchSize: number
  readonly schedule: Schedule
  /**
   * Training rows held out as `npm start` holds them out (`Data.split` with `Random.key(0)`) and
   * evaluated in eval mode after every epoch, inside the epoch's time as `Train.fit` counts it; 0: none.
   */
  readonly validation: number
}

type NetName = 'S' | 'M' | 'L' | 'BN' | 'start'
const NET_NAMES: ReadonlyArray<NetName> = ['S', 'M', 'L', 'BN', 'start']

/** Dense layers with ReLU between them (and BatchNorm before each ReLU when given), He-normal init. */
const mlp = (hidden: ReadonlyArray<number>, batchNorm?: { readonly eps: number; readonly keepRunning: number }, lastInit: 'heNormal' | 'glorotUniform' = 'heNormal'): LayerSpec[] => {
  const sizes = [784, ...hidden, 10]
  const layers: LayerSpec[] = []
  for (let i = 0; i + 1 < sizes.length; i++) {
    const last = i + 2 === sizes.length
    layers.push({ op: 'dense', in: sizes[i] as number, out: sizes[i + 1] as number, init: last ? lastInit : 'heNormal' })
    if (!last) {
      if (batchNorm !== undefined) layers.push({ op: 'batchNorm', features: sizes[i + 1] as number, ...batchNorm })
      layers.push({ op: 'relu' })
    }
  }
  return layers
}

/** What `npm start` trains (examples/mnist.ts, net S): 15 epochs of 550 batches over 55k rows. */
const START = { epochs: 15, batchSize: 100, trainRows: 55000, validation: 5000 }

const NETS: Record<NetName, NetSpec> = {
  S: { describe: '784-40-30-20-10', layers: mlp([40, 30, 20]), batchSize: 100, schedule: { kind: 'constant', value: 1e-3 }, validation: 0 },
  M: { describe: '784-256-128-10', layers: mlp([256, 128]), batchSize: 128, schedule: { kind: 'constant', value: 1e-3 }, validation: 0 },
  L: { describe: '784-800-10', layers: mlp([800]), batchSize: 128, schedule: { kind: 'constant', value: 1e-3 }, validation: 0 },
  BN: {
    describe: '784-256-BN-128-BN-10',
    layers: mlp([256, 128], { eps: 1e-3, keepRunning: 0.99 }),
    batchSize: 128,
    schedule: { kind: 'constant', value: 1e-3 },
    validation: 0
  },
  // examples/mnist.ts net S: Layers.batchNorm's defaults (eps 1e-8, keepRunning 0.9), the last dense
  // layer Glorot-uniform (dense's default), Adam with cosineDecay(2e-3, { steps: 15 · 550, alpha: 0.02 }),
  // a 5000-row validation split evaluated after every epoch.
  start: {
    describe: '784-40-BN-30-BN-20-BN-10 (npm start)',
    layers: mlp([40, 30, 20], { eps: 1e-8, keepRunning: 0.9 }, 'glorotUniform'),
    batchSize: START.batchSize,
    schedule: { kind: 'cosine', peak: 2e-3, steps: START.epochs * Math.ceil(START.trainRows / START.batchSize), alpha: 0.02 },
    validation: START.validation
  }
}

/**
 * The thread counts PyTorch may use, for `--torch-threads` / `--openblas-threads` `auto`: one, and one per
 * core. Its child tries every pair (torch intra-op threads × OpenBLAS threads) on a copy of the model
 * before the clock starts and trains and predicts with the fastest (bench/torch_nets.py, `calibrate`):
 * on this 2-core machine the fastest pair depends on the load (under load two OpenMP threads spin at
 * every barrier: net S took 26 s per epoch with 2 intra-op threads against 1.6 s with 1), so it is
 * chosen in the run whose figures it gives. The issue's setting was 1 intra-op + 2 OpenBLAS threads.
 */
const autoThreads = (): number[] => [...new Set([1, availableParallelism()])]

const DATA_KEY = Random.key(1)
const PREDICT_BATCH = 1000
const INSTALL_TORCH = 'apt-get install -y python3-torch libopenblas0-pthread'
const PYTHON = '/usr/bin/python3'
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_nets.py', import.meta.url))

const initializer = (name: 'heNormal' | 'glorotUniform'): Init.Initializer => (name === 'heNormal' ? Init.heNormal : Init.glorotUniform)

const buildNetwork = (spec: NetSpec): Layers.AnyLayer =>
  Layers.sequential(
    ...spec.layers.map((l): Layers.AnyLayer => {
      switch (l.op) {
        case 'dense':
          return Layers.dense(l.in, l.out, { weightInit: initializer(l.init) })
        case 'batchNorm':
          return Layers.batchNorm(l.features, { eps: l.eps, keepRunning: l.keepRunning })
        case 'relu':
          return Layers.relu()
      }
    })
  )

const nnTsRate = (s: Schedule): Optim.LearningRate => (s.kind === 'constant' ? s.value : Optim.cosineDecay(s.peak, { steps: s.steps, alpha: s.alpha }))
/** The rate of update number `step`, from the very schedule nn-ts trains with. */
const rateOf = (s: Schedule): ((step: number) => number) => {
  const rate = nnTsRate(s)
  return typeof rate === 'number' ? () => rate : rate
}
const optimizerOf = (spec: NetSpec) => Optim.adam(nnTsRate(spec.schedule))
/** Seed 0, as `npm start`: every framework starts from these parameters. */
const initialStateOf = (spec: NetSpec) => Train.initialState(buildNetwork(spec), optimizerOf(spec), 0)

/**
 * The initial tensors of layer `i`, named as nn-ts names them (`[i].W` is the path Tree.showPath prints):
 * a dense layer's W [in, out] and b, BatchNorm's gamma and beta and its running statistics. A
 * sequential network's parameters and state are tuples indexed by layer.
 */
const initialTensors = (spec: NetSpec, init: ReturnType<typeof initialStateOf>, i: number): ReadonlyArray<{ path: string; tensor: Tensor.Tensor }> => {
  const l = spec.layers[i]
  const names: ReadonlyArray<readonly ['params' | 'state', string]> =
    l?.op === 'dense'
      ? [['params', 'W'], ['params', 'b']]
      : l?.op === 'batchNorm'
        ? [['params', 'gamma'], ['params', 'beta'], ['state', 'runningMean'], ['state', 'runningVar']]
        : []
  return names.map(([tree, name]) => {
    const layers = (tree === 'params' ? init.params : init.layerState) as ReadonlyArray<Record<string, Tensor.Tensor | undefined> | undefined>
    const tensor = layers[i]?.[name]
    if (tensor === undefined) throw new Error(`net ${spec.describe}: layer ${i} has no initial ${tree} ${name}`)
    return { path: `[${i}].${name}`, tensor }
  })
}

/** Multiply-adds of one training step per example: forward, dW and dx (no dx for the first layer). */
const flopsPerExample = (spec: NetSpec): number => {
  let f = 0
  spec.layers.forEach((l, i) => {
    if (l.op === 'dense') f += 2 * l.in * l.out * (i === 0 ? 2 : 3)
  })
  return f
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

type Framework = 'nn-ts' | 'pytorch' | 'tfjs-wasm'

interface PredictResult {
  readonly batchSize: number
  readonly images: number
  readonly seconds: ReadonlyArray<number>
  readonly imagesPerSecond: number
  readonly testAccuracy: number
}

interface RunResult {
  readonly framework: Framework
  readonly net: NetName
  readonly trainRows: number
  readonly epochSeconds: ReadonlyArray<number>
  /** CPU seconds (all threads) per timed epoch: less sensitive than wall time to other load. */
  readonly epochCpuSeconds: ReadonlyArray<number>
  /** Mean training loss over the last epoch's batches, weighted by batch size. */
  readonly finalLoss: number
  /** After the last epoch, for nets with a validation split. */
  readonly validation: { readonly loss: number; readonly error: number } | null
  readonly peakRssMB: number
  readonly backend: string
  readonly predict: PredictResult
  /** PyTorch only: the thread setting it chose for training and for predict, with the calibration. */
  readonly threads?: Record<'training' | 'predict', { readonly torchThreads: number; readonly openblasThreads: number; readonly calibration: ReadonlyArray<unknown> }>
}

/**
 * The rows a net trains and validates on, cut from the MNIST training set, or from any dataset of the
 * same size: the parent runs it on a dataset of row numbers to learn which rows, in which order.
 */
const trainingRows = (spec: NetSpec, subset: number | undefined, d: Data.Dataset): { train: Data.Dataset; validation: Data.Dataset | undefined } => {
  const { train, validation } = spec.validation > 0 ? Data.split(d, spec.validation, Random.key(0)) : { train: d, validation: undefined }
  return { train: subset === undefined ? train : Data.take(train, subset), validation }
}
const epochBatches = (spec: NetSpec, train: Data.Dataset, epoch: number): Iterable<Data.Dataset> =>
  Data.epochBatchStream(train, spec.batchSize, DATA_KEY, epoch)
/** `Train.fit`'s validation batch size. */
const validationBatchSize = (spec: NetSpec): number => Math.max(spec.batchSize, 1000)

const loadMnist = (): { train: Data.Dataset; test: Data.Dataset } => {
  const m = loadMnistFiles()()
  if (E.isLeft(m)) throw new Error(`${m.left.file}: ${m.left.message}`)
  return m.right
}

/** Test images as float batches, made before any clock starts. */
const testBatches = (test: Data.Dataset): ReadonlyArray<Data.Dataset> => Data.batches(test, PREDICT_BATCH)

const predictResult = (seconds: ReadonlyArray<number>, images: number, errors: number): PredictResult => ({
  batchSize: PREDICT_BATCH,
  images,
  seconds,
  imagesPerSecond: images / median(seconds),
  testAccuracy: 1 - errors / images
})

/** Trains one net with nn-ts for `epochs` timed epochs after one warm-up epoch, then times `predict`. */
const runNnTs = (net: NetName, epochs: number, subset: number | undefined, predictReps: number): RunResult => {
  const spec = NETS[net]
  const mnist = loadMnist()
  const { train, validation } = trainingRows(spec, subset, mnist.train)
  const network = buildNetwork(spec)
  const step = Train.trainEpoch(network, Loss.softmaxCrossEntropy, optimizerOf(spec))
  const valBatches = validation === undefined ? undefined : Data.batches(validation, validationBatchSize(spec))
  let state = initialStateOf(spec)
  const times: number[] = []
  const cpu: number[] = []
  let loss = Number.NaN
  let val: RunResult['validation'] = null
  for (let e = 0; e <= epochs; e++) {
    const c = process.cpuUsage()
    const t = performance.now()
    const [r, next] = step(epochBatches(spec, train, e))(state)
    if (E.isLeft(r)) throw new Error(r.left.message)
    state = next
    if (valBatches !== undefined) {
      const v = Train.evaluate(network, Loss.softmaxCrossEntropy, state.params, state.layerState, valBatches)
      val = { loss: v.loss, error: v.error }
    }
    const dt = (performance.now() - t) / 1000
    const dc = process.cpuUsage(c)
    loss = r.right.loss
    if (e > 0) {
      times.push(dt)
      cpu.push((dc.user + dc.system) / 1e6)
    }
  }
  const batches = testBatches(mnist.test)
  const inputs = batches.map((b) => b.inputs)
  const seconds: number[] = []
  let outputs: Tensor.Tensor[] = []
  for (let rep = 0; rep <= predictReps; rep++) {
    const t = performance.now()
    outputs = inputs.map((x) => Layers.predict(network, state.params, state.layerState, x))
    if (rep > 0) seconds.push((performance.now() - t) / 1000)
  }
  const errors = outputs.reduce((n, y, i) => n + Train.countErrors(y, (batches[i] as Data.Dataset).labels), 0)
  return {
    framework: 'nn-ts',
    net,
    trainRows: Data.size(train),
    epochSeconds: times,
    epochCpuSeconds: cpu,
    finalLoss: loss,
    validation: val,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    backend: kernels.name,
    predict: predictResult(seconds, Data.size(mnist.test), errors)
  }
}

/** The same training in TensorFlow.js with its WASM backend, starting from nn-ts's initial weights. */
const runTfjs = async (net: NetName, epochs: number, subset: number | undefined, predictReps: number): Promise<RunResult> => {
  const tf = await import('@tensorflow/tfjs')
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  const { createRequire } = await import('node:module')
  const path = await import('node:path')
  const dist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/'
  wasm.setWasmPaths(dist)
  await tf.setBackend('wasm')
  await tf.ready()
  const spec = NETS[net]
  const mnist = loadMnist()
  const { train, validation } = trainingRows(spec, subset, mnist.train)
  const init = initialStateOf(spec)
  const model = tf.sequential()
  spec.layers.forEach((l, i) => {
    const inputShape = i === 0 ? [784] : undefined
    if (l.op === 'dense') model.add(tf.layers.dense({ units: l.out, inputShape }))
    // Keras's momentum is the weight of the old running statistic: nn-ts's keepRunning.
    else if (l.op === 'batchNorm') model.add(tf.layers.batchNormalization({ momentum: l.keepRunning, epsilon: l.eps, inputShape }))
    else model.add(tf.layers.activation({ activation: 'relu', inputShape }))
  })
  const f32 = (t: Tensor.Tensor) => t.data as Float32Array
  spec.layers.forEach((_, i) => {
    const layer = model.layers[i]
    if (layer === undefined) throw new Error(`tfjs net ${net}: no layer ${i}`)
    // Dense: [W, b] with W [in, out] as nn-ts's; BatchNorm: [gamma, beta, moving mean, moving variance].
    const tensors = initialTensors(spec, init, i).map(({ tensor }) =>
      tensor.shape.length === 2 ? tf.tensor2d(f32(tensor), tensor.shape as [number, number]) : tf.tensor1d(f32(tensor))
    )
    if (tensors.length > 0) layer.setWeights(tensors)
  })
  const rate = rateOf(spec.schedule)
  const optimizer = tf.train.adam(rate(0), 0.9, 0.999, 1e-8)
  // tfjs's Adam reads this (protected) field at every update, so a schedule can set it before each step.
  const settable = optimizer as unknown as { learningRate: number }
  model.compile({ optimizer, loss: (y, logits) => tf.losses.softmaxCrossEntropy(y, logits) })
  const evalBatches = (batches: ReadonlyArray<Data.Dataset>) =>
    batches.map((b) => ({ x: tf.tensor2d(f32(b.inputs), b.inputs.shape as [number, number]), labels: b.labels, targets: b.targets }))
  const valBatches = validation === undefined ? undefined : evalBatches(Data.batches(validation, validationBatchSize(spec)))
  const countErrors = (logits: Float32Array, labels: ReadonlyArray<number>) => Train.countErrors(Tensor.fromData([labels.length, 10], logits), labels)
  const times: number[] = []
  const cpu: number[] = []
  let loss = Number.NaN
  let val: RunResult['validation'] = null
  let step = 0
  for (let e = 0; e <= epochs; e++) {
    const c = process.cpuUsage()
    const t = performance.now()
    let sum = 0
    for (const b of epochBatches(spec, train, e)) {
      const x = tf.tensor2d(f32(b.inputs), b.inputs.shape as [number, number])
      const y = tf.tensor2d(f32(b.targets), b.targets.shape as [number, number])
      if (spec.schedule.kind !== 'constant') settable.learningRate = rate(step)
      const l = (await model.trainOnBatch(x, y)) as number
      step++
      sum += l * b.labels.length
      x.dispose()
      y.dispose()
    }
    if (valBatches !== undefined) {
      let lossSum = 0
      let errors = 0
      for (const b of valBatches) {
        const logits = model.predict(b.x, { batchSize: b.labels.length }) as import('@tensorflow/tfjs').Tensor
        const y = tf.tensor2d(f32(b.targets), b.targets.shape as [number, number])
        const l = tf.losses.softmaxCrossEntropy(y, logits)
        lossSum += (l.dataSync()[0] as number) * b.labels.length
        errors += countErrors(logits.dataSync() as Float32Array, b.labels)
        tf.dispose([logits, y, l])
      }
      const n = valBatches.reduce((k, b) => k + b.labels.length, 0)
      val = { loss: lossSum / n, error: errors / n }
    }
    const dt = (performance.now() - t) / 1000
    const dc = process.cpuUsage(c)
    loss = sum / Data.size(train)
    if (e > 0) {
      times.push(dt)
      cpu.push((dc.user + dc.system) / 1e6)
    }
  }
  const test = evalBatches(testBatches(mnist.test))
  const seconds: number[] = []
  let outputs: Float32Array[] = []
  for (let rep = 0; rep <= predictReps; rep++) {
    const t = performance.now()
    outputs = test.map((b) => {
      const y = model.predict(b.x, { batchSize: PREDICT_BATCH }) as import('@tensorflow/tfjs').Tensor
      const data = y.dataSync() as Float32Array
      y.dispose()
      return data
    })
    if (rep > 0) seconds.push((performance.now() - t) / 1000)
  }
  const errors = outputs.reduce((n, y, i) => n + countErrors(y, (test[i] as { labels: ReadonlyArray<number> }).labels), 0)
  return {
    framework: 'tfjs-wasm',
    net,
    trainRows: Data.size(train),
    epochSeconds: times,
    epochCpuSeconds: cpu,
    finalLoss: loss,
    validation: val,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    backend: `tfjs ${tf.version.tfjs} ${tf.getBackend()}`,
    predict: predictResult(seconds, Data.size(mnist.test), errors)
  }
}

// ---------------------------------------------------------------------------------------------------
// PyTorch: the job file, the child's environment and the probe.

/**
 * The environment of the PyTorch child: this one without the OpenBLAS overrides, with a pool of the
 * most OpenBLAS threads it may use (the child sets the count per setting).
 */
const torchEnv = (openblasThreads: ReadonlyArray<number>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(Math.max(...openblasThreads)) }
  delete env['OPENBLAS_CORETYPE']
  delete env['OPENBLAS_L2_SIZE']
  return env
}

/** The thread counts the PyTorch child may choose from. */
interface TorchThreads {
  readonly torch: ReadonlyArray<number>
  readonly openblas: ReadonlyArray<number>
}

interface TorchProbe {
  readonly torch: string
  readonly intraOpThreads: number
  readonly openblas: { readonly library: string; readonly config: string; readonly core: string; readonly threads: number } | null
}

/** Imports torch under /usr/bin/python3 with the child's environment: its versions, or why not. */
const probeTorch = (openblasThreads: ReadonlyArray<number>): E.Either<string, TorchProbe> => {
  const r = spawnSync(PYTHON, [TORCH_SCRIPT, '--probe'], { encoding: 'utf8', env: torchEnv(openblasThreads) })
  if (r.error !== undefined) return E.left(`${PYTHON}: ${r.error.message}`)
  if (r.status !== 0) return E.left((r.stderr || `exit status ${r.status}`).trim())
  return E.right(JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as TorchProbe)
}

/** A dataset whose single input column is the row number, to trace which rows a pipeline picks. */
const rowNumbers = (n: number): Data.Dataset =>
  Data.unsafeFromLabelled(Tensor.fromData([n, 1], Float32Array.from({ length: n }, (_, i) => i)), new Array<number>(n).fill(0), 1)

const rowsOf = (d: Data.Dataset): Int32Array => Int32Array.from(d.inputs.data as Float32Array)

/**
 * Writes what the PyTorch child needs into `dir`: the job (layers, sizes, MNIST paths), nn-ts's initial
 * parameters and running statistics (float32, with their tree paths), every epoch's row order, every
 * step's learning rate (float64) and the validation rows. Returns the job file's path.
 */
const writeTorchJob = (dir: string, net: NetName, epochs: number, subset: number | undefined, threads: TorchThreads, predictReps: number): string => {
  const spec = NETS[net]
  const init = initialStateOf(spec)
  const leaves = spec.layers.flatMap((_, i) => initialTensors(spec, init, i))
  let offset = 0
  const manifest = leaves.map((l) => {
    const entry = { path: l.path, shape: l.tensor.shape, offset }
    offset += l.tensor.data.length
    return entry
  })
  const flat = new Float32Array(offset)
  leaves.forEach((l, i) => flat.set(l.tensor.data as ArrayLike<number>, (manifest[i] as { offset: number }).offset))
  const paramsFile = join(dir, `${net}.params.f32`)
  writeFileSync(paramsFile, new Uint8Array(flat.buffer))

  // The rows in the order nn-ts trains on them: its own pipeline, run on a dataset of row numbers.
  const { train, validation } = trainingRows(spec, subset, rowNumbers(60000))
  const n = Data.size(train)
  const order = new Int32Array((epochs + 1) * n)
  for (let e = 0; e <= epochs; e++) {
    let at = e * n
    for (const b of epochBatches(spec, train, e)) {
      order.set(rowsOf(b), at)
      at += b.labels.length
    }
  }
  const orderFile = join(dir, `${net}.order.i32`)
  writeFileSync(orderFile, new Uint8Array(order.buffer))
  const rate = rateOf(spec.schedule)
  const rates = Float64Array.from({ length: (epochs + 1) * Math.ceil(n / spec.batchSize) }, (_, step) => rate(step))
  const ratesFile = join(dir, `${net}.rates.f64`)
  writeFileSync(ratesFile, new Uint8Array(rates.buffer))
  const validationFile = validation === undefined ? null : join(dir, `${net}.validation.i32`)
  if (validation !== undefined && validationFile !== null) writeFileSync(validationFile, new Uint8Array(rowsOf(validation).buffer))

  const job = {
    net,
    layers: spec.layers,
    batchSize: spec.batchSize,
    epochs,
    trainRows: n,
    threads,
    mnist: mnistFiles(),
    paramsFile,
    leaves: manifest,
    orderFile,
    ratesFile,
    validationFile,
    validationBatchSize: validationBatchSize(spec),
    predictBatchSize: PREDICT_BATCH,
    predictReps
  }
  const jobFile = join(dir, `${net}.job.json`)
  writeFileSync(jobFile, JSON.stringify(job))
  return jobFile
}

// ---------------------------------------------------------------------------------------------------

const args = parseFlags('bench/nets.ts', {
  nets: { type: 'string', default: NET_NAMES.join(',') },
  epochs: { type: 'string', default: '2' },
  peers: { type: 'string' },
  peer: { type: 'string' },
  subset: { type: 'string' },
  'predict-reps': { type: 'string', default: '5' },
  json: { type: 'boolean', default: false },
  threads: { type: 'string' },
  'torch-threads': { type: 'string', default: 'auto' },
  'openblas-threads': { type: 'string', default: 'auto' },
  child: { type: 'string' }
})
const positiveInt = (flag: string, text: string): number => {
  const n = Number(text)
  if (!(/^\d+$/.test(text) && n >= 1)) usageError('bench/nets.ts', `--${flag} must be a positive integer, got '${text}'`)
  return n
}
const epochs = positiveInt('epochs', args.epochs)
const predictReps = positiveInt('predict-reps', args['predict-reps'])
const subset = args.subset === undefined ? undefined : positiveInt('subset', args.subset)

if (args.child !== undefined) {
  // Child mode: run one (framework, net) pair and print its result as JSON.
  const [framework, net] = args.child.split(':') as [Framework, NetName]
  // As `npm start` and the CLI run (through nn-ts/node): a second kernel thread unless NN_TS_THREADS=1.
  if (framework === 'nn-ts') useThreads()
  const result = framework === 'nn-ts' ? runNnTs(net, epochs, subset, predictReps) : await runTfjs(net, epochs, subset, predictReps)
  process.stdout.write(JSON.stringify(result) + '\n')
} else {
  const nets = args.nets.split(',').map((n) => n.trim()) as NetName[]
  for (const n of nets) if (!NET_NAMES.includes(n)) throw new Error(`unknown net '${n}': expected ${NET_NAMES.join(', ')}`)
  if (args.peers !== undefined && args.peer !== undefined) throw new Error('give --peers or --peer, not both')
  const peerList = (args.peers ?? args.peer ?? 'torch,tfjs').split(',').map((p) => p.trim())
  for (const p of peerList) if (!['torch', 'tfjs', 'none'].includes(p)) throw new Error(`unknown peer '${p}': expected torch, tfjs or none`)
  const threadList = (flag: 'torch-threads' | 'openblas-threads'): number[] =>
    args[flag] === 'auto' ? autoThreads() : [...new Set(args[flag].split(',').map((t) => positiveInt(flag, t.trim())))]
  const torchThreads: TorchThreads = { torch: threadList('torch-threads'), openblas: threadList('openblas-threads') }

  const torch = peerList.includes('torch') ? probeTorch(torchThreads.openblas) : undefined
  const torchNotMeasured = torch !== undefined && E.isLeft(torch) ? `PyTorch: not measured (install: ${INSTALL_TORCH}) — ${torch.left.split('\n').at(-1)}` : undefined
  if (torchNotMeasured !== undefined) process.stderr.write(torchNotMeasured + '\n')
  const frameworks: Framework[] = [
    'nn-ts',
    ...(torch !== undefined && E.isRight(torch) ? (['pytorch'] as const) : []),
    ...(peerList.includes('tfjs') ? (['tfjs-wasm'] as const) : [])
  ]

  const self = fileURLToPath(import.meta.url)
  const common = ['--epochs', String(epochs), '--predict-reps', String(predictReps), ...(subset === undefined ? [] : ['--subset', String(subset)])]
  const dir = mkdtempSync(join(tmpdir(), 'nn-ts-bench-'))
  const rows: Array<Record<string, unknown>> = []
  try {
    for (const net of nets) {
      const results: Partial<Record<Framework, RunResult>> = {}
      for (const framework of frameworks) {
        process.stderr.write(`${framework} net ${net}: 1 warm-up + ${epochs} timed epochs${subset === undefined ? '' : ` on ${subset} rows`} ...\n`)
        const child =
          framework === 'pytorch'
            ? spawnSync(PYTHON, [TORCH_SCRIPT, '--job', writeTorchJob(dir, net, epochs, subset, torchThreads, predictReps)], {
                encoding: 'utf8',
                env: torchEnv(torchThreads.openblas),
                maxBuffer: 1 << 24
              })
            : spawnSync(process.execPath, ['--import', 'tsx', self, '--child', `${framework}:${net}`, ...common], {
                encoding: 'utf8',
                env: args.threads === undefined ? process.env : { ...process.env, NN_TS_THREADS: args.threads },
                maxBuffer: 1 << 24
              })
        if (child.status !== 0) throw new Error(`${framework} net ${net} failed:\n${child.stderr}`)
        results[framework] = JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as RunResult
      }
      const summary = (r: RunResult | undefined) =>
        r === undefined
          ? null
          : {
              seconds: median(r.epochSeconds),
              cpuSeconds: median(r.epochCpuSeconds),
              gflops: (flopsPerExample(NETS[net]) * r.trainRows) / median(r.epochSeconds) / 1e9,
              finalLoss: r.finalLoss,
              validation: r.validation,
              peakRssMB: r.peakRssMB,
              predictImagesPerSecond: r.predict.imagesPerSecond,
              testAccuracy: r.predict.testAccuracy,
              backend: r.backend,
              threads: r.threads ?? null,
              raw: { epochSeconds: r.epochSeconds, epochCpuSeconds: r.epochCpuSeconds, predictSeconds: r.predict.seconds }
            }
      const ours = summary(results['nn-ts']) as NonNullable<ReturnType<typeof summary>>
      const pytorch = summary(results['pytorch'])
      const tfjs = summary(results['tfjs-wasm'])
      rows.push({
        net,
        describe: NETS[net].describe,
        batchSize: NETS[net].batchSize,
        trainRows: results['nn-ts']?.trainRows,
        nnTs: ours,
        pytorch,
        tfjs,
        /** Time ratios, > 1: the first is slower. */
        ratios: {
          trainNnTsOverPytorch: pytorch === null ? null : ours.seconds / pytorch.seconds,
          trainTfjsOverNnTs: tfjs === null ? null : tfjs.seconds / ours.seconds,
          predictNnTsOverPytorch: pytorch === null ? null : pytorch.predictImagesPerSecond / ours.predictImagesPerSecond,
          predictTfjsOverNnTs: tfjs === null ? null : ours.predictImagesPerSecond / tfjs.predictImagesPerSecond
        }
      })
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  const torchInfo = torch !== undefined && E.isRight(torch) ? torch.right : undefined
  const torchSetting =
    torchInfo === undefined
      ? undefined
      : `PyTorch ${torchInfo.torch} (${PYTHON}); ` +
        (torchInfo.openblas === null ? 'BLAS: not OpenBLAS' : `OpenBLAS core ${torchInfo.openblas.core}, ${torchInfo.openblas.config}`) +
        ' (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for this child); threads, the fastest of ' +
        `${torchThreads.torch.join('/')} intra-op × ${torchThreads.openblas.join('/')} OpenBLAS: ` +
        rows
          .map((r) => {
            const t = (r['pytorch'] as { threads: RunResult['threads'] | null } | null)?.threads
            return t === undefined || t === null
              ? `${String(r['net'])} -`
              : `${String(r['net'])} train ${t.training.torchThreads}+${t.training.openblasThreads}, predict ${t.predict.torchThreads}+${t.predict.openblasThreads}`
          })
          .join('; ')
  if (args.json) {
    process.stdout.write(
      JSON.stringify({
        epochs,
        subset: subset ?? null,
        predictReps,
        machine: `${process.platform} ${process.arch}, node ${process.version}`,
        nnTsKernels: rows.length > 0 ? (rows[0]?.['nnTs'] as { backend: string }).backend : kernels.name,
        pytorch: torchInfo === undefined ? { measured: false, reason: torchNotMeasured ?? 'not selected' } : { measured: true, allowedThreads: torchThreads, ...torchInfo },
        rows
      }) + '\n'
    )
  } else {
    type Side = { seconds: number; cpuSeconds: number; gflops: number; finalLoss: number; peakRssMB: number; predictImagesPerSecond: number; testAccuracy: number } | null
    const f = (x: unknown, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-')
    const times = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? `${x.toFixed(1)}×` : '-')
    const side = (r: Record<string, unknown>, k: string) => r[k] as Side
    const out = (line: string) => process.stdout.write(line + '\n')
    out('Training, seconds per epoch (CPU seconds, all threads, in brackets); ratios are time ratios, > 1: the first is slower')
    out('net | nn-ts | PyTorch | tfjs-wasm | nn-ts/PyTorch | tfjs/nn-ts | nn-ts GFLOP/s | final loss nn-ts / PyTorch / tfjs | peak RSS MB nn-ts / PyTorch / tfjs')
    for (const r of rows) {
      const [a, p, t] = [side(r, 'nnTs'), side(r, 'pytorch'), side(r, 'tfjs')]
      const ratios = r['ratios'] as Record<string, number | null>
      const s = (x: Side) => (x === null ? '-' : `${f(x.seconds)} (${f(x.cpuSeconds)})`)
      out(
        `${String(r['net'])} ${String(r['describe'])}, batch ${String(r['batchSize'])} | ${s(a)} | ${s(p)} | ${s(t)} | ${times(ratios['trainNnTsOverPytorch'])} | ` +
          `${times(ratios['trainTfjsOverNnTs'])} | ${f(a?.gflops, 1)} | ${f(a?.finalLoss, 4)} / ${f(p?.finalLoss, 4)} / ${f(t?.finalLoss, 4)} | ` +
          `${f(a?.peakRssMB, 0)} / ${f(p?.peakRssMB, 0)} / ${f(t?.peakRssMB, 0)}`
      )
    }
    out('')
    out(`Inference (predict, eval mode), images per second on the 10k test images in batches of ${PREDICT_BATCH}; median of ${predictReps} passes after one warm-up`)
    out('net | nn-ts | PyTorch | tfjs-wasm | nn-ts/PyTorch (time) | tfjs/nn-ts (time) | test accuracy nn-ts / PyTorch / tfjs')
    for (const r of rows) {
      const [a, p, t] = [side(r, 'nnTs'), side(r, 'pytorch'), side(r, 'tfjs')]
      const ratios = r['ratios'] as Record<string, number | null>
      const pct = (x: Side) => (x === null ? '-' : `${(100 * x.testAccuracy).toFixed(2)} %`)
      out(
        `${String(r['net'])} | ${f(a?.predictImagesPerSecond, 0)} | ${f(p?.predictImagesPerSecond, 0)} | ${f(t?.predictImagesPerSecond, 0)} | ` +
          `${times(ratios['predictNnTsOverPytorch'])} | ${times(ratios['predictTfjsOverNnTs'])} | ${pct(a)} / ${pct(p)} / ${pct(t)}`
      )
    }
    out('')
    const trainRows = rows.map((r) => `${String(r['net'])} ${String(r['trainRows'])}`).join(', ')
    out(`median of ${epochs} epochs after one warm-up; training rows: ${trainRows}${subset === undefined ? '' : ` (--subset ${subset})`}; all figures from this run`)
    out(`nn-ts kernels: ${rows.length > 0 ? (rows[0]?.['nnTs'] as { backend: string }).backend : kernels.name}${args.threads === undefined ? '' : ` (NN_TS_THREADS=${args.threads})`}`)
    out(torchSetting ?? torchNotMeasured ?? 'PyTorch: not selected (--peers)')
    const tfjsRow = rows.map((r) => r['tfjs'] as { backend: string } | null).find((x) => x !== null)
    out(tfjsRow === undefined ? 'TensorFlow.js: not selected (--peers)' : `TensorFlow.js: ${tfjsRow.backend}`)
  }
}
