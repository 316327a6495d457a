/**
 * Laws of the data layer: IDX encoding round-trips and decoding never throws; shuffles are seeded
 * permutations that keep labels with their rows; batches partition a dataset in order; splits are
 * disjoint and complete.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/Either'
import { describe, expect, it } from 'vitest'
import * as Data from '../src/data/index.ts'
import * as Random from '../src/random/Key.ts'
import * as Tensor from '../src/tensor/Tensor.ts'
import { runs, seed } from './arbitraries.ts'

// IDX

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 })

const valueArb = (dtype: Data.IdxDType): fc.Arbitrary<number> => {
  switch (dtype) {
    case 'uint8':
      return fc.integer({ min: 0, max: 255 })
    case 'int8':
      return fc.integer({ min: -128, max: 127 })
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 })
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
    case 'float32':
      // Any float32, including -0, ±Infinity and NaN: the format stores all of them.
      return fc.float()
    case 'float64':
      return fc.double()
  }
}

const DTYPES: ReadonlyArray<Data.IdxDType> = ['uint8', 'int8', 'int16', 'int32', 'float32', 'float64']

const idxArb: fc.Arbitrary<Data.IdxArray> = fc
  .record({ dtype: fc.constantFrom(...DTYPES), shape: shapeArb })
  .chain(({ dtype, shape }) => {
    const count = shape.reduce((a, b) => a * b, 1)
    return fc
      .array(valueArb(dtype), { minLength: count, maxLength: count })
      .map((data): Data.IdxArray => ({ dtype, shape, data }))
  })

const TYPED: Readonly<Record<Data.IdxDType, Function>> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array
}

const BYTES: Readonly<Record<Data.IdxDType, number>> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 }

describe('IDX laws', () => {
  it('decodeIdx(encodeIdx(a)) equals a, as a typed array of the dtype', () => {
    fc.assert(
      fc.property(idxArb, (a) => {
        const bytes = Data.encodeIdx(a)
        expect(bytes.length).toBe(4 + 4 * a.shape.length + a.data.length * BYTES[a.dtype])
        const decoded = Data.decodeIdx(bytes, 'x')
        if (E.isLeft(decoded)) throw new Error(decoded.left.message)
        expect(decoded.right.dtype).toBe(a.dtype)
        expect(decoded.right.shape).toEqual(a.shape)
        expect(decoded.right.data).toBeInstanceOf(TYPED[a.dtype])
        // toEqual tells -0 from 0 and takes NaN as equal to NaN: exactly the round-trip we want.
        expect(Array.from(decoded.right.data)).toEqual(Array.from(a.data))
      }),
      { numRuns: 200 }
    )
  })

  it('every proper prefix and every extension of a valid file is a Left, never a throw', () => {
    fc.assert(
      fc.property(idxArb, fc.nat(), fc.integer({ min: 1, max: 9 }), (a, cut, extra) => {
        const bytes = Data.encodeIdx(a)
        const prefix = Data.decodeIdx(bytes.subarray(0, cut % bytes.length), 'f')
        expect(E.isLeft(prefix) && prefix.left.message).toMatch(/^f: truncated: expected (at least )?\d+ bytes.*, file has \d+/)
        const longer = new Uint8Array(bytes.length + extra)
        longer.set(bytes)
        const padded = Data.decodeIdx(longer, 'f')
        expect(E.isLeft(padded) && padded.left.message).toMatch(new RegExp(`^f: ${extra} trailing bytes`))
      }),
      runs
    )
  })

  it('arbitrary bytes decode to an Either without throwing', () => {
    const header = fc.tuple(fc.constantFrom(0, 0, 0x1f), fc.constantFrom(0, 0, 1), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 6 }))
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), ([a, b, c, d], rest) => {
        const bytes = Uint8Array.from([a, b, c, d, ...rest])
        const r = Data.decodeIdx(bytes, 'fuzz')
        if (E.isLeft(r)) expect(r.left.message.startsWith('fuzz: ')).toBe(true)
        // Compared decoded, not as bytes: a NaN's payload bits need not survive a round-trip.
        else expect(Data.decodeIdx(Data.encodeIdx(r.right), 'fuzz')).toEqual(r)
      }),
      { numRuns: 300 }
    )
  })
})

// datasets

/**
 * A dataset whose row `i` starts with `i`, so every row can be traced back after shuffling, splitting
 * and batching; the other features and the labels are random.
 */
const datasetArb = (minRows = 0, maxRows = 40): fc.Arbitrary<Data.Dataset> =>
  fc
    .record({ n: fc.integer({ min: minRows, max: maxRows }), features: fc.integer({ min: 1, max: 4 }), classes: fc.integer({ min: 1, max: 5 }) })
    .chain(({ n, features, classes }) =>
      fc
        .record({
          labels: fc.array(fc.integer({ min: 0, max: classes - 1 }), { minLength: n, maxLength: n }),
          rest: fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: n * (features - 1), maxLength: n * (features - 1) })
        })
        .map(({ labels, rest }) => {
          const values = Array.from({ length: n }, (_, i) => [i, ...rest.slice(i * (features - 1), (i + 1) * (features - 1))]).flat()
          const d = Data.fromLabelled(Tensor.fromArray([n, features], values), labels, classes)
          if (E.isLeft(d)) throw new Error(d.left.message)
          return d.right
        })
    )

/** The original row index of every row (the first feature). */
const ids = (d: Data.Dataset): number[] => Tensor.toRows(d.inputs).map((r) => r[0] as number)

/** Row `i` of `d` is row `ids(d)[i]` of `original`: inputs, label and one-hot target travel together. */
const rowsComeFrom = (d: Data.Dataset, original: Data.Dataset): void => {
  const from = ids(d)
  expect(Tensor.equals(d.inputs, Tensor.gatherRows(original.inputs, from))).toBe(true)
  expect(d.labels).toEqual(from.map((i) => original.labels[i]))
  expect(Tensor.equals(d.targets, Data.oneHot(d.labels, d.classes))).toBe(true)
  expect(d.classes).toBe(original.classes)
}

const sorted = (xs: ReadonlyArray<number>): number[] => [...xs].sort((a, b) => a - b)
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

const concatBatches = (bs: ReadonlyArray<Data.Dataset>): { ids: number[]; labels: number[] } => ({
  ids: bs.flatMap(ids),
  labels: bs.flatMap((b) => [...b.labels])
})

describe('dataset laws', () => {
  it('shuffle is a permutation of the rows that keeps labels and targets with their rows', () => {
    fc.assert(
      fc.property(datasetArb(), seed, (d, s) => {
        const sh = Data.shuffle(d, Random.key(s))
        expect(Data.size(sh)).toBe(Data.size(d))
        expect(sorted(ids(sh))).toEqual(range(Data.size(d)))
        rowsComeFrom(sh, d)
      }),
      runs
    )
  })

  it('same key, same order; another epoch or key, (almost surely) another order', () => {
    fc.assert(
      fc.property(datasetArb(12), seed, fc.nat(1000), fc.integer({ min: 1, max: 8 }), (d, s, epoch, bs) => {
        const k = Random.key(s)
        expect(ids(Data.shuffle(d, k))).toEqual(ids(Data.shuffle(d, Random.key(s))))
        const order = (e: number): number[] => concatBatches(Data.epochBatches(d, bs, k, e)).ids
        expect(order(epoch)).toEqual(order(epoch))
        // 12! orders: a collision has probability about 2e-9 per run.
        expect(order(epoch + 1)).not.toEqual(order(epoch))
        expect(ids(Data.shuffle(d, Random.key(s + 1)))).not.toEqual(ids(Data.shuffle(d, k)))
      }),
      runs
    )
  })

  it('epochBatches(d, b, k, e) is batches(shuffle(d, fold(k, e)), b)', () => {
    fc.assert(
      fc.property(datasetArb(), seed, fc.nat(100), fc.integer({ min: 1, max: 50 }), (d, s, epoch, bs) => {
        const k = Random.key(s)
        const direct = Data.epochBatches(d, bs, k, epoch)
        const viaShuffle = Data.batches(Data.shuffle(d, Random.fold(k, epoch)), bs)
        expect(direct.length).toBe(viaShuffle.length)
        direct.forEach((b, i) => {
          const c = viaShuffle[i] as Data.Dataset
          expect(Tensor.equals(b.inputs, c.inputs)).toBe(true)
          expect(Tensor.equals(b.targets, c.targets)).toBe(true)
          expect(b.labels).toEqual(c.labels)
        })
      }),
      runs
    )
  })

  it('epochBatchStream yields exactly the batches of epochBatches, on every iteration', () => {
    fc.assert(
      fc.property(datasetArb(), seed, fc.nat(100), fc.integer({ min: 1, max: 50 }), (d, s, epoch, bs) => {
        const k = Random.key(s)
        const eager = Data.epochBatches(d, bs, k, epoch)
        const stream = Data.epochBatchStream(d, bs, k, epoch)
        for (const pass of [[...stream], [...stream]]) {
          expect(pass.length).toBe(eager.length)
          pass.forEach((b, i) => {
            const c = eager[i] as Data.Dataset
            expect(Tensor.equals(b.inputs, c.inputs)).toBe(true)
            expect(b.labels).toEqual(c.labels)
          })
        }
      }),
      runs
    )
  })

  it('batches partition the dataset in order: full batches, then one partial batch', () => {
    fc.assert(
      fc.property(datasetArb(), fc.integer({ min: 1, max: 50 }), (d, bs) => {
        const n = Data.size(d)
        const parts = Data.batches(d, bs)
        expect(parts.length).toBe(Math.ceil(n / bs))
        parts.forEach((b, i) => {
          expect(Data.size(b)).toBe(i < parts.length - 1 ? bs : n - bs * (parts.length - 1))
          rowsComeFrom(b, d)
        })
        const all = concatBatches(parts)
        expect(all.ids).toEqual(range(n))
        expect(all.labels).toEqual([...d.labels])
      }),
      runs
    )
  })

  it('split: sizes add up, parts are disjoint, cover every row, keep dataset order and depend only on the key', () => {
    fc.assert(
      fc.property(
        datasetArb().chain((d) => fc.tuple(fc.constant(d), fc.integer({ min: 0, max: Data.size(d) }))),
        seed,
        ([d, v], s) => {
          const { train, validation } = Data.split(d, v, Random.key(s))
          expect(Data.size(validation)).toBe(v)
          expect(Data.size(train) + Data.size(validation)).toBe(Data.size(d))
          const t = ids(train)
          const va = ids(validation)
          expect(t.filter((i) => va.includes(i))).toEqual([])
          expect(sorted([...t, ...va])).toEqual(range(Data.size(d)))
          expect(t).toEqual(sorted(t))
          expect(va).toEqual(sorted(va))
          rowsComeFrom(train, d)
          rowsComeFrom(validation, d)
          expect(ids(Data.split(d, v, Random.key(s)).validation)).toEqual(va)
        }
      ),
      runs
    )
  })

  it('take n is the first min(n, size) rows', () => {
    fc.assert(
      fc.property(datasetArb(), fc.nat(50), (d, n) => {
        const t = Data.take(d, n)
        expect(ids(t)).toEqual(range(Math.min(n, Data.size(d))))
        rowsComeFrom(t, d)
      }),
      runs
    )
  })
})
