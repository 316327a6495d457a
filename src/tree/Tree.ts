/**
 * Trees of tensors: params, gradients, optimizer moments and layer states.
 *
 * A tree is a tensor, a tuple/array of trees or a record of trees (like a JAX pytree). Everything that
 * walks such a structure — optimizers, checkpoints, gradient clipping, the gradient checker — goes
 * through this module.
 *
 * @since 0.1.0
 */
import { type Tensor, ShapeError, isFinite, sameShape, showShape } from '../tensor/Tensor.ts'

/** @category model */
export type Tree = Tensor | ReadonlyArray<Tree> | { readonly [key: string]: Tree }

/** A leaf with its path, e.g. `[1].W` or `layers[0].b`. @category model */
export interface Leaf {
  readonly path: string
  readonly tensor: Tensor
}

/** Whether a tree node is a tensor leaf. @category refinements */
export const isTensor = (t: unknown): t is Tensor =>
  typeof t === 'object' && t !== null && 'shape' in t && 'data' in t && 'dtype' in t && ArrayBuffer.isView((t as Tensor).data)

const childPath = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`)

/**
 * Applies `f` to every leaf, keeping the structure (and the static type) of the tree.
 * @category combinators
 * @example
 * import { Tree, Tensor, kernels } from 'nn-ts'
 * const params = { W: Tensor.fromRows([[1, 2]]), b: Tensor.vector([0]) }
 * const doubled = Tree.map(params, (t) => kernels.map(t, (x) => 2 * x)) // same type as params
 */
export const map = <T extends Tree>(tree: T, f: (leaf: Tensor, path: string) => Tensor): T => mapAt(tree, f, '') as T

const mapAt = (tree: Tree, f: (leaf: Tensor, path: string) => Tensor, path: string): Tree => {
  if (isTensor(tree)) return f(tree, path)
  if (Array.isArray(tree)) return tree.map((t: Tree, i: number) => mapAt(t, f, childPath(path, i)))
  const rec = tree as { readonly [key: string]: Tree }
  const out: { [key: string]: Tree } = {}
  for (const k of Object.keys(rec)) out[k] = mapAt(rec[k] as Tree, f, childPath(path, k))
  return out
}

/**
 * Combines two trees of the same structure leaf by leaf; fails naming the path where they differ.
 * @category combinators
 */
export const zipWith = <T extends Tree>(a: T, b: T, f: (x: Tensor, y: Tensor, path: string) => Tensor): T =>
  zipAt(a, b, f, '') as T

const structureError = (path: string, what: string): Error => new TypeError(`tree structures differ at '${path || '<root>'}': ${what}`)

const zipAt = (a: Tree, b: Tree, f: (x: Tensor, y: Tensor, path: string) => Tensor, path: string): Tree => {
  if (isTensor(a)) {
    if (!isTensor(b)) throw structureError(path, 'tensor against a node')
    if (!sameShape(a.shape, b.shape)) throw new ShapeError(`tree leaf '${path}'`, showShape(a.shape), b.shape)
    return f(a, b, path)
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) throw structureError(path, `tuple of ${a.length}`)
    return a.map((t: Tree, i: number) => zipAt(t, b[i] as Tree, f, childPath(path, i)))
  }
  if (isTensor(b) || Array.isArray(b)) throw structureError(path, 'record against another node')
  const ra = a as { readonly [key: string]: Tree }
  const rb = b as { readonly [key: string]: Tree }
  const keys = Object.keys(ra)
  if (keys.length !== Object.keys(rb).length || keys.some((k) => !(k in rb))) {
    throw structureError(path, `keys {${keys.join(', ')}} against {${Object.keys(rb).join(', ')}}`)
  }
  const out: { [key: string]: Tree } = {}
  for (const k of keys) out[k] = zipAt(ra[k] as Tree, rb[k] as Tree, f, childPath(path, k))
  return out
}

/** Combines three trees of the same structure leaf by leaf. @category combinators */
export const zipWith3 = <T extends Tree>(a: T, b: T, c: T, f: (x: Tensor, y: Tensor, z: Tensor, path: string) => Tensor): T => {
  const cLeaves = leaves(c)
  let i = 0
  return zipWith(a, b, (x, y, path) => {
    const z = cLeaves[i++]
    if (z === undefined || z.path !== path) throw structureError(path, 'third tree differs')
    if (!sameShape(z.tensor.shape, x.shape)) throw new ShapeError(`tree leaf '${path}'`, showShape(x.shape), z.tensor.shape)
    return f(x, y, z.tensor, path)
  })
}

/**
 * Every leaf with its path, depth first, in a stable order (tuple order, then record key order).
 * @category destructors
 */
export const leaves = (tree: Tree): Leaf[] => {
  const out: Leaf[] = []
  const walk = (t: Tree, path: string): void => {
    if (isTensor(t)) out.push({ path, tensor: t })
    else if (Array.isArray(t)) t.forEach((c: Tree, i: number) => walk(c, childPath(path, i)))
    else {
      const rec = t as { readonly [key: string]: Tree }
      for (const k of Object.keys(rec)) walk(rec[k] as Tree, childPath(path, k))
    }
  }
  walk(tree, '')
  return out
}

/**
 * Rebuilds a tree shaped like `template` from leaves in `leaves` order.
 * @category constructors
 */
export const unflatten = <T extends Tree>(template: T, tensors: ReadonlyArray<Tensor>): T => {
  let i = 0
  const out = map(template, (t, path) => {
    const next = tensors[i++]
    if (next === undefined) throw structureError(path, `only ${tensors.length} leaves given`)
    if (!sameShape(next.shape, t.shape)) throw new ShapeError(`tree leaf '${path}'`, showShape(t.shape), next.shape)
    return next
  })
  if (i !== tensors.length) throw structureError('', `${tensors.length} leaves given for ${i}`)
  return out
}

/** Folds every leaf, depth first. @category folding */
export const reduce = <A>(tree: Tree, initial: A, f: (acc: A, leaf: Tensor, path: string) => A): A =>
  leaves(tree).reduce((acc, l) => f(acc, l.tensor, l.path), initial)

/** Total number of scalar elements in the tree. @category folding */
export const size = (tree: Tree): number => reduce(tree, 0, (n, t) => n + t.data.length)

/** Exact equality of structure, shapes, dtypes and every value (bit-level, NaN equal to NaN). @category utils */
export const equals = (a: Tree, b: Tree): boolean => {
  const la = leaves(a)
  const lb = leaves(b)
  return (
    la.length === lb.length &&
    la.every((l, i) => {
      const r = lb[i] as Leaf
      return (
        r.path === l.path &&
        l.tensor.dtype === r.tensor.dtype &&
        sameShape(l.tensor.shape, r.tensor.shape) &&
        l.tensor.data.every((v, j) => Object.is(v, r.tensor.data[j]))
      )
    })
  )
}

/** The path of the first leaf holding a NaN or ±Infinity, if any. @category utils */
export const firstNonFinite = (tree: Tree): string | undefined =>
  leaves(tree).find((l) => !isFinite(l.tensor))?.path
