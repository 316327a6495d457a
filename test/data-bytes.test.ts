/**
 * Byte-backed datasets (what the MNIST loaders return) behave exactly like the float32 dataset
 * `unsafeFromLabelled(scaleTo01(images), labels, classes)`: same inputs, batches, shuffles, splits and
 * slices, bit for bit.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Data, Random, Tensor } from '../src/index.ts'
import * as Node from '../src/node/index.ts'

const same = (a: Data.Dataset, b: Data.Dataset): void => {
  expect(Tensor.equals(a.inputs, b.inputs)).toBe(true)
  expect(a.inputs.shape).toEqual(b.inputs.shape)
  expect(Tensor.equals(a.targets, b.targets)).toBe(true)
  expect(a.labels).toEqual(b.labels)
  expect(a.classes).toBe(b.classes)
}

const pair = fc
  .record({ n: fc.integer({ min: 0, max: 40 }), features: fc.integer({ min: 1, max: 9 }), classes: fc.integer({ min: 1, max: 5 }), seed: fc.nat() })
  .chain(({ n, features, classes, seed }) =>
    fc.record({
      bytes: fc.uint8Array({ minLength: n * features, maxLength: n * features }),
      labels: fc.array(fc.integer({ min: 0, max: classes - 1 }), { minLength: n, maxLength: n }),
      features: fc.constant(features),
      classes: fc.constant(classes),
      seed: fc.constant(seed)
    })
  )

describe('byte-backed datasets', () => {
  it('equal the scaled float32 dataset under every operation', () => {
    fc.assert(
      fc.property(pair, fc.integer({ min: 1, max: 13 }), ({ bytes, labels, features, classes, seed }, batchSize) => {
        const n = labels.length
        const lazy = Data.unsafeFromBytes(bytes, features, labels, classes)
        const eager = Data.unsafeFromLabelled(Data.scaleTo01({ dtype: 'uint8', shape: [n, features], data: bytes }), labels, classes)
        const key = Random.key(seed)
        const batchesOf = (d: Data.Dataset) => [...Data.epochBatchStream(d, batchSize, key, 2)]
        const lazyBatches = batchesOf(lazy)
        const eagerBatches = batchesOf(eager)
        expect(lazyBatches.length).toBe(eagerBatches.length)
        lazyBatches.forEach((b, i) => same(b, eagerBatches[i] as Data.Dataset))
        Data.epochBatches(lazy, batchSize, key, 1).forEach((b, i) => same(b, Data.epochBatches(eager, batchSize, key, 1)[i] as Data.Dataset))
        Data.batches(lazy, batchSize).forEach((b, i) => same(b, Data.batches(eager, batchSize)[i] as Data.Dataset))
        same(Data.shuffle(lazy, key), Data.shuffle(eager, key))
        const v = seed % (n + 1)
        same(Data.split(lazy, v, key).train, Data.split(eager, v, key).train)
        same(Data.split(lazy, v, key).validation, Data.split(eager, v, key).validation)
        same(Data.take(lazy, v), Data.take(eager, v))
        same(lazy, eager)
        expect(Data.size(lazy)).toBe(n)
        // Reading the inputs twice gives the same tensor.
        expect(lazy.inputs).toBe(lazy.inputs)
        expect(Object.keys(lazy).sort()).toEqual(Object.keys(eager).sort())
      }),
      { numRuns: 100 }
    )
  })

  it('loadMnist keeps the pixels as bytes but reads like floats in [0, 1]', () => {
    const m = Node.loadMnist()()
    if (m._tag === 'Left') throw new Error(m.left.message)
    const first = Data.take(m.right.test, 3)
    expect(first.inputs.shape).toEqual([3, 784])
    expect(first.inputs.dtype).toBe('float32')
    const [batch] = Data.epochBatchStream(m.right.train, 5, Random.key(0), 0)
    expect(batch?.inputs.shape).toEqual([5, 784])
    expect(Math.max(...(batch as Data.Dataset).inputs.data)).toBeLessThanOrEqual(1)
  })
})
