/**
 * Gradient accumulation as an optimizer wrapper (optax's `MultiSteps`): the gradients of `every`
 * micro-batches are averaged, and the wrapped optimizer sees one update per `every` calls. Between
 * those, the updates are zero, so the params do not move. Its state counts the micro-steps, so a
 * checkpoint taken between two of them resumes exactly.
 *
 * @since 0.2.0
 */
import type { State } from 'fp-ts/lib/State.js'
import { kernels as K } from '../tensor/backend.ts'
import * as Tree from '../tree/Tree.ts'
import type { GradientTransformation, OptState } from './Transform.ts'
import { zerosLike } from './Transform.ts'

/**
 * The state of `multiSteps`: micro-steps since the last update, the gradients summed over them, and the wrapped optimizer's state.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.multiSteps(2, Optim.sgd(0.5))
 * const params = { w: Tensor.vector([1, 1]) }
 * const [, s1] = opt.update({ w: Tensor.vector([1, 0]) }, params)(opt.init(params))
 * const state: Optim.MultiStepsState<Optim.StateOf<ReturnType<typeof Optim.sgd>>> = s1
 * state.micro // 1: one micro-step since the last update
 * state.sum // { w: [1, 0] }
 */
export type MultiStepsState<S extends OptState> = {
  /** Micro-steps since the wrapped optimizer last updated, in `[0, every)`. */
  readonly micro: number
  /** The sum of the gradients of those micro-steps (zeros after an update). */
  readonly sum: OptState
  readonly inner: S
}

/**
 * Averages the gradients of `every` consecutive calls and passes the mean to `inner` on the last of
 * them. With a mean loss over equal micro-batches, `every` micro-batches of `b` rows take the step one
 * batch of `every·b` rows would take (up to the order of float summation).
 * @category combinators
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const params = { w: Tensor.vector([1, 1]) }
 * const opt = Optim.multiSteps(2, Optim.sgd(0.5))
 * const s0 = opt.init(params)
 * const [u1, s1] = opt.update({ w: Tensor.vector([1, 0]) }, params)(s0) // zeros: first micro-step
 * const [u2] = opt.update({ w: Tensor.vector([3, 0]) }, params)(s1)     // −0.5 · mean = [−1, 0]
 * Tensor.toArray(u2.w) // [-1, 0]
 */
export const multiSteps = <S extends OptState>(every: number, inner: GradientTransformation<S>): GradientTransformation<MultiStepsState<S>> => {
  if (!(Number.isInteger(every) && every >= 1)) throw new RangeError(`multiSteps: every must be a positive integer, found ${every}`)
  return {
    init: (params) => ({ micro: 0, sum: zerosLike(params), inner: inner.init(params) }),
    update: <T extends Tree.Tree>(grads: T, params: T): State<MultiStepsState<S>, T> =>
      (s) => {
        const sum = Tree.zipWith([s.sum as T, grads], ([a, g]) => K.axpby(1, a, 1, g))
        if (s.micro + 1 < every) return [zerosLike(grads), { micro: s.micro + 1, sum, inner: s.inner }]
        const mean = Tree.map(sum, (t) => K.scale(t, 1 / every))
        const [updates, innerState] = inner.update(mean, params)(s.inner)
        return [updates, { micro: 0, sum: zerosLike(grads), inner: innerState }]
      }
  }
}
