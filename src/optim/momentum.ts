/**
 * Momentum, in the two forms the seed notes use:
 *
 * - `trace`: a running *sum* `v ← β·v + u`. Placed after the learning rate (`u = −η∇`), it is the
 *   HW1 handout's classical momentum `v = βv − η∇; W += v`; with `nesterov` it returns the
 *   look-ahead `β·v + u` instead.
 * - `ema`: a running *average* `v ← m·v + (1 − m)·u`. Placed before the learning rate, it is the MLP
 *   notes' `velocity = m·velocity + (1 − m)·grad; W −= lr·velocity`.
 *
 * The two differ by the factor `1 − m` in the effective step and by where a changing learning rate
 * enters (inside the sum or outside the average).
 *
 * @since 0.1.0
 */
import { kernels as K } from '../tensor/backend.ts'
import * as Tree from '../tree/Tree.ts'
import { type GradientTransformation, zerosLike } from './Transform.ts'
import { assertInRange } from './internal.ts'

/**
 * The velocity, shaped like the params.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const s: Optim.TraceState = Optim.trace(0.9).init({ w: Tensor.vector([1, 2]) }) // { velocity: { w: [0, 0] } }
 */
export type TraceState = { readonly velocity: Tree.Tree }

/**
 * `v ← decay·v + u`, emitting `v` (or `decay·v + u` with `nesterov`). After `scaleByLearningRate`
 * this is classical (heavy-ball) momentum; see `momentum` and `nesterov` in the aliases.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * // HW1 §3.5.3: ∇W_k = β ∇W_{k−1} − η ∇Loss; W_k = W_{k−1} + ∇W_k
 * const hw1 = Optim.chain(Optim.scaleByLearningRate(0.008), Optim.trace(0.9))
 * const p = { w: Tensor.vector([1], 'float64') }
 * const g = { w: Tensor.vector([1], 'float64') }
 * const [u1, s1] = hw1.update(g, p)(hw1.init(p))
 * const [u2] = hw1.update(g, p)(s1)
 * u1.w // [-0.008]
 * u2.w // [≈ -0.0152]: 0.9 · (−0.008) − 0.008
 */
export const trace = (decay: number, options: { readonly nesterov?: boolean } = {}): GradientTransformation<TraceState> => {
  assertInRange('trace', 'decay', decay, 0, 1)
  const nesterov = options.nesterov ?? false
  return {
    init: (params) => ({ velocity: zerosLike(params) }),
    update: (grads) => (s) => {
      const velocity = Tree.zipWith([s.velocity as typeof grads, grads], ([v, u]) => K.axpby(decay, v, 1, u))
      const updates = nesterov ? Tree.zipWith([velocity, grads], ([v, u]) => K.axpby(decay, v, 1, u)) : velocity
      return [updates, { velocity }]
    }
  }
}

/**
 * `count` updates averaged so far and the running average of the updates.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const s: Optim.EmaState = Optim.ema(0.9).init({ w: Tensor.vector([1]) }) // { count: 0, velocity: { w: [0] } }
 */
export type EmaState = { readonly count: number; readonly velocity: Tree.Tree }

/**
 * `v ← decay·v + (1 − decay)·u`, emitting `v`. With `debias`, emits `v / (1 − decay^count)` (Adam's
 * correction for starting at zero); the MLP notes do not debias, so the default is `false`.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * // MLP notes: velocity = m·velocity + (1 − m)·grad; W −= lr·velocity
 * const notes = Optim.chain(Optim.ema(0.9), Optim.scaleByLearningRate(0.1))
 * const p = { w: Tensor.vector([1], 'float64') }
 * const [u] = notes.update({ w: Tensor.vector([1], 'float64') }, p)(notes.init(p))
 * u.w // [≈ -0.01]: velocity 0.1 (no debiasing), times −0.1
 */
export const ema = (decay: number, options: { readonly debias?: boolean } = {}): GradientTransformation<EmaState> => {
  assertInRange('ema', 'decay', decay, 0, 1)
  const debias = options.debias ?? false
  // With decay 1 the average never leaves zero and the correction 1 − 1^t would divide by zero.
  if (debias) assertInRange('ema (debiased)', 'decay', decay, 0, 1 - Number.EPSILON)
  const keep = 1 - decay
  return {
    init: (params) => ({ count: 0, velocity: zerosLike(params) }),
    update: (grads) => (s) => {
      const count = s.count + 1
      const velocity = Tree.zipWith([s.velocity as typeof grads, grads], ([v, u]) => K.axpby(decay, v, keep, u))
      const correction = 1 - decay ** count
      const updates = debias && correction !== 1 ? Tree.map(velocity, (v) => K.scale(v, 1 / correction)) : velocity
      return [updates, { count, velocity }]
    }
  }
}
