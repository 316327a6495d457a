/**
 * BatchNorm and dropout: gradient laws in both modes, and the state laws (eval leaves running stats
 * untouched; train updates them by HW1's formula).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Laws, Layers, Random, Tensor } from '../src/index.ts'
import { runs, seed } from './arbitraries.ts'

const bnCase = fc.record({ batch: fc.integer({ min: 2, max: 6 }), features: fc.integer({ min: 1, max: 5 }), s: seed })

const setup = (batch: number, features: number, s: number) => {
  const layer = Layers.batchNorm(features)
  const [kg, kb, km, kv, kx] = Random.splitN(Random.key(s), 5) as [Random.Key, Random.Key, Random.Key, Random.Key, Random.Key]
  const params = { gamma: Random.normal(kg, [features], 1, 0.5, 'float64'), beta: Random.normal(kb, [features], 0, 1, 'float64') }
  const state = { runningMean: Random.normal(km, [features], 0, 1, 'float64'), runningVar: Random.uniform(kv, [features], 0.5, 2, 'float64') }
  const x = Random.normal(kx, [batch, features], 0.3, 1.5, 'float64')
  return { layer, params, state, x }
}

describe('batchNorm', () => {
  it('gradient law in train mode (batch statistics)', () => {
    fc.assert(
      fc.property(bnCase, ({ batch, features, s }) => {
        const { layer, params, state, x } = setup(batch, features, s)
        const report = Laws.checkLayerGradients(layer, { params, state, x, mode: 'train' }, { key: Random.key(s) })
        expect(report.mismatches, Laws.describeReport('batchNorm train', report)).toEqual([])
      }),
      runs
    )
  })

  it('gradient law in eval mode (running statistics)', () => {
    fc.assert(
      fc.property(bnCase, ({ batch, features, s }) => {
        const { layer, params, state, x } = setup(batch, features, s)
        const report = Laws.checkLayerGradients(layer, { params, state, x, mode: 'eval' }, { key: Random.key(s) })
        expect(report.mismatches, Laws.describeReport('batchNorm eval', report)).toEqual([])
      }),
      runs
    )
  })

  it('gradient law inside a network: dense → batchNorm → tanh → dense', () => {
    fc.assert(
      fc.property(bnCase, ({ batch, features, s }) => {
        const net = Layers.sequential(Layers.dense(3, features), Layers.batchNorm(features), Layers.tanh(), Layers.dense(features, 2))
        const { params, state } = net.init(Random.key(s), 'float64')
        const x = Random.normal(Random.key(s + 1), [batch, 3], 0, 1, 'float64')
        const report = Laws.checkLayerGradients(net, { params, state, x }, { key: Random.key(s + 2) })
        expect(report.mismatches, Laws.describeReport('bn net', report)).toEqual([])
      }),
      runs
    )
  })

  it('state law: eval keeps the running statistics; train updates them as E ← α·E + (1 − α)·μ_B, deterministically', () => {
    fc.assert(
      fc.property(bnCase, fc.double({ min: 0, max: 1, noNaN: true }), ({ batch, features, s }, keepRunning) => {
        const { params, state, x } = setup(batch, features, s)
        const layer = Layers.batchNorm(features, { keepRunning })
        // HW1's update, per feature, with the biased batch variance; written out in plain numbers so
        // it shares no code with the layer. The default tolerance covers these inputs (see stateTolerance).
        const expected = (old: Layers.BatchNormState, input: Tensor.Tensor): Layers.BatchNormState => {
          const rows = Tensor.toRows(input)
          const column = (j: number) => rows.map((r) => r[j] as number)
          const mean = Array.from({ length: features }, (_, j) => column(j).reduce((a, b) => a + b, 0) / rows.length)
          const variance = Array.from({ length: features }, (_, j) => column(j).reduce((a, b) => a + (b - (mean[j] as number)) ** 2, 0) / rows.length)
          const move = (running: Tensor.Tensor, batchStat: number[]) =>
            Tensor.vector(Tensor.toArray(running).map((e, j) => keepRunning * e + (1 - keepRunning) * (batchStat[j] as number)), 'float64')
          return { runningMean: move(old.runningMean, mean), runningVar: move(old.runningVar, variance) }
        }
        const report = Laws.checkLayerState(layer, { params, state, x, expected }, { key: Random.key(s) })
        expect(report.violations, Laws.describeStateReport('batchNorm', report)).toEqual([])
      }),
      runs
    )
  })

  it('train mode output has zero mean and unit variance per feature before scale and shift', () => {
    const layer = Layers.batchNorm(3)
    const { params, state } = layer.init(Random.key(0), 'float64')
    const x = Random.normal(Random.key(1), [50, 3], 5, 3, 'float64')
    const y = Tensor.toRows(layer.apply(params, state, x, { mode: 'train', key: Random.key(0) }).y)
    for (let j = 0; j < 3; j++) {
      const col = y.map((r) => r[j] as number)
      const mu = col.reduce((a, b) => a + b, 0) / 50
      expect(Math.abs(mu)).toBeLessThan(1e-12)
      expect(col.reduce((a, b) => a + (b - mu) ** 2, 0) / 50).toBeCloseTo(1, 6)
    }
  })
})

describe('dropout', () => {
  it('gradient law with a fixed key; eval mode is the identity', () => {
    fc.assert(
      fc.property(bnCase, fc.double({ min: 0, max: 0.9, noNaN: true }), ({ batch, features, s }, rate) => {
        const layer = Layers.dropout(rate)
        const x = Random.normal(Random.key(s), [batch, features], 0, 1, 'float64')
        const report = Laws.checkLayerGradients(layer, { params: [], state: [], x }, { key: Random.key(s) })
        expect(report.mismatches, Laws.describeReport('dropout', report)).toEqual([])
        expect(Tensor.equals(Layers.predict(layer, [], [], x), x)).toBe(true)
      }),
      runs
    )
  })

  it('keeps about 1 − rate of the units and preserves the mean', () => {
    const x = Tensor.full([200, 100], 1, 'float64')
    const y = Layers.dropout(0.3).apply([], [], x, { mode: 'train', key: Random.key(5) }).y
    const kept = Array.from(y.data).filter((v) => v !== 0).length / y.data.length
    expect(Math.abs(kept - 0.7)).toBeLessThan(0.02)
    expect(Math.abs(Array.from(y.data).reduce((a, b) => a + b, 0) / y.data.length - 1)).toBeLessThan(0.03)
  })
})
