/**
 * Fused optimizer steps: for each of the usual optimizers, `update` and `applyUpdates` of its chain in
 * one pass per parameter leaf (one kernel that reads the gradient, the param and the moments once and
 * writes the new moments and the new param), instead of one pass per step of the chain plus one to
 * apply the updates.
 *
 * The chain stays the semantics. Each step here is attached (`withFusedStep`) only by the alias that
 * built the chain it mirrors, from the same hyper-parameters; it computes the next state with the same
 * helpers (`learningRateStep`, `adamCorrections`) and calls a kernel that rounds exactly where the
 * composed kernels round (src/tensor/kernels.ts). laws/fusedOptim.law.test.ts checks every one against
 * its chain bit for bit, params and state, on both backends.
 *
 * @since 0.2.0
 * @internal
 */
import type { State } from 'fp-ts/lib/State.js'
import { kernels as K } from '../tensor/backend.ts'
import type { StepResult } from '../tensor/kernels.ts'
import type { Tensor } from '../tensor/Tensor.ts'
import * as Tree from '../tree/Tree.ts'
import { type AdamOptions, type AdamState, type RmsState, adamCorrections, adamHyperParameters, rmsHyperParameters } from './adaptive.ts'
import { type LearningRateState, learningRateStep } from './learningRate.ts'
import { type Mask, selects } from './masked.ts'
import type { EmaState, TraceState } from './momentum.ts'
import type { Schedule } from './schedule.ts'
import { type EmptyState, type GradientTransformation, type OptState, applyUpdates } from './Transform.ts'

/** A fused step: the new params, whether every gradient, new param and new moment was finite, the next state. */
type Step<S extends OptState> = <T extends Tree.Tree>(grads: T, params: T) => State<S, readonly [T, boolean]>

/**
 * `t` with the fast path `step` built from its own `update` (which `step` runs instead when the state
 * is not the tuple it expects, so a wrong state fails with the chain's own error).
 * @internal
 */
export const withFusedStep = <S extends OptState>(
  t: GradientTransformation<S>,
  step: (composed: Step<S>) => Step<S>
): GradientTransformation<S> => {
  // The chain itself checks nothing: its finiteness is "not known".
  const composed: Step<S> = (grads, params) => (s) => {
    const [updates, next] = t.update(grads, params)(s)
    return [[applyUpdates(params, updates), false], next]
  }
  const stepChecked = step(composed)
  return {
    ...t,
    fused: {
      update: t.update,
      stepChecked,
      step: (grads, params) => (s) => {
        const [[next], state] = stepChecked(grads, params)(s)
        return [next, state]
      }
    }
  }
}

/** Whether `s` is a chain state of `n` parts (anything else goes to the chain, which reports it). */
const isTuple = (s: unknown, n: number): s is readonly OptState[] => Array.isArray(s) && s.length === n

const moment = (r: StepResult, which: 'first' | 'second'): Tensor => {
  const t = r[which]
  if (t === undefined) throw new TypeError(`a fused optimizer kernel returned no ${which} moment`)
  return t
}

/**
 * The new params (shaped like `params`), new moment trees (each shaped like its old one) and whether
 * every kernel found its gradient and results finite, from `f(param, grad, moments, path)`, one fused
 * kernel's result per leaf, whose moments `pick` lists in the order of `moments`. Every tree must have
 * the structure of `params` (`Tree.zipWith` checks it), so each moment tree's leaves come in the same
 * order as the params' and `Tree.unflatten` puts the new ones back.
 */
const stepLeaves = <T extends Tree.Tree>(
  params: T,
  grads: T,
  moments: ReadonlyArray<Tree.Tree>,
  pick: ReadonlyArray<'first' | 'second'>,
  f: (param: Tensor, grad: Tensor, moments: readonly Tensor[], path: Tree.Path) => StepResult
): { readonly params: T; readonly moments: Tree.Tree[]; readonly finite: boolean } => {
  const news: Tensor[][] = moments.map(() => [])
  let finite = true
  const next = Tree.zipWith([params, grads, ...moments] as unknown as readonly [T, ...T[]], ([p, g, ...ms], path) => {
    const r = f(p, g as Tensor, ms, path)
    pick.forEach((which, i) => (news[i] as Tensor[]).push(moment(r, which)))
    finite = finite && r.finite
    return r.param
  })
  return { params: next, moments: moments.map((m, i) => Tree.unflatten(m, news[i] as Tensor[])), finite }
}

/** `sgd(lr)`: `chain(scaleByLearningRate(lr))`. @internal */
export const sgdStep =
  (lr: number | Schedule) =>
  (composed: Step<readonly [LearningRateState]>): Step<readonly [LearningRateState]> =>
  (grads, params) =>
  (s) => {
    if (!isTuple(s, 1)) return composed(grads, params)(s)
    const [eta, rate] = learningRateStep(lr, s[0])
    const r = stepLeaves(params, grads, [], [], (p, g) => K.sgdStep(p, g, eta))
    return [[r.params, r.finite], [rate]]
  }

/** `momentum(lr, beta)` and `nesterov(lr, beta)`: `chain(scaleByLearningRate(lr), trace(beta, { nesterov }))`. @internal */
export const momentumStep =
  (lr: number | Schedule, beta: number, nesterov: boolean) =>
  (composed: Step<readonly [LearningRateState, TraceState]>): Step<readonly [LearningRateState, TraceState]> =>
  (grads, params) =>
  (s) => {
    if (!isTuple(s, 2)) return composed(grads, params)(s)
    const [eta, rate] = learningRateStep(lr, s[0])
    const r = stepLeaves(params, grads, [s[1].velocity], ['first'], (p, g, [v]) => K.momentumStep(p, g, v as Tensor, eta, beta, nesterov))
    return [[r.params, r.finite], [rate, { velocity: r.moments[0] as Tree.Tree }]]
  }

/** `emaMomentum(lr, m)`: `chain(ema(m), scaleByLearningRate(lr))` (no debiasing). @internal */
export const emaMomentumStep =
  (lr: number | Schedule, decay: number) =>
  (composed: Step<readonly [EmaState, LearningRateState]>): Step<readonly [EmaState, LearningRateState]> =>
  (grads, params) =>
  (s) => {
    if (!isTuple(s, 2)) return composed(grads, params)(s)
    // As `ema`: the count, then the average with weight `1 − decay` on the new update.
    const count = s[0].count + 1
    const keep = 1 - decay
    const [eta, rate] = learningRateStep(lr, s[1])
    const r = stepLeaves(params, grads, [s[0].velocity], ['first'], (p, g, [v]) => K.emaMomentumStep(p, g, v as Tensor, decay, keep, eta))
    return [[r.params, r.finite], [{ count, velocity: r.moments[0] as Tree.Tree }, rate]]
  }

type AdamHyperParameters = ReturnType<typeof adamHyperParameters>

/** The Adam state after one fused step and the new params; `decays(path, p)` selects AdamW's decayed leaves. */
const adamLeaves = <T extends Tree.Tree>(
  h: AdamHyperParameters,
  state: AdamState,
  eta: number,
  grads: T,
  params: T,
  weightDecay: number | undefined,
  decays: (path: Tree.Path, p: Tensor) => boolean
): { readonly params: T; readonly state: AdamState; readonly finite: boolean } => {
  const count = state.count + 1
  const { c1, c2 } = adamCorrections(h.b1, h.b2, count)
  const r = stepLeaves(params, grads, [state.mu, state.nu], ['first', 'second'], (p, g, [m, v], path) => {
    const coefficients = { ...h, c1, c2, eta, ...(weightDecay !== undefined && decays(path, p) ? { weightDecay } : {}) }
    return K.adamStep(p, g, m as Tensor, v as Tensor, coefficients)
  })
  return { params: r.params, state: { count, mu: r.moments[0] as Tree.Tree, nu: r.moments[1] as Tree.Tree }, finite: r.finite }
}

/** `adam(lr, options)`: `chain(scaleByAdam(options), scaleByLearningRate(lr))`. @internal */
export const adamStep =
  (lr: number | Schedule, options: AdamOptions) =>
  (composed: Step<readonly [AdamState, LearningRateState]>): Step<readonly [AdamState, LearningRateState]> => {
    const h = adamHyperParameters(options)
    return (grads, params) => (s) => {
      if (!isTuple(s, 2)) return composed(grads, params)(s)
      const [eta, rate] = learningRateStep(lr, s[1])
      const r = adamLeaves(h, s[0], eta, grads, params, undefined, () => false)
      return [[r.params, r.finite], [r.state, rate]]
    }
  }

/**
 * `adamw(lr, options)`: `chain(scaleByAdam(options), addDecayedWeights(weightDecay, mask),
 * scaleByLearningRate(lr))`.
 * @internal
 */
export const adamwStep =
  (lr: number | Schedule, options: AdamOptions, weightDecay: number, mask: Mask | undefined) =>
  (composed: Step<readonly [AdamState, EmptyState, LearningRateState]>): Step<readonly [AdamState, EmptyState, LearningRateState]> => {
    const h = adamHyperParameters(options)
    const keep = mask === undefined ? () => true : selects(mask)
    return (grads, params) => (s) => {
      if (!isTuple(s, 3)) return composed(grads, params)(s)
      const [eta, rate] = learningRateStep(lr, s[2])
      const r = adamLeaves(h, s[0], eta, grads, params, weightDecay, keep)
      return [[r.params, r.finite], [r.state, s[1], rate]]
    }
  }

/** `rmsprop(lr, options)`: `chain(scaleByRms(options), scaleByLearningRate(lr))`. @internal */
export const rmsPropStep =
  (lr: number | Schedule, options: { readonly decay?: number; readonly eps?: number }) =>
  (composed: Step<readonly [RmsState, LearningRateState]>): Step<readonly [RmsState, LearningRateState]> => {
    const { decay, eps, keep } = rmsHyperParameters(options)
    return (grads, params) => (s) => {
      if (!isTuple(s, 2)) return composed(grads, params)(s)
      const [eta, rate] = learningRateStep(lr, s[1])
      const r = stepLeaves(params, grads, [s[0].nu], ['second'], (p, g, [v]) => K.rmsPropStep(p, g, v as Tensor, decay, keep, eps, eta))
      return [[r.params, r.finite], [{ nu: r.moments[0] as Tree.Tree }, rate]]
    }
  }
