/**
 * Learning-rate schedules: plain functions from the step count (0 for the first update) to a rate.
 *
 * A schedule is a hyper-parameter, so it lives in the optimizer's closure; the step count and the
 * rate it gives live in the optimizer's state (`scaleByLearningRate`), where they can be read and
 * checkpointed.
 *
 * @since 0.1.0
 */
import { assertFinite, assertInRange } from './internal.ts'

/**
 * The learning rate for the update numbered `step` (0, 1, 2, ...).
 * @category model
 * @example
 * import type { Optim } from 'nn-ts'
 * const halving: Optim.Schedule = (step) => 0.1 / 2 ** step
 * halving(3) // 0.0125
 */
export type Schedule = (step: number) => number

/**
 * The same rate at every step.
 * @category constructors
 * @example
 * import { Optim } from 'nn-ts'
 * Optim.constant(0.1)(1000) // 0.1
 */
export const constant = (lr: number): Schedule => {
  assertFinite('constant', 'lr', lr)
  return () => lr
}

/**
 * `lr · factor^⌊step / every⌋`: the rate drops by `factor` every `every` steps (a staircase).
 * @category constructors
 * @example
 * import { Optim } from 'nn-ts'
 * const s = Optim.stepDecay(0.1, { every: 10, factor: 0.5 })
 * s(9) // 0.1
 * s(10) // 0.05
 */
export const stepDecay = (lr: number, options: { readonly every: number; readonly factor: number }): Schedule => {
  assertFinite('stepDecay', 'lr', lr)
  assertPositiveInteger('stepDecay', 'every', options.every)
  assertFinite('stepDecay', 'factor', options.factor)
  const { every, factor } = options
  return (step) => lr * factor ** Math.floor(step / every)
}

/**
 * `lr · rate^(step / every)`: smooth exponential decay (`every` defaults to 1, so `rate` is the
 * factor per step).
 * @category constructors
 * @example
 * import { Optim } from 'nn-ts'
 * const s = Optim.exponentialDecay(0.1, { rate: 0.5, every: 100 })
 * s(100) // 0.05
 * s(50) // ≈ 0.0707107 (0.1 · √0.5)
 */
export const exponentialDecay = (lr: number, options: { readonly rate: number; readonly every?: number }): Schedule => {
  assertFinite('exponentialDecay', 'lr', lr)
  assertFinite('exponentialDecay', 'rate', options.rate)
  assertInRange('exponentialDecay', 'rate', options.rate, 0, Infinity)
  const every = options.every ?? 1
  if (!(every > 0 && Number.isFinite(every))) throw new RangeError(`exponentialDecay: every must be a positive number, got ${every}`)
  const { rate } = options
  return (step) => lr * rate ** (step / every)
}

/**
 * Cosine annealing from `lr` down to `alpha · lr` over `steps` steps, then flat:
 * `lr · ((1 − alpha) · ½(1 + cos(π · min(step, steps) / steps)) + alpha)`.
 * @category constructors
 * @example
 * import { Optim } from 'nn-ts'
 * const s = Optim.cosineDecay(0.1, { steps: 100 })
 * s(0) // 0.1
 * s(50) // 0.05
 * s(100) // 0
 */
export const cosineDecay = (lr: number, options: { readonly steps: number; readonly alpha?: number }): Schedule => {
  assertFinite('cosineDecay', 'lr', lr)
  assertPositiveInteger('cosineDecay', 'steps', options.steps)
  const alpha = options.alpha ?? 0
  assertInRange('cosineDecay', 'alpha', alpha, 0, 1)
  const { steps } = options
  return (step) => lr * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, steps)) / steps)) + alpha)
}

/**
 * `lr / √(1 + step)`: the decay of Kingma & Ba's convergence theorem for Adam. It never sums to a
 * finite total, so an optimizer whose steps are about one learning rate long can always travel far
 * enough, while the steps themselves shrink.
 * @category constructors
 * @example
 * import { Optim } from 'nn-ts'
 * const s = Optim.inverseSqrtDecay(0.5)
 * s(3) // 0.25
 */
export const inverseSqrtDecay = (lr: number): Schedule => {
  assertFinite('inverseSqrtDecay', 'lr', lr)
  return (step) => lr / Math.sqrt(1 + step)
}

/**
 * Linear warm-up: from `from` (default 0) at step 0 up to `schedule(0)` at step `steps`, then
 * `schedule(step − steps)`, so the schedule after warm-up starts from its own step 0.
 * @category combinators
 * @example
 * import { Optim } from 'nn-ts'
 * const s = Optim.warmup(Optim.cosineDecay(0.1, { steps: 1000 }), { steps: 10 })
 * s(0) // 0
 * s(5) // 0.05
 * s(10) // 0.1
 */
export const warmup = (schedule: Schedule, options: { readonly steps: number; readonly from?: number }): Schedule => {
  assertPositiveInteger('warmup', 'steps', options.steps)
  const from = options.from ?? 0
  assertFinite('warmup', 'from', from)
  const { steps } = options
  return (step) => (step < steps ? from + ((schedule(0) - from) * step) / steps : schedule(step - steps))
}

const assertPositiveInteger = (where: string, name: string, value: number): void => {
  if (!(Number.isInteger(value) && value > 0)) throw new RangeError(`${where}: ${name} must be a positive integer, got ${value}`)
}
