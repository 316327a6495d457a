/**
 * Optimizers as values (optax style): a `GradientTransformation` is a pair of pure functions,
 * `init(params) -> state` and `update(grads, params) -> State<state, updates>`. Transformations
 * compose with `chain`; `applyUpdates` adds the result to the params (the minus sign of gradient
 * descent lives in `scaleByLearningRate`, so every step of a chain speaks in "updates").
 *
 * States are plain data — records and tuples of tensors and finite numbers (`OptState`) — so a
 * checkpoint codec can serialize any of them and equality is by value. Hyper-parameters that never
 * change live in the factory's closure; those a person wants to read (learning rate, step count) live
 * in the state.
 *
 * @since 0.1.0
 */
import type { State } from 'fp-ts/lib/State.js'
import { kernels as K } from '../tensor/backend.ts'
import { type Tensor, zeros } from '../tensor/Tensor.ts'
import * as Tree from '../tree/Tree.ts'
import { assertFinite } from './internal.ts'

// model

/**
 * What an optimizer state may hold: a tree (`Tree.Tree`) whose leaves are tensors and finite
 * numbers. No functions, class instances or `undefined`, so states serialize generically, the tree
 * walks read them, and `Tree.equals` compares them. Declare state records as type aliases (not
 * interfaces) so they fit the index signature.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * type MyState = { readonly count: number; readonly velocity: Tensor.Tensor }
 * const s: MyState = { count: 0, velocity: Tensor.zeros([2]) }
 * const asState: Optim.OptState = s
 * Optim.whyNotPlain(asState) // undefined: a valid state
 * Optim.whyNotPlain({ count: 0, velocity: undefined }) // 'velocity: expected a tensor, a finite number, a tuple or a plain record, found undefined'
 */
export type OptState = Tree.Tree<Tensor | number>

/**
 * An optimizer or one step of one. `init` builds the state for a params tree; `update` maps
 * gradients (or the updates of the previous step in a chain) to updates shaped exactly like them,
 * threading the state. Both are generic over the params tree, so updates come back typed like params.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * type P = { W: Tensor.Tensor; b: Tensor.Tensor }
 * const params: P = { W: Tensor.fromRows([[1, 2]]), b: Tensor.vector([0]) }
 * const grads: P = { W: Tensor.fromRows([[0.5, -1]]), b: Tensor.vector([1]) }
 * const opt = Optim.adam(1e-3)
 * const s0 = opt.init(params)
 * const [updates, s1] = opt.update(grads, params)(s0)
 * const next: P = Optim.applyUpdates(params, updates)
 * next // { W: [[≈ 0.999, ≈ 2.001]], b: [≈ -0.001] }: Adam's first step, lr against the gradient's sign
 * Optim.stepCount(s1) // 1
 * Optim.stepCount(s0) // 0: the state is a value, s0 is unchanged
 */
export interface GradientTransformation<S extends OptState> {
  readonly init: <T extends Tree.Tree>(params: T) => S
  readonly update: <T extends Tree.Tree>(grads: T, params: T) => State<S, T>
  /**
   * A fast path for `update` followed by `applyUpdates`, present only where it is that computation
   * bit for bit (see `FusedStep`); `updateAndApply` uses it. The usual optimizers (`sgd`, `adam`, …)
   * have one; a transformation written by hand needs none.
   */
  readonly fused?: FusedStep<S>
}

/**
 * One pass per parameter leaf instead of one per step of a chain: `step(grads, params)` gives the new
 * params `applyUpdates(params, updates)` and the next state, equal bit for bit to what `update` and
 * `applyUpdates` give (a law checks each optimizer that has one, on both backends). It holds the
 * `update` it replaces, and `updateAndApply` uses it only while the transformation's `update` is that
 * one, so a copy with another `update` (`{ ...adam(1e-3), update: mine }`) never runs a stale fast path.
 * @category model
 * @example
 * import { Optim } from 'nn-ts'
 * const opt = Optim.adam(1e-3)
 * opt.fused?.update === opt.update // true: the fast path belongs to this update
 */
export interface FusedStep<S extends OptState> {
  readonly update: GradientTransformation<S>['update']
  readonly step: <T extends Tree.Tree>(grads: T, params: T) => State<S, T>
  /**
   * `step`, and `true` when every gradient and every new param and moment tensor is finite (found in
   * the same pass; `false` means "not known": look), so a trainer need not read them again.
   */
  readonly stepChecked: <T extends Tree.Tree>(grads: T, params: T) => State<S, readonly [T, boolean]>
}

/**
 * The state type of a transformation.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.sgd(0.1)
 * type S = Optim.StateOf<typeof opt> // readonly [Optim.LearningRateState]
 * const s: S = opt.init({ w: Tensor.vector([1]) })
 * s // [{ count: 0, learningRate: 0.1 }]
 */
export type StateOf<G> = G extends GradientTransformation<infer S> ? S : never

/**
 * The state of a transformation that keeps nothing (the same value as a layer's empty state).
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const none: Optim.EmptyState = []
 * Optim.scale(2).init({ w: Tensor.vector([1]) }) // => none
 */
export type EmptyState = readonly []

/**
 * Any transformation, whatever its state (for combinators and law predicates).
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const all: ReadonlyArray<Optim.AnyTransformation> = [Optim.sgd(0.1), Optim.adam(1e-3)]
 * all.map((opt) => Optim.learningRate(opt.init({ w: Tensor.vector([1]) }))) // [0.1, 0.001]
 */
// `any` rather than `OptState`: the state parameter is invariant (it is read and written), so a
// transformation with a concrete state is not assignable to one over the whole `OptState` union.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTransformation = GradientTransformation<any>

const empty: EmptyState = []

// constructors

/**
 * A stateless transformation from a per-leaf function of (update, param). Used by the primitives
 * that keep no state (scale, weight decay, zeroing).
 * @category constructors
 * @example
 * import { Optim, Tensor, kernels } from 'nn-ts'
 * const negate = Optim.stateless((u) => kernels.map(u, (x) => -x))
 * const p = { w: Tensor.vector([1, 2]) }
 * negate.update({ w: Tensor.vector([3, -4]) }, p)(negate.init(p))[0] // { w: [-3, 4] }
 */
export const stateless = (f: (update: Tensor, param: Tensor, path: Tree.Path) => Tensor): GradientTransformation<EmptyState> => ({
  init: () => empty,
  update: (grads, params) => (s) => [Tree.zipWith([grads, params], ([u, p], path) => f(u, p, path)), s]
})

/**
 * Passes updates through unchanged; the unit of `chain`.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const same = Optim.chain(Optim.identity(), Optim.sgd(0.1)) // behaves as sgd(0.1)
 * const p = { w: Tensor.vector([1]) }
 * same.update(p, p)(same.init(p))[0] // => Optim.sgd(0.1).update(p, p)(Optim.sgd(0.1).init(p))[0]
 */
export const identity = (): GradientTransformation<EmptyState> => ({
  init: () => empty,
  update: (grads) => (s) => [grads, s]
})

/**
 * Multiplies every update by the constant `c`.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const half = Optim.scale(0.5)
 * const p = { w: Tensor.vector([1]) }
 * half.update({ w: Tensor.vector([3]) }, p)(half.init(p))[0] // { w: [1.5] }
 */
export const scale = (c: number): GradientTransformation<EmptyState> => {
  assertFinite('scale', 'c', c)
  return {
    init: () => empty,
    update: (grads) => (s) => [Tree.map(grads, (u) => K.scale(u, c)), s]
  }
}

/**
 * Replaces every update by zeros: the parameters it sees stay where they are. Use it for a frozen
 * group in `partition`, or through `freeze`.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const frozen = Optim.partition((path) => (path[0] === 0 ? 'frozen' : 'train'), {
 *   frozen: Optim.setToZero(),
 *   train: Optim.sgd(0.5)
 * })
 * const p = [Tensor.vector([1]), Tensor.vector([1])] as const
 * Optim.updateAndApply(frozen)(p, p)(frozen.init(p))[0] // [[1], [0.5]]: the first stays
 */
export const setToZero = (): GradientTransformation<EmptyState> => ({
  init: () => empty,
  update: (grads) => (s) => [Tree.map(grads, (u) => zeros(u.shape, u.dtype)), s]
})

// combinators

/**
 * The tuple of the states of `Ts`.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * type S = Optim.ChainState<[Optim.GradientTransformation<Optim.EmptyState>, Optim.GradientTransformation<Optim.LearningRateState>]>
 * const s: S = [[], { count: 0, learningRate: 0.1 }]
 * Optim.chain(Optim.scale(2), Optim.scaleByLearningRate(0.1)).init({ w: Tensor.vector([1]) }) // => s
 */
export type ChainState<Ts extends ReadonlyArray<AnyTransformation>> = { readonly [K in keyof Ts]: StateOf<Ts[K]> }

/**
 * Runs transformations in order, each on the updates of the one before; the state is the tuple of
 * theirs (in the same order, so the state of a chain reads like the chain). `chain()` is `identity`.
 * @category combinators
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * // Clip, then Adam, then the (negative) learning rate.
 * const opt = Optim.chain(Optim.clipByGlobalNorm(1), Optim.scaleByAdam(), Optim.scaleByLearningRate(1e-3))
 * opt.init({ w: Tensor.vector([1]) }).length // 3: one state per step of the chain, in order
 * const sgd = Optim.chain(Optim.scale(2), Optim.scaleByLearningRate(0.1)) // gradient doubled, then −0.1
 * const p = { w: Tensor.vector([1], 'float64') }
 * sgd.update(p, p)(sgd.init(p))[0] // { w: [-0.2] }
 */
export const chain = <Ts extends ReadonlyArray<AnyTransformation>>(...ts: Ts): GradientTransformation<ChainState<Ts>> => ({
  init: (params) => ts.map((t) => t.init(params)) as unknown as ChainState<Ts>,
  update: (grads, params) => (s) => {
    const states = s as unknown as ReadonlyArray<OptState>
    // A cheap guard for states that come from outside (a checkpoint for another optimizer).
    if (!Array.isArray(states) || states.length !== ts.length) {
      throw new TypeError(`chain of ${ts.length}: expected a state tuple of ${ts.length}, got ${describeState(s)}`)
    }
    let updates = grads
    const next = ts.map((t, i) => {
      const [u, si] = t.update(updates, params)(states[i])
      updates = u
      return si
    })
    return [updates, next as unknown as ChainState<Ts>]
  }
})

// utils

/**
 * `params + updates`, leaf by leaf (updates already carry the minus sign of descent).
 * @category utils
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const p = { w: Tensor.vector([1, 2]) }
 * Optim.applyUpdates(p, { w: Tensor.vector([-0.5, 0.5]) }) // { w: [0.5, 2.5] }
 */
export const applyUpdates = <T extends Tree.Tree>(params: T, updates: T): T =>
  Tree.zipWith([params, updates], ([p, u]) => K.axpby(1, p, 1, u))

/**
 * The new params and the next state of one optimizer step: `update`, then `applyUpdates`; through
 * the transformation's fused step when it has one for this `update` (the same result bit for bit, in
 * one pass per leaf).
 * @category utils
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const params = { w: Tensor.vector([1, 2]) }
 * const opt = Optim.sgd(0.5)
 * const [next] = Optim.updateAndApply(opt)(params, params)(opt.init(params)) // { w: [0.5, 1] }
 */
export const updateAndApply =
  <S extends OptState>(optimizer: GradientTransformation<S>) =>
  <T extends Tree.Tree>(grads: T, params: T): State<S, T> => {
    const fused = optimizer.fused
    if (fused !== undefined && fused.update === optimizer.update) return fused.step(grads, params)
    return (s) => {
      const [updates, next] = optimizer.update(grads, params)(s)
      return [applyUpdates(params, updates), next]
    }
  }

/**
 * `updateAndApply`, and `true` when the fused step found every gradient and every new param and
 * moment tensor finite; `false` when it did not or there was no fused step (then nothing was checked).
 * @internal
 */
export const updateAndApplyChecked =
  <S extends OptState>(optimizer: GradientTransformation<S>) =>
  <T extends Tree.Tree>(grads: T, params: T): State<S, readonly [T, boolean]> => {
    const fused = optimizer.fused
    if (fused !== undefined && fused.update === optimizer.update) return fused.stepChecked(grads, params)
    return (s) => {
      const [updates, next] = optimizer.update(grads, params)(s)
      return [[applyUpdates(params, updates), false], next]
    }
  }

/**
 * Zeros shaped (and typed) like `params`: the starting value of every moment.
 * @category utils
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * Optim.zerosLike({ w: Tensor.vector([1, 2]) }) // { w: [0, 0] }
 */
export const zerosLike = <T extends Tree.Tree>(params: T): T => Tree.map(params, (t) => zeros(t.shape, t.dtype))

const describeState = (s: unknown): string =>
  Array.isArray(s) ? `a tuple of ${s.length}` : s === null ? 'null' : typeof s === 'object' ? `a record {${Object.keys(s).join(', ')}}` : typeof s
