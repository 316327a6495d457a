/**
 * Giving parts of the params tree their own treatment: `masked` runs a transformation on the
 * selected leaves only, `partition` gives each labelled group its own transformation, and `freeze`
 * keeps the selected leaves where they are.
 *
 * The inner transformation sees the params tree with every leaf it does not own replaced by an empty
 * tuple `[]` (a subtree with no leaves): its leaves keep their paths, so a path predicate used inside
 * it (a mask of `addDecayedWeights`) still sees the original paths, and its state holds moments for
 * its own leaves only and stays plain data.
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
 * import { Optim, Tensor } from 'nn-ts'
 * const weightsOnly: Optim.MaskTree = [{ W: true, b: false }, { W: true, b: false }]
 * Optim.selects(weightsOnly)([1, 'b'], Tensor.vector([0])) // false
 */
export type MaskTree = Tree.Tree<boolean>

/**
 * Which leaves to select: a `MaskTree`, or a predicate on a leaf's path (as `Tree.leaves` gives it,
 * e.g. `[1, 'W']`) and the leaf itself.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const matrices: Optim.Mask = (_path, leaf) => leaf.shape.length === 2
 * const biases: Optim.Mask = (path) => path[path.length - 1] === 'b'
 * Optim.selects(matrices)([0, 'W'], Tensor.zeros([2, 3])) // true
 * Optim.selects(biases)([0, 'W'], Tensor.zeros([2, 3])) // false
 */
export type Mask = MaskTree | ((path: Tree.Path, leaf: Tensor) => boolean)

/** The mask's entry for a params leaf: the first boolean met on the way down its path. */
const maskAt = (mask: MaskTree, path: Tree.Path): boolean => {
  for (let depth = 0; depth <= path.length; depth++) {
    const node = Tree.at(mask, path.slice(0, depth))
    if (node === undefined) throw new TypeError(`mask: no entry for the params leaf '${Tree.showPath(path)}'`)
    if (typeof node === 'boolean') return node
  }
  throw new TypeError(`mask: '${Tree.showPath(path)}' is a tensor in the params but a subtree in the mask`)
}

/**
 * A mask as a predicate on (path, leaf).
 * @category utils
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * Optim.selects([{ W: true, b: false }])([0, 'W'], Tensor.vector([1])) // true
 */
export const selects = (mask: Mask): ((path: Tree.Path, leaf: Tensor) => boolean) =>
  typeof mask === 'function' ? mask : (path) => maskAt(mask, path)

/**
 * `tree` (grads or params) as the inner transformation of a group sees it: the leaves `owns` rejects
 * become empty tuples. Zipping with `params` also checks that grads and params have one structure.
 */
const onlyOwn = (tree: Tree.Tree, params: Tree.Tree, owns: (path: Tree.Path, param: Tensor) => boolean): Tree.Tree =>
  Tree.zipWith<Tensor, Tree.Tree>([tree, params], ([x, p], path) => (owns(path, p as Tensor) ? (x as Tensor) : []))

/** The update an inner transformation returned for the leaf at `path`. */
const updateAt = (where: string, updates: Tree.Tree, path: Tree.Path): Tensor => {
  const u = Tree.at(updates, path)
  if (!Tree.isTensor(u)) throw new TypeError(`${where}: the inner transformation returned no update for '${Tree.showPath(path)}'`)
  return u
}

/**
 * Runs `inner` on the leaves `mask` selects; the other updates pass through unchanged (so put it
 * inside a chain, e.g. weight decay on matrices only). To keep leaves fixed, use `freeze` or
 * `partition` with `setToZero`.
 * @category combinators
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.chain(
 *   Optim.scaleByAdam(),
 *   Optim.masked((_path, leaf) => leaf.shape.length === 2, Optim.addDecayedWeights(1e-4)),
 *   Optim.scaleByLearningRate(1e-3)
 * )
 * const decayOnly = Optim.masked((path) => path[0] === 'W', Optim.addDecayedWeights(0.5))
 * const params = { W: Tensor.vector([2]), b: Tensor.vector([2]) }
 * const zero = { W: Tensor.vector([0]), b: Tensor.vector([0]) }
 * decayOnly.update(zero, params)(decayOnly.init(params))[0] // { W: [1], b: [0] }: 0.5 · W for W only
 */
export const masked = <S extends OptState>(mask: Mask, inner: GradientTransformation<S>): GradientTransformation<S> => {
  const keep = selects(mask)
  return {
    init: (params) => inner.init(onlyOwn(params, params, keep)),
    update: (grads, params) => (s) => {
      const [own, next] = inner.update(onlyOwn(grads, params, keep), onlyOwn(params, params, keep))(s)
      return [Tree.zipWith([grads, params], ([g, p], path) => (keep(path, p) ? updateAt('masked', own, path) : g)), next]
    }
  }
}

/**
 * Keeps the selected leaves fixed (their updates become zeros); the rest pass through. Put it last
 * in a chain so nothing after it (weight decay, say) moves them again.
 * @category combinators
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * // Fine-tune: the first layer of a sequential stays as it is.
 * const opt = Optim.chain(Optim.sgd(0.1), Optim.freeze((path) => path[0] === 0))
 * const params = [{ W: Tensor.vector([1]) }, { W: Tensor.vector([1]) }] as const
 * const grads = [{ W: Tensor.vector([1]) }, { W: Tensor.vector([1]) }] as const
 * Optim.updateAndApply(opt)(grads, params)(opt.init(params))[0] // [{ W: [1] }, { W: [0.9] }]
 */
export const freeze = (mask: Mask) => masked(mask, setToZero())

/**
 * The record of the states of `R`, label by label.
 * @category model
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * type S = Optim.PartitionState<{ frozen: Optim.GradientTransformation<Optim.EmptyState> }>
 * const s: S = { frozen: [] }
 * const opt = Optim.partition(() => 'frozen', { frozen: Optim.setToZero() })
 * opt.init({ w: Tensor.vector([1]) }) // => s
 */
export type PartitionState<R extends { readonly [label: string]: AnyTransformation }> = { readonly [K in keyof R]: StateOf<R[K]> }

/**
 * Gives every group of leaves its own transformation: `labelOf` names the group of each leaf, and
 * each group is updated by `transforms[label]` as if it were the whole tree. The state is the record
 * of the groups' states.
 * @category combinators
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.partition((path) => (path.at(-1) === 'b' ? 'biases' : 'weights'), {
 *   weights: Optim.adamw(1e-3, { weightDecay: 1e-2 }),
 *   biases: Optim.sgd(0.5)
 * })
 * const params = { W: Tensor.vector([1], 'float64'), b: Tensor.vector([1], 'float64') }
 * const grads = { W: Tensor.vector([1], 'float64'), b: Tensor.vector([1], 'float64') }
 * Optim.updateAndApply(opt)(grads, params)(opt.init(params))[0] // { W: [≈ 0.99899], b: [0.5] }
 */
export const partition = <R extends { readonly [label: string]: AnyTransformation }>(
  labelOf: (path: Tree.Path, leaf: Tensor) => keyof R & string,
  transforms: R
): GradientTransformation<PartitionState<R>> => {
  const labels = Object.keys(transforms)
  const labelled = (path: Tree.Path, leaf: Tensor): string => {
    const label = labelOf(path, leaf)
    if (!Object.hasOwn(transforms, label)) {
      throw new TypeError(`partition: leaf '${Tree.showPath(path)}' is labelled '${label}', which is none of {${labels.join(', ')}}`)
    }
    return label
  }
  const owns = (label: string) => (path: Tree.Path, leaf: Tensor) => labelled(path, leaf) === label
  return {
    init: (params) =>
      Object.fromEntries(labels.map((label) => [label, (transforms[label] as AnyTransformation).init(onlyOwn(params, params, owns(label)))])) as PartitionState<R>,
    update: (grads, params) => (s) => {
      const states = s as { readonly [label: string]: OptState }
      const updates = new Map<string, Tree.Tree>()
      const next = labels.map((label): [string, OptState] => {
        if (!Object.hasOwn(states, label)) throw new TypeError(`partition: the state has no group '${label}'`)
        const t = transforms[label] as AnyTransformation
        const [u, si] = t.update(onlyOwn(grads, params, owns(label)), onlyOwn(params, params, owns(label)))(states[label])
        updates.set(label, u)
        return [label, si]
      })
      const merged = Tree.zipWith([grads, params], ([, p], path) => updateAt('partition', updates.get(labelled(path, p)) as Tree.Tree, path))
      return [merged, Object.fromEntries(next) as PartitionState<R>]
    }
  }
}
