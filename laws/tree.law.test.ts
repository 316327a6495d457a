/**
 * Tree laws: map is a functor (identity, composition); an n-ary zip is nested binary zips and is the
 * pointwise combination of the leaves; unflatten ∘ leaves = id; set then at reads back what was set and
 * touches nothing else; equals is reflexive, symmetric, agrees with Tensor.equals leaf by leaf and is
 * monotone in its tolerance; a structure mismatch names its path and both sides; paths print
 * injectively with no raw control character; walks survive trees far deeper than the call stack.
 *
 * Trees are drawn with tensors of any values (NaN, ±0, ±Infinity, subnormals), plain numbers, empty
 * tuples and records, and record keys that are not identifiers (`__proto__`, `"0"`, control
 * characters, dots and brackets).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Tensor, Tree, kernels as K } from '../src/index.ts'
import { lawParameters } from './lawParameters.ts'

type Leaf = Tensor.Tensor | number
type T = Tree.Tree<Leaf>

// arbitraries

const value = fc.oneof(fc.double(), fc.constantFrom(-0, 0, Number.NaN, Number.POSITIVE_INFINITY, 5e-324))

const tensor: fc.Arbitrary<Tensor.Tensor> = fc
  .tuple(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }), fc.constantFrom('float32' as const, 'float64' as const))
  .chain(([shape, dtype]) => {
    const n = shape.reduce((a, b) => a * b, 1)
    return fc.array(value, { minLength: n, maxLength: n }).map((vs) => Tensor.fromArray(shape, vs, dtype))
  })

/** Keys a person would write, and keys that stress printing and own-property handling. */
const key = fc.oneof(
  fc.constantFrom('W', 'b', 'mu', 'count', 'x1', '$y', '__proto__', '0', '12', '', 'a.b', 'a[0]', '"', '\\', 'line\nbreak', '\u001b[2J', '\u202eevil', '\u2028'),
  fc.string({ maxLength: 4, unit: 'binary' })
)

const record = <A>(node: fc.Arbitrary<A>): fc.Arbitrary<Record<string, A>> =>
  fc.uniqueArray(fc.tuple(key, node), { maxLength: 3, selector: ([k]) => k }).map((entries) => Object.fromEntries(entries))

/** A tree of tensors (and plain numbers with `numbers`). */
const treeOf = (numbers: boolean): fc.Arbitrary<T> =>
  fc.letrec<{ node: T }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', maxDepth: 4 },
      tensor,
      ...(numbers ? [value] : []),
      fc.array(tie('node'), { maxLength: 3 }),
      record(tie('node'))
    )
  })).node

const tree = treeOf(true)
const tensorTree = treeOf(false) as fc.Arbitrary<Tree.Tree>

/** A tree with fresh values in every leaf (same structure, dtypes and shapes). */
const revalued = (t: T): fc.Arbitrary<T> =>
  fc
    .tuple(...Tree.leaves(t).map((l) => (Tree.isTensor(l.value) ? fc.array(value, { minLength: l.value.data.length, maxLength: l.value.data.length }) : value)))
    .map((vs) => Tree.unflatten(t, Tree.leaves(t).map((l, i) => (Tree.isTensor(l.value) ? Tensor.fromArray(l.value.shape, vs[i] as number[], l.value.dtype) : (vs[i] as number)))))

const leafCount = (t: T): number => Tree.leaves(t).length

const samePath = (p: Tree.Path, q: Tree.Path): boolean => p.length === q.length && p.every((k, i) => k === q[i])

// leaf functions with different results per path, so a walk that mixes up places is seen

const scaleBy = (c: number) => (leaf: Leaf): Leaf => (Tree.isTensor(leaf) ? K.scale(leaf, c) : leaf * c)
const plusDepth = (leaf: Leaf, path: Tree.Path): Leaf => (Tree.isTensor(leaf) ? K.map(leaf, (x) => x + path.length) : leaf + path.length)

const runs = lawParameters(200)

describe('map', () => {
  it('map(t, id) = t, leaf for leaf the same objects', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const m = Tree.map(t, (leaf) => leaf)
        expect(Tree.equals(m, t)).toBe(true)
        Tree.leaves(m).forEach((l, i) => expect(l.value).toBe(Tree.leaves(t)[i]?.value))
      }),
      runs
    )
  })

  it('map(map(t, f), g) = map(t, g ∘ f), and f sees each leaf at its own path', () => {
    fc.assert(
      fc.property(tree, fc.double({ min: -4, max: 4, noNaN: true }), (t, c) => {
        const twice = Tree.map(Tree.map(t, scaleBy(c)), plusDepth)
        const once = Tree.map(t, (leaf, path) => plusDepth(scaleBy(c)(leaf), path))
        expect(Tree.equals(twice, once)).toBe(true)
        const seen: Tree.Path[] = []
        Tree.map(t, (leaf, path) => (seen.push(path), leaf))
        expect(seen).toEqual(Tree.leaves(t).map((l) => l.path))
      }),
      runs
    )
  })
})

describe('zipWith', () => {
  it('zipWith of n trees is the pointwise combination of their leaves', () => {
    fc.assert(
      fc.property(
        tensorTree.chain((t) => fc.tuple(fc.constant(t), fc.array(revalued(t) as fc.Arbitrary<Tree.Tree>, { minLength: 0, maxLength: 3 }))),
        ([first, rest]) => {
          const trees = [first, ...rest] as const
          const sum = (xs: ReadonlyArray<Tensor.Tensor>): Tensor.Tensor => xs.slice(1).reduce((acc, x) => K.add(acc, x), xs[0] as Tensor.Tensor)
          const zipped = Tree.zipWith(trees, (xs) => sum(xs))
          const columns = Tree.leaves(first).map((_, i) => trees.map((t) => Tree.leaves(t)[i]?.value as Tensor.Tensor))
          expect(Tree.equals(zipped, Tree.unflatten(first, columns.map(sum)))).toBe(true)
        }
      ),
      runs
    )
  })

  it('a 3-ary zip equals nested binary zips, and the path it passes is the leaf path', () => {
    fc.assert(
      fc.property(
        tensorTree.chain((t) => fc.tuple(fc.constant(t), revalued(t) as fc.Arbitrary<Tree.Tree>, revalued(t) as fc.Arbitrary<Tree.Tree>)),
        ([a, b, c]) => {
          const f = (x: Tensor.Tensor, y: Tensor.Tensor): Tensor.Tensor => K.axpby(1, x, 2, y)
          const flat = Tree.zipWith([a, b, c], ([x, y, z]) => f(f(x, y), z))
          const nested = Tree.zipWith([Tree.zipWith([a, b], ([x, y]) => f(x, y)), c], ([xy, z]) => f(xy, z))
          expect(Tree.equals(flat, nested)).toBe(true)
          const paths: Tree.Path[] = []
          Tree.zipWith([a, b, c], ([x], path) => (paths.push(path), x))
          expect(paths).toEqual(Tree.leaves(a).map((l) => l.path))
        }
      ),
      runs
    )
  })

  it('a structure mismatch is a TreeError naming the path and both sides, and which tree differs', () => {
    const change = fc.constantFrom('wider' as const, 'tuple' as const, 'number' as const, 'float64' as const)
    fc.assert(
      fc.property(
        tensorTree.filter((t) => leafCount(t) > 0),
        fc.nat(),
        change,
        fc.integer({ min: 1, max: 3 }),
        (t, pick, how, position) => {
          const leaves = Tree.leaves(t)
          const target = leaves[pick % leaves.length] as Tree.Leaf
          const old = target.value
          const replacement: Leaf | [] =
            how === 'wider' ? Tensor.zeros([...old.shape, 2], old.dtype) : how === 'tuple' ? [] : how === 'number' ? 1 : Tensor.zeros(old.shape, old.dtype === 'float32' ? 'float64' : 'float32')
          // A tuple where a leaf was breaks the structure on purpose, which `set`'s type would refuse.
          const broken = Tree.set(t, target.path, replacement as Leaf)
          const trees = Array.from({ length: position + 1 }, (_, i) => (i === position ? broken : t))
          let error: unknown
          try {
            Tree.zipWith(trees as [Tree.Tree, ...Tree.Tree[]], ([x]) => x)
          } catch (e) {
            error = e
          }
          expect(error).toBeInstanceOf(Tree.TreeError)
          const e = error as Tree.TreeError
          expect(e.problem).toBe('mismatch')
          expect(e.path).toEqual(target.path)
          expect(e.expected).toBe(`${old.dtype} [${old.shape.join(', ')}]`)
          const found = Tree.isTensor(replacement) ? `${replacement.dtype} [${replacement.shape.join(', ')}]` : typeof replacement === 'number' ? 'number 1' : 'a tuple of 0'
          expect(e.found).toBe(found)
          expect(e.message).toContain(`tree ${position} differs from tree 0 at ${target.path.length === 0 ? 'the root' : Tree.showPath(target.path)}:`)
          expect(e.message).toContain(`expected ${e.expected}, found ${found}`)
        }
      ),
      runs
    )
  })
})

describe('leaves, unflatten, at, set', () => {
  it('unflatten(t, leaves(t)) = t, and leaves(unflatten(t, vs)) = vs', () => {
    fc.assert(
      fc.property(tree.chain((t) => fc.tuple(fc.constant(t), revalued(t))), ([t, u]) => {
        const values = Tree.leaves(t).map((l) => l.value)
        expect(Tree.equals(Tree.unflatten(t, values), t)).toBe(true)
        const others = Tree.leaves(u).map((l) => l.value)
        const rebuilt = Tree.leaves(Tree.unflatten(t, others))
        rebuilt.forEach((l, i) => expect(l.value).toBe(others[i]))
        expect(rebuilt.map((l) => l.path)).toEqual(Tree.leaves(t).map((l) => l.path))
        expect(() => Tree.unflatten(t, [...values, 0])).toThrow(Tree.TreeError)
      }),
      runs
    )
  })

  it('at(set(t, p, v), p) = v; every other leaf and t itself are untouched; set(t, p, at(t, p)) equals t', () => {
    fc.assert(
      fc.property(tree.filter((t) => leafCount(t) > 0), fc.nat(), value, (t, pick, v) => {
        const leaves = Tree.leaves(t)
        const before = Tree.map(t, (leaf) => leaf)
        const target = leaves[pick % leaves.length] as Tree.Leaf<Leaf>
        const s = Tree.set(t, target.path, v)
        expect(Object.is(Tree.at(s, target.path), v)).toBe(true)
        for (const l of leaves) if (!samePath(l.path, target.path)) expect(Tree.at(s, l.path)).toBe(l.value)
        expect(Tree.equals(t, before)).toBe(true)
        expect(Tree.at(t, target.path)).toBe(target.value)
        expect(Tree.equals(Tree.set(t, target.path, target.value), t)).toBe(true)
      }),
      runs
    )
  })

  it('at finds nothing off the tree: an index only enters a tuple, a key only a record', () => {
    const t = { a: [Tensor.vector([1])], '0': Tensor.vector([2]) }
    expect(Tree.at(t, ['a', 0])).toBe(t.a[0])
    expect(Tree.at(t, ['a', '0'])).toBeUndefined()
    expect(Tree.at(t, ['0'])).toBe(t['0'])
    expect(Tree.at([t], [0, '0'])).toBe(t['0'])
    expect(Tree.at(t, ['a', 1])).toBeUndefined()
    expect(Tree.at(t, ['a', 0, 'shape'])).toBeUndefined()
    expect(Tree.at(t, ['toString'])).toBeUndefined()
    expect(() => Tree.set(t, ['a'], Tensor.vector([0]))).toThrow(/Tree.set at a: expected a leaf, found a tuple of 1/)
    expect(() => Tree.set(t, ['b', 0], Tensor.vector([0]))).toThrow(/Tree.set at b: expected a node/)
  })
})

describe('equals', () => {
  it('is reflexive (NaN included) and symmetric, exactly and within any tolerance', () => {
    const options = fc.record(
      { rtol: fc.double({ min: 0, max: 1, noNaN: true }), atol: fc.double({ min: 0, max: 1, noNaN: true }), signedZero: fc.boolean(), nanEqual: fc.boolean() },
      { requiredKeys: [] }
    )
    fc.assert(
      fc.property(tree.chain((t) => fc.tuple(fc.constant(t), revalued(t), tree)), options, ([a, b, c], o) => {
        expect(Tree.equals(a, a)).toBe(true)
        expect(Tree.equals(a, Tree.map(a, (l) => l))).toBe(true)
        if (o.nanEqual !== false) expect(Tree.equals(a, a, o)).toBe(true)
        for (const other of [b, c]) {
          expect(Tree.equals(a, other, o)).toBe(Tree.equals(other, a, o))
          expect(Tree.equals(a, other)).toBe(Tree.equals(other, a))
        }
      }),
      runs
    )
  })

  it('agrees with the leaves: same paths, and Tensor.equals / Object.is leaf by leaf', () => {
    fc.assert(
      fc.property(tree.chain((t) => fc.tuple(fc.constant(t), revalued(t), fc.nat())), ([a, b, pick]) => {
        // b: a's structure with fresh values; c: a with one leaf taken from b.
        const leaves = Tree.leaves(a)
        const byLeaves = (x: T, y: T): boolean => {
          const [lx, ly] = [Tree.leaves(x), Tree.leaves(y)]
          return (
            lx.length === ly.length &&
            lx.every((l, i) => {
              const r = ly[i] as Tree.Leaf<Leaf>
              return samePath(l.path, r.path) && (Tree.isTensor(l.value) ? Tensor.equals(l.value, r.value as Tensor.Tensor) : Object.is(l.value, r.value))
            })
          )
        }
        expect(Tree.equals(a, b)).toBe(byLeaves(a, b))
        if (leaves.length > 0) {
          const target = leaves[pick % leaves.length] as Tree.Leaf<Leaf>
          const c = Tree.set(a, target.path, Tree.at(b, target.path) as Leaf)
          expect(Tree.equals(a, c)).toBe(byLeaves(a, c))
        }
      }),
      runs
    )
  })

  it('a tolerance only adds equal pairs, and -0 = 0 only when signedZero is off', () => {
    fc.assert(
      fc.property(tree.chain((t) => fc.tuple(fc.constant(t), revalued(t))), fc.double({ min: 0, max: 1, noNaN: true }), ([a, b], tol) => {
        if (Tree.equals(a, b)) expect(Tree.equals(a, b, { rtol: tol, atol: tol })).toBe(true)
        if (Tree.equals(a, b, { signedZero: false, nanEqual: false })) expect(Tree.equals(a, b, { signedZero: false })).toBe(true)
        const negated = Tree.map(a, (l) => (Tree.isTensor(l) ? K.map(l, (x) => (x === 0 ? -x : x)) : l === 0 ? -l : l))
        expect(Tree.equals(a, negated, { signedZero: false })).toBe(true)
      }),
      runs
    )
  })

  it('exact by default; the options, one by one', () => {
    const v = (xs: number[]) => ({ w: Tensor.vector(xs, 'float64') })
    expect(Tree.equals(v([0]), v([-0]))).toBe(false)
    expect(Tree.equals(v([0]), v([-0]), { signedZero: false })).toBe(true)
    expect(Tree.equals(v([0]), v([-0]), { atol: 1e-12 })).toBe(true)
    expect(Tree.equals(v([0]), v([-0]), { atol: 1e-12, signedZero: true })).toBe(false)
    expect(Tree.equals(v([Number.NaN]), v([Number.NaN]))).toBe(true)
    expect(Tree.equals(v([Number.NaN]), v([Number.NaN]), { nanEqual: false })).toBe(false)
    expect(Tree.equals(v([1]), v([1 + 5e-10]), { rtol: 1e-9 })).toBe(true)
    expect(Tree.equals(v([1]), v([1 + 2e-9]), { rtol: 1e-9 })).toBe(false)
    expect(Tree.equals(v([Number.POSITIVE_INFINITY]), v([1e308]), { rtol: 1 })).toBe(false)
    expect(Tree.equals({ count: 2 }, { count: 2 })).toBe(true)
    expect(Tree.equals({ count: 2 }, { count: 2.5 }, { atol: 0.5 })).toBe(true)
    expect(Tree.equals({ a: v([1]).w, b: [] }, { b: [], a: v([1]).w })).toBe(true)
    expect(Tree.equals([], {})).toBe(false)
    expect(Tree.equals({ w: Tensor.vector([1], 'float32') }, v([1]))).toBe(false)
    expect(() => Tree.equals(v([1]), v([1]), { rtol: -1 })).toThrow(RangeError)
    expect(() => Tree.equals({ w: 'x' } as never, { w: 'x' } as never)).toThrow(Tree.TreeError)
  })
})

describe('folds', () => {
  it('size and firstNonFinite agree with leaves', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const leaves = Tree.leaves(t)
        expect(Tree.size(t)).toBe(leaves.reduce((n, l) => n + (Tree.isTensor(l.value) ? l.value.data.length : 1), 0))
        expect(Tree.reduce(t, 0, (n: number) => n + 1)).toBe(leaves.length)
        const bad = leaves.find((l) => (Tree.isTensor(l.value) ? !Tensor.isFinite(l.value) : !Number.isFinite(l.value)))
        expect(Tree.firstNonFinite(t)).toEqual(bad?.path)
      }),
      runs
    )
  })
})

describe('paths and walks', () => {
  // Paths of 1 to 4 steps: indices, and keys of any characters.
  const path = fc.array(fc.oneof(fc.nat({ max: 20 }), key), { minLength: 1, maxLength: 4 })

  it('showPath is injective and prints no control or invisible character raw', () => {
    fc.assert(
      fc.property(path, path, (p, q) => {
        if (!samePath(p, q)) expect(Tree.showPath(p)).not.toBe(Tree.showPath(q))
        expect(Tree.showPath(p)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/)
      }),
      lawParameters(1000)
    )
    expect(Tree.showPath([2, 'W'])).toBe('[2].W')
    expect(Tree.showPath([1, 'mu', 0, 'b'])).toBe('[1].mu[0].b')
    expect(Tree.showPath(['0', 'a.b', '\n', '\u202e'])).toBe('["0"]["a.b"]["\\n"]["\\u202e"]')
    expect(Tree.showPath([])).toBe('')
  })

  it('a record key named __proto__ stays an own key through map, zipWith and set', () => {
    const t = JSON.parse('{"__proto__": 1, "a": 2}') as T
    const m = Tree.map(t, (x) => (x as number) + 1) as Record<string, number>
    expect(Object.hasOwn(m, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype)
    expect(Tree.leaves(m).map((l) => [l.path, l.value])).toEqual([[['__proto__'], 2], [['a'], 3]])
    const s = Tree.set(t, ['__proto__'], 5) as Record<string, number>
    expect(Object.hasOwn(s, '__proto__') && Object.getPrototypeOf(s) === Object.prototype).toBe(true)
    expect(Tree.at(s, ['__proto__'])).toBe(5)
  })

  it('walks a tree nested 200 000 levels deep without the call stack, and maxDepth refuses it naming the path', () => {
    let deep: Tree.Tree = Tensor.vector([1, Number.NaN])
    for (let i = 0; i < 200_000; i++) deep = i % 2 === 0 ? [deep] : { x: deep }
    expect(Tree.size(deep)).toBe(2)
    expect(Tree.firstNonFinite(deep)?.length).toBe(200_000)
    const doubled = Tree.map(deep, (t) => K.scale(t, 2))
    expect(Tree.equals(Tree.zipWith([deep, deep], ([a, b]) => K.add(a, b)), doubled)).toBe(true)
    try {
      Tree.leaves(deep, { maxDepth: 3 })
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(Tree.TreeError)
      expect((e as Tree.TreeError).problem).toBe('tooDeep')
      expect((e as Tree.TreeError).path).toEqual(['x', 0, 'x', 0])
    }
  })

  it('a value that is not part of a tree is a TreeError naming where', () => {
    expect(() => Tree.leaves({ a: [Tensor.vector([1]), undefined] } as never)).toThrow(/Tree.leaves at a\[1\]: expected a tree node .*, found undefined/)
    expect(() => Tree.map({ m: new Map() } as never, (x) => x)).toThrow(/at m: .*found an instance of Map/)
    expect(() => Tree.zipWith([{ a: Tensor.vector([1]) }, { a: null } as never], ([x]) => x)).toThrow(/tree 1 at a: .*found null/)
    // isLeaf makes other values leaves
    expect(Tree.leaves<string | number>({ a: 'text', b: [1] }, { isLeaf: (u) => typeof u === 'string' }).map((l) => l.value)).toEqual(['text', 1])
  })
})
