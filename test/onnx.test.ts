/**
 * The ONNX exporter against a real runtime: each network is exported, loaded into onnxruntime-node
 * from the bytes, run on 1,000 MNIST test images and compared with `Layers.predict` (eval mode).
 */
import { createRequire } from 'node:module'
import * as E from 'fp-ts/Either'
import { describe, expect, it } from 'vitest'
import * as Data from '../src/data/index.ts'
import { Layers, Loss, Random, Tensor, Tree, kernels } from '../src/index.ts'
import * as Onnx from '../src/onnx/index.ts'
import * as Protobuf from '../src/onnx/protobuf.ts'
import * as Node from '../src/node/index.ts'

// onnxruntime-node is CommonJS with a native binding; require keeps vitest from transforming it.
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node')

/** The first `n` MNIST test images (`[n, 784]` in [0, 1]) with their labels and one-hot targets. */
const mnistTest = (n: number): Data.Dataset => {
  const mnist = Node.loadMnist()()
  if (E.isLeft(mnist)) throw new Error(mnist.left.message)
  return Data.take(mnist.right.test, n)
}

const runOnnx = async (model: Uint8Array, x: Tensor.Tensor): Promise<Float32Array> => {
  const session = await ort.InferenceSession.create(model)
  try {
    const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data), [...x.shape]) })
    const y = out['output']
    if (y === undefined) throw new Error('no output named "output"')
    expect(y.dims).toEqual([x.shape[0], expect.any(Number)])
    return y.data as Float32Array
  } finally {
    await session.release()
  }
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)))
  return m
}

const exported = <P extends Tree.Tree, S extends Tree.Tree>(net: Layers.Layer<P, S, Layers.Width, Layers.Width>, params: P, state: S, opset = 13): Uint8Array => {
  const model = Onnx.toOnnx(net, params, state, { opset })
  if (E.isLeft(model)) throw new Error(model.left.message)
  return model.right
}

/**
 * A few plain SGD steps in train mode (so BatchNorm's running statistics and the weights move away
 * from their initial values), written out here so this test does not depend on the trainer.
 */
const sgdSteps = <P extends Tree.Tree, S extends Tree.Tree>(
  net: Layers.Layer<P, S, Layers.Width, Layers.Width>,
  start: { params: P; state: S },
  x: Tensor.Tensor,
  y: Tensor.Tensor,
  steps: number
): { params: P; state: S } => {
  let { params, state } = start
  for (let s = 0; s < steps; s++) {
    const rows = Array.from({ length: 100 }, (_, i) => (s * 100 + i) % (x.shape[0] as number))
    const f = net.apply(params, state, Tensor.gatherRows(x, rows), { mode: 'train', key: Random.key(1000 + s) })
    const { grad } = Loss.categoricalCrossEntropy.apply(f.y, Tensor.gatherRows(y, rows))
    const { dparams } = f.backward(grad)
    params = Tree.zipWith([params, dparams], ([p, g]) => kernels.zipWith(p, g, (a, b) => a - 0.5 * b))
    state = f.state
  }
  return { params, state }
}

const data = mnistTest(1000)
const x = data.inputs

describe('toOnnx, checked by onnxruntime-node on 1,000 MNIST test images', () => {
  it('the seed network (dense + sigmoid) matches Layers.predict within 1e-5', async () => {
    const net = Layers.sequential(
      Layers.dense(784, 40),
      Layers.sigmoid(),
      Layers.dense(40, 30),
      Layers.sigmoid(),
      Layers.dense(30, 20),
      Layers.sigmoid(),
      Layers.dense(20, 10)
    )
    const { params, state } = net.init(Random.key(6))
    const expected = Layers.predict(net, params, state, x)
    const actual = await runOnnx(exported(net, params, state), x)
    const diff = maxAbsDiff(actual, expected.data)
    console.info(`seed network: max |onnxruntime − predict| = ${diff.toExponential(2)}`)
    expect(diff).toBeLessThanOrEqual(1e-5)
  })

  it('a trained batchNorm + relu + dropout + softmax network matches, running statistics included', async () => {
    const net = Layers.sequential(
      Layers.dense(784, 64),
      Layers.batchNorm(64, { eps: 1e-5 }),
      Layers.relu(),
      Layers.dropout(0.2),
      Layers.dense(64, 32),
      Layers.batchNorm(32),
      Layers.relu(),
      Layers.dense(32, 10),
      Layers.softmax()
    )
    const trained = sgdSteps(net, net.init(Random.key(7)), x, data.targets, 20)
    // The running statistics really moved away from (0, 1), so the export is tested on non-trivial ones.
    const bn = trained.state[1]
    expect(Math.max(...Tensor.toArray(bn.runningMean).map(Math.abs))).toBeGreaterThan(0.01)
    expect(Math.max(...Tensor.toArray(bn.runningVar).map((v) => Math.abs(v - 1)))).toBeGreaterThan(0.01)
    const expected = Layers.predict(net, trained.params, trained.state, x)
    const actual = await runOnnx(exported(net, trained.params, trained.state), x)
    const diff = maxAbsDiff(actual, expected.data)
    console.info(`batchNorm network: max |onnxruntime − predict| = ${diff.toExponential(2)}`)
    expect(diff).toBeLessThanOrEqual(1e-5)
    // And the trained network is better than chance, so the comparison covers confident outputs too.
    const argmax = (row: number): number => {
      const r = Array.from(actual.subarray(row * 10, row * 10 + 10))
      return r.indexOf(Math.max(...r))
    }
    const correct = data.labels.filter((l, i) => argmax(i) === l).length
    expect(correct).toBeGreaterThan(500)
  })

  it('every other supported op (residual, concat, gelu(tanh), leakyRelu, elu, softplus, tanh, identity) matches, in opsets 13 and 17', async () => {
    const net = Layers.sequential(
      Layers.dense(784, 24),
      Layers.tanh(),
      Layers.residual(Layers.sequential(Layers.dense(24, 24), Layers.gelu({ approximate: 'tanh' }))),
      Layers.concat(Layers.sequential(Layers.dense(24, 8), Layers.leakyRelu(0.1)), Layers.sequential(Layers.dense(24, 6), Layers.elu(0.7))),
      Layers.softplus(),
      Layers.identity(),
      Layers.dense(14, 10),
      Layers.linear()
    )
    const { params, state } = net.init(Random.key(8))
    const expected = Layers.predict(net, params, state, x)
    for (const opset of [13, 17]) {
      const diff = maxAbsDiff(await runOnnx(exported(net, params, state, opset), x), expected.data)
      console.info(`all-ops network, opset ${opset}: max |onnxruntime − predict| = ${diff.toExponential(2)}`)
      expect(diff).toBeLessThanOrEqual(1e-5)
    }
  })

  it('exact GELU, element by element from −10 to 10: Erf primitives before opset 20, the Gelu op from 20', async () => {
    const n = 4001
    const grid = Tensor.fromArray([1, n], Array.from({ length: n }, (_, i) => -10 + (20 * i) / (n - 1)))
    const net = Layers.sequential(Layers.gelu())
    const expected = Layers.predict(net, [[]], [[]], grid).data
    // Tolerance, with u = 2⁻²⁴ (float32's unit roundoff): predict rounds the float64 value once (≤ u|y|,
    // |y| ≤ |x|). onnxruntime computes ½·x·(1 + erf(x·(1/√2))) in float32: the product's and the
    // constant's roundings move erf by at most (2/√π)·max|v e^{−v²}|·1.5u < 0.73u, erf itself is off by
    // about an ulp (≤ u absolute below 1), 1 + erf is rounded by ≤ u, and the last product by u|y|;
    // times ½|x| that is < 1.4u|x| + u|y|. Together ≤ 4u|x|. (Measured: 2u|x|.)
    const u = 2 ** -24
    for (const opset of [13, 17, 20, 23]) {
      const actual = await runOnnx(exported(net, [[]], [[]], opset), grid)
      const worst = Math.max(...Array.from(actual, (a, i) => Math.abs(a - (expected[i] as number)) / (4 * u * Math.abs(grid.data[i] as number))).filter(Number.isFinite))
      console.info(`exact GELU, opset ${opset}: max |onnxruntime − predict| = ${worst.toFixed(2)} × 4u|x|`)
      actual.forEach((a, i) => expect(Math.abs(a - (expected[i] as number))).toBeLessThanOrEqual(4 * u * Math.abs(grid.data[i] as number)))
      // The tanh form is not what was exported: it is farther from onnxruntime than the bound, by far.
      const tanh = Layers.predict(Layers.sequential(Layers.gelu({ approximate: 'tanh' })), [[]], [[]], grid).data
      expect(maxAbsDiff(actual, tanh)).toBeGreaterThan(100 * 4 * u * 10)
    }
  })

  it('an exact-GELU network matches Layers.predict in opsets 13 (Erf) and 20 (Gelu), and is told apart from the tanh form', async () => {
    const layers = (approximate: 'none' | 'tanh') =>
      Layers.sequential(Layers.dense(784, 32), Layers.gelu({ approximate }), Layers.dense(32, 32), Layers.gelu({ approximate }), Layers.dense(32, 10))
    const net = layers('none')
    const { params, state } = net.init(Random.key(10))
    const expected = Layers.predict(net, params, state, x)
    // As for the other networks: outputs are O(1) and each of the two float32 computations rounds
    // differently in the dense sums (about 150 non-zero pixels, then 32 terms) and in GELU (≤ 4u|x|
    // above); the errors are random-walk sums, ~√150·u·Σ|w·x| ≈ 1e-6, so 1e-5 leaves a factor of 10.
    // The same weights with the tanh form differ by more than 10 times that, so the bound would catch
    // an export of the wrong form.
    const tolerance = 1e-5
    const tanhForm = Layers.predict(layers('tanh'), params, state, x)
    console.info(`exact-GELU network: max |tanh form − exact| = ${maxAbsDiff(tanhForm.data, expected.data).toExponential(2)}`)
    expect(maxAbsDiff(tanhForm.data, expected.data)).toBeGreaterThan(10 * tolerance)
    for (const opset of [13, 20]) {
      const diff = maxAbsDiff(await runOnnx(exported(net, params, state, opset), x), expected.data)
      console.info(`exact-GELU network, opset ${opset}: max |onnxruntime − predict| = ${diff.toExponential(2)}`)
      expect(diff).toBeLessThanOrEqual(tolerance)
    }
  })

  it('float64 params are written as float32 and still match', async () => {
    const net = Layers.sequential(Layers.dense(784, 16), Layers.relu(), Layers.dense(16, 10))
    const { params, state } = net.init(Random.key(9), 'float64')
    const expected = Layers.predict(net, params, state, Tensor.cast(x, 'float64'))
    expect(maxAbsDiff(await runOnnx(exported(net, params, state), x), expected.data)).toBeLessThanOrEqual(1e-5)
  })
})

describe('toOnnx refuses what it cannot translate', () => {
  it('names an unsupported op and where it sits', () => {
    const square = Layers.elementwise('square', (x) => x * x, (x) => 2 * x)
    const net = Layers.sequential(Layers.dense(4, 3), Layers.residual(Layers.sequential(Layers.dense(3, 3), square)))
    const { params, state } = net.init(Random.key(0))
    const result = Onnx.toOnnx(net, params, state)
    expect(E.isLeft(result)).toBe(true)
    if (E.isLeft(result)) {
      expect(result.left._tag).toBe('UnsupportedOp')
      expect(result.left.message).toMatch(/layer op 'square' has no ONNX translation/)
      expect(result.left.path).toBe('sequential[1] > residual > sequential[1] > square')
    }
  })

  it('refuses a gelu node that does not say its form', () => {
    const unsaid = { ...Layers.gelu(), node: { op: 'gelu' } }
    const result = Onnx.toOnnx(Layers.sequential(Layers.dense(2, 2), unsaid), [{ W: Tensor.zeros([2, 2]), b: Tensor.zeros([2]) }, []], [[], []])
    expect(result).toEqual(E.left(expect.objectContaining({ _tag: 'InvalidParams', path: 'sequential[1] > gelu', message: "toOnnx: sequential[1] > gelu: attribute 'approximate': expected 'none' or 'tanh', found nothing" })))
  })

  it('reports params that do not match the network', () => {
    const net = Layers.sequential(Layers.dense(4, 3), Layers.relu())
    const { state } = net.init(Random.key(0))
    const wrong = [{ W: Tensor.zeros([3, 4]), b: Tensor.zeros([3]) }, []] as const
    const result = Onnx.toOnnx(net, wrong, state)
    expect(result).toEqual(E.left(expect.objectContaining({ _tag: 'InvalidParams', message: expect.stringMatching(/'W' has shape \[3, 4\], expected \[4, 3\]/) })))
  })

  it('rejects an opset it does not know and clashing names', () => {
    const net = Layers.dense(2, 2)
    const { params, state } = net.init(Random.key(0))
    expect(Onnx.toOnnx(net, params, state, { opset: 9 })).toEqual(E.left(expect.objectContaining({ _tag: 'InvalidOptions' })))
    expect(Onnx.toOnnx(net, params, state, { inputName: 'x', outputName: 'x' })).toEqual(E.left(expect.objectContaining({ _tag: 'InvalidOptions' })))
  })
})

describe('the protobuf writer', () => {
  it('writes varints as in the protobuf encoding guide, negative int64 as ten bytes', () => {
    expect(Array.from(Protobuf.varint(0))).toEqual([0])
    expect(Array.from(Protobuf.varint(1))).toEqual([1])
    expect(Array.from(Protobuf.varint(300))).toEqual([0xac, 0x02])
    expect(Array.from(Protobuf.varint(-1))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
    expect(Array.from(Protobuf.string(2, 'testing'))).toEqual([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67])
    expect(Array.from(Protobuf.float32(2, 1))).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f])
  })

  it('an empty network still names its output', async () => {
    const net = Layers.sequential(Layers.identity())
    const model = exported(net, [[]], [[]])
    const y = await runOnnx(model, Tensor.sliceRows(x, 0, 3))
    expect(maxAbsDiff(y, Tensor.sliceRows(x, 0, 3).data)).toBe(0)
  })
})
