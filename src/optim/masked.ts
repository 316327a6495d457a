/**
 * Giving parts of the params tree their own treatment: `masked` runs a transformation on the
 * selected leaves only, `partition` gives each labelled group its own transformation, and `freeze`
 * keeps the selected leaves where they are.
 *
 * The inner transformation sees the selected leaves as a record keyed by their paths in the whole
 * tree (`{ '[0].W': …, '[2].W': … }`): its state holds moments for those leaves only, stays plain
 * data, and a path predicate used inside it still sees the original paths.
 *
 * @since 0.1.0
 */
import type { Tensor } from '../tensor/Tensor.ts'
import * as Tree from '../tree/Tree.ts'
import { type AnyTransformation, type GradientTransformation, type OptState, type StateOf, setToZero } from './Transform.ts'

/**
 * A tree of booleans shaped like the params; a boolean in place of a subtree covers all of it.
 * @category model
 * @example
 * import type { Optim } from 'nn-ts'
 * const weightsOnly: Optim.MaskTree = [{ W: true, b: false }, { W: true, b: false }]
 */
export type MaskTree = boolean | ReadonlyArray<MaskTree> | { readonly [key: string]: MaskTree }

/**
 * Which leaves to select: a `MaskTree`, or a predicate on a leaf's path (as `Tree.leaves` writes it,
 * e.g. `[1].W`) and the leaf itself.
 * @category model
 * @example
 * import type { Optim } from 'nn-ts'
 * const matrices: Optim.Mask = (_path, leaf) => leaf.shape.length === 2
 */
export type Mask = MaskTree | ((path: string, leaf: Tensor) => boolean)

/** The steps of a leaf path: `[1].W` → `[1, 'W']` (record keys holding `.` or `[` need a predicate mask). */
const segments = (path: string): Array<string | number> =>
  Array.from(path.matchAll(/\[(\d+)\]|\.?([^.[]+)/g), (m) => (m[1] !== undefined ? Number(m[1]) : (m[2] as string)))

/** Looks the path up in a mask tree, stopping at the first boolean on the way. */
const maskAt = (mask: MaskTree, path: string): boolean => {
  let node: MaskTree | undefined = mask
  for (const step of segments(path)) {
    if (typeof node === 'boolean' || node === undefined) break
    node = typeof step === 'number' ? (Array.isArray(node) ? (node as ReadonlyArray<MaskTree>)[step] : undefined) : Array.isArray(node) ? undefined : (node as { readonly [key: string]: MaskTree })[step]
  }
  if (node === undefined) throw new TypeError(`mask: no entry for the params leaf '${path}'`)
  if (typeof node !== 'boolean') throw new TypeError(`mask: '${path}' is a tensor in the params but a subtree in the mask`)
  return node
}

/**
 * A mask as a predicate on (path, leaf).
 * @category utils
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * Optim.selects([{ W: true, b: false }])('[0].W', Tensor.vector([1])) // true
 */
export const selects = (mask: Mask): ((path: string, leaf: Tensor) => boolean) =>
  typeof mask === 'function' ? mask : (path) => maskAt(mask, path)

/** Leaves of grads and params side by side, checking that the two trees have the same paths. */
const pairedLeaves = (grads: Tree.Tree, params: Tree.Tree, where: string): Array<{ path: string; grad: Tensor; param: Tensor }> => {
  const gs = Tree.leaves(grads)
  const ps = Tree.leaves(params)
  if (gs.length !== ps.length) throw new TypeError(`${where}: grads have ${gs.length} leaves, params ${ps.length}`)
  return gs.map((g, i) => {
    const p = ps[i] as Tree.Leaf
    if (p.path !== g.path) throw new TypeError(`${where}: grads leaf '${g.path}' sits where params have '${p.path}'`)
    return { path: g.path, grad: g.tensor, param: p.tensor }
  })
}

type Group = { [path: string]: Tensor }

/**
 * Runs `inner` on the leaves `mask` selects; the other updates pass through unchanged (so put it
 * inside a chain, e.g. weight decay on matrices only). To keep leaves fixed, use `freeze` or
 * `partition` with `setToZero`.
 * @category combinators
 * @example
 * import { Optim } from 'nn-ts'
 * const opt = Optim.chain(
 *   Optim.scaleByAdam(),
 *   Optim.masked((_path, leaf) => leaf.shape.length === 2, Optim.addDecayedWeights(1e-4)),
 *   Optim.scaleByLearningRate(1e-3)
 * )
 */
export const masked = <S extends OptState>(mask: Mask, inner: GradientTransformation<S>): GradientTransformation<S> => {
  const keep = selects(mask)
  return {
    init: (params) => {
      const sub: Group = {}
      for (const l of Tree.leaves(params)) if (keep(l.path, l.tensor)) sub[l.path] = l.tensor
      return inner.init(sub)
    },
    update: (grads, params) => (s) => {
      const subGrads: Group = {}
      const subParams: Group = {}
      for (const l of pairedLeaves(grads, params, 'masked')) {
        if (keep(l.path, l.param)) {
          subGrads[l.path] = l.grad
          subParams[l.path] = l.param
        }
      }
      const [subUpdates, next] = inner.update(subGrads, subParams)(s)
      return [Tree.map(grads, (g, path) => subUpdates[path] ?? g), next]
    }
  }
}

/**
 * Keeps the selected leaves fixed (their updates become zeros); the rest pass through. Put it last
 * in a chain so nothing after it (weight decay, say) moves them again.
 * @category combinators
 * @example
 * import { Optim } from 'nn-ts'
 * // Fine-tune: the first layer of a sequential stays as it is.
 * const opt = Optim.chain(Optim.adam(1e-3), Optim.freeze((path) => path.startsWith('[0]')))
 */
export const freeze = (mask: Mask) => masked(mask, setToZero())

/**
 * The record of the states of `R`, label by label.
 * @category model
 * @example
 * import type { Optim } from 'nn-ts'
 * type S = Optim.PartitionState<{ frozen: Optim.GradientTransformation<Optim.EmptyState> }>
 * const s: S = { frozen: [] }
 */
export type PartitionState<R extends { readonly [label: string]: AnyTransformation }> = { readonly [K in keyof R]: StateOf<R[K]> }

/**
 * Gives every group of leaves its own transformation: `labelOf` names the group of each leaf, and
 * each group is updated by `transforms[label]` as if it were the whole tree. The state is the record
 * of the groups' states.
 * @category combinators
 * @example
 * import { Optim } from 'nn-ts'
 * const opt = Optim.partition((path) => (path.endsWith('.b') ? 'biases' : 'weights'), {
 *   weights: Optim.adamw(1e-3, { weightDecay: 1e-2 }),
 *   biases: Optim.adam(1e-3)
 * })
 */
export const partition = <R extends { readonly [label: string]: AnyTransformation }>(
  labelOf: (path: string, leaf: Tensor) => keyof R & string,
  transforms: R
): GradientTransformation<PartitionState<R>> => {
  const labels = Object.keys(transforms)
  const labelled = (path: string, leaf: Tensor): string => {
    const label = labelOf(path, leaf)
    if (!Object.hasOwn(transforms, label)) throw new TypeError(`partition: leaf '${path}' is labelled '${label}', which is none of {${labels.join(', ')}}`)
    return label
  }
  const groups = (): Record<string, Group> => Object.fromEntries(labels.map((l) => [l, {}]))
  return {
    init: (params) => {
      const byLabel = groups()
      for (const l of Tree.leaves(params)) (byLabel[labelled(l.path, l.tensor)] as Group)[l.path] = l.tensor
      return Object.fromEntries(labels.map((label) => [label, (transforms[label] as AnyTransformation).init(byLabel[label] as Group)])) as PartitionState<R>
    },
    update: (grads, params) => (s) => {
      const gradsBy = groups()
      const paramsBy = groups()
      for (const l of pairedLeaves(grads, params, 'partition')) {
        const label = labelled(l.path, l.param)
        ;(gradsBy[label] as Group)[l.path] = l.grad
        ;(paramsBy[label] as Group)[l.path] = l.param
      }
      const states = s as { readonly [label: string]: OptState }
      const updates: Group = {}
      const next: { [label: string]: OptState } = {}
      for (const label of labels) {
        if (!(label in states)) throw new TypeError(`partition: the state has no group '${label}'`)
        const [u, si] = (transforms[label] as AnyTransformation).update(gradsBy[label] as Group, paramsBy[label] as Group)(states[label])
        Object.assign(updates, u)
        next[label] = si
      }
      return [Tree.map(grads, (_g, path) => updates[path] as Tensor), next as PartitionState<R>]
    }
  }
}
