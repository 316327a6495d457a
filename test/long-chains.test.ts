import { describe, expect, it } from 'vitest'
import { Layers, Random, Tensor } from 'nn-ts'

describe('networks of many layers', () => {
  it('a chain of 200 000 layers builds, runs forward and backward, and summarizes without spreading arguments', () => {
    // Far past V8's limit on spread arguments (about 120 000): anything that spreads or recurses in
    // proportion to the layer count throws here.
    const net = Layers.sequentialOf([Layers.dense(2, 3), ...Array.from({ length: 200_000 }, () => Layers.relu())])
    const { params, state } = net.init(Random.key(0))
    const f = net.apply(params, state, Tensor.fromRows([[1, -1]]), { mode: 'train', key: Random.key(1) })
    expect(f.y.shape).toEqual([1, 3])
    expect(f.backward(Tensor.fromRows([[1, 1, 1]])).dx.shape).toEqual([1, 2])
    expect(Layers.summary(net).totalParams).toBe(2 * 3 + 3)
  })
})
