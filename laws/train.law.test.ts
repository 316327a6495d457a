/**
 * Training is a pure state transition: same seed → bit-identical params; k + m steps equal k steps then
 * m more (so resuming from any state equals not stopping); a non-finite step returns the last good state.
 */
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Data, Layers, Loss, Optim, Random, Tensor, Train, Tree } from '../src/index.ts'
import { seed } from './arbitraries.ts'

/** A small classification task whose labels follow a fixed linear rule of the inputs. */
const task = (s: number, n = 48, features = 6, classes = 3): Data.Dataset => {
  const x = Random.normal(Random.key(s), [n, features])
  const w = Random.normal(Random.key(s + 1), [features, classes])
  const labels = Tensor.toRows(x).map((row) => {
    const scores = Array.from({ length: classes }, (_, c) => row.reduce((a, v, j) => a + v * (w.data[j * classes + c] as number), 0))
    return scores.indexOf(Math.max(...scores))
  })
  return E.getOrElseW((e: Data.DataError) => { throw new Error(e.message) })(Data.fromLabelled(x, labels, classes))
}

// BatchNorm and dropout make the state (running stats, PRNG key) matter.
const network = Layers.sequential(
  Layers.dense(6, 8), Layers.batchNorm(8), Layers.relu(), Layers.dropout(0.2), Layers.dense(8, 3)
)
const optimizer = Optim.adam(1e-2)
const step = Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer)
const run = (batches: ReadonlyArray<Data.Dataset>) => Train.traverseSteps(step)(batches)

describe('training laws', () => {
  it('same seed → bit-identical state after k steps', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 1, max: 6 }), (s, k) => {
        const batches = Array.from({ length: k }, (_, i) => Data.batches(task(s), 16)[i % 3] as Data.Dataset)
        const [, a] = run(batches)(Train.initialState(network, optimizer, s))
        const [, b] = run(batches)(Train.initialState(network, optimizer, s))
        expect(Tree.equals(a.params, b.params)).toBe(true)
        expect(Tree.equals(a.layerState, b.layerState)).toBe(true)
        expect(a.rng).toEqual(b.rng)
        expect(a.step).toBe(k)
      }),
      { numRuns: 10 }
    )
  })

  it('k + m steps equal k steps then m more', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), (s, k, m) => {
        const all = Data.epochBatches(task(s, 96), 12, Random.key(s), 0).slice(0, k + m)
        const s0 = Train.initialState(network, optimizer, s)
        const [, straight] = run(all)(s0)
        const [, half] = run(all.slice(0, k))(s0)
        const [, resumed] = run(all.slice(k))(half)
        expect(Tree.equals(straight.params, resumed.params)).toBe(true)
        expect(Tree.equals(straight.layerState, resumed.layerState)).toBe(true)
        expect(Tree.equals(straight.optState, resumed.optState)).toBe(true)
        expect(straight.step).toBe(resumed.step)
      }),
      { numRuns: 10 }
    )
  })

  it('a different seed gives different params', () => {
    const a = Train.initialState(network, optimizer, 1)
    const b = Train.initialState(network, optimizer, 2)
    expect(Tree.equals(a.params, b.params)).toBe(false)
  })

  it('a non-finite step stops with the step and the place, returning the last good state', () => {
    const data = task(3)
    const batches = Data.batches(data, 16)
    const good = batches.slice(0, 2)
    const poisoned = Tensor.withElement((batches[2] as Data.Dataset).inputs, 5, Number.NaN)
    const bad = { ...(batches[2] as Data.Dataset), inputs: poisoned }
    const [result, state] = run([...good, bad, ...good])(Train.initialState(network, optimizer, 0))
    const [, afterGood] = run(good)(Train.initialState(network, optimizer, 0))
    expect(E.isLeft(result)).toBe(true)
    if (E.isLeft(result)) {
      expect(result.left.step).toBe(2)
      expect(result.left._tag === 'NonFinite' && result.left.where).toBe('forward pass, layer input')
      expect(result.left.message).toMatch(/step 2/)
    }
    expect(Tree.equals(state.params, afterGood.params)).toBe(true)
    expect(state.step).toBe(2)
  })

  it('an exploding learning rate is caught at the first non-finite layer', () => {
    const plain = Layers.sequential(Layers.dense(6, 8), Layers.tanh(), Layers.dense(8, 3))
    const huge = Optim.sgd(1e300)
    const [result, state] = Train.traverseSteps(Train.trainStep(plain, Loss.softmaxCrossEntropy, huge))(Data.batches(task(4), 16))(
      Train.initialState(plain, huge, 0)
    )
    expect(E.isLeft(result)).toBe(true)
    if (E.isLeft(result)) expect(result.left._tag === 'NonFinite' ? result.left.where : result.left.message).toMatch(/^(params\[\d\]\.(W|b) after the optimizer update|forward pass, layer \[\d\] dense)/)
    expect(Tree.firstNonFinite(state.params)).toBeUndefined()
  })

  it('training reduces the loss on a learnable task', () => {
    const data = task(5, 96)
    const s0 = Train.initialState(network, optimizer, 5)
    const before = Train.evaluate(network, Loss.softmaxCrossEntropy, s0.params, s0.layerState, [data])
    const batches = Array.from({ length: 10 }, (_, e) => Data.epochBatches(data, 16, Random.key(5), e)).flat()
    const [, s1] = run(batches)(s0)
    const after = Train.evaluate(network, Loss.softmaxCrossEntropy, s1.params, s1.layerState, [data])
    expect(after.loss).toBeLessThan(before.loss / 2)
    expect(after.error).toBeLessThan(0.15)
  })

  it('predictLabels is the arg-max of one eval-mode forward pass, whatever the batch size', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 0, max: 48 }), fc.integer({ min: 1, max: 50 }), (s, n, batchSize) => {
        const { params, state } = network.init(Random.key(s))
        const x = Random.normal(Random.key(s + 1), [n, 6])
        const whole = Tensor.toRows(Layers.predict(network, params, state, x)).map((row) => row.indexOf(Math.max(...row)))
        expect(Train.predictLabels(network, params, state, x, batchSize)).toEqual(whole)
      }),
      { numRuns: 40 }
    )
  })
})
