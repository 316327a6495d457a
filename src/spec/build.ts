/**
 * From a decoded spec to values: the network, the loss, the optimizer and the training settings with
 * their defaults filled in. Total on what `decode` accepts: every range the constructors check was
 * checked by the decoder first, so building never throws for a decoded spec.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { fromNode } from '../layers/kinds.ts'
import * as Loss from '../losses/Loss.ts'
import { type LearningRate, adam, adamw, emaMomentum, momentum, nesterov, rmsprop, sgd } from '../optim/alias.ts'
import { clipByGlobalNorm } from '../optim/clip.ts'
import { cosineDecay, exponentialDecay, stepDecay } from '../optim/schedule.ts'
import { type AnyTransformation, type GradientTransformation, type OptState, chain } from '../optim/Transform.ts'
import { addDecayedWeights } from '../optim/weightDecay.ts'
import type { Network } from '../train/step.ts'
import type { Tree } from '../tree/Tree.ts'
import { chainToNode } from './layers.ts'
import type { NetworkSpec, OptimizerSpec, Spec } from './Spec.ts'

/**
 * The training settings of a spec with defaults filled in (`seed` 0, `validationSize` 0).
 * @category model
 * @example
 * import { Spec } from 'nn-ts'
 * const t: Spec.Training = { epochs: 15, batchSize: 100, seed: 0, validationSize: 5000 }
 * const spec = { input: 2, layers: [{ type: 'dense' as const, units: 2 }], loss: 'mse' as const, optimizer: { type: 'sgd' as const, learningRate: 0.1 } }
 * // The seed is 0 when the spec does not give one.
 * Spec.training({ ...spec, training: { epochs: 15, batchSize: 100, validationSize: 5000 } }) // => t
 */
export interface Training {
  readonly epochs: number
  readonly batchSize: number
  readonly seed: number
  /** Rows of the training set held out (drawn with `Random.key(seed)`) to validate after each epoch. */
  readonly validationSize: number
}

/**
 * What a spec builds: a network the trainer takes, its loss and optimizer, and the settings.
 * @category model
 * @example
 * import { Spec, Train } from 'nn-ts'
 * const built: Spec.Built = Spec.build({
 *   input: 2, layers: [{ type: 'dense', units: 2 }], loss: 'softmaxCrossEntropy',
 *   optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 1, batchSize: 4, seed: 7 }
 * })
 * const s0 = Train.initialState(built.network, built.optimizer, built.training.seed)
 * s0.step // 0
 */
export interface Built {
  readonly network: Network<Tree, Tree>
  readonly loss: Loss.Loss
  readonly optimizer: GradientTransformation<OptState>
  readonly training: Training
}

/**
 * What `build` may need to know about the data: the number of training rows (after the validation
 * split) sets the horizon of a `cosine` schedule without `steps`. The default is MNIST's 60000 minus
 * the validation size.
 * @category model
 * @example
 * import { Laws, Optim, Spec, Tensor } from 'nn-ts'
 * const o: Spec.BuildOptions = { trainSize: 200 } // two batches of 100: a cosine over 2 steps
 * const spec = { input: 2, layers: [{ type: 'dense' as const, units: 2 }], loss: 'mse' as const, training: { epochs: 1, batchSize: 100 },
 *   optimizer: { type: 'sgd' as const, learningRate: 0.1, schedule: { type: 'cosine' as const } } }
 * const run = Laws.runOptimizer(Spec.optimizer(spec, o), { w: Tensor.vector([1]) }, (p) => p, 2)
 * Optim.learningRate(run.steps[1]?.state) // 0: the schedule has ended
 * const mnist = Laws.runOptimizer(Spec.optimizer(spec), { w: Tensor.vector([1]) }, (p) => p, 2) // MNIST's 60000 rows by default
 * Optim.learningRate(mnist.steps[1]?.state) // ≈ 0.1000
 */
export interface BuildOptions {
  readonly trainSize?: number
}

const MNIST_TRAIN_SIZE = 60000

/**
 * The network of a spec: its layers in a `sequential` chain, each dense and BatchNorm layer as wide as
 * what it receives; `residual`, `concat` and nested `sequential` layers as the graphs they describe.
 * Total on what `decode` or `decodeNetwork` accepts; a spec that did not come from them may throw.
 * @category constructors
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.network({ input: 4, layers: [{ type: 'dense', units: 3 }, { type: 'tanh' }] }).name // 'sequential(dense(4→3), tanh)'
 * const block = { type: 'residual', layers: [{ type: 'dense', units: 4 }, { type: 'relu' }] } as const
 * Spec.network({ input: 4, layers: [block] }).name // 'sequential(residual(sequential(dense(4→4), relu)))'
 */
export const network = (spec: NetworkSpec): Network<Tree, Tree> => {
  const placed = chainToNode(spec.layers, { path: 'layers', width: spec.input, from: 'input' })
  const first = placed.issues[0]
  if (first !== undefined) throw new RangeError(`Spec.network: the spec was not decoded: ${first.path}: expected ${first.expected}, found ${first.found}`)
  const built = fromNode(placed.node)
  if (E.isLeft(built)) throw new RangeError(`Spec.network: ${built.left.message}`)
  return built.right as Network<Tree, Tree>
}

const losses: Readonly<Record<Spec['loss'], Loss.Loss>> = {
  mse: Loss.meanSquaredError,
  meanSquaredError: Loss.meanSquaredError,
  bce: Loss.binaryCrossEntropy,
  binaryCrossEntropy: Loss.binaryCrossEntropy,
  bceWithLogits: Loss.binaryCrossEntropyWithLogits,
  binaryCrossEntropyWithLogits: Loss.binaryCrossEntropyWithLogits,
  cce: Loss.categoricalCrossEntropy,
  categoricalCrossEntropy: Loss.categoricalCrossEntropy,
  softmaxCrossEntropy: Loss.softmaxCrossEntropy
}

/**
 * The training settings with defaults.
 * @category constructors
 * @example
 * import { Spec } from 'nn-ts'
 * const spec: Spec.Spec = {
 *   input: 2, layers: [{ type: 'dense', units: 2 }], loss: 'mse',
 *   optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 3, batchSize: 4 }
 * }
 * Spec.training(spec) // { epochs: 3, batchSize: 4, seed: 0, validationSize: 0 }
 */
export const training = (spec: Spec): Training => ({
  epochs: spec.training.epochs,
  batchSize: spec.training.batchSize,
  seed: spec.training.seed ?? 0,
  validationSize: spec.training.validationSize ?? 0
})

const learningRate = (o: OptimizerSpec, totalSteps: number): LearningRate => {
  const s = o.schedule
  if (s === undefined) return o.learningRate
  switch (s.type) {
    case 'step':
      return stepDecay(o.learningRate, { every: s.every, factor: s.factor })
    case 'exponential':
      return exponentialDecay(o.learningRate, { rate: s.rate, ...(s.every === undefined ? {} : { every: s.every }) })
    case 'cosine':
      return cosineDecay(o.learningRate, { steps: s.steps ?? totalSteps, ...(s.alpha === undefined ? {} : { alpha: s.alpha }) })
  }
}

/**
 * The optimizer of a spec: the named optimizer, after `clipByGlobalNorm` and (except for AdamW, whose
 * decay is decoupled) L2-style `weightDecay` when those are given. With neither, it is exactly the
 * named optimizer, so its state has the same structure as one built by hand.
 * @category constructors
 * @example
 * import { Optim, Spec, Tensor } from 'nn-ts'
 * const spec: Spec.Spec = {
 *   input: 2, layers: [{ type: 'dense', units: 2 }], loss: 'mse',
 *   optimizer: { type: 'adam', learningRate: 2e-3, schedule: { type: 'cosine', alpha: 0.02 } },
 *   training: { epochs: 15, batchSize: 100 }
 * }
 * const opt = Spec.optimizer(spec, { trainSize: 55000 }) // the cosine spans 15 × 550 steps
 * Optim.learningRate(opt.init({ w: Tensor.vector([1]) })) // 0.002
 */
export const optimizer = (spec: Spec, options: BuildOptions = {}): GradientTransformation<OptState> => {
  const o = spec.optimizer
  const t = training(spec)
  const trainSize = options.trainSize ?? Math.max(1, MNIST_TRAIN_SIZE - t.validationSize)
  const lr = learningRate(o, Math.max(1, t.epochs * Math.ceil(trainSize / t.batchSize)))
  const adamOptions = o.type === 'adam' || o.type === 'adamw' ? { ...(o.b1 === undefined ? {} : { b1: o.b1 }), ...(o.b2 === undefined ? {} : { b2: o.b2 }), ...(o.eps === undefined ? {} : { eps: o.eps }) } : {}
  const base: AnyTransformation = (() => {
    switch (o.type) {
      case 'sgd':
        return sgd(lr)
      case 'momentum':
        return momentum(lr, o.momentum)
      case 'emaMomentum':
        return emaMomentum(lr, o.momentum)
      case 'nesterov':
        return nesterov(lr, o.momentum)
      case 'adam':
        return adam(lr, adamOptions)
      case 'adamw':
        return adamw(lr, { ...adamOptions, ...(o.weightDecay === undefined ? {} : { weightDecay: o.weightDecay }) })
      case 'rmsprop':
        return rmsprop(lr, { ...(o.decay === undefined ? {} : { decay: o.decay }), ...(o.eps === undefined ? {} : { eps: o.eps }) })
    }
  })()
  const before: AnyTransformation[] = []
  if (o.clipByGlobalNorm !== undefined) before.push(clipByGlobalNorm(o.clipByGlobalNorm))
  if (o.weightDecay !== undefined && o.type !== 'adamw') before.push(addDecayedWeights(o.weightDecay))
  const all = before.length === 0 ? base : chain(...before, base)
  return all as unknown as GradientTransformation<OptState>
}

/**
 * Everything a spec describes, as values: `{ network, loss, optimizer, training }`.
 * @category constructors
 * @example
 * import { Spec, Train } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * const r = Spec.decode({ input: 2, layers: [{ type: 'dense', units: 2 }], loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 1, batchSize: 4 } })
 * if (E.isRight(r)) {
 *   const { network, loss, optimizer, training } = Spec.build(r.right)
 *   const step = Train.trainStep(network, loss, optimizer)
 *   network.name // 'sequential(dense(2→2))'
 *   training // { epochs: 1, batchSize: 4, seed: 0, validationSize: 0 }
 * }
 */
export const build = (spec: Spec, options: BuildOptions = {}): Built => ({
  network: network(spec),
  loss: losses[spec.loss],
  optimizer: optimizer(spec, options),
  training: training(spec)
})
