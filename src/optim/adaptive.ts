/**
 * Per-coordinate step sizes from running averages of squared gradients: Adam and RMSProp.
 *
 * Both divide by a root mean square, so their steps are about one *learning rate* per coordinate
 * whatever the scale of the gradient: the learning rate is measured in parameter units.
 *
 * @since 0.1.0
 */
import { kernels as K } from '../tensor/backend.ts'
import * as Tree from '../tree/Tree.ts'
import { type GradientTransformation, zerosLike } from './Transform.ts'
import { assertFinite, assertInRange } from './internal.ts'

/**
 * `count` updates so far; `mu` and `nu` the running averages of the gradient and its square.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const s: Optim.AdamState = Optim.scaleByAdam().init({ w: Tensor.vector([1]) }) // { count: 0, mu: …, nu: … }
 */
export type AdamState = { readonly count: number; readonly mu: Tree.Tree; readonly nu: Tree.Tree }

/**
 * Adam's hyper-parameters: decay of the first and second moments, and `eps` added to `√v̂`
 * (`epsRoot` is added under the root, 0 by default).
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const slow: Optim.AdamOptions = { b1: 0.9, b2: 0.9999 }
 * const p = { w: Tensor.vector([1], 'float64') }
 * const [u] = Optim.scaleByAdam(slow).update({ w: Tensor.vector([5], 'float64') }, p)(Optim.scaleByAdam(slow).init(p))
 * u.w // [≈ 1.0000]: the first direction is g / (|g| + eps), whatever b1 and b2
 */
export type AdamOptions = { readonly b1?: number; readonly b2?: number; readonly eps?: number; readonly epsRoot?: number }

/**
 * Adam's scaling (Kingma & Ba): `m ← b1·m + (1−b1)·g`, `v ← b2·v + (1−b2)·g²`,
 * `u = m̂ / (√(v̂ + epsRoot) + eps)` with `m̂ = m / (1 − b1^t)`, `v̂ = v / (1 − b2^t)`.
 * Follow it with `scaleByLearningRate` (see `adam`). On the first step `u ≈ sign(g)`.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const adam = Optim.chain(Optim.scaleByAdam({ b2: 0.99 }), Optim.scaleByLearningRate(1e-3))
 * const p = { w: Tensor.vector([1, 1], 'float64') }
 * const [u] = adam.update({ w: Tensor.vector([5, -0.01], 'float64') }, p)(adam.init(p))
 * u.w // [≈ -0.001, ≈ 0.001]: the step is the learning rate, the sign the gradient's
 */
export const scaleByAdam = (options: AdamOptions = {}): GradientTransformation<AdamState> => {
  const { b1, k1, b2, k2, eps, epsRoot } = adamHyperParameters(options)
  return {
    init: (params) => ({ count: 0, mu: zerosLike(params), nu: zerosLike(params) }),
    update: (grads) => (s) => {
      const count = s.count + 1
      const { c1, c2 } = adamCorrections(b1, b2, count)
      const mu = Tree.zipWith([s.mu as typeof grads, grads], ([m, g]) => K.axpby(b1, m, k1, g))
      const nu = Tree.zipWith([s.nu as typeof grads, grads], ([v, g]) => K.axpbySquare(b2, v, k2, g))
      const updates = Tree.zipWith([mu, nu], ([m, v]) => K.adaptiveDirection(m, v, c1, c2, epsRoot, eps))
      return [updates, { count, mu, nu }]
    }
  }
}

/**
 * Adam's checked hyper-parameters with their defaults, and `k1 = 1 − b1`, `k2 = 1 − b2`: shared by
 * `scaleByAdam` and the fused Adam step, so both compute with the same numbers.
 * @internal
 */
export const adamHyperParameters = (options: AdamOptions) => {
  const b1 = options.b1 ?? 0.9
  const b2 = options.b2 ?? 0.999
  const eps = options.eps ?? 1e-8
  const epsRoot = options.epsRoot ?? 0
  assertInRange('scaleByAdam', 'b1', b1, 0, 1 - Number.EPSILON)
  assertInRange('scaleByAdam', 'b2', b2, 0, 1 - Number.EPSILON)
  assertFinite('scaleByAdam', 'eps', eps)
  assertFinite('scaleByAdam', 'epsRoot', epsRoot)
  return { b1, k1: 1 - b1, b2, k2: 1 - b2, eps, epsRoot } as const
}

/**
 * Adam's bias corrections `c1 = 1/(1 − b1ᵗ)`, `c2 = 1/(1 − b2ᵗ)` at step `t = count`: per step, so two
 * scalars, not a pass over the tensors.
 * @internal
 */
export const adamCorrections = (b1: number, b2: number, count: number): { readonly c1: number; readonly c2: number } => ({
  c1: 1 / (1 - b1 ** count),
  c2: 1 / (1 - b2 ** count)
})

/**
 * The running average of squared gradients.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const s: Optim.RmsState = Optim.scaleByRms().init({ w: Tensor.vector([1]) }) // { nu: { w: [0] } }
 */
export type RmsState = { readonly nu: Tree.Tree }

/**
 * RMSProp's scaling (Hinton): `v ← decay·v + (1−decay)·g²`, `u = g / (√v + eps)`. No bias
 * correction, so the first steps are larger than later ones (`1/√(1−decay)` times `g/|g|`).
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const rms = Optim.chain(Optim.scaleByRms({ decay: 0.99 }), Optim.scaleByLearningRate(1e-3))
 * const p = { w: Tensor.vector([1], 'float64') }
 * const [u] = rms.update({ w: Tensor.vector([2], 'float64') }, p)(rms.init(p))
 * u.w // [≈ -0.01]: the first step is 1/√(1 − 0.99) = 10 times the learning rate
 */
export const scaleByRms = (options: { readonly decay?: number; readonly eps?: number } = {}): GradientTransformation<RmsState> => {
  const { decay, eps, keep } = rmsHyperParameters(options)
  return {
    init: (params) => ({ nu: zerosLike(params) }),
    update: (grads) => (s) => {
      const nu = Tree.zipWith([s.nu as typeof grads, grads], ([v, g]) => K.axpbySquare(decay, v, keep, g))
      const updates = Tree.zipWith([grads, nu], ([g, v]) => K.adaptiveDirection(g, v, 1, 1, 0, eps))
      return [updates, { nu }]
    }
  }
}

/**
 * RMSProp's checked hyper-parameters with their defaults, and `keep = 1 − decay`: shared by
 * `scaleByRms` and the fused RMSProp step.
 * @internal
 */
export const rmsHyperParameters = (options: { readonly decay?: number; readonly eps?: number }) => {
  const decay = options.decay ?? 0.9
  const eps = options.eps ?? 1e-8
  assertInRange('scaleByRms', 'decay', decay, 0, 1 - Number.EPSILON)
  assertFinite('scaleByRms', 'eps', eps)
  return { decay, eps, keep: 1 - decay } as const
}
