/**
 * Trees: params, gradients, layer states, optimizer states and masks. A tree is a leaf, a tuple (an
 * array) of trees or a record (a plain object) of trees, like a JAX pytree; this module is the one
 * place that walks them, and every other module (optimizers, masks, clipping, checkpoints, the
 * gradient checker, the training step) goes through it.
 *
 * - **Leaves.** `Tree<L>` is generic in its leaf type: params and layer states are `Tree<Tensor>`
 *   (the default), optimizer states `Tree<Tensor | number>`, masks `Tree<boolean>`. At run time a
 *   tensor, a number and a boolean are leaves (`isLeaf`); a walk given `isLeaf` also stops at the
 *   nodes that predicate accepts (a record of a given shape, a tensor written as JSON). Anything else
 *   — `null`, `undefined`, a string, a function, a class instance — is not part of a tree, and a walk
 *   that meets one throws a `TreeError` saying where.
 * - **Paths.** A node's place is a `Path`, the record keys and tuple indices from the root:
 *   `[2, 'W']`. Paths are data (compare them, look nodes up with `at`, replace leaves with `set`);
 *   `showPath` renders one as `[2].W` for a message.
 * - **Order.** Walks go depth first, tuples in index order and records in key order (`Object.keys`).
 *   `leaves`, `reduce`, `unflatten` and the callbacks of `map` and `zipWith` all see that order.
 * - **Depth.** Walks keep their own stack instead of recursing, so a tree nested a million levels
 *   deep costs memory, not the call stack. A boundary reading trees from files can refuse deep ones
 *   early with `maxDepth`.
 *
 * @since 0.1.0
 */
import { type Tensor, isFinite as tensorIsFinite, sameShape, showShape } from '../tensor/Tensor.ts'

// model

/**
 * A leaf of type `L`, or a tuple or record of trees. `Tree` alone is a tree of tensors.
 * @category model
 * @since 0.1.0
 * @example
 * import { Tensor, Tree } from 'nn-ts'
 * const params: Tree.Tree = [{ W: Tensor.zeros([2, 3]), b: Tensor.zeros([3]) }, []]
 * const state: Tree.Tree<Tensor.Tensor | number> = { count: 0, mu: params }
 * const mask: Tree.Tree<boolean> = [{ W: true, b: false }, []]
 * Tree.size(state) // 10: 6 + 3 values of tensors, and the count
 */
export type Tree<L = Tensor> = L | ReadonlyArray<Tree<L>> | { readonly [key: string]: Tree<L> }

/**
 * What a walk takes for a leaf unless told otherwise (`WalkOptions.isLeaf`): a tensor, a number or a
 * boolean. The functions whose result does not depend on the leaf type (`equals`, `size`,
 * `firstNonFinite`) take trees of these, or anything when given `isLeaf`.
 * @category model
 * @since 0.2.0
 * @example
 * import { Optim, Tensor, Tree } from 'nn-ts'
 * const state: Tree.Tree<Tree.DefaultLeaf> = Optim.adam(1e-3).init({ w: Tensor.zeros([2]) })
 * Tree.leaves(state).map((l) => Tree.showPath(l.path)) // ['[0].count', '[0].mu.w', '[0].nu.w', '[1].count', '[1].learningRate']
 */
export type DefaultLeaf = Tensor | number | boolean

/**
 * Where a node sits in a tree: the record keys (strings) and tuple indices (numbers) from the root.
 * The root's path is `[]`. Render one with `showPath` only to print it.
 * @category model
 * @since 0.2.0
 * @example
 * import { Tree } from 'nn-ts'
 * const secondLayerWeights: Tree.Path = [2, 'W']
 * Tree.showPath(secondLayerWeights) // '[2].W'
 */
export type Path = ReadonlyArray<string | number>

/**
 * A leaf with its path, as `leaves` lists them.
 * @category model
 * @since 0.1.0
 * @example
 * import { Tensor, Tree } from 'nn-ts'
 * const leaf: Tree.Leaf = { path: [0, 'b'], value: Tensor.zeros([3]) }
 * Tree.leaves([{ b: Tensor.zeros([3]) }]) // => [leaf]
 */
export interface Leaf<L = Tensor> {
  readonly path: Path
  readonly value: L
}

/**
 * How a walk reads a tree. `isLeaf` makes the nodes it accepts leaves, on top of tensors, numbers
 * and booleans (as JAX's `is_leaf`): the walk hands them to the callback whole instead of entering
 * them. `maxDepth` refuses, with a `TreeError`, any node more than that many levels below the root.
 * @category model
 * @since 0.2.0
 * @example
 * import { Tree } from 'nn-ts'
 * const state = [{ count: 3, learningRate: 0.1 }]
 * const isRate = (node: unknown) => Tree.isRecord(node) && 'learningRate' in node
 * Tree.leaves(state, { isLeaf: isRate }).length // 1: the whole record is one leaf
 */
export interface WalkOptions {
  readonly isLeaf?: (node: unknown) => boolean
  readonly maxDepth?: number
}

/**
 * What the one equality compares. With no option it is **exact**: two leaves are equal when every
 * value is the same number in the sense of `Object.is` — `-0` and `0` differ, and a NaN equals a
 * NaN. (That is every bit of each value except a NaN's payload: JavaScript engines may rewrite NaN
 * payloads when they read a typed array, so no law can rely on them.) The options relax it:
 *
 * - `rtol`, `atol` (default 0): `|x − y| ≤ atol + rtol·max(|x|, |y|)` also counts as equal (symmetric,
 *   like Python's `math.isclose`); infinities are only equal to themselves;
 * - `signedZero`: whether `-0` and `0` differ (default: `true` when no tolerance is given, `false`
 *   with one, since a tolerance compares values as numbers);
 * - `nanEqual` (default `true`): whether NaN equals NaN (`false` is IEEE `==`, under which a tree
 *   holding a NaN is not equal to itself).
 * @category model
 * @since 0.2.0
 * @example
 * import { Tensor, Tree } from 'nn-ts'
 * const asNumbers: Tree.EqualsOptions = { signedZero: false, nanEqual: false } // IEEE ==
 * const close: Tree.EqualsOptions = { rtol: 1e-6, atol: 1e-12 }
 * Tree.equals(Tensor.vector([0, NaN]), Tensor.vector([-0, NaN]), asNumbers) // false: NaN ≠ NaN
 * Tree.equals(Tensor.vector([1], 'float64'), Tensor.vector([1 + 1e-9], 'float64'), close) // true
 */
export interface EqualsOptions extends WalkOptions {
  readonly rtol?: number
  readonly atol?: number
  readonly signedZero?: boolean
  readonly nanEqual?: boolean
}

/**
 * What went wrong in a `TreeError`: trees that differ where they should agree, a value that is not
 * part of a tree, a node deeper than `maxDepth`, or a path with no node at its end.
 * @category model
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, Tree } from 'nn-ts'
 * const p: Tree.TreeProblem = 'mismatch'
 * const r = E.tryCatch(() => Tree.zipWith([[Tensor.zeros([1])], [Tensor.zeros([1]), Tensor.zeros([1])]], ([a]) => a), (e) => e)
 * if (E.isLeft(r) && r.left instanceof Tree.TreeError) r.left.problem // => p
 */
export type TreeProblem = 'mismatch' | 'notATree' | 'tooDeep' | 'noSuchPath'

/**
 * Thrown by the walks of this module: `path` says where, `expected` and `found` describe the two
 * sides (`float32 [2, 3]`, `a tuple of 2`, `a record {W, b}`, `number 3`, `undefined`), and the
 * message reads `Tree.zipWith: tree 1 differs from tree 0 at [0].W: expected float32 [2, 3], found
 * float32 [2, 4]`. A boundary that reads trees from outside catches it and reports `path` its own way.
 * @category model
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, Tree } from 'nn-ts'
 * const r = E.tryCatch(() => Tree.zipWith([{ W: Tensor.zeros([2]) }, { W: Tensor.zeros([3]) }], ([a]) => a), (e) => e)
 * if (E.isLeft(r) && r.left instanceof Tree.TreeError) r.left.path // ['W']
 * if (E.isLeft(r)) r.left // { message: 'Tree.zipWith: tree 1 differs from tree 0 at W: expected float32 [2], found float32 [3]' }
 */
export class TreeError extends TypeError {
  constructor(
    readonly problem: TreeProblem,
    readonly path: Path,
    readonly expected: string,
    readonly found: string,
    context: string
  ) {
    super(`${context} at ${path.length === 0 ? 'the root' : showPath(path)}: expected ${expected}, found ${found}`)
    this.name = 'TreeError'
  }
}

// refinements

/**
 * Whether a value is a tensor.
 * @category refinements
 * @since 0.1.0
 * @example
 * import { Tensor, Tree } from 'nn-ts'
 * Tree.isTensor(Tensor.zeros([2])) // true
 * Tree.isTensor({ W: Tensor.zeros([2]) }) // false
 */
export const isTensor = (t: unknown): t is Tensor =>
  typeof t === 'object' && t !== null && 'shape' in t && 'data' in t && 'dtype' in t && ArrayBuffer.isView((t as Tensor).data)

/**
 * Whether a value is a leaf unless a walk says otherwise: a tensor, a number or a boolean.
 * @category refinements
 * @since 0.2.0
 * @example
 * import { Tensor, Tree } from 'nn-ts'
 * const nodes = [Tensor.zeros([2]), 0.1, true, [], {}]
 * nodes.map(Tree.isLeaf) // [true, true, true, false, false]
 */
export const isLeaf = (node: unknown): node is DefaultLeaf =>
  typeof node === 'number' || typeof node === 'boolean' || isTensor(node)

/**
 * Whether a value is a record node: a plain object (made by `{…}`, `JSON.parse` or
 * `Object.create(null)`) that is not a tensor. Class instances are not records.
 * @category refinements
 * @since 0.2.0
 * @example
 * import { Tensor, Tree } from 'nn-ts'
 * Tree.isRecord({ W: Tensor.zeros([2]) }) // true
 * Tree.isRecord(Tensor.zeros([2])) // false
 * Tree.isRecord(new Map()) // false
 */
export const isRecord = (node: unknown): node is { readonly [key: string]: unknown } => {
  if (typeof node !== 'object' || node === null || Array.isArray(node) || isTensor(node)) return false
  const proto: unknown = Object.getPrototypeOf(node)
  return proto === Object.prototype || proto === null
}

// paths

// Characters JSON.stringify leaves as they are but a terminal would act on or hide: DEL, C1 controls,
// soft hyphen, zero-width and bidirectional formatting marks, line and paragraph separators, the BOM.
const INVISIBLE = '\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff'

// An ECMAScript identifier without invisible characters (recent Unicode counts the zero-width joiners
// as identifier characters): such a key reads unambiguously after a dot.
const IDENTIFIER = new RegExp(`^(?![^]*[${INVISIBLE}])[\\p{ID_Start}$_][\\p{ID_Continue}$]*$`, 'u')

/** A string as a double-quoted literal with every control or invisible character escaped. */
const quote = (s: string): string =>
  JSON.stringify(s).replace(new RegExp(`[${INVISIBLE}]`, 'gu'), (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`)

const showKey = (key: string): string => (IDENTIFIER.test(key) ? key : quote(key))

/**
 * A path as text for a message, in JavaScript's accessor syntax: `[2].W`, `[1].mu[0].b`, `count`.
 * A key that is not an identifier is quoted and escaped (`["a.b"]`, `["\n"]`), so control
 * characters cannot rewrite a terminal and two different paths never print the same. The root's
 * path prints as the empty string. Only for people: code compares paths as data.
 * @category utils
 * @since 0.2.0
 * @example
 * import { Tree } from 'nn-ts'
 * Tree.showPath([2, 'W']) // '[2].W'
 * Tree.showPath(['params', 1, 'mu', 0, 'b']) // 'params[1].mu[0].b'
 * Tree.showPath(['layer 1', '0']) // '["layer 1"]["0"]'
 */
export const showPath = (path: Path): string =>
  path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : !IDENTIFIER.test(key) ? `[${quote(key)}]` : i === 0 ? key : `.${key}`))
    .join('')

const clip = (s: string, n = 60): string => (s.length <= n ? s : `${s.slice(0, n)}…`)

/** A node in a few words, for "expected …, found …". Never prints a whole large value. */
const describe = (node: unknown): string => {
  if (isTensor(node)) return `${node.dtype} ${showShape(node.shape)}`
  if (typeof node === 'number') return `number ${Object.is(node, -0) ? '-0' : node}`
  if (typeof node === 'boolean') return `boolean ${node}`
  if (typeof node === 'string') return `the string ${quote(clip(node))}`
  if (Array.isArray(node)) return `a tuple of ${node.length}`
  if (isRecord(node)) return `a record {${clip(Object.keys(node).map(showKey).join(', '))}}`
  if (node === null) return 'null'
  if (typeof node === 'object') {
    const name: unknown = (node as { constructor?: { name?: unknown } }).constructor?.name
    return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object that is not a plain record'
  }
  return typeof node === 'function' ? 'a function' : `${typeof node}`
}

const TREE_NODE = 'a tree node (a tensor, a number, a boolean, a tuple or a record)'

// the walk

type Kind = 'leaf' | 'tuple' | 'record'

const kindOf = (node: unknown, custom: ((node: unknown) => boolean) | undefined): Kind | undefined => {
  if (custom !== undefined && custom(node)) return 'leaf'
  if (Array.isArray(node)) return 'tuple'
  if (typeof node === 'number' || typeof node === 'boolean' || isTensor(node)) return 'leaf'
  return isRecord(node) ? 'record' : undefined
}

/** Whether two leaves can stand in the same place: tensors of one dtype and shape, or values of one type. */
const leavesAgree = (a: unknown, b: unknown): boolean =>
  isTensor(a) || isTensor(b) ? isTensor(a) && isTensor(b) && a.dtype === b.dtype && sameShape(a.shape, b.shape) : typeof a === typeof b

/** Whether two nodes of one kind agree: leaves that fit, tuples of one length, records of one key set. */
const nodesAgree = (kind: Kind, a: unknown, b: unknown, keys: ReadonlyArray<string> | undefined): boolean => {
  if (kind === 'leaf') return leavesAgree(a, b)
  if (kind === 'tuple') return (a as ReadonlyArray<unknown>).length === (b as ReadonlyArray<unknown>).length
  const own = keys as ReadonlyArray<string>
  return own.length === Object.keys(b as object).length && own.every((k) => Object.hasOwn(b as object, k))
}

type Container = unknown[] | { [key: string]: unknown }

/** Stores `value` under `key` as an own property, even when the key is `__proto__`. */
const put = (out: Container, key: string | number, value: unknown): void => {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  else (out as { [key: string]: unknown })[key] = value
}

interface Frame {
  /** The node of every tree at this place. */
  readonly nodes: ReadonlyArray<unknown>
  /** The record's keys, or `undefined` for a tuple. */
  readonly keys: ReadonlyArray<string> | undefined
  readonly length: number
  next: number
  readonly out: Container | undefined
}

/** Returned by a visitor to end a walk early. */
const STOP: unique symbol = Symbol('Tree.stop')

/**
 * The walk every function of this module is made of. Visits `trees` in lockstep, depth first, with
 * an explicit stack. The first tree gives the structure; at every node each other tree must agree
 * (same kind, tuple length, record keys; leaves of one dtype and shape), else a `TreeError`.
 * `visit(leaves, path)` sees the leaves at each place and the live path (copy it to keep it). With
 * `build`, the results of `visit` are assembled into a tree shaped like the first one; without, a
 * visitor may return `STOP` to end the walk, and the walk returns `STOP`.
 */
const walk = (
  where: string,
  trees: ReadonlyArray<unknown>,
  visit: (leaves: ReadonlyArray<unknown>, path: ReadonlyArray<string | number>) => unknown,
  build: boolean,
  options: WalkOptions | undefined
): unknown => {
  const custom = options?.isLeaf
  const maxDepth = options?.maxDepth ?? Number.POSITIVE_INFINITY
  const path: Array<string | number> = []
  const stack: Frame[] = []
  const enter = (nodes: ReadonlyArray<unknown>): unknown => {
    const first = nodes[0]
    if (path.length > maxDepth) throw new TreeError('tooDeep', path.slice(), `at most ${maxDepth} levels of nesting`, `a node ${path.length} levels deep`, where)
    const kind = kindOf(first, custom)
    if (kind === undefined) throw new TreeError('notATree', path.slice(), TREE_NODE, describe(first), nodes.length > 1 ? `${where}: tree 0` : where)
    const keys = kind === 'record' ? Object.keys(first as object) : undefined
    for (let i = 1; i < nodes.length; i++) {
      const other = nodes[i]
      const otherKind = kindOf(other, custom)
      if (otherKind === undefined) throw new TreeError('notATree', path.slice(), TREE_NODE, describe(other), `${where}: tree ${i}`)
      if (otherKind !== kind || !nodesAgree(kind, first, other, keys)) {
        throw new TreeError('mismatch', path.slice(), describe(first), describe(other), `${where}: tree ${i} differs from tree 0`)
      }
    }
    if (kind === 'leaf') return visit(nodes, path)
    const length = keys === undefined ? (first as ReadonlyArray<unknown>).length : keys.length
    const out = build ? (keys === undefined ? new Array<unknown>(length) : {}) : undefined
    stack.push({ nodes, keys, length, next: 0, out })
    return out
  }
  const root = enter(trees)
  if (root === STOP) return STOP
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame
    if (top.next === top.length) {
      stack.pop()
      if (stack.length > 0) path.pop()
      continue
    }
    const i = top.next++
    const key = top.keys === undefined ? i : (top.keys[i] as string)
    path.push(key)
    const depth = stack.length
    const children = new Array<unknown>(top.nodes.length)
    for (let t = 0; t < children.length; t++) children[t] = (top.nodes[t] as { readonly [k: string | number]: unknown })[key]
    const value = enter(children)
    if (value === STOP) return STOP
    if (top.out !== undefined) put(top.out, key, value)
    // A leaf is done now; a branch pops its key when its own frame ends.
    if (stack.length === depth) path.pop()
  }
  return root
}

// combinators

/**
 * Applies `f` to every leaf, with its path, keeping the structure. On a tree of tensors with `f`
 * from tensor to tensor the result has the static type of the input.
 * @category combinators
 * @since 0.1.0
 * @example
 * import { Tree, Tensor, kernels } from 'nn-ts'
 * const params = { W: Tensor.fromRows([[1, 2]]), b: Tensor.vector([0]) }
 * const doubled = Tree.map(params, (t) => kernels.map(t, (x) => 2 * x)) // same type as params
 * Tree.map({ count: 3, mu: params.b }, (leaf, path) => path.join('/')) // { count: 'count', mu: 'mu' }
 */
export const map: {
  <T extends Tree>(tree: T, f: (leaf: Tensor, path: Path) => Tensor): T
  <L, M>(tree: Tree<L>, f: (leaf: L, path: Path) => M, options?: WalkOptions): Tree<M>
} = ((tree: unknown, f: (leaf: unknown, path: Path) => unknown, options?: WalkOptions): unknown =>
  walk('Tree.map', [tree], (ls, path) => f(ls[0], path.slice()), true, options)) as never

/**
 * Combines any number of trees of one structure leaf by leaf: `f` gets the leaves at a place (in the
 * order of `trees`) and its path, and the result is shaped like the first tree. Every tree must have
 * the first one's structure, and its tensors the same dtypes and shapes, else a `TreeError` naming
 * the path and both sides.
 * @category combinators
 * @since 0.1.0
 * @example
 * import { Tree, Tensor, kernels } from 'nn-ts'
 * const p = { w: Tensor.vector([1, 2]) }
 * const g = { w: Tensor.vector([0.5, 0.5]) }
 * const v = { w: Tensor.vector([0, 1]) }
 * Tree.zipWith([p, g], ([x, dx]) => kernels.axpby(1, x, -0.5, dx)) // { w: [0.75, 1.75] }
 * Tree.zipWith([p, g, v], ([x, dx, vx]) => kernels.add(x, kernels.add(dx, vx))) // { w: [1.5, 3.5] }
 */
export const zipWith: {
  <Ts extends readonly [Tree, ...Tree[]]>(trees: Ts, f: (leaves: { readonly [K in keyof Ts]: Tensor }, path: Path) => Tensor): Ts[0]
  <L, M>(trees: ReadonlyArray<Tree<L>>, f: (leaves: ReadonlyArray<L>, path: Path) => M, options?: WalkOptions): Tree<M>
} = ((trees: ReadonlyArray<unknown>, f: (leaves: ReadonlyArray<unknown>, path: Path) => unknown, options?: WalkOptions): unknown => {
  if (trees.length === 0) throw new RangeError('Tree.zipWith: needs at least one tree')
  return walk('Tree.zipWith', trees, (ls, path) => f(ls, path.slice()), true, options)
}) as never

/**
 * A copy of `tree` with the leaf at `path` replaced (the rest is shared, not copied). Throws a
 * `TreeError` if nothing is at `path` or the node there is a tuple or a record.
 * @category combinators
 * @since 0.2.0
 * @example
 * import { Tree, Tensor } from 'nn-ts'
 * const params = [{ W: Tensor.zeros([1, 2]), b: Tensor.zeros([2]) }] as const
 * const moved = Tree.set(params, [0, 'b'], Tensor.vector([1, 1]))
 * moved[0].W === params[0].W // true: the rest is shared
 */
export const set = <T extends Tree<DefaultLeaf>>(tree: T, path: Path, leaf: DefaultLeaf): T => {
  const nodes: unknown[] = [tree]
  for (let i = 0; i < path.length; i++) {
    const child = childAt(nodes[i], path[i] as string | number)
    if (child === NOTHING) {
      throw new TreeError('noSuchPath', path.slice(0, i + 1), 'a node', `nothing (the parent is ${describe(nodes[i])})`, 'Tree.set')
    }
    nodes.push(child)
  }
  const old = nodes[path.length]
  if (Array.isArray(old) || isRecord(old)) throw new TreeError('noSuchPath', path, 'a leaf', describe(old), 'Tree.set')
  let value: unknown = leaf
  for (let i = path.length - 1; i >= 0; i--) {
    const parent = nodes[i]
    const copy: Container = Array.isArray(parent) ? parent.slice() : { ...(parent as object) }
    put(copy, path[i] as string | number, value)
    value = copy
  }
  return value as T
}

const NOTHING: unique symbol = Symbol('Tree.nothing')

/** The child under `key`: an index of a tuple or an own key of a record; `NOTHING` otherwise. */
const childAt = (node: unknown, key: string | number): unknown => {
  const fits = typeof key === 'number' ? Array.isArray(node) : isRecord(node)
  return fits && Object.hasOwn(node as object, key) ? (node as { readonly [k: string | number]: unknown })[key] : NOTHING
}

// destructors

/**
 * The node at `path` (a leaf or a subtree), or `undefined` if there is none. An index only enters a
 * tuple and a key only a record: `at(t, [0])` and `at(t, ['0'])` are different places.
 * @category destructors
 * @since 0.2.0
 * @example
 * import { Tree, Tensor } from 'nn-ts'
 * const params = [{ W: Tensor.zeros([1, 2]), b: Tensor.zeros([2]) }]
 * Tree.at(params, [0, 'b']) // the tensor b
 * Tree.at(params, [1, 'b']) // undefined
 */
export const at = <L = Tensor>(tree: Tree<L>, path: Path): Tree<L> | undefined => {
  let node: unknown = tree
  for (const key of path) {
    node = childAt(node, key)
    if (node === NOTHING) return undefined
  }
  return node as Tree<L>
}

/** A walk given `isLeaf` may read any value; without, the trees hold default leaves. */
type WithLeaves = WalkOptions & { readonly isLeaf: (node: unknown) => boolean }

/**
 * Every leaf with its path, depth first (tuples in index order, records in key order).
 * @category destructors
 * @since 0.1.0
 * @example
 * import { Tree, Tensor } from 'nn-ts'
 * const params = [{ W: Tensor.zeros([1, 2]), b: Tensor.zeros([2]) }]
 * Tree.leaves(params).map((l) => Tree.showPath(l.path)) // ['[0].W', '[0].b']
 */
export const leaves = <L = Tensor>(tree: Tree<L>, options?: WalkOptions): Array<Leaf<L>> => {
  const out: Array<Leaf<L>> = []
  walk('Tree.leaves', [tree], (ls, path) => void out.push({ path: path.slice(), value: ls[0] as L }), false, options)
  return out
}

/**
 * The path of the first leaf (in `leaves` order) that is a tensor holding a NaN or ±Infinity, or a
 * number that is NaN or ±Infinity; `undefined` if every leaf is finite.
 * @category destructors
 * @since 0.1.0
 * @example
 * import { Tree, Tensor } from 'nn-ts'
 * Tree.firstNonFinite([{ W: Tensor.vector([1, NaN]) }]) // [0, 'W']
 * Tree.firstNonFinite({ count: 3, learningRate: Infinity }) // ['learningRate']
 */
export const firstNonFinite: {
  (tree: Tree<DefaultLeaf>, options?: WalkOptions): Path | undefined
  (tree: unknown, options: WithLeaves): Path | undefined
} = (tree: unknown, options?: WalkOptions): Path | undefined => {
  let found: Path | undefined
  walk(
    'Tree.firstNonFinite',
    [tree],
    (ls, path) => {
      const v = ls[0]
      if (isTensor(v) ? !tensorIsFinite(v) : typeof v === 'number' && !Number.isFinite(v)) {
        found = path.slice()
        return STOP
      }
      return undefined
    },
    false,
    options
  )
  return found
}

// constructors

/**
 * Rebuilds a tree shaped like `template` from `values` in `leaves` order. Each value must fit the
 * leaf it replaces (a tensor of the same dtype and shape; a value of the same type), and there must
 * be exactly as many values as leaves; else a `TreeError`.
 * @category constructors
 * @since 0.1.0
 * @example
 * import { Tree, Tensor } from 'nn-ts'
 * const params = { W: Tensor.zeros([1, 2]), b: Tensor.zeros([2]) }
 * const flat = Tree.leaves(params).map((l) => l.value)
 * Tree.equals(Tree.unflatten(params, flat), params) // true
 */
export const unflatten: {
  <T extends Tree>(template: T, values: ReadonlyArray<Tensor>): T
  <L>(template: Tree<L>, values: ReadonlyArray<L>, options?: WalkOptions): Tree<L>
} = ((template: unknown, values: ReadonlyArray<unknown>, options?: WalkOptions): unknown => {
  let i = 0
  const out = walk(
    'Tree.unflatten',
    [template],
    (ls, path) => {
      if (i >= values.length) throw new TreeError('mismatch', path.slice(), `a value for leaf ${i}`, `only ${values.length} values`, 'Tree.unflatten')
      const next = values[i++]
      if (!leavesAgree(ls[0], next)) throw new TreeError('mismatch', path.slice(), describe(ls[0]), describe(next), `Tree.unflatten: value ${i - 1} does not fit the template`)
      return next
    },
    true,
    options
  )
  if (i !== values.length) throw new TreeError('mismatch', [], `${i} values (one per leaf)`, `${values.length} values`, 'Tree.unflatten')
  return out
}) as never

// folding

/**
 * Folds every leaf, with its path, in `leaves` order.
 * @category folding
 * @since 0.1.0
 * @example
 * import { Tree, Tensor, kernels } from 'nn-ts'
 * const grads = { a: Tensor.vector([3]), b: Tensor.vector([4]) }
 * Math.sqrt(Tree.reduce(grads, 0, (sum, g) => sum + kernels.dot(g, g))) // 5
 */
export const reduce = <A, L = Tensor>(tree: Tree<L>, initial: A, f: (acc: A, leaf: L, path: Path) => A, options?: WalkOptions): A => {
  let acc = initial
  walk('Tree.reduce', [tree], (ls, path) => void (acc = f(acc, ls[0] as L, path.slice())), false, options)
  return acc
}

/**
 * The number of scalar values in the tree: a tensor counts its elements, any other leaf counts one.
 * @category folding
 * @since 0.1.0
 * @example
 * import { Tree, Tensor } from 'nn-ts'
 * Tree.size([{ W: Tensor.zeros([784, 40]), b: Tensor.zeros([40]) }]) // 31400
 * Tree.size({ count: 3, mu: Tensor.zeros([2]) }) // 3
 */
export const size: {
  (tree: Tree<DefaultLeaf>, options?: WalkOptions): number
  (tree: unknown, options: WithLeaves): number
} = (tree: unknown, options?: WalkOptions): number => {
  let n = 0
  walk('Tree.size', [tree], (ls) => void (n += isTensor(ls[0]) ? ls[0].data.length : 1), false, options)
  return n
}

// equality

/** The element comparison `options` describe (see `EqualsOptions`). */
const valueEquality = (options: EqualsOptions): ((x: number, y: number) => boolean) => {
  const rtol = options.rtol ?? 0
  const atol = options.atol ?? 0
  if (!(rtol >= 0 && rtol !== Number.POSITIVE_INFINITY)) throw new RangeError(`Tree.equals: rtol must be a finite number ≥ 0, got ${rtol}`)
  if (!(atol >= 0 && atol !== Number.POSITIVE_INFINITY)) throw new RangeError(`Tree.equals: atol must be a finite number ≥ 0, got ${atol}`)
  const tolerant = rtol > 0 || atol > 0
  const signedZero = options.signedZero ?? !tolerant
  const nanEqual = options.nanEqual ?? true
  if (!tolerant && signedZero && nanEqual) return Object.is
  return (x, y) => {
    if (x === y) return !signedZero || x !== 0 || Object.is(x, y)
    if (Number.isNaN(x) || Number.isNaN(y)) return nanEqual && Number.isNaN(x) && Number.isNaN(y)
    if (!tolerant || !Number.isFinite(x) || !Number.isFinite(y)) return false
    return Math.abs(x - y) <= atol + rtol * Math.max(Math.abs(x), Math.abs(y))
  }
}

const sameValues = (a: Tensor, b: Tensor, same: (x: number, y: number) => boolean): boolean => {
  const x = a.data
  const y = b.data
  for (let i = 0; i < x.length; i++) if (!same(x[i] as number, y[i] as number)) return false
  return true
}

/**
 * The one equality of trees: the same structure (kinds, tuple lengths, record keys in any order),
 * leaves of the same kind (tensors of the same dtype and shape), and equal values — exactly by
 * default, within a tolerance if asked (`EqualsOptions`). Numbers compare like tensor elements,
 * other leaves (booleans) with `Object.is`. Throws a `TreeError` if either argument is not a tree.
 * @category utils
 * @since 0.1.0
 * @example
 * import { Tree, Tensor } from 'nn-ts'
 * const a = { w: Tensor.vector([0, 1]) }
 * Tree.equals(a, { w: Tensor.vector([0, 1]) }) // true
 * Tree.equals(a, { w: Tensor.vector([-0, 1]) }) // false: exact by default
 * Tree.equals(a, { w: Tensor.vector([-0, 1]) }, { signedZero: false }) // true
 * Tree.equals(a, { w: Tensor.vector([1e-13, 1]) }, { atol: 1e-12 }) // true
 * Tree.equals({ count: 2, mu: a }, { count: 2, mu: a }) // true: optimizer states too
 */
export const equals: {
  (a: Tree<DefaultLeaf>, b: Tree<DefaultLeaf>, options?: EqualsOptions): boolean
  (a: unknown, b: unknown, options: EqualsOptions & WithLeaves): boolean
} = (a: unknown, b: unknown, options: EqualsOptions = {}): boolean => {
  const same = valueEquality(options)
  try {
    const stopped = walk(
      'Tree.equals',
      [a, b],
      ([x, y]) => {
        const equal = isTensor(x) ? sameValues(x, y as Tensor, same) : typeof x === 'number' ? same(x, y as number) : Object.is(x, y)
        return equal ? undefined : STOP
      },
      false,
      options
    )
    return stopped !== STOP
  } catch (e) {
    if (e instanceof TreeError && e.problem === 'mismatch') return false
    throw e
  }
}
