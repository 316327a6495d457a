/**
 * The HW1 `MLP` constructor as a function returning values: a network, a loss and an optimizer that
 * together train the way HW1's `MLP.forward`, `backward` and `step` do.
 *
 * Layer order per hidden layer is Linear → BatchNorm (for the first `numBatchNorm` linear layers) →
 * Activation, as in HW1 §3.5.2. HW1's `step` keeps momentum in the Linear layers only (§3.5.3:
 * "The momentum values for the weights and biases are stored within the `Linear` class") and moves
 * BatchNorm's γ and β by plain gradient descent; and HW1's BatchNorm gradients are sums over the batch
 * of the per-row loss derivative (appendix C, eqs. 16–17), while the Linear gradients are averaged
 * (§3.4.2). `mlp` reproduces both.
 *
 * @since 0.1.0
 */
import type { Initializer } from '../init/Initializer.ts'
import type { Activation } from '../layers/activations.ts'
import { type BatchNormOptions, type BatchNormParams, type BatchNormState, batchNorm } from '../layers/batchNorm.ts'
import { dense } from '../layers/dense.ts'
import { type AnyLayer, type Layer, lazyDx, sequentialOf } from '../layers/Layer.ts'
import type { Loss } from '../losses/Loss.ts'
import { softmaxCrossEntropy } from '../losses/Loss.ts'
import { momentum, sgd } from '../optim/alias.ts'
import { partition } from '../optim/masked.ts'
import type { GradientTransformation, OptState } from '../optim/Transform.ts'
import { kernels as K } from '../tensor/backend.ts'
import type { Tree } from '../tree/Tree.ts'

/**
 * How the BatchNorm layers of an MLP are built and what gradient they report for γ and β.
 * @category model
 * @example
 * import { Layers, Models } from 'nn-ts'
 * // HW1's values, written out: E[x] ← 0.9·E[x] + 0.1·μ_B, ε = 1e-8, γ and β step on batch sums.
 * const hw1: Models.MlpBatchNormOptions = { keepRunning: 0.9, eps: 1e-8, paramGradient: 'batchSum' }
 * // PyTorch's BatchNorm1d(momentum=0.1, eps=1e-5) statistics, gradients of the mean loss:
 * const torchLike: Models.MlpBatchNormOptions = { keepRunning: 0.9, eps: 1e-5, paramGradient: 'batchMean' }
 * const { network } = Models.mlp({ inputSize: 4, outputSize: 2, hiddens: [3], activations: [Layers.relu(), Layers.linear()], learningRate: 0.1, numBatchNorm: 1, batchNorm: torchLike })
 * network.node.children?.[1] // { op: 'batchNorm', attrs: { features: 3, keepRunning: 0.9, eps: 1e-5 }, … }
 */
export interface MlpBatchNormOptions extends BatchNormOptions {
  /**
   * The weight of the *old* running statistic, HW1's α (appendix C, eqs. 46–47):
   * `E[x] ← keepRunning · E[x] + (1 − keepRunning) · μ_B`, likewise `Var[x]` with `σ²_B`. Default 0.9,
   * the α of HW1's `BatchNorm(in_feature, alpha=0.9)`. PyTorch's `momentum` is `1 − keepRunning`.
   */
  readonly keepRunning?: number
  /** Added to `σ²_B` under the square root; default 1e-8, HW1's ε (appendix C). */
  readonly eps?: number
  /**
   * The gradient γ and β are stepped with. `'batchSum'` (default, HW1): `dγ = Σ_i δ_i ⊙ x̂_i`,
   * `dβ = Σ_i δ_i`, with `δ_i` the derivative of row `i`'s own loss (what HW1's criterion passes
   * back), i.e. `m` times the gradient of the batch-mean loss for a batch of `m` rows; the Linear
   * gradients stay averaged, as HW1's. `'batchMean'`: the gradient of the batch-mean loss, like every
   * other parameter (what `Layers.batchNorm` reports).
   */
  readonly paramGradient?: 'batchSum' | 'batchMean'
}

/**
 * HW1's `MLP(input_size, output_size, hiddens, activations, weight_init_fn, bias_init_fn, criterion, lr, momentum, num_bn_layers)`, as named fields.
 * @category model
 * @example
 * import { Layers, Models } from 'nn-ts'
 * const options: Models.MlpOptions = {
 *   inputSize: 784, outputSize: 10, hiddens: [40, 30, 20],
 *   activations: [Layers.relu(), Layers.relu(), Layers.relu(), Layers.linear()],
 *   learningRate: 0.008, momentum: 0.9, numBatchNorm: 3
 * }
 * Models.mlp(options).network.name // 'sequential(dense(784→40), batchNorm(40), relu, dense(40→30), batchNorm(30), relu, dense(30→20), batchNorm(20), relu, dense(20→10), identity)'
 */
export interface MlpOptions {
  readonly inputSize: number
  readonly outputSize: number
  /** Units per hidden layer, e.g. `[40, 30, 20]`. */
  readonly hiddens: ReadonlyArray<number>
  /** One activation per linear layer (`hiddens.length + 1`), the last usually `Layers.linear()`. */
  readonly activations: ReadonlyArray<Activation>
  readonly weightInit?: Initializer
  readonly biasInit?: Initializer
  /** Default: softmax cross-entropy on logits. */
  readonly criterion?: Loss
  readonly learningRate: number
  /**
   * HW1's momentum for the Linear layers' `W` and `b`: `Δ ← βΔ − η∇; W ← W + Δ` (default 0: plain
   * gradient descent). BatchNorm's γ and β always take plain gradient descent `γ ← γ − η∇`, as in HW1.
   */
  readonly momentum?: number
  /** How many of the first linear layers are followed by BatchNorm (default 0). */
  readonly numBatchNorm?: number
  /** The BatchNorm layers' running-average weight, ε and γ/β gradient; HW1's values by default. */
  readonly batchNorm?: MlpBatchNormOptions
}

/**
 * What `mlp` builds: a network, its loss and its optimizer, to pass to `Train.trainStep` or `Train.fit`.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Models, Tensor, Train } from 'nn-ts'
 * const xorMlp: Models.Mlp = Models.mlp({ inputSize: 2, outputSize: 2, hiddens: [8], activations: [Layers.tanh(), Layers.linear()], learningRate: 0.5 })
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const run = await Train.fit({ ...xorMlp, train: xor.right, epochs: 300, batchSize: 4, seed: 0 })()
 * if (E.isRight(run)) run.right.history.trainError.at(-1) // 0
 */
export interface Mlp {
  readonly network: Layer<ReadonlyArray<Tree>, ReadonlyArray<Tree>, number, number>
  readonly loss: Loss
  /**
   * Without BatchNorm, HW1's momentum (or SGD when `momentum` is 0) on every parameter. With
   * BatchNorm, an `Optim.partition` of the params by layer: `linear` (momentum on every `W` and `b`)
   * and `batchNorm` (SGD on every γ and β), both at `learningRate`.
   */
  readonly optimizer: GradientTransformation<OptState>
}

/**
 * `layer` (a BatchNorm) reporting HW1's γ and β gradients: the batch sums of the per-row derivative.
 * Every loss here is a batch mean, so the per-row derivative is `rows` times the `dy` it receives;
 * the sums are linear in it, so scaling the mean-loss gradients by `rows` gives them.
 */
const withBatchSumParamGradients = (layer: Layer<BatchNormParams, BatchNormState, number, number>): Layer<BatchNormParams, BatchNormState, number, number> => ({
  ...layer,
  apply: (params, state, x, ctx) => {
    const forward = layer.apply(params, state, x, ctx)
    const rows = x.shape[0] as number
    return {
      ...forward,
      backward: (dy) => {
        const g = forward.backward(dy)
        return lazyDx(() => g.dx, { gamma: K.scale(g.dparams.gamma, rows), beta: K.scale(g.dparams.beta, rows) })
      }
    }
  }
})

/**
 * Builds an MLP the way HW1's constructor does, validating the arguments. Trained with
 * `Train.trainStep(network, loss, optimizer)`, it follows HW1's trajectory: the same forward pass,
 * HW1's gradients (Linear averaged over the batch, BatchNorm γ and β summed unless
 * `batchNorm.paramGradient` is `'batchMean'`), momentum on the Linear layers only.
 * @category constructors
 * @example
 * import { Init, Layers, Models, Optim, Random } from 'nn-ts'
 * const { network, loss, optimizer } = Models.mlp({
 *   inputSize: 784, outputSize: 10, hiddens: [64, 64, 32],
 *   activations: [Layers.sigmoid(), Layers.sigmoid(), Layers.sigmoid(), Layers.linear()],
 *   weightInit: Init.glorotUniform, biasInit: Init.zeros, learningRate: 0.008, momentum: 0.9, numBatchNorm: 0
 * })
 * // With BatchNorm: momentum on W and b, plain gradient descent on γ and β; HW1's α and ε, spelled out.
 * const withBn = Models.mlp({
 *   inputSize: 784, outputSize: 10, hiddens: [64, 32],
 *   activations: [Layers.sigmoid(), Layers.sigmoid(), Layers.linear()],
 *   learningRate: 0.008, momentum: 0.9, numBatchNorm: 1, batchNorm: { keepRunning: 0.9, eps: 1e-8 }
 * })
 * Optim.learningRate(withBn.optimizer.init(withBn.network.init(Random.key(0)).params)) // 0.008
 */
export const mlp = (options: MlpOptions): Mlp => {
  const { inputSize, outputSize, hiddens, activations } = options
  const numBatchNorm = options.numBatchNorm ?? 0
  const sizes = [inputSize, ...hiddens, outputSize]
  sizes.forEach((n, i) => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`mlp: layer size ${i} must be a positive integer, got ${n}`)
  })
  if (activations.length !== hiddens.length + 1) {
    throw new RangeError(`mlp: need ${hiddens.length + 1} activations (one per linear layer), got ${activations.length}`)
  }
  if (!Number.isInteger(numBatchNorm) || numBatchNorm < 0 || numBatchNorm > hiddens.length + 1) {
    throw new RangeError(`mlp: numBatchNorm must be an integer in [0, ${hiddens.length + 1}], got ${numBatchNorm}`)
  }
  if (!(options.learningRate >= 0)) throw new RangeError(`mlp: learningRate must be ≥ 0, got ${options.learningRate}`)
  const beta = options.momentum ?? 0
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`mlp: momentum must be in [0, 1), got ${beta}`)
  const keepRunning = options.batchNorm?.keepRunning ?? 0.9
  const eps = options.batchNorm?.eps ?? 1e-8
  const paramGradient = options.batchNorm?.paramGradient ?? 'batchSum'
  if (!(keepRunning >= 0 && keepRunning <= 1)) {
    throw new RangeError(`mlp: batchNorm.keepRunning (the weight of the old running statistic) must be in [0, 1], got ${keepRunning}`)
  }
  if (!(eps > 0)) throw new RangeError(`mlp: batchNorm.eps must be positive, got ${eps}`)
  if (paramGradient !== 'batchSum' && paramGradient !== 'batchMean') {
    throw new RangeError(`mlp: batchNorm.paramGradient must be 'batchSum' or 'batchMean', got ${String(paramGradient)}`)
  }
  const layers: AnyLayer[] = []
  const batchNormAt = new Set<number>()
  for (let i = 0; i + 1 < sizes.length; i++) {
    const out = sizes[i + 1] as number
    layers.push(dense(sizes[i] as number, out, { weightInit: options.weightInit, biasInit: options.biasInit }))
    if (i < numBatchNorm) {
      batchNormAt.add(layers.length)
      const norm: Layer<BatchNormParams, BatchNormState, number, number> = batchNorm(out, { keepRunning, eps })
      layers.push(paramGradient === 'batchSum' ? withBatchSumParamGradients(norm) : norm)
    }
    layers.push(activations[i] as Activation)
  }
  const linearStep = beta === 0 ? sgd(options.learningRate) : momentum(options.learningRate, beta)
  // Params of a sequential are a tuple by layer, so a leaf's first path step names its layer.
  const optimizer =
    batchNormAt.size === 0
      ? linearStep
      : partition((path) => (batchNormAt.has(path[0] as number) ? 'batchNorm' : 'linear'), { linear: linearStep, batchNorm: sgd(options.learningRate) })
  return {
    network: sequentialOf(layers) as Mlp['network'],
    loss: options.criterion ?? softmaxCrossEntropy,
    optimizer: optimizer as unknown as GradientTransformation<OptState>
  }
}
