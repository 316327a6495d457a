/**
 * Composition is a category: identity is a unit and composition is associative, forward and backward,
 * bit for bit (params compared flattened, since composites nest them differently).
 */
import fc from 'fast-check'
import { pipe } from 'fp-ts/function'
import { describe, expect, it } from 'vitest'
import { Laws, Layers, Random, Tensor } from '../src/index.ts'
import { runs, seed } from './arbitraries.ts'

const ctx = { mode: 'train' as const, key: Random.key(7) }

const threeLayers = fc.record({
  a: fc.integer({ min: 1, max: 5 }),
  b: fc.integer({ min: 1, max: 5 }),
  c: fc.integer({ min: 1, max: 5 }),
  d: fc.integer({ min: 1, max: 5 }),
  batch: fc.integer({ min: 1, max: 4 }),
  s: seed
})

describe('category laws', () => {
  it('identity is a left and right unit of sequential and andThen', () => {
    fc.assert(
      fc.property(threeLayers, ({ a, b, batch, s }) => {
        const f = Layers.sequential(Layers.dense(a, b), Layers.tanh())
        const { params } = f.init(Random.key(s))
        const x = Random.normal(Random.key(s + 1), [batch, a])
        const dy = Random.normal(Random.key(s + 2), [batch, b])
        const plain = Laws.behaviour(f, params, [[], []], x, dy, ctx)
        const left = Laws.behaviour(Layers.sequential(Layers.identity(), f), [[], params], [[], [[], []]], x, dy, ctx)
        const right = Laws.behaviour(pipe(f, Layers.andThen(Layers.identity())), [params, []], [[[], []], []], x, dy, ctx)
        expect(Laws.sameBehaviour(plain, left)).toBe(true)
        expect(Laws.sameBehaviour(plain, right)).toBe(true)
      }),
      runs
    )
  })

  it('composition is associative', () => {
    fc.assert(
      fc.property(threeLayers, ({ a, b, c, d, batch, s }) => {
        const f = Layers.dense(a, b)
        const g = Layers.sequential(Layers.sigmoid(), Layers.dense(b, c))
        const h = Layers.sequential(Layers.dense(c, d), Layers.softmax())
        const [kf, kg, kh] = Random.splitN(Random.key(s), 3) as [Random.Key, Random.Key, Random.Key]
        const pf = f.init(kf).params
        const pg = g.init(kg).params
        const ph = h.init(kh).params
        const x = Random.normal(Random.key(s + 1), [batch, a])
        const dy = Random.normal(Random.key(s + 2), [batch, d])
        const leftNested = pipe(pipe(f, Layers.andThen(g)), Layers.andThen(h))
        const rightNested = pipe(f, Layers.andThen(pipe(g, Layers.andThen(h))))
        const st = (n: number) => Array.from({ length: n }, () => [] as const)
        const l = Laws.behaviour(leftNested, [[pf, pg], ph], [[[], st(2)], st(2)], x, dy, ctx)
        const r = Laws.behaviour(rightNested, [pf, [pg, ph]], [[], [st(2), st(2)]], x, dy, ctx)
        expect(Laws.sameBehaviour(l, r)).toBe(true)
      }),
      runs
    )
  })
})

describe('softmax invariants', () => {
  const logits = fc
    .record({ rows: fc.integer({ min: 1, max: 5 }), cols: fc.integer({ min: 1, max: 8 }) })
    .chain(({ rows, cols }) =>
      fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: rows * cols, maxLength: rows * cols }).map((v) => Tensor.fromArray([rows, cols], v, 'float64'))
    )

  it('rows are probability vectors summing to 1', () => {
    fc.assert(
      fc.property(logits, (z) => {
        const y = Layers.predict(Layers.softmax(), [], [], z)
        expect(y.data.every((v) => v >= 0 && v <= 1)).toBe(true)
        for (const row of Tensor.toRows(y)) expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12)
      }),
      runs
    )
  })

  it('is invariant to adding a constant to a row', () => {
    fc.assert(
      fc.property(logits, fc.double({ min: -500, max: 500, noNaN: true }), (z, c) => {
        const shifted = Tensor.fromArray(z.shape, Array.from(z.data, (v) => v + c), 'float64')
        const a = Layers.predict(Layers.softmax(), [], [], z)
        const b = Layers.predict(Layers.softmax(), [], [], shifted)
        a.data.forEach((v, i) => expect(Math.abs(v - (b.data[i] as number))).toBeLessThan(1e-9))
      }),
      runs
    )
  })
})
