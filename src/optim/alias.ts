/**
 * The usual optimizers, each a `chain` of primitives with a fused step attached (the same computation
 * in one pass per parameter leaf, see `FusedStep`). The learning rate is a number or a `Schedule`
 * and always sits in the state of the `scaleByLearningRate` step, where `learningRate` and
 * `stepCount` read it.
 *
 * @since 0.1.0
 */
import { type AdamOptions, scaleByAdam, scaleByRms } from './adaptive.ts'
import { scaleByLearningRate } from './learningRate.ts'
import type { Mask } from './masked.ts'
import { ema, trace } from './momentum.ts'
import type { Schedule } from './schedule.ts'
import { adamStep, adamwStep, emaMomentumStep, momentumStep, rmsPropStep, sgdStep, withFusedStep } from './fused.ts'
import { chain } from './Transform.ts'
import { addDecayedWeights } from './weightDecay.ts'

/**
 * A learning rate: a constant or a schedule over steps.
 * @category model
 * @example
 * import { Optim } from 'nn-ts'
 * const rates: Optim.LearningRate[] = [1e-3, Optim.cosineDecay(1e-3, { steps: 1000 })]
 * rates.map((r) => (typeof r === 'number' ? r : r(500))) // [0.001, 0.0005]: the schedule half-way
 */
export type LearningRate = number | Schedule

/**
 * Plain gradient descent: `W ← W − η∇`.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.sgd(0.1)
 * const params = { w: Tensor.vector([1, 2], 'float64') }
 * const [next] = Optim.updateAndApply(opt)({ w: Tensor.vector([1, -1], 'float64') }, params)(opt.init(params))
 * next.w // [0.9, 2.1]: W − 0.1 ∇
 */
export const sgd = (lr: LearningRate) => withFusedStep(chain(scaleByLearningRate(lr)), sgdStep(lr))

/**
 * Classical momentum in the HW1 handout's form (§3.5.3): `v ← βv − η∇; W ← W + v`. The learning
 * rate is inside the velocity, so a schedule changes only new contributions.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.momentum(0.008, 0.9) // the handout's MLP(..., 0.008, momentum=0.9)
 * const grads = { w: Tensor.vector([1], 'float64') }
 * const p0 = { w: Tensor.vector([1], 'float64') }
 * const [p1, s1] = Optim.updateAndApply(opt)(grads, p0)(opt.init(p0))
 * const [p2] = Optim.updateAndApply(opt)(grads, p1)(s1)
 * p1.w // [0.992]: v = −0.008
 * p2.w // [≈ 0.9768]: v = 0.9 · (−0.008) − 0.008 = −0.0152
 */
export const momentum = (lr: LearningRate, beta: number) => withFusedStep(chain(scaleByLearningRate(lr), trace(beta)), momentumStep(lr, beta, false))

/**
 * Momentum as an exponential moving average, the MLP notes' form:
 * `v ← m·v + (1 − m)·∇; W ← W − η·v`. Equal to `momentum(η·(1 − m), m)` for a constant rate.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.emaMomentum(0.1, 0.9)
 * const grads = { w: Tensor.vector([1], 'float64') }
 * const p0 = { w: Tensor.vector([1], 'float64') }
 * const [p1, s1] = Optim.updateAndApply(opt)(grads, p0)(opt.init(p0))
 * const [p2] = Optim.updateAndApply(opt)(grads, p1)(s1)
 * p1.w // [0.99]: v = 0.1 · 1, W − 0.1 v
 * p2.w // [≈ 0.971]: v = 0.9 · 0.1 + 0.1 = 0.19
 */
export const emaMomentum = (lr: LearningRate, m: number) => withFusedStep(chain(ema(m), scaleByLearningRate(lr)), emaMomentumStep(lr, m))

/**
 * Nesterov momentum in the same form as `momentum`: `v ← βv − η∇; W ← W + βv − η∇` (the
 * look-ahead step, as PyTorch's `nesterov=True`).
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.nesterov(0.1, 0.9)
 * const p0 = { w: Tensor.vector([1], 'float64') }
 * const [p1] = Optim.updateAndApply(opt)({ w: Tensor.vector([1], 'float64') }, p0)(opt.init(p0))
 * p1.w // [≈ 0.81]: v = −0.1, W + 0.9 v − 0.1 ∇
 */
export const nesterov = (lr: LearningRate, beta: number) =>
  withFusedStep(chain(scaleByLearningRate(lr), trace(beta, { nesterov: true })), momentumStep(lr, beta, true))

/**
 * Adam (Kingma & Ba) with the paper's defaults `b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.adam(1e-3)
 * const tuned = Optim.adam(Optim.cosineDecay(1e-3, { steps: 4690 }), { b2: 0.99 })
 * const p0 = { w: Tensor.vector([1, 2], 'float64') }
 * const [p1] = Optim.updateAndApply(opt)({ w: Tensor.vector([5, -0.01], 'float64') }, p0)(opt.init(p0))
 * p1.w // [≈ 0.999, ≈ 2.001]: the first step is ±lr whatever the gradient's size
 */
export const adam = (lr: LearningRate, options: AdamOptions = {}) =>
  withFusedStep(chain(scaleByAdam(options), scaleByLearningRate(lr)), adamStep(lr, options))

/**
 * AdamW options: Adam's, the decoupled `weightDecay` (default 1e-4) and an optional mask of the
 * leaves to decay (all by default).
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const o: Optim.AdamWOptions = { weightDecay: 1e-2, mask: (_path, leaf) => leaf.shape.length === 2 }
 * const opt = Optim.adamw(1e-3, o)
 * const p0 = { W: Tensor.fromRows([[1]], 'float64'), b: Tensor.vector([1], 'float64') }
 * const zero = { W: Tensor.fromRows([[0]], 'float64'), b: Tensor.vector([0], 'float64') }
 * const [p1] = Optim.updateAndApply(opt)(zero, p0)(opt.init(p0))
 * p1 // { W: [[≈ 0.99999]], b: [1] }: only the matrix decays, by lr · 1e-2 · W
 */
export type AdamWOptions = AdamOptions & { readonly weightDecay?: number; readonly mask?: Mask }

/**
 * AdamW (Loshchilov & Hutter): Adam's step plus `weightDecay · W`, both times the learning rate, so
 * the decay is not rescaled by Adam's denominators.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.adamw(1e-3, { weightDecay: 1e-2 })
 * const p0 = { w: Tensor.vector([1], 'float64') }
 * const [p1] = Optim.updateAndApply(opt)({ w: Tensor.vector([1], 'float64') }, p0)(opt.init(p0))
 * p1.w // [≈ 0.99899]: Adam's first step −0.001, plus the decay −0.001 · 0.01 · 1
 */
export const adamw = (lr: LearningRate, options: AdamWOptions = {}) => {
  const weightDecay = options.weightDecay ?? 1e-4
  return withFusedStep(
    chain(scaleByAdam(options), addDecayedWeights(weightDecay, options.mask), scaleByLearningRate(lr)),
    adamwStep(lr, options, weightDecay, options.mask)
  )
}

/**
 * RMSProp (Hinton): `v ← decay·v + (1 − decay)·∇²; W ← W − η·∇ / (√v + eps)`.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.rmsprop(1e-3, { decay: 0.9 })
 * const p0 = { w: Tensor.vector([1], 'float64') }
 * const [p1] = Optim.updateAndApply(opt)({ w: Tensor.vector([1], 'float64') }, p0)(opt.init(p0))
 * p1.w // [≈ 0.996838]: v = 0.1 · 1², W − 0.001 · 1 / √0.1
 */
export const rmsprop = (lr: LearningRate, options: { readonly decay?: number; readonly eps?: number } = {}) =>
  withFusedStep(chain(scaleByRms(options), scaleByLearningRate(lr)), rmsPropStep(lr, options))
