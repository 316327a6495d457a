/**
 * The law kit must be able to fail: a layer with a wrong derivative, a loss with a wrong gradient,
 * a composite that drops a gradient, a bias gradient not summed over the batch and layers that break
 * the state laws are all caught.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Laws, Layers, Loss, Random, Tensor, Tree, kernels } from '../src/index.ts'

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
    expect(report.mismatches.map((m) => m.path)).toEqual([['params', 'W'], ['params', 'W'], ['params', 'W']])
  })

  it('a loss gradient missing its 1/batch factor', () => {
    const wrong: Loss.Loss = { name: 'wrong', apply: (p, t) => ({ ...Loss.meanSquaredError.apply(p, t), grad: kernels.zipWith(p, t, (a, b) => 2 * (a - b)) }) }
    const p = Tensor.fromRows([[1, 2], [3, 4]], 'float64')
    const t = Tensor.fromRows([[0, 0], [0, 0]], 'float64')
    expect(Laws.checkLossGradients(wrong, p, t).mismatches.length).toBe(4)
  })
})

describe('the gradient law draws batches of at least two rows', () => {
  // A dense layer whose bias gradient is the first row of dy instead of the sum over the batch: the
  // classic batch bug. With one row the first row *is* the sum, so only a batch of 2+ rows shows it;
  // that is why checkLayerGradients draws 2 to 5 rows by default.
  const real = Layers.dense(4, 6)
  const biasFromRowZero: typeof real = {
    ...real,
    name: 'dense with the bias gradient of row 0',
    apply: (p, s, input, ctx) => {
      const f = real.apply(p, s, input, ctx)
      return {
        ...f,
        backward: (dy) => {
          const g = f.backward(dy)
          return { dx: g.dx, dparams: { W: g.dparams.W, b: Tensor.vector(Tensor.toRows(dy)[0] as number[], dy.dtype) } }
        }
      }
    }
  }

  it('the default check catches it, on the bias only', () => {
    const report = Laws.checkLayerGradients(biasFromRowZero)
    expect(report.mismatches.map((m) => Tree.showPath(m.path))).toEqual(Array.from({ length: 6 }, () => 'params.b'))
    expect(Laws.checkLayerGradients(real).mismatches).toEqual([])
  })

  it('for any key (and so any drawn batch of 2 to 5 rows)', () => {
    // Each bias element is off by Σ_{rows ≥ 1} r, a normal of variance ≥ 1; it escapes the tolerance
    // (1e-5 + 1e-3·|numeric|, numeric ~ a few units) with probability below ~2e-3, so all six escape
    // with probability below 1e-16: the law cannot flake.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (s) => {
        const report = Laws.checkLayerGradients(biasFromRowZero, {}, { key: Random.key(s) })
        expect(report.mismatches.length).toBeGreaterThan(0)
        expect(new Set(report.mismatches.map((m) => Tree.showPath(m.path)))).toEqual(new Set(['params.b']))
      }),
      { numRuns: 40 }
    )
  })

  it('a batch of one row misses it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (s) => {
        expect(Laws.checkLayerGradients(biasFromRowZero, { rows: 1 }, { key: Random.key(s) }).mismatches).toEqual([])
      }),
      { numRuns: 20 }
    )
  })

  it('draws inputs of 2 to 5 rows of the layer\'s width, and any number asked for', () => {
    const rowsSeen = new Set<number>()
    const probe = (rows: Set<number>): Layers.Activation => ({
      ...Layers.linear(),
      apply: (p, s, input, ctx) => {
        rows.add(input.shape[0] as number)
        expect(input.shape[1]).toBe(3)
        return Layers.linear().apply(p, s, input, ctx)
      }
    })
    for (let s = 0; s < 64; s++) Laws.checkLayerGradients(probe(rowsSeen), {}, { key: Random.key(s) })
    expect([...rowsSeen].sort((a, b) => a - b)).toEqual([2, 3, 4, 5])
    const asked = new Set<number>()
    Laws.checkLayerGradients(probe(asked), { rows: 7 })
    expect([...asked]).toEqual([7])
  })
})

describe('the state law', () => {
  const bn = Layers.batchNorm(3)
  type BN = typeof bn

  it('passes BatchNorm', () => {
    const report = Laws.checkLayerState(bn)
    expect(report.violations, Laws.describeStateReport('batchNorm', report)).toEqual([])
    expect(report.checked).toBeGreaterThan(0)
  })

  it('catches a layer that changes its state in eval mode', () => {
    const leaky: BN = { ...bn, apply: (p, s, x, ctx) => ({ ...bn.apply(p, s, x, ctx), state: bn.apply(p, s, x, { ...ctx, mode: 'train' }).state }) }
    const report = Laws.checkLayerState(leaky)
    expect(report.violations.map((v) => [v.law, v.path])).toEqual([
      ['eval keeps the state', ['runningMean']],
      ['eval keeps the state', ['runningVar']]
    ])
  })

  it('catches a train update that is not a function of its inputs', () => {
    let calls = 0 // deliberately impure: the state depends on how often apply ran
    const counting: BN = {
      ...bn,
      apply: (p, s, x, ctx) => {
        const f = bn.apply(p, s, x, ctx)
        calls++
        return ctx.mode === 'eval' ? f : { ...f, state: { ...f.state, runningMean: kernels.map(f.state.runningMean, (v) => v + calls) } }
      }
    }
    expect(Laws.checkLayerState(counting).violations.map((v) => [v.law, Tree.showPath(v.path)])).toEqual([['train is deterministic', 'runningMean']])
  })

  it('catches a train update that changes the shape or drops a leaf', () => {
    const reshaped: BN = {
      ...bn,
      apply: (p, s, x, ctx) => {
        const f = bn.apply(p, s, x, ctx)
        return ctx.mode === 'eval' ? f : { ...f, state: { runningMean: Tensor.zeros([4], 'float64') } as unknown as typeof f.state }
      }
    }
    expect(Laws.checkLayerState(reshaped).violations.map((v) => [v.law, Tree.showPath(v.path), v.detail])).toEqual([
      ["train keeps the state's structure", 'runningMean', 'float64 [4], was float64 [3]'],
      ["train keeps the state's structure", 'runningVar', 'missing']
    ])
  })

  it('catches a layer that writes into the state it was given', () => {
    const inPlace: BN = {
      ...bn,
      apply: (p, s, x, ctx) => {
        const f = bn.apply(p, s, x, ctx)
        if (ctx.mode === 'train') s.runningVar.data.set(f.state.runningVar.data)
        return f
      }
    }
    const laws = Laws.checkLayerState(inPlace).violations.map((v) => [v.law, Tree.showPath(v.path)])
    expect(laws).toContainEqual(['apply leaves its inputs unchanged', 'state.runningVar'])
  })

  it('catches an update that disagrees with the reference', () => {
    // The reference says E ← 0.9·E + 0.1·μ_B (HW1's α = 0.9); a layer built with α = 0.8 is off.
    const batchNormReference = (keep: number) => (state: Layers.BatchNormState, x: Tensor.Tensor): Layers.BatchNormState => {
      const rows = Tensor.toRows(x)
      const mean = [0, 1, 2].map((j) => rows.reduce((a, r) => a + (r[j] as number), 0) / rows.length)
      const variance = [0, 1, 2].map((j) => rows.reduce((a, r) => a + ((r[j] as number) - (mean[j] as number)) ** 2, 0) / rows.length)
      const move = (old: Tensor.Tensor, batch: number[]) =>
        Tensor.vector(Tensor.toArray(old).map((e, j) => keep * e + (1 - keep) * (batch[j] as number)), 'float64')
      return { runningMean: move(state.runningMean, mean), runningVar: move(state.runningVar, variance) }
    }
    expect(Laws.checkLayerState(bn, { expected: batchNormReference(0.9) }).violations).toEqual([])
    const wrong = Laws.checkLayerState(Layers.batchNorm(3, { keepRunning: 0.8 }), { expected: batchNormReference(0.9) })
    expect(wrong.violations.map((v) => [v.law, Tree.showPath(v.path)])).toEqual([
      ['train matches the reference', 'runningMean'],
      ['train matches the reference', 'runningVar']
    ])
  })
})
