/**
 * Optimizer laws as pure predicates: run them on your own `GradientTransformation`s.
 *
 * Each predicate runs an optimizer for a few steps from given params, with gradients from a function
 * of the params (a loss's gradient, or fixed random numbers), and returns `true` when the law holds.
 * Trees are compared with `Tree.equals` as numbers (`asNumbers`): `0` and `-0` are equal (`x + (−0·g)`
 * may flip the sign of a zero parameter, which no computation can observe) and a NaN is equal to
 * nothing, so a law never holds by producing NaN on both sides.
 *
 * @since 0.1.0
 */
import { globalNorm } from '../optim/clip.ts'
import { whyNotPlain, structure } from '../optim/inspect.ts'
import { learningRate, stepCount } from '../optim/learningRate.ts'
import type { Schedule } from '../optim/schedule.ts'
import { type AnyTransformation, type GradientTransformation, type OptState, applyUpdates } from '../optim/Transform.ts'
import { kernels as K } from '../tensor/backend.ts'
import * as Tree from '../tree/Tree.ts'

/**
 * Gradients at `params` on update number `step` (0, 1, ...).
 * @category model
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * const ascent: Laws.GradientOf<{ w: Tensor.Tensor }> = (params) => params // ∇ of ½‖w‖²
 * Laws.runOptimizer(Optim.sgd(0.5), { w: Tensor.vector([2]) }, ascent, 1).params.w // [2]: the start
 * Laws.runOptimizer(Optim.sgd(0.5), { w: Tensor.vector([2]) }, ascent, 1).steps[0]?.params.w // [1]: 2 − 0.5 · 2
 */
export type GradientOf<T> = (params: T, step: number) => T

/**
 * One update of a run: the gradients seen, the updates made, the params and state after it.
 * @category model
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * const run = Laws.runOptimizer(Optim.sgd(0.1), { w: Tensor.vector([1]) }, (p) => p, 1)
 * const first: Laws.RunStep<{ w: Tensor.Tensor }, Optim.StateOf<ReturnType<typeof Optim.sgd>>> | undefined = run.steps[0]
 * first?.grads.w // [1]
 * first?.updates.w // [-0.1]
 * first?.state // [{ count: 1, learningRate: 0.1 }]
 */
export type RunStep<T, S> = { readonly grads: T; readonly updates: T; readonly params: T; readonly state: S }

/**
 * A run of an optimizer: where it started and every step after.
 * @category model
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * const run: Laws.Run<{ w: Tensor.Tensor }, Optim.OptState> = Laws.runOptimizer(Optim.adam(0.1), { w: Tensor.vector([1]) }, (p) => p, 2)
 * run.steps.length // 2
 * run.params.w // [1]: where it started
 */
export type Run<T, S> = { readonly params: T; readonly state: S; readonly steps: ReadonlyArray<RunStep<T, S>> }

/**
 * Runs `opt` for `steps` updates from `params`.
 * @category laws
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * const run = Laws.runOptimizer(Optim.sgd(0.1), { w: Tensor.vector([1]) }, (p) => p, 3)
 * run.steps[2]?.params // { w: [0.729] }: w·0.9³
 */
export const runOptimizer = <T extends Tree.Tree, S extends OptState>(
  opt: GradientTransformation<S>,
  params: T,
  gradOf: GradientOf<T>,
  steps: number
): Run<T, S> => {
  const state = opt.init(params)
  const out: Array<RunStep<T, S>> = []
  let p = params
  let s = state
  for (let i = 0; i < steps; i++) {
    const grads = gradOf(p, i)
    const [updates, next] = opt.update(grads, p)(s)
    p = applyUpdates(p, updates)
    s = next
    out.push({ grads, updates, params: p, state: s })
  }
  return { params, state, steps: out }
}

/**
 * How the laws compare trees: IEEE `==` on every value (`-0` equals `0`, NaN equals nothing).
 * @category laws
 * @since 0.2.0
 * @example
 * import { Laws, Tensor, Tree } from 'nn-ts'
 * Tree.equals({ w: Tensor.vector([0]) }, { w: Tensor.vector([-0]) }, Laws.asNumbers) // true
 */
export const asNumbers: Tree.EqualsOptions = { signedZero: false, nanEqual: false }

/**
 * An optimizer whose learning rate is 0 leaves the params where they are, step after step.
 * @category laws
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * Laws.leavesParamsUnchanged(Optim.adam(0), { w: Tensor.vector([1, 2]) }, (p) => p, 5) // true
 */
export const leavesParamsUnchanged = <T extends Tree.Tree>(opt: AnyTransformation, params: T, gradOf: GradientOf<T>, steps: number): boolean =>
  runOptimizer(opt, params, gradOf, steps).steps.every((s) => Tree.equals(s.params, params, asNumbers))

/**
 * Two optimizers make the same updates at every step (on their own trajectories, which then agree
 * too), compared by `Tree.equals` with `equality` (default `asNumbers`; give `{ rtol, atol }` for a
 * tolerance).
 * @category laws
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * Laws.sameUpdates(Optim.momentum(0.1, 0), Optim.sgd(0.1), { w: Tensor.vector([1]) }, (p) => p, 5) // true
 */
export const sameUpdates = <T extends Tree.Tree>(
  a: AnyTransformation,
  b: AnyTransformation,
  params: T,
  gradOf: GradientOf<T>,
  steps: number,
  equality: Tree.EqualsOptions = asNumbers
): boolean => {
  const ra = runOptimizer(a, params, gradOf, steps).steps
  const rb = runOptimizer(b, params, gradOf, steps).steps
  return ra.every((s, i) => Tree.equals(s.updates, (rb[i] as RunStep<T, unknown>).updates, equality))
}

/**
 * After every update the state has the structure `init` gave it (keys, tuple lengths, tensor shapes
 * and dtypes) and is plain data (`Optim.whyNotPlain`).
 * @category laws
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * Laws.keepsStateStructure(Optim.adamw(1e-3), { w: Tensor.vector([1]) }, (p) => p, 3) // true
 */
export const keepsStateStructure = <T extends Tree.Tree>(opt: AnyTransformation, params: T, gradOf: GradientOf<T>, steps: number): boolean => {
  const run = runOptimizer(opt, params, gradOf, steps)
  const expected = structure(run.state)
  return [run.state, ...run.steps.map((s) => s.state)].every((s) => whyNotPlain(s) === undefined && structure(s) === expected)
}

/**
 * The learning rate and step count read from the state follow the schedule: after `k` updates,
 * `stepCount` is `k` and `learningRate` is `schedule(k)`.
 * @category laws
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * const s = Optim.stepDecay(0.1, { every: 2, factor: 0.5 })
 * Laws.followsSchedule(Optim.adam(s), s, { w: Tensor.vector([1]) }, (p) => p, 5) // true
 */
export const followsSchedule = <T extends Tree.Tree>(opt: AnyTransformation, schedule: Schedule, params: T, gradOf: GradientOf<T>, steps: number): boolean => {
  const run = runOptimizer(opt, params, gradOf, steps)
  return [run.state, ...run.steps.map((s) => s.state)].every((s, k) => stepCount(s) === k && learningRate(s) === schedule(k))
}

/**
 * Leaves for which `isFrozen(path)` holds end every step exactly where they started.
 * @category laws
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * const opt = Optim.chain(Optim.adam(0.1), Optim.freeze({ a: true, b: false }))
 * Laws.keepsFrozen(opt, (path) => path[0] === 'a', { a: Tensor.vector([1]), b: Tensor.vector([2]) }, (p) => p, 3) // true
 */
export const keepsFrozen = <T extends Tree.Tree>(
  opt: AnyTransformation,
  isFrozen: (path: Tree.Path) => boolean,
  params: T,
  gradOf: GradientOf<T>,
  steps: number
): boolean => {
  const frozen = Tree.leaves(params).filter((l) => isFrozen(l.path))
  return runOptimizer(opt, params, gradOf, steps).steps.every((s) =>
    frozen.every((l) => {
      const now = Tree.at(s.params, l.path)
      return now !== undefined && Tree.equals(now, l.value, asNumbers)
    })
  )
}

/**
 * A transformation that promises a global norm of at most `maxNorm` (e.g. `clipByGlobalNorm`)
 * keeps it on `grads`, up to the rounding of computing and applying the scale (see below).
 * @category laws
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * Laws.boundsGlobalNorm(Optim.clipByGlobalNorm(1), 1, { w: Tensor.vector([3, 4]) }) // true
 * Laws.boundsGlobalNorm(Optim.identity(), 1, { w: Tensor.vector([3, 4]) }) // false
 */
export const boundsGlobalNorm = <T extends Tree.Tree>(opt: AnyTransformation, maxNorm: number, grads: T): boolean => {
  const [updates] = opt.update(grads, grads)(opt.init(grads))
  // With n values and u = 2⁻⁵³: each norm is a float64 sum of n squares and a root, off by (n/2 + 1)u;
  // the scale maxNorm/norm rounds once more, each product x·c once more in float64 and, in float32,
  // once or twice (a backend may multiply in float32) by 2⁻²⁴. To first order the measured norm
  // exceeds maxNorm by at most (n + 4)u + 2·2⁻²⁴ relative; 3·2⁻²⁴ also covers the second-order terms.
  const n = Tree.size(updates)
  const float32 = Tree.leaves(updates).some((l) => l.value.dtype === 'float32')
  return globalNorm(updates) <= maxNorm * (1 + (n + 4) * 2 ** -53 + (float32 ? 3 * 2 ** -24 : 0))
}

// the quadratic bowl

/**
 * `f(w) = ½ Σ aᵢ (wᵢ − cᵢ)²` over a params tree: `curvature` holds the `aᵢ > 0`, `center` the
 * minimum `cᵢ`. Its Hessian is diagonal with eigenvalues `aᵢ`, so `min a` and `max a` are the
 * strong-convexity and smoothness constants μ and L the classical step sizes are derived from.
 * @category model
 * @example
 * import { Laws, Tensor } from 'nn-ts'
 * const bowl: Laws.Bowl<{ w: Tensor.Tensor }> = { curvature: { w: Tensor.vector([1, 4]) }, center: { w: Tensor.vector([0, 0]) } }
 * Laws.bowlGradient(bowl)({ w: Tensor.vector([1, 1]) }) // { w: [1, 4] }: steeper along the second axis
 */
export type Bowl<T> = { readonly curvature: T; readonly center: T }

/**
 * The bowl's gradient `aᵢ (wᵢ − cᵢ)`.
 * @category laws
 * @example
 * import { Laws, Tensor } from 'nn-ts'
 * const bowl = { curvature: { w: Tensor.vector([2]) }, center: { w: Tensor.vector([1]) } }
 * Laws.bowlGradient(bowl)({ w: Tensor.vector([3]) }) // { w: [4] }
 */
export const bowlGradient =
  <T extends Tree.Tree>(bowl: Bowl<T>) =>
  (w: T): T =>
    Tree.zipWith([w, bowl.curvature, bowl.center], ([x, a, c]) => K.zipWith3(x, a, c, (xi, ai, ci) => ai * (xi - ci)))

/**
 * The Euclidean distance `‖w − c‖` from the bowl's minimum.
 * @category laws
 * @example
 * import { Laws, Tensor } from 'nn-ts'
 * const bowl = { curvature: { w: Tensor.vector([2, 2]) }, center: { w: Tensor.vector([1, 1]) } }
 * Laws.bowlDistance(bowl, { w: Tensor.vector([4, 5]) }) // 5
 */
export const bowlDistance = <T extends Tree.Tree>(bowl: Bowl<T>, w: T): number =>
  globalNorm(Tree.zipWith([w, bowl.center], ([x, c]) => K.zipWith(x, c, (xi, ci) => xi - ci)))

/**
 * From `start`, `steps` updates of `opt` on the bowl end within (Euclidean) distance `tol` of its
 * minimum.
 * @category laws
 * @example
 * import { Laws, Optim, Tensor } from 'nn-ts'
 * const bowl = { curvature: { w: Tensor.vector([1, 4]) }, center: { w: Tensor.vector([1, -1]) } }
 * Laws.convergesOnBowl(Optim.sgd(0.4), bowl, { w: Tensor.vector([0, 0]) }, 50, 1e-6) // true
 */
export const convergesOnBowl = <T extends Tree.Tree>(opt: AnyTransformation, bowl: Bowl<T>, start: T, steps: number, tol: number): boolean => {
  const run = runOptimizer(opt, start, bowlGradient(bowl), steps)
  return bowlDistance(bowl, run.steps[run.steps.length - 1]?.params ?? start) <= tol
}
