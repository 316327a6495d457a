/**
 * Batch normalization (Ioffe & Szegedy 2015; HW1 §3.3 and appendix C) with running statistics kept in
 * layer state, so they are threaded like any other state and never mutated.
 *
 * @since 0.1.0
 */
import * as Init from '../init/Initializer.ts'
import { kernels as K } from '../tensor/backend.ts'
import { type Tensor, ShapeError } from '../tensor/Tensor.ts'
import { type Layer, gradients } from './Layer.ts'

/**
 * Learned per-feature scale `gamma` and shift `beta`.
 * @category model
 * @example
 * import { Layers, Random } from 'nn-ts'
 * const params: Layers.BatchNormParams = Layers.batchNorm(3).init(Random.key(0)).params
 * params // { gamma: [1, 1, 1], beta: [0, 0, 0] }: starts as the identity after normalizing
 */
export type BatchNormParams = { readonly gamma: Tensor; readonly beta: Tensor }

/**
 * Running estimates of the per-feature mean and (biased) variance, used in eval mode.
 * @category model
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const bn = Layers.batchNorm(1)
 * const { params, state } = bn.init(Random.key(0))
 * const x = Tensor.fromRows([[1], [3]]) // batch mean 2, variance 1
 * const next: Layers.BatchNormState = bn.apply(params, state, x, { mode: 'train', key: Random.key(0) }).state
 * next // { runningMean: [0.2], runningVar: [1] }: 0.9 · old + 0.1 · batch
 * state // { runningMean: [0], runningVar: [1] }: unchanged, a new state was returned
 */
export type BatchNormState = { readonly runningMean: Tensor; readonly runningVar: Tensor }

/**
 * How BatchNorm updates its running statistics and what it adds to the variance.
 * @category model
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const options: Layers.BatchNormOptions = { keepRunning: 0.5, eps: 1e-5 } // PyTorch's momentum 0.5, eps 1e-5
 * const bn = Layers.batchNorm(1, options)
 * const { params, state } = bn.init(Random.key(0))
 * bn.apply(params, state, Tensor.fromRows([[1], [3]]), { mode: 'train', key: Random.key(0) }).state.runningMean // [1]: halfway to 2
 */
export interface BatchNormOptions {
  /**
   * The weight of the *old* running statistic in each update, HW1's α:
   * `E[x] ← keepRunning · E[x] + (1 − keepRunning) · μ_B` (likewise the variance). Default 0.9.
   * Flax calls this `momentum`; PyTorch's `momentum` is `1 − keepRunning`.
   */
  readonly keepRunning?: number
  /** Added to the variance before the square root (HW1 uses 1e-8, the default). */
  readonly eps?: number
}

/**
 * BatchNorm over the features of `[batch, features]`. Train mode normalizes with the batch's mean and
 * variance and returns updated running statistics; eval mode normalizes with the running statistics and
 * returns the state unchanged.
 *
 * @category constructors
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const block = Layers.sequential(Layers.dense(784, 256), Layers.batchNorm(256), Layers.relu())
 * const bn = Layers.batchNorm(1)
 * const { params, state } = bn.init(Random.key(0))
 * const x = Tensor.fromRows([[1], [3]])
 * bn.apply(params, state, x, { mode: 'train', key: Random.key(0) }).y // [[-1], [1]]: (x − 2) / √(1 + 1e-8), in float32
 * Layers.predict(bn, params, state, x) // [[1], [3]]: eval mode, running mean 0 and variance 1
 */
export const batchNorm = <const N extends number>(features: N, options: BatchNormOptions = {}): Layer<BatchNormParams, BatchNormState, N, N> => {
  const keep = options.keepRunning ?? 0.9
  const eps = options.eps ?? 1e-8
  if (!Number.isInteger(features) || features <= 0) throw new RangeError(`batchNorm: features must be a positive integer, got ${features}`)
  if (!(keep >= 0 && keep <= 1)) throw new RangeError(`batchNorm: keepRunning must be in [0, 1], got ${keep}`)
  if (!(eps > 0)) throw new RangeError(`batchNorm: eps must be positive, got ${eps}`)
  const name = `batchNorm(${features})`
  const invStd = (variance: Tensor): Tensor => K.inverseSqrt(variance, eps)
  return {
    name,
    inWidth: features,
    outWidth: features,
    node: { op: 'batchNorm', attrs: { features, keepRunning: keep, eps } },
    init: (key, dtype = 'float32') => ({
      params: { gamma: Init.ones(key, [features], dtype), beta: Init.zeros(key, [features], dtype) },
      state: { runningMean: Init.zeros(key, [features], dtype), runningVar: Init.ones(key, [features], dtype) }
    }),
    apply: ({ gamma, beta }, state, x, ctx) => {
      if (x.shape.length !== 2 || x.shape[1] !== features) throw new ShapeError(name, `[batch, ${features}]`, x.shape)
      const m = x.shape[0] as number
      if (ctx.mode === 'eval') {
        const scale = invStd(state.runningVar)
        const xhat = K.mulRowVector(K.addRowVector(x, K.scale(state.runningMean, -1)), scale)
        return {
          y: K.addRowVector(K.mulRowVector(xhat, gamma), beta),
          state,
          backward: (dy, options) =>
            gradients(options, () => K.mulRowVector(dy, K.mul(gamma, scale)), {
              gamma: K.columnSums(K.mul(dy, xhat)),
              beta: K.columnSums(dy)
            })
        }
      }
      if (m < 2) throw new ShapeError(`${name} in train mode`, 'a batch of at least 2 rows (batch statistics)', x.shape)
      const mean = K.divide(K.columnSums(x), m)
      const centered = K.addRowVector(x, K.scale(mean, -1))
      const variance = K.divide(K.columnSums(K.mul(centered, centered)), m)
      const scale = invStd(variance)
      const xhat = K.mulRowVector(centered, scale)
      const next: BatchNormState = {
        runningMean: K.axpby(keep, state.runningMean, 1 - keep, mean),
        runningVar: K.axpby(keep, state.runningVar, 1 - keep, variance)
      }
      return {
        y: K.addRowVector(K.mulRowVector(xhat, gamma), beta),
        state: next,
        backward: (dy, options) => {
          // HW1 appendix C, collapsed: dx = (1/σ)(dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂)), per feature.
          const dx = (): Tensor => {
            const dxhat = K.mulRowVector(dy, gamma)
            // −Σ/m as Σ/(−m): the same quotient, negated exactly.
            const meanDxhat = K.divide(K.columnSums(dxhat), -m)
            const meanDxhatXhat = K.divide(K.columnSums(K.mul(dxhat, xhat)), -m)
            const inner = K.add(K.addRowVector(dxhat, meanDxhat), K.mulRowVector(xhat, meanDxhatXhat))
            return K.mulRowVector(inner, scale)
          }
          return gradients(options, dx, { gamma: K.columnSums(K.mul(dy, xhat)), beta: K.columnSums(dy) })
        }
      }
    }
  }
}
