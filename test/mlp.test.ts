import { describe, expect, it } from 'vitest'
import { Init, Laws, Layers, Loss, Models, Optim, Random, Tensor, Tree } from '../src/index.ts'

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

  it('uses HW1 classical momentum on Linear W and b (Δ ← βΔ − η∇, W ← W + Δ) and plain gradient descent on BatchNorm γ and β', () => {
    const { network, optimizer } = sample()
    const { params } = network.init(Random.key(0), 'float64')
    // The same gradient, 2 everywhere, twice: momentum leaves grow their steps, γ and β do not.
    const grads = Tree.map(params, (t) => Tensor.full(t.shape, 2, 'float64'))
    const [u1, s1] = optimizer.update(grads, params)(optimizer.init(params))
    const [u2] = optimizer.update(grads, params)(s1)
    const firstEntries = (u: typeof u1) => Tree.leaves(u).map((l) => [Tree.showPath(l.path), l.value.data[0] as number] as const)
    const isBatchNorm = (path: string) => /\.(gamma|beta)$/.test(path)
    firstEntries(u1).forEach(([, v]) => expect(v).toBeCloseTo(-0.008 * 2, 15))
    firstEntries(u2).forEach(([path, v]) => expect(v).toBeCloseTo(isBatchNorm(path) ? -0.008 * 2 : 0.9 * -0.016 - 0.016, 15))
    expect(firstEntries(u2).filter(([path]) => isBatchNorm(path)).map(([path]) => path)).toEqual(['[1].gamma', '[1].beta', '[4].gamma', '[4].beta'])
    expect(Optim.learningRate(s1)).toBe(0.008)
  })

  it('without BatchNorm the optimizer is HW1 momentum on every parameter (or SGD when momentum is 0)', () => {
    const options = { inputSize: 4, outputSize: 2, hiddens: [3], activations: [Layers.sigmoid(), Layers.linear()], learningRate: 0.1 }
    const { network, optimizer } = Models.mlp({ ...options, momentum: 0.5 })
    const { params } = network.init(Random.key(0))
    expect(Optim.structure(optimizer.init(params))).toBe(Optim.structure(Optim.momentum(0.1, 0.5).init(params)))
    const plain = Models.mlp(options).optimizer
    expect(Optim.structure(plain.init(params))).toBe(Optim.structure(Optim.sgd(0.1).init(params)))
  })

  it('builds BatchNorm with HW1 ε = 1e-8 and α = 0.9 by default, and with batchNorm.eps / batchNorm.keepRunning when given', () => {
    const bnAttrs = (m: Models.Mlp) => m.network.node.children?.filter((n) => n.op === 'batchNorm').map((n) => n.attrs)
    expect(bnAttrs(sample())).toEqual([{ features: 64, keepRunning: 0.9, eps: 1e-8 }, { features: 64, keepRunning: 0.9, eps: 1e-8 }])
    const custom = Models.mlp({
      inputSize: 4, outputSize: 2, hiddens: [3], activations: [Layers.sigmoid(), Layers.linear()],
      learningRate: 0.1, numBatchNorm: 1, batchNorm: { keepRunning: 0.99, eps: 1e-5 }
    })
    expect(bnAttrs(custom)).toEqual([{ features: 3, keepRunning: 0.99, eps: 1e-5 }])
  })

  it("reports HW1's γ, β gradients (batch sums: m × the mean-loss gradient) by default, the mean-loss gradient with paramGradient 'batchMean'", () => {
    const build = (paramGradient: 'batchSum' | 'batchMean') =>
      Models.mlp({
        inputSize: 3, outputSize: 2, hiddens: [4], activations: [Layers.tanh(), Layers.linear()],
        learningRate: 0.1, numBatchNorm: 1, batchNorm: { paramGradient }
      }).network
    const sum = build('batchSum')
    const mean = build('batchMean')
    const { params, state } = mean.init(Random.key(1), 'float64')
    const x = Random.normal(Random.key(2), [5, 3], 0, 1, 'float64')
    const dy = Random.normal(Random.key(3), [5, 2], 0, 1, 'float64')
    const ctx = { mode: 'train' as const, key: Random.key(4) }
    const gSum = sum.apply(params, state, x, ctx).backward(dy)
    const gMean = mean.apply(params, state, x, ctx).backward(dy)
    // The layers differ only in a final multiplication by m = 5 (one rounding: 1 ulp relative).
    Tree.leaves(gMean.dparams).forEach(({ path, value }) => {
      const other = Tree.at(gSum.dparams, path) as Tensor.Tensor
      const factor = path[0] === 1 ? 5 : 1
      value.data.forEach((v, i) => expect(Math.abs((other.data[i] as number) - factor * v)).toBeLessThanOrEqual(Math.abs(factor * v) * Number.EPSILON))
    })
    expect(Tensor.toArray(gSum.dx)).toEqual(Tensor.toArray(gMean.dx))
    // 'batchMean' is the true gradient of the network (the library's gradient law).
    const law = Laws.checkLayerGradients(mean, { params, state, x })
    expect(law.mismatches).toEqual([])
  })

  it('refuses inconsistent arguments with a clear message', () => {
    expect(() => Models.mlp({ inputSize: 784, outputSize: 10, hiddens: [64], activations: [Layers.relu()], learningRate: 0.1 })).toThrow('mlp: need 2 activations (one per linear layer), got 1')
    expect(() => Models.mlp({ inputSize: 784, outputSize: 10, hiddens: [0], activations: [Layers.relu(), Layers.linear()], learningRate: 0.1 })).toThrow('layer size 1 must be a positive integer, got 0')
    expect(() => Models.mlp({ inputSize: 4, outputSize: 2, hiddens: [], activations: [Layers.linear()], learningRate: -1 })).toThrow('learningRate must be ≥ 0')
    const small = { inputSize: 4, outputSize: 2, hiddens: [3], activations: [Layers.relu(), Layers.linear()], learningRate: 0.1, numBatchNorm: 1 }
    expect(() => Models.mlp({ ...small, batchNorm: { keepRunning: 1.5 } })).toThrow('mlp: batchNorm.keepRunning (the weight of the old running statistic) must be in [0, 1], got 1.5')
    expect(() => Models.mlp({ ...small, batchNorm: { eps: 0 } })).toThrow('mlp: batchNorm.eps must be positive, got 0')
    expect(() => Models.mlp({ ...small, batchNorm: { paramGradient: 'sum' as 'batchSum' } })).toThrow("mlp: batchNorm.paramGradient must be 'batchSum' or 'batchMean', got sum")
  })
})
