/**
 * The PRNG is a pure function of its key: determinism, independence of split keys, and sane moments.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Init, Layers, Random, Tensor, Tree } from '../src/index.ts'
import { runs, seed } from './arbitraries.ts'

const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length
const variance = (xs: ArrayLike<number>): number => {
  const m = mean(xs)
  return Array.from(xs).reduce((a, b) => a + (b - m) ** 2, 0) / xs.length
}

describe('random laws', () => {
  it('same key, same values; split keys give different streams', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const k = Random.key(s)
        expect(Tensor.equals(Random.uniform(k, [64]), Random.uniform(Random.key(s), [64]))).toBe(true)
        const [a, b] = Random.split(k)
        expect(Tensor.equals(Random.uniform(a, [64]), Random.uniform(b, [64]))).toBe(false)
        expect(Tensor.equals(Random.uniform(a, [64]), Random.uniform(k, [64]))).toBe(false)
      }),
      runs
    )
  })

  it('uniform and normal streams have the right moments (n = 20000, 6-sigma bounds)', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const n = 20000
        const u = Random.uniforms(Random.key(s), n)
        expect(Math.abs(mean(u) - 0.5)).toBeLessThan(6 * Math.sqrt(1 / 12 / n))
        expect(Math.abs(variance(u) - 1 / 12)).toBeLessThan(0.005)
        const z = Random.normals(Random.key(s), n)
        expect(Math.abs(mean(z))).toBeLessThan(6 / Math.sqrt(n))
        expect(Math.abs(variance(z) - 1)).toBeLessThan(6 * Math.sqrt(2 / n))
      }),
      { numRuns: 5 }
    )
  })

  it('neighbouring seeds and split keys are uncorrelated', () => {
    const n = 20000
    const a = Random.normals(Random.key(1), n)
    const b = Random.normals(Random.key(2), n)
    const [k1, k2] = Random.split(Random.key(1))
    const c = Random.normals(k1, n)
    const d = Random.normals(k2, n)
    const corr = (x: Float64Array, y: Float64Array) => Array.from(x).reduce((acc, v, i) => acc + v * (y[i] as number), 0) / n
    expect(Math.abs(corr(a, b))).toBeLessThan(6 / Math.sqrt(n))
    expect(Math.abs(corr(c, d))).toBeLessThan(6 / Math.sqrt(n))
  })

  it('permutation is a permutation', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 0, max: 500 }), (s, n) => {
        const p = Array.from(Random.permutation(Random.key(s), n))
        expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i))
      }),
      runs
    )
  })

  it('initializers: same seed, same network; variance matches the family', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const net = Layers.sequential(Layers.dense(20, 30), Layers.relu(), Layers.dense(30, 5))
        expect(Tree.equals(net.init(Random.key(s)).params, net.init(Random.key(s)).params)).toBe(true)
      }),
      runs
    )
    const shape = [400, 300]
    const cases: ReadonlyArray<[string, Init.Initializer, number]> = [
      ['glorotUniform', Init.glorotUniform, 2 / 700],
      ['glorotNormal', Init.glorotNormal, 2 / 700],
      ['heUniform', Init.heUniform, 2 / 400],
      ['heNormal', Init.heNormal, 2 / 400],
      ['lecunUniform', Init.lecunUniform, 1 / 400],
      ['lecunNormal', Init.lecunNormal, 1 / 400],
      ['uniform(-1, 1)', Init.uniform(-1, 1), 1 / 3],
      ['normal(0, 0.5)', Init.normal(0, 0.5), 0.25]
    ]
    for (const [name, init, expected] of cases) {
      const w = init(Random.key(3), shape, 'float64')
      expect(Math.abs(variance(w.data) / expected - 1), name).toBeLessThan(0.03)
      expect(Math.abs(mean(w.data)), name).toBeLessThan(0.01 * Math.sqrt(expected) * 10)
    }
    const glorot = Init.glorotUniform(Random.key(4), [784, 40])
    const limit = Math.sqrt(6 / (784 + 40))
    expect(glorot.data.every((v) => Math.abs(v) <= limit)).toBe(true)
  })
})

describe('tree laws', () => {
  const tree = {
    a: Tensor.fromRows([[1, 2], [3, 4]]),
    b: [Tensor.vector([5]), { c: Tensor.vector([6, 7, 8]) }]
  } as const
  it('map with identity is identity; unflatten(leaves) rebuilds the tree', () => {
    expect(Tree.equals(Tree.map(tree, (t) => t), tree)).toBe(true)
    expect(Tree.equals(Tree.unflatten(tree, Tree.leaves(tree).map((l) => l.value)), tree)).toBe(true)
    expect(Tree.leaves(tree).map((l) => l.path)).toEqual([['a'], ['b', 0], ['b', 1, 'c']])
    expect(Tree.size(tree)).toBe(8)
  })
  it('zipWith refuses different structures, naming the path', () => {
    const other = { a: tree.a, b: [Tensor.vector([5]), { c: Tensor.vector([6, 7]) }] } as unknown as typeof tree
    expect(() => Tree.zipWith([tree, other], ([x]) => x)).toThrow(/b\[1\]\.c/)
  })
})
