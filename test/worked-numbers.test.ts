/**
 * The seeds' worked numbers and HW1's shape conventions.
 */
import { describe, expect, it } from 'vitest'
import { Init, Laws, Layers, Loss, Random, Tensor, kernels } from '../src/index.ts'

const ctx = { mode: 'train' as const, key: Random.key(0) }
const close = (actual: Tensor.Tensor, expected: number[][]) => {
  expect(actual.shape).toEqual([expected.length, expected[0]?.length])
  Tensor.toRows(actual).forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]?.[j] as number, 12)))
}

describe('linear-class notes', () => {
  const layer = Layers.dense(2, 2)
  const params = { W: Tensor.fromRows([[0.5, -1], [1.5, 0]], 'float64'), b: Tensor.vector([0.1, 0.2], 'float64') }
  const x = Tensor.fromRows([[1, 2]], 'float64')

  it('forward: X=[1,2], W=[[0.5,-1],[1.5,0]], b=[0.1,0.2] gives y=[3.6,-0.8]', () => {
    close(layer.apply(params, [], x, ctx).y, [[3.6, -0.8]])
  })

  // The notes print grad_input = [-1.6, 1.5], but dy·Wᵀ = [1·0.5 + 2·(−1), 1·1.5 + 2·0] = [−1.5, 1.5]:
  // the −0.1 is the notes' slip (it looks like the bias leaking in). Central differences agree with −1.5.
  it('backward: grad_output [1,2] gives grad_input [-1.5,1.5] (the notes misprint -1.6), grad_W = xᵀ·dy, grad_b = dy', () => {
    const dy = Tensor.fromRows([[1, 2]], 'float64')
    const { dx, dparams } = layer.apply(params, [], x, ctx).backward(dy)
    close(dx, [[-1.5, 1.5]])
    const numeric = Laws.checkScalarGradient((at: Tensor.Tensor) => kernels.dot(dy, layer.apply(params, [], at, ctx).y), x, dx)
    expect(numeric.mismatches).toEqual([])
    close(dparams.W, [[1, 2], [2, 4]])
    expect(Tensor.toArray(dparams.b)).toEqual([1, 2])
  })

  it('bias gradient sums grad_output over the batch: [[0.1,-0.2],[0.3,-0.1],[0.2,0]] → [0.6,-0.3]', () => {
    const xs = Tensor.fromRows([[1, 0], [0, 1], [1, 1]], 'float64')
    const dy = Tensor.fromRows([[0.1, -0.2], [0.3, -0.1], [0.2, 0]], 'float64')
    const { dparams } = layer.apply(params, [], xs, ctx).backward(dy)
    Tensor.toArray(dparams.b).forEach((v, i) => expect(v).toBeCloseTo([0.6, -0.3][i] as number, 12))
  })
})

describe('HW1 conventions', () => {
  it('Linear maps (batch, in_feature) to (batch, out_feature); backward gives dx of the input shape and dW, db of the params shapes', () => {
    const layer = Layers.dense(784, 64)
    const { params } = layer.init(Random.key(0))
    expect(params.W.shape).toEqual([784, 64])
    expect(params.b.shape).toEqual([64])
    const x = Random.uniform(Random.key(1), [100, 784])
    const f = layer.apply(params, [], x, ctx)
    expect(f.y.shape).toEqual([100, 64])
    const g = f.backward(Random.normal(Random.key(2), [100, 64]))
    expect(g.dx.shape).toEqual([100, 784])
    expect(g.dparams.W.shape).toEqual([784, 64])
    expect(g.dparams.b.shape).toEqual([64])
  })

  it('softmax cross-entropy derivative is (softmax(x) − y) averaged over the batch', () => {
    const z = Tensor.fromRows([[1, 2, 3], [0, 0, 0]], 'float64')
    const y = Tensor.fromRows([[0, 0, 1], [1, 0, 0]], 'float64')
    const { value, grad } = Loss.softmaxCrossEntropy.apply(z, y)
    const s = Tensor.toRows(Layers.predict(Layers.softmax(), [], [], z))
    const expected = s.map((row, i) => row.map((v, j) => (v - (Tensor.toRows(y)[i]?.[j] as number)) / 2))
    close(grad, expected)
    const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0))
    expect(value).toBeCloseTo((lse([1, 2, 3]) - 3 + lse([0, 0, 0]) - 0) / 2, 12)
  })

  it('MSE conventions: ours is (1/m)Σ‖·‖²; the notes’ 1/2n and the all-elements mean are scalings of it', () => {
    const p = Tensor.fromRows([[1, 2], [3, 5]], 'float64')
    const t = Tensor.fromRows([[0, 2], [3, 3]], 'float64')
    expect(Loss.meanSquaredError.apply(p, t).value).toBeCloseTo((1 + 4) / 2, 12)
    expect(Loss.scaled(Loss.meanSquaredError, 0.5).apply(p, t).value).toBeCloseTo(5 / 4, 12)
    expect(Loss.scaled(Loss.meanSquaredError, 1 / 2).apply(p, t).value).toBeCloseTo(5 / 4, 12)
  })

  it('initializers: constant and the He note', () => {
    expect(Tensor.toArray(Init.constant(0.5)(Random.key(0), [3]))).toEqual([0.5, 0.5, 0.5])
    const he = Init.heUniform(Random.key(0), [100, 10], 'float64')
    expect(he.data.every((v) => Math.abs(v) <= Math.sqrt(6 / 100))).toBe(true)
  })
})

describe('shape errors name the layer and both shapes', () => {
  it('dense with the wrong input width', () => {
    const net = Layers.sequential(Layers.dense(4, 3), Layers.relu(), Layers.dense(3, 2))
    const { params, state } = net.init(Random.key(0))
    expect(() => net.apply(params, state, Tensor.zeros([5, 7]), ctx)).toThrow('sequential[0] dense(4→3) > dense(4→3): expected shape [batch, 4], got [5, 7]')
  })
  it('loss with mismatched target', () => {
    expect(() => Loss.softmaxCrossEntropy.apply(Tensor.zeros([2, 10]), Tensor.zeros([2, 9]))).toThrow('softmaxCrossEntropy target: expected shape [2, 10], got [2, 9]')
  })
})
