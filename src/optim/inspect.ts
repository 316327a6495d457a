/**
 * Reading optimizer states: find a sub-state, describe the structure, check it is plain data.
 *
 * An optimizer state is a tree of tensors and numbers (`OptState`, a `Tree.Tree<Tensor | number>`):
 * these functions read it with the walks of `Tree` (a record that matches a predicate is a leaf of the
 * walk), and `Tree.equals` compares two states.
 *
 * @since 0.1.0
 */
import { showShape } from '../tensor/Tensor.ts'
import * as Tree from '../tree/Tree.ts'
import type { OptState } from './Transform.ts'

/**
 * A record inside a state (never a tensor).
 * @category model
 * @example
 * import { Optim } from 'nn-ts'
 * const r: Optim.StateRecord = { count: 3, learningRate: 0.1 }
 * Optim.learningRate([r]) // 0.1
 */
export type StateRecord = { readonly [key: string]: OptState }

/** A walk that stops at the records `pred` accepts (and, for a state of unknown origin, at anything that is not a tuple or record). */
const stopAt = (pred: (r: StateRecord) => boolean, anyLeaf: boolean): Tree.WalkOptions => ({
  isLeaf: (node) => (Tree.isRecord(node) ? pred(node as StateRecord) : anyLeaf && !Array.isArray(node))
})

/**
 * The first record inside `state` (depth first, in tuple and key order, the state itself first) for
 * which `pred` holds. Accepts `unknown` so it can read a state whose type was lost (a decoded
 * checkpoint); anything that is not a tuple or record is skipped.
 * @category destructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const s = Optim.adam(1e-3).init({ w: Tensor.vector([1]) })
 * Optim.findRecord(s, (r) => 'mu' in r) // { count: 0, mu: { w: [0] }, nu: { w: [0] } }: the Adam moments
 */
export const findRecord = (state: unknown, pred: (r: StateRecord) => boolean): StateRecord | undefined =>
  Tree.leaves(state, stopAt(pred, true)).find((l) => Tree.isRecord(l.value))?.value as StateRecord | undefined

/**
 * Rebuilds `state` with `f` applied to every record for which `pred` holds (those records are not
 * entered further). Tensors and numbers elsewhere are shared, not copied.
 * @category combinators
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const s = Optim.sgd(0.1).init({ w: Tensor.vector([1]) })
 * const t = Optim.mapRecords(s, (r) => 'learningRate' in r, (r) => ({ ...r, learningRate: 0.01 }))
 * Optim.learningRate(t) // 0.01
 * Optim.learningRate(s) // 0.1: s is unchanged
 */
export const mapRecords = <S extends OptState>(state: S, pred: (r: StateRecord) => boolean, f: (r: StateRecord) => StateRecord): S =>
  Tree.map<unknown, unknown>(state, (node) => (Tree.isRecord(node) ? f(node as StateRecord) : node), stopAt(pred, false)) as S

/**
 * Why a value is not a valid optimizer state (`OptState`), naming the path, or `undefined` if it
 * is one: only tuples, plain records, tensors and finite numbers are allowed.
 * @category utils
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * Optim.whyNotPlain(Optim.adam(1e-3).init({ w: Tensor.vector([1]) })) // undefined
 * Optim.whyNotPlain({ count: NaN }) // 'count: expected a finite number, found number NaN'
 */
export const whyNotPlain = (state: unknown): string | undefined => {
  const at = (path: Tree.Path): string => (path.length === 0 ? '<root>' : Tree.showPath(path))
  try {
    const bad = Tree.leaves(state).find((l) => !(Tree.isTensor(l.value) || (typeof l.value === 'number' && Number.isFinite(l.value))))
    if (bad === undefined) return undefined
    return `${at(bad.path)}: expected ${typeof bad.value === 'number' ? 'a finite number' : 'a tensor or a finite number'}, found ${typeof bad.value} ${String(bad.value)}`
  } catch (e) {
    if (e instanceof Tree.TreeError) return `${at(e.path)}: expected a tensor, a finite number, a tuple or a plain record, found ${e.found}`
    throw e
  }
}

/**
 * The shape of a state without its values: keys, tuple lengths, tensor shapes and dtypes, and
 * `number` where a number sits. Two states with the same structure string fit the same optimizer.
 * @category destructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * Optim.structure(Optim.sgd(0.1).init({ w: Tensor.vector([1, 2]) })) // '[{"count":"number","learningRate":"number"}]'
 * Optim.structure(Optim.adam(0.1).init({ w: Tensor.vector([1, 2]) })) // '[{"count":"number","mu":{"w":"float32[2]"},"nu":{"w":"float32[2]"}},{"count":"number","learningRate":"number"}]'
 */
export const structure = (state: OptState): string =>
  JSON.stringify(Tree.map(state, (leaf) => (Tree.isTensor(leaf) ? `${leaf.dtype}${showShape(leaf.shape)}` : 'number')))
