/**
 * The gradient law for every differentiable op exported from src/: analytic gradients equal central
 * differences in float64 (torch.gradcheck tolerances, fixed in src/laws/gradcheck.ts).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Laws, Layers, Loss, Random, Tensor, kernels } from '../src/index.ts'
import { dims, matrix, offKinks, runs, seed } from './arbitraries.ts'

const expectLaw = (name: string, report: Laws.GradientReport): void => {
  expect(report.mismatches, Laws.describeReport(name, report)).toEqual([])
  expect(report.checked).toBeGreaterThan(0)
}

const activations: ReadonlyArray<[string, () => Layers.Activation, readonly number[]]> = [
  ['identity', Layers.linear, []],
  ['sigmoid', Layers.sigmoid, []],
  ['tanh', Layers.tanh, []],
  ['relu', Layers.relu, [0]],
  ['leakyRelu(0.1)', () => Layers.leakyRelu(0.1), [0]],
  ['elu(1)', () => Layers.elu(1), []],
  ['elu(0.5)', () => Layers.elu(0.5), [0]],
  ['softplus', Layers.softplus, []],
  ['gelu (exact)', () => Layers.gelu(), []],
  ['gelu(tanh)', () => Layers.gelu({ approximate: 'tanh' }), []],
  ['softmax', Layers.softmax, []]
]

describe('gradient law: activations', () => {
  for (const [name, make, kinks] of activations) {
    it(name, () => {
      fc.assert(
        fc.property(
          dims.chain(({ batch, features }) => matrix(batch, features, offKinks(4, kinks))),
          seed,
          (x, s) => {
            const layer = make()
            expectLaw(name, Laws.checkLayerGradients(layer, { params: [], state: [], x }, { key: Random.key(s) }))
          }
        ),
        runs
      )
    })
  }
})

describe('gradient law: dense', () => {
  it('dense(in, out), element by element for small and along directions for large', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), seed, (batch, i, o, s) => {
        const layer = Layers.dense(i, o)
        const { params, state } = layer.init(Random.key(s), 'float64')
        const x = Random.normal(Random.key(s + 1), [batch, i], 0, 1, 'float64')
        expectLaw('dense', Laws.checkLayerGradients(layer, { params, state, x }, { key: Random.key(s + 2) }))
      }),
      runs
    )
  })
})

describe('gradient law: combinators and random compositions', () => {
  const smooth = [Layers.sigmoid, Layers.tanh, Layers.softplus, () => Layers.gelu(), () => Layers.gelu({ approximate: 'tanh' }), () => Layers.elu(1), Layers.linear]
  it('random sequential chains of dense and smooth activations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ width: fc.integer({ min: 1, max: 6 }), act: fc.integer({ min: 0, max: smooth.length - 1 }) }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        seed,
        (blocks, inWidth, batch, s) => {
          let width = inWidth
          const layers: Layers.AnyLayer[] = []
          for (const b of blocks) {
            layers.push(Layers.dense(width, b.width), (smooth[b.act] as () => Layers.Activation)())
            width = b.width
          }
          const net = Layers.sequential(...layers)
          const { params, state } = net.init(Random.key(s), 'float64')
          const x = Random.normal(Random.key(s + 1), [batch, inWidth], 0, 1, 'float64')
          expectLaw(net.name, Laws.checkLayerGradients(net, { params, state, x }, { key: Random.key(s + 2) }))
        }
      ),
      runs
    )
  })

  it('dense then relu, inputs kept off the kink', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), seed, (i, o, batch, s) => {
        const first = Layers.dense(i, o)
        const net = Layers.sequential(first, Layers.relu(), Layers.dense(o, 2))
        const { params, state } = net.init(Random.key(s), 'float64')
        const x = Random.normal(Random.key(s + 1), [batch, i], 0, 1, 'float64')
        const z = Layers.predict(first, params[0], [], x)
        fc.pre(z.data.every((v) => Math.abs(v) > 1e-3))
        expectLaw('dense-relu-dense', Laws.checkLayerGradients(net, { params, state, x }, { key: Random.key(s + 2) }))
      }),
      runs
    )
  })

  it('residual and concat', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), seed, (w, batch, s) => {
        const net = Layers.sequential(
          Layers.residual(Layers.sequential(Layers.dense(w, w), Layers.tanh())),
          Layers.concat(Layers.dense(w, 3), Layers.sequential(Layers.dense(w, 2), Layers.sigmoid())),
          Layers.softmax()
        )
        const { params, state } = net.init(Random.key(s), 'float64')
        const x = Random.normal(Random.key(s + 1), [batch, w], 0, 1, 'float64')
        expectLaw('residual-concat', Laws.checkLayerGradients(net, { params, state, x }, { key: Random.key(s + 2) }))
      }),
      runs
    )
  })
})

describe('gradient law: losses', () => {
  const probabilities = (rows: number, cols: number) => matrix(rows, cols, fc.double({ min: 0.05, max: 0.95, noNaN: true }))
  const oneHotRows = (rows: number, cols: number) =>
    fc.array(fc.integer({ min: 0, max: cols - 1 }), { minLength: rows, maxLength: rows }).map((labels) =>
      Tensor.fromArray([rows, cols], labels.flatMap((l) => Array.from({ length: cols }, (_, j) => (j === l ? 1 : 0))), 'float64')
    )
  const cases: ReadonlyArray<[Loss.Loss, (r: number, c: number) => fc.Arbitrary<Tensor.Tensor>, (r: number, c: number) => fc.Arbitrary<Tensor.Tensor>]> = [
    [Loss.meanSquaredError, (r, c) => matrix(r, c), (r, c) => matrix(r, c)],
    [Loss.scaled(Loss.meanSquaredError, 0.5), (r, c) => matrix(r, c), (r, c) => matrix(r, c)],
    [Loss.binaryCrossEntropy, probabilities, (r, c) => matrix(r, c, fc.double({ min: 0, max: 1, noNaN: true }))],
    [Loss.binaryCrossEntropyWithLogits, (r, c) => matrix(r, c, offKinks(20)), (r, c) => matrix(r, c, fc.double({ min: 0, max: 1, noNaN: true }))],
    [Loss.categoricalCrossEntropy, probabilities, oneHotRows],
    [Loss.softmaxCrossEntropy, (r, c) => matrix(r, c, offKinks(20)), oneHotRows],
    // Soft targets (label smoothing) too: the gradient must not assume one-hot rows.
    [Loss.softmaxCrossEntropy, (r, c) => matrix(r, c, offKinks(20)), (r, c) => probabilities(r, c)]
  ]
  for (const [loss, pred, target] of cases) {
    it(loss.name, () => {
      fc.assert(
        fc.property(
          dims.chain(({ batch, features }) => fc.tuple(pred(batch, features + 1), target(batch, features + 1))),
          ([p, t]) => expectLaw(loss.name, Laws.checkLossGradients(loss, p, t))
        ),
        runs
      )
    })
  }

  it('softmax cross-entropy is stable for logits of ±1000', () => {
    const z = Tensor.fromRows([[1000, -1000, 0], [-1000, -1000, -1000]], 'float64')
    const t = Tensor.fromRows([[1, 0, 0], [0, 1, 0]], 'float64')
    const { value, grad } = Loss.softmaxCrossEntropy.apply(z, t)
    expect(value).toBeCloseTo(Math.log(3) / 2, 12)
    expect(Tensor.isFinite(grad)).toBe(true)
    expect(kernels.sum(grad)).toBeCloseTo(0, 12)
  })
})
