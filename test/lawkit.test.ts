/**
 * The law kit must be able to fail: a layer with a wrong derivative, a loss with a wrong gradient
 * and a composite that drops a gradient are all caught.
 */
import { describe, expect, it } from 'vitest'
import { Laws, Layers, Loss, Random, Tensor, kernels } from '../src/index.ts'

describe('the law kit catches wrong gradients', () => {
  const x = Random.normal(Random.key(1), [3, 4], 0, 1, 'float64')

  it('an activation whose derivative is off by a factor 2', () => {
    const wrong = Layers.elementwise('wrongTanh', Math.tanh, (_x, y) => 2 * (1 - y * y))
    const report = Laws.checkLayerGradients(wrong, { params: [], state: [], x })
    expect(report.mismatches.length).toBe(12)
    expect(Laws.checkLayerGradients(Layers.tanh(), { params: [], state: [], x }).mismatches).toEqual([])
  })

  it('a softmax with only the diagonal of its Jacobian', () => {
    const fake: Layers.Activation = {
      ...Layers.softmax(),
      apply: (p, s, input, ctx) => {
        const f = Layers.softmax().apply(p, s, input, ctx)
        return { ...f, backward: (dy) => ({ dx: kernels.zipWith(dy, kernels.zipWith(f.y, f.y, (a) => a * (1 - a)), (d, j) => d * j), dparams: [] }) }
      }
    }
    expect(Laws.checkLayerGradients(fake, { params: [], state: [], x }).mismatches.length).toBeGreaterThan(0)
  })

  it('a dense layer whose weight gradient is missing, checked along random directions for a large leaf', () => {
    const real = Layers.dense(20, 10)
    const broken: typeof real = {
      ...real,
      apply: (p, s, input, ctx) => {
        const f = real.apply(p, s, input, ctx)
        return { ...f, backward: (dy) => ({ ...f.backward(dy), dparams: { W: kernels.map(p.W, () => 0), b: f.backward(dy).dparams.b } }) }
      }
    }
    const { params } = real.init(Random.key(0), 'float64')
    const xs = Random.normal(Random.key(2), [3, 20], 0, 1, 'float64')
    const report = Laws.checkLayerGradients(broken, { params, state: [], x: xs })
    expect(report.mismatches.map((m) => m.path)).toEqual(['params.W', 'params.W', 'params.W'])
  })

  it('a loss gradient missing its 1/batch factor', () => {
    const wrong: Loss.Loss = { name: 'wrong', apply: (p, t) => ({ ...Loss.meanSquaredError.apply(p, t), grad: kernels.zipWith(p, t, (a, b) => 2 * (a - b)) }) }
    const p = Tensor.fromRows([[1, 2], [3, 4]], 'float64')
    const t = Tensor.fromRows([[0, 0], [0, 0]], 'float64')
    expect(Laws.checkLossGradients(wrong, p, t).mismatches.length).toBe(4)
  })
})
