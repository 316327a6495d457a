/**
 * Optimizers as values: gradient transformations, their combinators, schedules and the usual
 * optimizers built from them.
 *
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const params = { W: Tensor.fromRows([[1, 2]]), b: Tensor.vector([0]) }
 * const opt = Optim.chain(Optim.clipByGlobalNorm(1), Optim.adam(1e-3))
 * const [updates, state] = opt.update(params, params)(opt.init(params))
 * Optim.applyUpdates(params, updates)
 * Optim.stepCount(state) // 1
 * @since 0.1.0
 */
export * from './Transform.ts'
export * from './schedule.ts'
export * from './learningRate.ts'
export * from './momentum.ts'
export * from './adaptive.ts'
export * from './weightDecay.ts'
export * from './clip.ts'
export * from './masked.ts'
export * from './inspect.ts'
export * from './alias.ts'
export * from './multiSteps.ts'
