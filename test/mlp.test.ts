import { describe, expect, it } from 'vitest'
import { Init, Layers, Loss, Models, Optim, Random, Tensor, Tree } from '../src/index.ts'

describe('the HW1 MLP builder', () => {
  const sample = () =>
    Models.mlp({
      inputSize: 784, outputSize: 10, hiddens: [64, 64, 32],
      activations: [Layers.sigmoid(), Layers.sigmoid(), Layers.sigmoid(), Layers.linear()],
      weightInit: Init.glorotUniform, biasInit: Init.zeros, criterion: Loss.softmaxCrossEntropy,
      learningRate: 0.008, momentum: 0.9, numBatchNorm: 2
    })

  it('orders Linear → BatchNorm (first numBatchNorm) → Activation, with HW1 shapes', () => {
    const { network } = sample()
    expect(network.node.children?.map((n) => n.op)).toEqual(['dense', 'batchNorm', 'sigmoid', 'dense', 'batchNorm', 'sigmoid', 'dense', 'sigmoid', 'dense', 'identity'])
    const { params } = network.init(Random.key(0))
    expect(Tree.leaves(params).map((l) => `${Tree.showPath(l.path)}:${l.value.shape.join('x')}`)).toEqual([
      '[0].W:784x64', '[0].b:64', '[1].gamma:64', '[1].beta:64', '[3].W:64x64', '[3].b:64', '[4].gamma:64', '[4].beta:64',
      '[6].W:64x32', '[6].b:32', '[8].W:32x10', '[8].b:10'
    ])
    expect(network.apply(params, network.init(Random.key(0)).state, Tensor.zeros([5, 784]), { mode: 'eval', key: Random.key(0) }).y.shape).toEqual([5, 10])
  })

  it('uses HW1 classical momentum: v ← βv − η∇, W ← W + v', () => {
    const { optimizer } = sample()
    const p = { w: Tensor.vector([1], 'float64') }
    const g = { w: Tensor.vector([2], 'float64') }
    const [u1, s1] = optimizer.update(g, p)(optimizer.init(p))
    const [u2] = optimizer.update(g, p)(s1)
    expect(u1.w.data[0]).toBeCloseTo(-0.008 * 2, 15)
    expect(u2.w.data[0]).toBeCloseTo(0.9 * -0.016 - 0.016, 15)
    expect(Optim.learningRate(s1)).toBe(0.008)
  })

  it('refuses inconsistent arguments with a clear message', () => {
    expect(() => Models.mlp({ inputSize: 784, outputSize: 10, hiddens: [64], activations: [Layers.relu()], learningRate: 0.1 })).toThrow('mlp: need 2 activations (one per linear layer), got 1')
    expect(() => Models.mlp({ inputSize: 784, outputSize: 10, hiddens: [0], activations: [Layers.relu(), Layers.linear()], learningRate: 0.1 })).toThrow('layer size 1 must be a positive integer, got 0')
    expect(() => Models.mlp({ inputSize: 4, outputSize: 2, hiddens: [], activations: [Layers.linear()], learningRate: -1 })).toThrow('learningRate must be ≥ 0')
  })
})
