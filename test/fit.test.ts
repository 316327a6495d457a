import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { describe, expect, it } from 'vitest'
import { Data, Layers, Loss, Optim, Tensor, Train, Tree } from 'nn-ts'

// A small problem every test trains on: 23 rows (so batches of 5 leave a remainder), 3 classes.
const rows = Array.from({ length: 23 }, (_, i) => [Math.sin(i), Math.cos(2 * i), (i % 5) / 5])
const labels = rows.map((r) => (r[0] as number) > 0.3 ? 0 : (r[1] as number) > 0 ? 1 : 2)
const train = E.getOrElseW((e: Data.DataError) => { throw new Error(e.message) })(Data.fromLabelled(Tensor.fromRows(rows), labels, 3))
const validation = Data.take(train, 10)
const network = Layers.sequential(Layers.dense(3, 6), Layers.batchNorm(6), Layers.tanh(), Layers.dropout(0.1), Layers.dense(6, 3))
const optimizer = Optim.adam(0.01)
const base = { network, loss: Loss.softmaxCrossEntropy, optimizer, train, batchSize: 5, seed: 7 }

const right = async <A>(te: TE.TaskEither<unknown, A>): Promise<A> => {
  const r = await te()
  if (E.isLeft(r)) throw new Error(`expected Right, found Left: ${JSON.stringify((r.left as { message?: string }).message)}`)
  return r.right
}

describe('Train.fit', () => {
  it('trains epochs × stepsPerEpoch steps and records one history entry per epoch', async () => {
    const { state, history } = await right(Train.fit({ ...base, validation, epochs: 3 }))
    expect(state.step).toBe(3 * Train.stepsPerEpoch(23, 5))
    expect(history.trainLoss).toHaveLength(3)
    expect(history.valLoss.every(Number.isFinite)).toBe(true)
  })

  it('equals the pure traversal: trainEpoch over epochOrder, epoch after epoch, bit for bit', async () => {
    const { state } = await right(Train.fit({ ...base, epochs: 2 }))
    const epoch = Train.trainEpoch(network, Loss.softmaxCrossEntropy, optimizer)
    let s = Train.initialState(network, optimizer, 7)
    for (let e = 0; e < 2; e++) {
      const [r, next] = epoch(Train.epochOrder(train, 5, 7, e))(s)
      expect(E.isRight(r)).toBe(true)
      s = next
    }
    expect(Tree.equals(state.params, s.params)).toBe(true)
    expect(Tree.equals(state.layerState, s.layerState)).toBe(true)
  })

  it('resumes at any step (mid-epoch too) and ends where an uninterrupted run ends; epochs is the total', async () => {
    const whole = await right(Train.fit({ ...base, epochs: 3 }))
    const steps = Train.stepsPerEpoch(23, 5)
    for (const stopAt of [1, steps - 1, steps, steps + 2]) {
      const stop: Train.Callback = { name: 'stop', onStep: ({ state }) => TE.right(state.step === stopAt ? 'stop' : 'continue') }
      const first = await right(Train.fit({ ...base, epochs: 3, callbacks: [stop] }))
      expect(first.state.step).toBe(stopAt)
      expect(first.stoppedBy).toBe('stop')
      const rest = await right(Train.fit({ ...base, epochs: 3, initial: first.state }))
      expect(rest.state.step).toBe(whole.state.step)
      expect(Tree.equals(rest.state.params, whole.state.params)).toBe(true)
      expect(Tree.equals(rest.state.layerState, whole.state.layerState)).toBe(true)
    }
  })

  it('refuses bad options before training, as a Left (never a rejected promise)', async () => {
    for (const [options, words] of [
      [{ epochs: 1.5 }, 'epochs must be a non-negative integer, found 1.5'],
      [{ epochs: 1, batchSize: 0 }, 'batchSize must be a positive integer, found 0'],
      [{ epochs: 1, seed: 0.5 }, 'seed must be an integer'],
      [{ epochs: 1, callbacks: [Train.earlyStopping({ patience: 2 })] }, 'earlyStopping(valLoss): monitors valLoss, but there is no validation set']
    ] as const) {
      const r = await Train.fit({ ...base, ...options })()
      expect(E.isLeft(r) && r.left.error._tag === 'FitOptionsError').toBe(true)
      if (E.isLeft(r)) {
        expect(r.left.message).toContain(words)
        expect(r.left.state.step).toBe(0)
      }
    }
  })

  it('a failing effect stops training with the last good state and the history so far', async () => {
    const failAt2: Train.Callback = {
      name: 'disk',
      onEpoch: ({ epoch }) => (epoch === 2 ? TE.left({ _tag: 'CallbackError', callback: 'disk', message: 'no space left' }) : TE.right('continue'))
    }
    const r = await Train.fit({ ...base, epochs: 5, callbacks: [failAt2] })()
    expect(E.isLeft(r)).toBe(true)
    if (E.isLeft(r)) {
      expect(r.left.error._tag).toBe('CallbackError')
      expect(r.left.message).toBe('disk: no space left')
      expect(r.left.state.step).toBe(2 * Train.stepsPerEpoch(23, 5))
      expect(r.left.history.trainLoss).toHaveLength(2)
    }
  })

  it('a NaN stops training with the step that produced it and the state before it', async () => {
    const explode = Optim.sgd(1e30)
    const r = await Train.fit({ ...base, optimizer: explode, epochs: 5 })()
    expect(E.isLeft(r)).toBe(true)
    if (E.isLeft(r)) {
      expect(r.left.error._tag).toBe('NonFinite')
      if (r.left.error._tag === 'NonFinite') expect(r.left.state.step).toBe(r.left.error.step)
      expect(Tree.firstNonFinite(r.left.state.params)).toBeUndefined()
    }
  })

  it('earlyStopping stops after `patience` epochs without improvement; keepBest returns the best epoch', async () => {
    // A learning rate of 0 never improves: the first epoch stays the best.
    const frozen = { ...base, optimizer: Optim.sgd(0), validation, epochs: 10 }
    const r = await right(Train.fit({ ...frozen, callbacks: [Train.earlyStopping({ patience: 2 })], keepBest: 'valLoss' }))
    expect(r.history.trainLoss).toHaveLength(3)
    expect(r.stoppedBy).toBe('earlyStopping(valLoss)')
    expect(r.best?.epoch).toBe(1)
    const { best, history } = await right(Train.fit({ ...base, validation, epochs: 6, keepBest: 'valLoss' }))
    expect(best?.value).toBe(Math.min(...history.valLoss))
    expect(best?.state.step).toBe((best?.epoch ?? 0) * Train.stepsPerEpoch(23, 5))
  })

  it('a batch that does not fit the network is a BatchShapeError value, never a throw', async () => {
    const narrow = E.getOrElseW((e: Data.DataError) => { throw new Error(e.message) })(Data.fromLabelled(Tensor.zeros([4, 2]), [0, 1, 2, 0], 3))
    const [r, s] = Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer)(narrow)(Train.initialState(network, optimizer, 0))
    expect(E.isLeft(r) && r.left._tag === 'BatchShapeError').toBe(true)
    if (E.isLeft(r)) expect(r.left.message).toContain('inputs of shape [4, 2], expected [4, 3]')
    expect(s.step).toBe(0)
    const twoClasses = E.getOrElseW((e: Data.DataError) => { throw new Error(e.message) })(Data.fromLabelled(Tensor.zeros([4, 3]), [0, 1, 1, 0], 2))
    const f = await Train.fit({ ...base, train: twoClasses, epochs: 1 })()
    expect(E.isLeft(f) && f.left.error._tag === 'BatchShapeError').toBe(true)
    if (E.isLeft(f)) expect(f.left.message).toContain('targets of shape [4, 2], expected [4, 3]')
  })

  it('trains in float64 end to end with one option', async () => {
    const { state } = await right(Train.fit({ ...base, epochs: 1, dtype: 'float64' }))
    expect(Tree.leaves(state.params).every((l) => l.value.dtype === 'float64')).toBe(true)
  })

  it('reports progress for every step and epoch', async () => {
    const seen: string[] = []
    const progress: Train.Progress = {
      epochStart: (epoch, epochs, steps, from) => seen.push(`start ${epoch}/${epochs} ${steps} ${from}`),
      step: () => seen.push('step'),
      epochEnd: (line) => seen.push(line.split('  ')[0] as string)
    }
    await right(Train.fit({ ...base, epochs: 1, progress }))
    expect(seen).toEqual(['start 1/1 5 0', 'step', 'step', 'step', 'step', 'step', 'epoch 1/1'])
  })
})
