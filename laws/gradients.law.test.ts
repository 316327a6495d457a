/**
 * The gradient law for every differentiable op exported from src/: analytic gradients equal central
 * differences in float64 (torch.gradcheck tolerances, fixed in src/laws/gradcheck.ts).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Laws, Layers, Loss, Random, Tensor, kernels } from '../src/index.ts'
import { type Drawn, anyLayer, dims, kindArbitraries, matrix, network, offKinks, runs, seed } from './arbitraries.ts'
import { lawParameters } from './lawParameters.ts'

const expectLaw = (name: string, report: Laws.GradientReport): void => {
  expect(report.mismatches, Laws.describeReport(name, report)).toEqual([])
  expect(report.checked).toBeGreaterThan(0)
}

/** Each column's values span at least this much, so BatchNorm's division by the spread stays well conditioned. */
const MIN_SPREAD = 0.5

const columnsVary = (x: Tensor.Tensor): boolean => {
  const [rows, cols] = x.shape as [number, number]
  return Array.from({ length: cols }, (_, c) => Array.from({ length: rows }, (_, r) => x.data[r * cols + c] as number)).every(
    (column) => Math.max(...column) - Math.min(...column) >= MIN_SPREAD
  )
}

/** An input for a drawn layer: 2 to 5 rows (one row cannot show a gradient not summed over the batch), off its kinks. */
const inputFor = (drawn: Drawn, inWidth: number): fc.Arbitrary<Tensor.Tensor> =>
  fc.integer({ min: 2, max: 5 }).chain((rows) => {
    const x = matrix(rows, inWidth, offKinks(4, drawn.kinks))
    return drawn.spread ? x.filter(columnsVary) : x
  })

describe('gradient law: every kind of layer', () => {
  // Graph kinds get smooth children (any kink inside would need its own input kept off it).
  const smoothChild = (w: number, to: number | undefined) => anyLayer(w, to, 0, true)
  for (const kind of Layers.kinds) {
    it(kind, () => {
      const drawn = fc.integer({ min: 1, max: 5 }).chain((w) =>
        (kindArbitraries[kind].draw({ width: w, to: undefined, smooth: false, child: smoothChild }) as fc.Arbitrary<Drawn>).map((d) => ({ d, w }))
      )
      fc.assert(
        fc.property(
          drawn.chain(({ d, w }) => inputFor(d, w).map((x) => ({ d, x }))),
          seed,
          ({ d, x }, s) => {
            const { params, state } = d.layer.init(Random.key(s), 'float64')
            expectLaw(d.layer.name, Laws.checkLayerGradients(d.layer, { params, state, x }, { key: Random.key(s + 1) }))
          }
        ),
        lawParameters(runs.numRuns)
      )
    })
  }
})

describe('gradient law: wide dense layers', () => {
  it('dense(in, out), element by element for small and along directions for large', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), seed, (batch, i, o, s) => {
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
  it('random networks of the smooth kinds, graphs nested two deep', () => {
    fc.assert(
      fc.property(
        network(2, true).chain((n) => inputFor(n, n.inWidth).map((x) => ({ n, x }))),
        seed,
        ({ n, x }, s) => {
          const { params, state } = n.layer.init(Random.key(s), 'float64')
          expectLaw(n.layer.name, Laws.checkLayerGradients(n.layer, { params, state, x }, { key: Random.key(s + 1) }))
        }
      ),
      lawParameters(runs.numRuns)
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
