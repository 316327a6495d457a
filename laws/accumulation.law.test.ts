/**
 * Laws of the custom-loop primitives: `valueAndGrad` is the gradient `trainStep` applies,
 * `multiSteps(k, ·)` over k micro-batches takes the step of one batch, and per-example gradients
 * average to the batch gradient.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/Either'
import { describe, expect, it } from 'vitest'
import { Data, Layers, Loss, Optim, Random, Tensor, Train, Tree } from 'nn-ts'
import { lawParameters } from './lawParameters.ts'

/** Unit roundoff of float64, and Higham's γ(n) = n·u/(1 − n·u). */
const U = 2 ** -53
const gamma = (n: number): number => (n * U) / (1 - n * U)

// Softmax regression: each row's gradient is one product per element (x_r·d_r, and d_r for the
// bias), so the magnitude Σ|terms| of the sums below is exactly what per-example gradients measure.
// (Behind a hidden layer each per-row term is itself a sum whose cancellation |g_r| does not show.)
type Net = ReturnType<typeof net>
const net = (features: number, classes: number) => Layers.sequential(Layers.dense(features, classes))

const dataset = (seed: number, rows: number, features: number, classes: number): Data.Dataset => {
  const x = Random.normal(Random.key(seed), [rows, features], 0, 1, 'float64')
  const labels = Array.from({ length: rows }, (_, i) => (i * 7 + seed) % classes)
  return E.getOrElseW((e: Data.DataError) => { throw new Error(e.message) })(Data.fromLabelled(x, labels, classes))
}

const rowsOf = (d: Data.Dataset, start: number, end: number): Data.Dataset => ({
  inputs: Tensor.sliceRows(d.inputs, start, end),
  targets: Tensor.sliceRows(d.targets, start, end),
  labels: d.labels.slice(start, end),
  classes: d.classes
})

const gradsOf = (network: Net, batch: Data.Dataset, s: Train.ModelState<Layers.ParamsOf<Net>, Layers.StateOf<Net>>) => {
  const [r] = Train.valueAndGrad(network, Loss.softmaxCrossEntropy)(batch)(s)
  if (E.isLeft(r)) throw new Error(r.left.message)
  return r.right.grads
}

/** A problem: network, float64 state, a batch of k·b rows. */
const problem = fc.record({
  seed: fc.integer({ min: 0, max: 1 << 20 }),
  k: fc.integer({ min: 1, max: 4 }),
  b: fc.integer({ min: 1, max: 5 }),
  features: fc.integer({ min: 1, max: 5 }),
  classes: fc.integer({ min: 2, max: 4 })
})

describe('gradient accumulation and per-example gradients', () => {
  it('multiSteps(k, identity) over k micro-batches passes on the full batch gradient (within the summation bound)', () => {
    fc.assert(
      fc.property(problem, ({ seed, k, b, features, classes }) => {
        const network = net(features, classes)
        const s0 = Train.initialState(network, Optim.identity(), seed, 'float64')
        const batch = dataset(seed, k * b, features, classes)
        const full = gradsOf(network, batch, s0)
        const opt = Optim.multiSteps(k, Optim.identity())
        let state = opt.init(s0.params)
        let passed = full
        for (let i = 0; i < k; i++) {
          const g = gradsOf(network, rowsOf(batch, i * b, (i + 1) * b), s0)
          const [u, next] = opt.update(g, s0.params)(state)
          state = next
          if (i < k - 1) expect(Tree.leaves(u).every((l) => Array.from(l.value.data).every((v) => v === 0))).toBe(true)
          else passed = u
        }
        // Both sides add the same per-row terms t_r = x_r·(p_r − y_r)/(k·b) (each row's forward pass is
        // the same whatever batch it is in), in another order and with the 1/(k·b) applied as 1/b then
        // 1/k: each side is within γ(n)·Σ|t_r| of the exact sum, n = k·b additions + 3 roundings per
        // term (product, scalings), so |a − b| ≤ 2·γ(n)·Σ|t_r|, γ(n) = n·u/(1 − n·u).
        const [per] = Train.perExampleGrads(network, Loss.softmaxCrossEntropy)(batch)(s0)
        if (E.isLeft(per)) throw new Error(per.left.message)
        const n = k * b + 3
        const magnitude = Tree.map(full, (t) => Tensor.fromArray(t.shape, new Float64Array(t.data.length), 'float64'))
        const sumAbs = per.right.reduce((acc, g) => Tree.zipWith([acc, g.grads], ([a, x]) => Tensor.fromArray(a.shape, a.data.map((v, i) => v + Math.abs(x.data[i] as number) / (k * b)), 'float64')), magnitude)
        Tree.leaves(full).forEach((leaf, j) => {
          const got = Tree.leaves(passed)[j]?.value.data as Float64Array
          const bound = Tree.leaves(sumAbs)[j]?.value.data as Float64Array
          leaf.value.data.forEach((v, i) => {
            const allowed = 2 * gamma(n) * (bound[i] as number) + Number.MIN_VALUE
            if (Math.abs(v - (got[i] as number)) > allowed) throw new Error(`${Tree.showPath(leaf.path)}[${i}]: batch ${v}, accumulated ${got[i]}, bound ${allowed}`)
          })
        })
      }),
      lawParameters(60)
    )
  })

  it('per-example gradients average to the batch gradient (same bound)', () => {
    fc.assert(
      fc.property(problem, ({ seed, k, b, features, classes }) => {
        const rows = k * b
        const network = net(features, classes)
        const s0 = Train.initialState(network, Optim.identity(), seed, 'float64')
        const batch = dataset(seed, rows, features, classes)
        const full = gradsOf(network, batch, s0)
        const [per, after] = Train.perExampleGrads(network, Loss.softmaxCrossEntropy)(batch)(s0)
        if (E.isLeft(per)) throw new Error(per.left.message)
        expect(per.right).toHaveLength(rows)
        // The key was split once per row; nothing else in the state moved.
        expect(after.step).toBe(s0.step)
        // The batch side as above; this side sums x/rows in order: rows additions and 2 roundings per term.
        const n = rows + 3
        Tree.leaves(full).forEach((leaf, j) => {
          leaf.value.data.forEach((v, i) => {
            let mean = 0
            let abs = 0
            for (const g of per.right) {
              const x = Tree.leaves(g.grads)[j]?.value.data[i] as number
              mean += x / rows
              abs += Math.abs(x) / rows
            }
            expect(Math.abs(v - mean)).toBeLessThanOrEqual(2 * gamma(n) * abs + Number.MIN_VALUE)
          })
        })
      }),
      lawParameters(60)
    )
  })

  it('trainStep applies exactly valueAndGrad and the optimizer, bit for bit', () => {
    fc.assert(
      fc.property(problem, ({ seed, k, b, features, classes }) => {
        const network = net(features, classes)
        const optimizer = Optim.adam(1e-2)
        const s0 = Train.initialState(network, optimizer, seed)
        const batch = Data.withDType(dataset(seed, k * b, features, classes), 'float32')
        const [r, s1] = Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer)(batch)(s0)
        const [g, afterGrad] = Train.valueAndGrad(network, Loss.softmaxCrossEntropy)(batch)(s0)
        if (E.isLeft(r) || E.isLeft(g)) throw new Error('unexpected failure')
        const [updates, optState] = optimizer.update(g.right.grads, s0.params)(s0.optState)
        expect(Tree.equals(s1.params, Optim.applyUpdates(s0.params, updates))).toBe(true)
        expect(Tree.equals(s1.optState as never, optState as never)).toBe(true)
        expect(s1.rng).toEqual(afterGrad.rng)
        expect(r.right).toEqual(g.right.metrics)
      }),
      lawParameters(30)
    )
  })
})
