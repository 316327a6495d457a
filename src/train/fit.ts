/**
 * The thin effectful runner around the pure train step: epochs, shuffling, progress, callbacks, and
 * the per-epoch statistics of the CMU 11-785 HW1 handout's `get_training_stats`.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type * as T from 'fp-ts/lib/Task.js'
import { type Dataset, batches, epochBatchStream } from '../data/Dataset.ts'
import type { Loss } from '../losses/Loss.ts'
import type { GradientTransformation, OptState } from '../optim/Transform.ts'
import * as Random from '../random/Key.ts'
import type * as Tree from '../tree/Tree.ts'
import { type EpochMetrics, type Network, type StepMetrics, type TrainState, type TrainingError, evaluate, initialState, summarize, trainStep } from './step.ts'

/** Per-epoch statistics (HW1 `get_training_stats`), one entry per completed epoch. @category model */
export interface History {
  readonly trainLoss: ReadonlyArray<number>
  /** Training error, approximated from each batch as it was trained on (HW1's hint). */
  readonly trainError: ReadonlyArray<number>
  readonly valLoss: ReadonlyArray<number>
  readonly valError: ReadonlyArray<number>
  readonly seconds: ReadonlyArray<number>
}

/** What a callback tells the runner after each epoch. @category model */
export type Decision = 'continue' | 'stop'

/** Runs after each epoch with the history so far; may perform effects (logging, checkpoints). @category model */
export type Callback<P extends Tree.Tree, S extends Tree.Tree, O extends OptState> = (history: History, state: TrainState<P, S, O>) => T.Task<Decision>

/** @category model */
export interface FitOptions<P extends Tree.Tree, S extends Tree.Tree, O extends OptState> {
  readonly network: Network<P, S>
  readonly loss: Loss
  readonly optimizer: GradientTransformation<O>
  readonly train: Dataset
  /** Evaluated in eval mode after every epoch; when absent, validation entries are NaN. */
  readonly validation?: Dataset
  readonly epochs: number
  readonly batchSize: number
  /** Seeds initialization, dropout and the data order. */
  readonly seed: number
  /** Continue from this state (e.g. a checkpoint) instead of a fresh one; must sit on an epoch boundary. */
  readonly initial?: TrainState<P, S, O>
  readonly callbacks?: ReadonlyArray<Callback<P, S, O>>
  /** Told about every step and epoch (default: nothing is reported); `nn-ts/node` has a progress bar. */
  readonly progress?: Progress
}

/**
 * Where `fit` reports progress: synchronous and effectful, so it can draw a bar or print lines; it
 * cannot change training.
 * @category model
 * @example
 * import type { Train } from 'nn-ts'
 * const lines: string[] = []
 * const quiet: Train.Progress = { epochStart: () => undefined, step: () => undefined, epochEnd: (line) => { lines.push(line) } }
 */
export interface Progress {
  /** An epoch (1-based `epoch` of `epochs`) of `steps` steps starts. */
  readonly epochStart: (epoch: number, epochs: number, steps: number) => void
  /** A step finished with this batch loss. */
  readonly step: (loss: number) => void
  /** The epoch finished; `line` summarizes it (losses, errors, seconds). */
  readonly epochEnd: (line: string) => void
}

/** @category model */
export interface FitResult<P extends Tree.Tree, S extends Tree.Tree, O extends OptState> {
  /** The state after the last completed step (the last good one if training failed). */
  readonly state: TrainState<P, S, O>
  readonly history: History
  /** Why training ended before `epochs`, if it did. */
  readonly stopped?: { readonly reason: 'callback'; readonly epoch: number } | { readonly reason: 'error'; readonly error: TrainingError }
}

const emptyHistory: History = { trainLoss: [], trainError: [], valLoss: [], valError: [], seconds: [] }

const append = (h: History, train: EpochMetrics, val: EpochMetrics | undefined, seconds: number): History => ({
  trainLoss: [...h.trainLoss, train.loss],
  trainError: [...h.trainError, train.error],
  valLoss: [...h.valLoss, val?.loss ?? Number.NaN],
  valError: [...h.valError, val?.error ?? Number.NaN],
  seconds: [...h.seconds, seconds]
})

/** The key that orders the data; separate from the state's key so data order depends on seed and epoch only. */
const dataKey = (seed: number): Random.Key => Random.fold(Random.key(seed), 0x0da7a)

const fmt = (x: number, digits = 4): string => (Number.isNaN(x) ? '-' : x.toFixed(digits))

/**
 * Trains for `epochs` epochs (or until a callback says stop or a step fails) and returns the final state
 * with per-epoch training and validation loss and error.
 *
 * @category runners
 * @example
 * import { Layers, Loss, Optim, Train } from 'nn-ts'
 * // const { state, history } = await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.adam(1e-3),
 * //   train, validation, epochs: 10, batchSize: 100, seed: 0 })()
 */
export const fit =
  <P extends Tree.Tree, S extends Tree.Tree, O extends OptState>(options: FitOptions<P, S, O>): T.Task<FitResult<P, S, O>> =>
  async () => {
    const { network, loss, optimizer, train, validation, epochs, batchSize, seed } = options
    if (!(Number.isInteger(epochs) && epochs >= 0)) throw new RangeError(`fit: epochs must be a non-negative integer, got ${epochs}`)
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`fit: batchSize must be a positive integer, got ${batchSize}`)
    const stepsPerEpoch = Math.ceil(train.labels.length / batchSize)
    let state = options.initial ?? initialState(network, optimizer, seed)
    if (state.step % stepsPerEpoch !== 0) {
      throw new RangeError(`fit: the initial state is at step ${state.step}, not on an epoch boundary of ${stepsPerEpoch} steps`)
    }
    const firstEpoch = state.step / stepsPerEpoch
    const step = trainStep(network, loss, optimizer)
    const valBatches = validation === undefined ? undefined : batches(validation, Math.max(batchSize, 1000))
    const progress = options.progress
    let history = emptyHistory
    for (let epoch = firstEpoch; epoch < firstEpoch + epochs; epoch++) {
      const started = performance.now()
      progress?.epochStart(epoch + 1, firstEpoch + epochs, stepsPerEpoch)
      const metrics: StepMetrics[] = []
      for (const b of epochBatchStream(train, batchSize, dataKey(seed), epoch)) {
        const [r, next] = step(b)(state)
        if (E.isLeft(r)) {
          return { state, history, stopped: { reason: 'error', error: r.left } }
        }
        state = next
        metrics.push(r.right)
        progress?.step(r.right.loss)
      }
      const trainStats = summarize(metrics)
      const valStats = valBatches === undefined ? undefined : evaluate(network, loss, state.params, state.layerState, valBatches)
      const seconds = (performance.now() - started) / 1000
      history = append(history, trainStats, valStats, seconds)
      progress?.epochEnd(
        `epoch ${epoch + 1}/${firstEpoch + epochs}  train loss ${fmt(trainStats.loss)} error ${fmt(trainStats.error)}  ` +
          `val loss ${fmt(valStats?.loss ?? Number.NaN)} error ${fmt(valStats?.error ?? Number.NaN)}  ${seconds.toFixed(1)} s`
      )
      for (const callback of options.callbacks ?? []) {
        if ((await callback(history, state)()) === 'stop') return { state, history, stopped: { reason: 'callback', epoch: epoch + 1 } }
      }
    }
    return { state, history }
  }

/**
 * Stops when the monitored validation loss (or error) has not improved by `minDelta` for `patience`
 * epochs. Pure: it reads only the history.
 * @category callbacks
 */
export const earlyStopping =
  <P extends Tree.Tree, S extends Tree.Tree, O extends OptState>(patience: number, monitor: 'valLoss' | 'valError' = 'valLoss', minDelta = 0): Callback<P, S, O> =>
  (history) =>
  () => {
    const values = history[monitor]
    let best = 0
    values.forEach((v, i) => {
      if (v < (values[best] as number) - minDelta) best = i
    })
    return Promise.resolve<Decision>(values.length - 1 - best >= patience ? 'stop' : 'continue')
  }

/**
 * Writes one line per epoch through `write` (e.g. to a log file).
 * @category callbacks
 */
export const logEpochs =
  <P extends Tree.Tree, S extends Tree.Tree, O extends OptState>(write: (line: string) => void): Callback<P, S, O> =>
  (history, state) =>
  () => {
    const i = history.trainLoss.length - 1
    write(
      JSON.stringify({
        epoch: i + 1,
        step: state.step,
        trainLoss: history.trainLoss[i],
        trainError: history.trainError[i],
        valLoss: history.valLoss[i],
        valError: history.valError[i],
        seconds: history.seconds[i]
      })
    )
    return Promise.resolve<Decision>('continue')
  }
