/**
 * The learning-rate step: multiplies updates by `−η` and keeps `η` and the step count in its state,
 * so both can be read (`learningRate`, `stepCount`), logged, checkpointed and even changed
 * (`setLearningRate`) between steps.
 *
 * @since 0.1.0
 */
import { kernels as K } from '../tensor/backend.ts'
import * as Tree from '../tree/Tree.ts'
import { type StateRecord, findRecord, mapRecords } from './inspect.ts'
import type { Schedule } from './schedule.ts'
import type { GradientTransformation, OptState } from './Transform.ts'
import { assertFinite } from './internal.ts'

/**
 * `count` updates done so far; `learningRate` is the rate the *next* update applies.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const fresh: Optim.LearningRateState = { count: 0, learningRate: 0.1 }
 * Optim.sgd(0.1).init({ w: Tensor.vector([1]) }) // => [fresh]
 */
export type LearningRateState = { readonly count: number; readonly learningRate: number }

const checkedRate = (lr: number, step: number): number => {
  assertFinite('scaleByLearningRate', `learning rate at step ${step}`, lr)
  return lr
}

/**
 * Multiplies updates by `−η` (the descent sign lives here, so `applyUpdates` adds).
 *
 * With a number, the rate in the state is used and kept: a callback that lowers it with
 * `setLearningRate` changes every later step. With a `Schedule`, the rate in the state is used for
 * this step and the next is `schedule(count + 1)`, so the state always reads `schedule(count)`.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const sgd = Optim.scaleByLearningRate(0.1)
 * const p = { w: Tensor.vector([1], 'float64') }
 * sgd.update({ w: Tensor.vector([2], 'float64') }, p)(sgd.init(p))[0] // { w: [-0.2] }: −lr · g
 * const decayed = Optim.scaleByLearningRate(Optim.exponentialDecay(0.1, { rate: 0.99 }))
 * decayed.update(p, p)(decayed.init(p))[1] // { count: 1, learningRate: ≈ 0.099 }: the rate of the next step
 */
export const scaleByLearningRate = (lr: number | Schedule): GradientTransformation<LearningRateState> => {
  const at: Schedule = typeof lr === 'number' ? () => lr : lr
  checkedRate(at(0), 0)
  return {
    init: () => ({ count: 0, learningRate: checkedRate(at(0), 0) }),
    update: (grads) => (s) => {
      const [eta, next] = learningRateStep(lr, s)
      return [Tree.map(grads, (u) => K.scale(u, -eta)), next]
    }
  }
}

/**
 * The rate `scaleByLearningRate(lr)` applies in state `s` and the state after the step: the one rule
 * its `update` and the fused optimizer steps share.
 * @internal
 */
export const learningRateStep = (lr: number | Schedule, s: LearningRateState): readonly [number, LearningRateState] => {
  const eta = s.learningRate
  const count = s.count + 1
  return [eta, { count, learningRate: typeof lr === 'number' ? eta : checkedRate(lr(count), count) }]
}

const isLearningRateState = (r: StateRecord): boolean => typeof r['learningRate'] === 'number' && typeof r['count'] === 'number'

/**
 * The learning rate the next update will apply, read from the first `scaleByLearningRate` state
 * inside any state (a chain, a masked or partitioned state, a decoded checkpoint); `undefined` if
 * there is none.
 * @category destructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.adam(Optim.stepDecay(1e-3, { every: 100, factor: 0.1 }))
 * Optim.learningRate(opt.init({ w: Tensor.vector([1]) })) // 0.001
 */
export const learningRate = (state: unknown): number | undefined => findRecord(state, isLearningRateState)?.['learningRate'] as number | undefined

/**
 * How many updates the optimizer has made: the count of the first `scaleByLearningRate` state, or
 * failing that the first `count` anywhere in the state (e.g. a bare `scaleByAdam`).
 * @category destructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const p = { w: Tensor.vector([1]) }
 * const opt = Optim.sgd(0.1)
 * const [, s1] = opt.update(p, p)(opt.init(p))
 * Optim.stepCount(s1) // 1
 */
export const stepCount = (state: unknown): number | undefined =>
  (findRecord(state, isLearningRateState) ?? findRecord(state, (r) => typeof r['count'] === 'number'))?.['count'] as number | undefined

/**
 * A copy of `state` with the learning rate of every `scaleByLearningRate` state set to `lr` (e.g.
 * reduce-on-plateau). A constant-rate optimizer keeps it; a scheduled one uses it for one step.
 * @category combinators
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const s = Optim.sgd(0.1).init({ w: Tensor.vector([1]) })
 * Optim.learningRate(Optim.setLearningRate(s, 0.01)) // 0.01
 */
export const setLearningRate = <S extends OptState>(state: S, lr: number): S => {
  assertFinite('setLearningRate', 'lr', lr)
  return mapRecords(state, isLearningRateState, (r) => ({ ...r, learningRate: lr }))
}
