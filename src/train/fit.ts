/**
 * The training loop: the pure steps of `trainEpoch`, interleaved with effects (progress, checkpoints,
 * logging, early stopping) that can fail and stop training cleanly, and the per-epoch statistics of
 * the CMU 11-785 HW1 handout's `get_training_stats` (training and validation loss and error).
 *
 * `fit` is a `TaskEither`: `Right` with the final state and history when training ran to `epochs` or
 * a callback stopped it; `Left` with the last good state and the history so far when a step produced
 * NaN/Infinity or an effect failed (so the caller can always save something resumable). Options are
 * checked before any step runs. Resuming is passing the saved state as `initial`: training continues
 * at its step — mid-epoch too, since the batch order is a pure function of the seed and the epoch —
 * up to `epochs` epochs in all.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { type Dataset, batches, size, withDType } from '../data/Dataset.ts'
import type { Loss } from '../losses/Loss.ts'
import type { GradientTransformation, OptState } from '../optim/Transform.ts'
import type { DType } from '../tensor/Tensor.ts'
import * as Tree from '../tree/Tree.ts'
import {
  type EpochMetrics,
  type Network,
  type TrainingError,
  type StepMetrics,
  type TrainState,
  epochOrder,
  evaluate,
  initialState,
  stepsPerEpoch,
  summarize,
  trainStep,
  traverseSteps
} from './step.ts'

// model

/**
 * Per-epoch statistics (HW1 `get_training_stats`), one entry per completed epoch.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const run = await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.adam(0.05), train: xor.right, epochs: 2, batchSize: 4, seed: 0 })()
 * const history: Train.History | undefined = E.isRight(run) ? run.right.history : undefined
 * history?.trainLoss.length // 2: one entry per epoch
 * history?.valLoss // [NaN, NaN]: no validation set
 */
export interface History {
  readonly trainLoss: ReadonlyArray<number>
  /** Training error, approximated from each batch as it was trained on (HW1's hint). */
  readonly trainError: ReadonlyArray<number>
  /** NaN for every epoch when there is no validation set. */
  readonly valLoss: ReadonlyArray<number>
  readonly valError: ReadonlyArray<number>
  readonly seconds: ReadonlyArray<number>
}

/**
 * What a callback tells the loop.
 * @category model
 * @example
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import type { Train } from 'nn-ts'
 * const decide = (loss: number): Train.Decision => (loss < 0.01 ? 'stop' : 'continue')
 * const goodEnough: Train.Callback = { name: 'goodEnough', onEpoch: ({ history }) => TE.right(decide(history.trainLoss.at(-1) ?? 1)) }
 * decide(0.001) // 'stop'
 */
export type Decision = 'continue' | 'stop'

/**
 * A step has finished.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train, type Tree } from 'nn-ts'
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const afterThree = (event: Train.StepEvent<Tree.Tree, Tree.Tree, Optim.OptState>) => TE.right(event.state.step >= 3 ? ('stop' as const) : ('continue' as const))
 * const run = await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.sgd(0.5), train: xor.right, epochs: 10, batchSize: 2, seed: 0,
 *   callbacks: [{ name: 'afterThree', onStep: afterThree }] })()
 * if (E.isRight(run)) run.right.stoppedBy // 'afterThree'
 * if (E.isRight(run)) run.right.state.step // 3: in epoch 2, two steps per epoch
 */
export interface StepEvent<P extends Tree.Tree, S extends Tree.Tree, O extends OptState> {
  readonly state: TrainState<P, S, O>
  readonly metrics: StepMetrics
  /** The epoch the step belongs to, 1-based. */
  readonly epoch: number
  /** Steps taken so far in that epoch (1-based; the last is `stepsPerEpoch`). */
  readonly stepInEpoch: number
  readonly stepsPerEpoch: number
}

/**
 * An epoch has finished (and been validated).
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train, type Tree } from 'nn-ts'
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const seen: string[] = []
 * const note = (event: Train.EpochEvent<Tree.Tree, Tree.Tree, Optim.OptState>) => {
 *   seen.push(`epoch ${event.epoch}: step ${event.state.step}`)
 *   return TE.right('continue' as const)
 * }
 * await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.sgd(0.5), train: xor.right, epochs: 2, batchSize: 2, seed: 0,
 *   callbacks: [{ name: 'note', onEpoch: note }] })()
 * seen // ['epoch 1: step 2', 'epoch 2: step 4']
 */
export interface EpochEvent<P extends Tree.Tree, S extends Tree.Tree, O extends OptState> {
  readonly state: TrainState<P, S, O>
  readonly history: History
  /** Epochs completed, counting those before a resume. */
  readonly epoch: number
}

/**
 * An effect of a callback failed (a checkpoint could not be written, …).
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const diskFull: Train.CallbackError = { _tag: 'CallbackError', callback: 'save', message: 'no space left on device' }
 * const save: Train.Callback = { name: 'save', onEpoch: () => TE.left(diskFull) }
 * const run = await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.sgd(0.5), train: xor.right, epochs: 5, batchSize: 4, seed: 0, callbacks: [save] })()
 * if (E.isLeft(run)) run.left.message // 'save: no space left on device'
 * if (E.isLeft(run)) run.left.state.step // 1: the state after epoch 1, saved by the caller instead
 */
export interface CallbackError {
  readonly _tag: 'CallbackError'
  /** The callback's `name`. */
  readonly callback: string
  readonly message: string
}

/**
 * An effect run by `fit` after every step and/or every epoch. It can stop training (`Right('stop')`)
 * or fail (`Left`), which stops training and returns the last good state. `check` refuses options
 * the callback cannot work with before any step runs.
 * @category model
 * @example
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import type { Train } from 'nn-ts'
 * // Stops once the training loss is below 0.01.
 * const goodEnough: Train.Callback = {
 *   name: 'goodEnough',
 *   onEpoch: ({ history }) => TE.right((history.trainLoss.at(-1) ?? 1) < 0.01 ? 'stop' : 'continue')
 * }
 * goodEnough.check // undefined: it works with any options
 */
export interface Callback<P extends Tree.Tree = Tree.Tree, S extends Tree.Tree = Tree.Tree, O extends OptState = OptState> {
  readonly name: string
  /** Why these options cannot work with this callback, if they cannot. */
  readonly check?: (plan: Plan) => string | undefined
  readonly onStep?: (event: StepEvent<P, S, O>) => TE.TaskEither<CallbackError, Decision>
  readonly onEpoch?: (event: EpochEvent<P, S, O>) => TE.TaskEither<CallbackError, Decision>
}

/**
 * Where `fit` reports progress: synchronous and effectful, so it can draw a bar or print lines; it
 * cannot change training. `nn-ts/node`'s `progressBar` draws on a terminal.
 * @category model
 * @example
 * import type { Train } from 'nn-ts'
 * const lines: string[] = []
 * const quiet: Train.Progress = { epochStart: () => undefined, step: () => undefined, epochEnd: (line) => { lines.push(line) } }
 * quiet.epochEnd('epoch 1/1  train loss 0.1000')
 * lines // ['epoch 1/1  train loss 0.1000']
 */
export interface Progress {
  /** An epoch (1-based `epoch` of `epochs`) of `steps` steps starts (at step `from` when resuming). */
  readonly epochStart: (epoch: number, epochs: number, steps: number, from: number) => void
  /** A step finished with this batch loss. */
  readonly step: (loss: number) => void
  /** The epoch finished; `line` summarizes it (losses, errors, seconds). */
  readonly epochEnd: (line: string) => void
}

/**
 * What `fit` will do, as callbacks' `check` sees it.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const needsValidation: Train.Callback = {
 *   name: 'needsValidation',
 *   check: (plan: Train.Plan) => (plan.hasValidation ? undefined : `there is no validation set (${plan.epochs} epochs of ${plan.stepsPerEpoch} steps planned)`)
 * }
 * const run = await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.sgd(0.5), train: xor.right, epochs: 3, batchSize: 2, seed: 0, callbacks: [needsValidation] })()
 * if (E.isLeft(run)) run.left.message // 'fit: needsValidation: there is no validation set (3 epochs of 2 steps planned)'
 */
export interface Plan {
  readonly epochs: number
  readonly batchSize: number
  readonly stepsPerEpoch: number
  readonly hasValidation: boolean
  /** The step training starts from (0, or a resumed state's). */
  readonly startStep: number
}

/**
 * What `fit` trains, on what, for how long, and which effects run around the steps.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const optimizer = Optim.adam(0.05)
 * const options: Train.FitOptions<Layers.ParamsOf<typeof network>, Layers.StateOf<typeof network>, Optim.StateOf<typeof optimizer>> = {
 *   network, loss: Loss.softmaxCrossEntropy, optimizer, train: xor.right, validation: xor.right,
 *   epochs: 100, batchSize: 4, seed: 0, keepBest: 'valLoss'
 * }
 * const run = await Train.fit(options)()
 * if (E.isRight(run)) run.right.best?.epoch // 100: the validation loss fell every epoch
 */
export interface FitOptions<P extends Tree.Tree, S extends Tree.Tree, O extends OptState> {
  readonly network: Network<P, S>
  readonly loss: Loss
  readonly optimizer: GradientTransformation<O>
  readonly train: Dataset
  /** Evaluated in eval mode after every epoch; when absent, validation entries are NaN. */
  readonly validation?: Dataset
  /** Epochs in all: a resumed run trains only the rest. */
  readonly epochs: number
  readonly batchSize: number
  /** Seeds initialization, dropout and the data order. */
  readonly seed: number
  /** The dtype of a fresh state's params, layer state and optimizer state (default float32). */
  readonly dtype?: DType
  /** Continue from this state (e.g. a checkpoint's), at any step. */
  readonly initial?: TrainState<P, S, O>
  /** The history of the epochs before `initial` (it is extended, not replaced). */
  readonly history?: History
  readonly callbacks?: ReadonlyArray<Callback<P, S, O>>
  /** Told about every step and epoch (default: nothing is reported). */
  readonly progress?: Progress
  /** Keep the state of the epoch with the lowest value of this statistic (in `best`). */
  readonly keepBest?: keyof Omit<History, 'seconds'>
}

/**
 * How training ended: the final state and history, the callback that stopped it early if one did, and with `keepBest` the best epoch's state.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const run = await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.adam(0.05), train: xor.right, epochs: 3, batchSize: 4, seed: 0 })()
 * if (E.isRight(run)) run.right.state.step // 3
 * if (E.isRight(run)) run.right.stoppedBy // undefined: ran to the end
 */
export interface FitResult<P extends Tree.Tree, S extends Tree.Tree, O extends OptState> {
  /** The state after the last step. */
  readonly state: TrainState<P, S, O>
  readonly history: History
  /** The callback that stopped training before `epochs`, if one did. */
  readonly stoppedBy?: string
  /** With `keepBest`: the epoch (1-based) with the lowest value, and its state. */
  readonly best?: { readonly epoch: number; readonly value: number; readonly state: TrainState<P, S, O> }
}

/**
 * Options that cannot work, found before training.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const run = await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.sgd(0.5), train: xor.right, epochs: 1.5, batchSize: 4, seed: 0 })()
 * if (E.isLeft(run)) run.left.error // { _tag: 'FitOptionsError', message: 'epochs must be a non-negative integer, found 1.5' }
 */
export interface FitOptionsError {
  readonly _tag: 'FitOptionsError'
  readonly message: string
}

/**
 * Why `fit` stopped without finishing, with the last good state and the history so far.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * // A learning rate so large that the first update overflows float32.
 * const run = await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.sgd(1e40), train: xor.right, epochs: 1, batchSize: 4, seed: 0 })()
 * if (E.isLeft(run)) run.left.error._tag // 'NonFinite'
 * if (E.isLeft(run)) run.left.state.step // 0: the last good state, before the step
 */
export interface FitFailure<P extends Tree.Tree, S extends Tree.Tree, O extends OptState> {
  readonly _tag: 'FitFailure'
  readonly error: TrainingError | CallbackError | FitOptionsError
  readonly message: string
  /** The last good state: every step before the failure, none after. */
  readonly state: TrainState<P, S, O>
  readonly history: History
}

// constructors

/**
 * The history of no epochs.
 * @category constructors
 * @example
 * import { Train } from 'nn-ts'
 * Train.emptyHistory // { trainLoss: [], trainError: [], valLoss: [], valError: [], seconds: [] }
 */
export const emptyHistory: History = { trainLoss: [], trainError: [], valLoss: [], valError: [], seconds: [] }

// runner

const append = (h: History, train: EpochMetrics, val: EpochMetrics | undefined, seconds: number): History => ({
  trainLoss: [...h.trainLoss, train.loss],
  trainError: [...h.trainError, train.error],
  valLoss: [...h.valLoss, val?.loss ?? Number.NaN],
  valError: [...h.valError, val?.error ?? Number.NaN],
  seconds: [...h.seconds, seconds]
})

const fmt = (x: number, digits = 4): string => (Number.isNaN(x) ? '-' : x.toFixed(digits))

const optionsProblem = <P extends Tree.Tree, S extends Tree.Tree, O extends OptState>(o: FitOptions<P, S, O>): string | undefined => {
  if (!(Number.isInteger(o.epochs) && o.epochs >= 0)) return `epochs must be a non-negative integer, found ${o.epochs}`
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) return `batchSize must be a positive integer, found ${o.batchSize}`
  if (!Number.isInteger(o.seed)) return `seed must be an integer, found ${o.seed}`
  if (size(o.train) === 0) return 'the training set is empty'
  const step = o.initial?.step
  if (step !== undefined && !(Number.isInteger(step) && step >= 0)) return `the initial state's step must be a non-negative integer, found ${step}`
  return undefined
}

/**
 * Trains until the state has taken `epochs` epochs of steps (or a callback stops it, a step produces
 * NaN/Infinity, or an effect fails). Each epoch trains on the seeded order of that epoch, then
 * evaluates `validation`, reports progress and runs the callbacks' `onEpoch`.
 *
 * @category runners
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const x = Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]])
 * const xor = Data.fromLabelled(x, [0, 1, 1, 0], 2)
 * if (E.isRight(xor)) {
 *   const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 *   const run = Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.adam(0.05),
 *     train: xor.right, epochs: 200, batchSize: 4, seed: 0 }) // a TaskEither: nothing has run yet
 *   const result = await run()
 *   if (E.isRight(result)) result.right.history.trainError.at(-1) // 0: XOR learned
 * }
 */
export const fit =
  <P extends Tree.Tree, S extends Tree.Tree, O extends OptState>(options: FitOptions<P, S, O>): TE.TaskEither<FitFailure<P, S, O>, FitResult<P, S, O>> =>
  async () => {
    const { network, loss, optimizer, train, validation, epochs, batchSize, seed, progress } = options
    const callbacks = options.callbacks ?? []
    let history = options.history ?? emptyHistory
    const refuse = (message: string, state: TrainState<P, S, O>): E.Either<FitFailure<P, S, O>, never> =>
      E.left({ _tag: 'FitFailure', error: { _tag: 'FitOptionsError', message }, message: `fit: ${message}`, state, history })
    const problem = optionsProblem(options)
    const start = options.initial ?? initialState(network, optimizer, Number.isInteger(seed) ? seed : 0, options.dtype)
    if (problem !== undefined) return refuse(problem, start)
    const steps = stepsPerEpoch(size(train), batchSize)
    const plan: Plan = { epochs, batchSize, stepsPerEpoch: steps, hasValidation: validation !== undefined, startStep: start.step }
    for (const c of callbacks) {
      const why = c.check?.(plan)
      if (why !== undefined) return refuse(`${c.name}: ${why}`, start)
    }
    const fail = (error: TrainingError | CallbackError, state: TrainState<P, S, O>): E.Either<FitFailure<P, S, O>, never> =>
      E.left({ _tag: 'FitFailure', error, message: error._tag === 'CallbackError' ? `${error.callback}: ${error.message}` : error.message, state, history })

    // Batches take the dtype of the params (float64 training casts each batch as it comes).
    const dtype = Tree.leaves(start.params)[0]?.value.dtype ?? 'float32'
    const plain = trainStep(network, loss, optimizer)
    const step = dtype === 'float32' ? plain : (b: Dataset) => plain(withDType(b, dtype))
    // Progress sees every step through the same traversal trainEpoch uses.
    const reported = progress === undefined ? step : (b: Dataset) => (s: TrainState<P, S, O>) => {
      const out = step(b)(s)
      if (E.isRight(out[0])) progress.step(out[0].right.loss)
      return out
    }
    const stepCallbacks = callbacks.filter((c) => c.onStep !== undefined)
    const valBatches = validation === undefined ? undefined : batches(withDType(validation, dtype), Math.max(batchSize, 1000))
    let state = start
    let best: FitResult<P, S, O>['best']
    for (let epoch = Math.floor(state.step / steps); epoch < epochs; epoch++) {
      const started = performance.now()
      const from = state.step - epoch * steps
      progress?.epochStart(epoch + 1, epochs, steps, from)
      const metrics: StepMetrics[] = []
      const order = epochOrder(train, batchSize, seed, epoch, from)
      // Without step callbacks the epoch is one traversal; with them, one traversal per step, each
      // followed by the callbacks' effects.
      const chunks: Iterable<Iterable<Dataset>> = stepCallbacks.length === 0 ? [order] : (function* () { for (const b of order) yield [b] })()
      for (const chunk of chunks) {
        const [r, next] = traverseSteps(reported)(chunk)(state)
        if (E.isLeft(r)) return fail(r.left, next)
        state = next
        for (const m of r.right) metrics.push(m)
        for (const c of stepCallbacks) {
          const event: StepEvent<P, S, O> = { state, metrics: r.right[0] as StepMetrics, epoch: epoch + 1, stepInEpoch: state.step - epoch * steps, stepsPerEpoch: steps }
          const d = await (c.onStep as NonNullable<typeof c.onStep>)(event)()
          if (E.isLeft(d)) return fail(d.left, state)
          if (d.right === 'stop') return E.right({ state, history, stoppedBy: c.name, ...(best === undefined ? {} : { best }) })
        }
      }
      const trainStats = summarize(metrics)
      const valStats = valBatches === undefined ? undefined : evaluate(network, loss, state.params, state.layerState, valBatches)
      const seconds = (performance.now() - started) / 1000
      history = append(history, trainStats, valStats, seconds)
      progress?.epochEnd(
        `epoch ${epoch + 1}/${epochs}  train loss ${fmt(trainStats.loss)} error ${fmt(trainStats.error)}  ` +
          `val loss ${fmt(valStats?.loss ?? Number.NaN)} error ${fmt(valStats?.error ?? Number.NaN)}  ${seconds.toFixed(1)} s`
      )
      if (options.keepBest !== undefined) {
        const value = history[options.keepBest].at(-1) as number
        if (best === undefined || value < best.value) best = { epoch: epoch + 1, value, state }
      }
      for (const c of callbacks) {
        if (c.onEpoch === undefined) continue
        const d = await c.onEpoch({ state, history, epoch: epoch + 1 })()
        if (E.isLeft(d)) return fail(d.left, state)
        if (d.right === 'stop') return E.right({ state, history, stoppedBy: c.name, ...(best === undefined ? {} : { best }) })
      }
    }
    return E.right({ state, history, ...(best === undefined ? {} : { best }) })
  }

// callbacks

/**
 * When `earlyStopping` stops: the statistic it watches, how many epochs without improvement it waits, and the smallest change that counts.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * // The training error plateaus at 50 % before XOR is learned: a patience of 2 would stop there.
 * const when: Train.EarlyStoppingOptions = { patience: 20, monitor: 'trainError' }
 * const run = await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.adam(0.05), train: xor.right, epochs: 500, batchSize: 4, seed: 0,
 *   callbacks: [Train.earlyStopping(when)] })()
 * if (E.isRight(run)) run.right.stoppedBy // 'earlyStopping(trainError)'
 * const errors = E.isRight(run) ? run.right.history.trainError : []
 * errors.length - errors.indexOf(0) // 21: the first epoch without errors, then 20 without improvement
 */
export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping. */
  readonly patience: number
  /** The statistic to watch (default `'valLoss'`, which needs a validation set). */
  readonly monitor?: keyof Omit<History, 'seconds'>
  /** An improvement smaller than this does not count (default 0). */
  readonly minDelta?: number
}

/**
 * Stops when the monitored statistic has not improved by `minDelta` for `patience` epochs. Pure: it
 * reads only the history. Monitoring a validation statistic without a validation set is refused
 * before training. To end with the best epoch's weights, pass `keepBest` to `fit` and use `best.state`.
 * @category callbacks
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const stop = Train.earlyStopping({ patience: 3, monitor: 'valError' })
 * stop.name // 'earlyStopping(valError)'
 * // Watching a validation statistic without a validation set is refused before any step.
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const run = await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.sgd(0.5), train: xor.right, epochs: 9, batchSize: 4, seed: 0, callbacks: [stop] })()
 * if (E.isLeft(run)) run.left.message // 'fit: earlyStopping(valError): monitors valError, but there is no validation set'
 */
export const earlyStopping = <P extends Tree.Tree, S extends Tree.Tree, O extends OptState>(options: EarlyStoppingOptions): Callback<P, S, O> => {
  const { patience, monitor = 'valLoss', minDelta = 0 } = options
  return {
    name: `earlyStopping(${monitor})`,
    check: (plan) => {
      if (!(Number.isInteger(patience) && patience >= 1)) return `patience must be a positive integer, found ${patience}`
      if (!(minDelta >= 0)) return `minDelta must be ≥ 0, found ${minDelta}`
      return monitor.startsWith('val') && !plan.hasValidation ? `monitors ${monitor}, but there is no validation set` : undefined
    },
    onEpoch: ({ history }) => async () => {
      const values = history[monitor]
      let best = 0
      values.forEach((v, i) => {
        if (v < (values[best] as number) - minDelta) best = i
      })
      return E.right(values.length - 1 - best >= patience ? 'stop' : 'continue')
    }
  }
}

/**
 * Writes one JSON line per epoch through `write` (e.g. to a log file); a `write` that throws stops
 * training with a `CallbackError`.
 * @category callbacks
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const lines: string[] = []
 * const log = Train.logEpochs((line) => lines.push(line))
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.sgd(0.5), train: xor.right, epochs: 2, batchSize: 2, seed: 0, callbacks: [log] })()
 * lines.length // 2
 * JSON.parse(lines[1] ?? '') // { epoch: 2, step: 4, trainLoss: …, trainError: …, valLoss: null, valError: null, seconds: … }: JSON writes NaN as null
 */
export const logEpochs = <P extends Tree.Tree, S extends Tree.Tree, O extends OptState>(write: (line: string) => void): Callback<P, S, O> => ({
  name: 'logEpochs',
  onEpoch: ({ history, state, epoch }) => async () => {
    const i = history.trainLoss.length - 1
    try {
      write(
        JSON.stringify({
          epoch,
          step: state.step,
          trainLoss: history.trainLoss[i],
          trainError: history.trainError[i],
          valLoss: history.valLoss[i],
          valError: history.valError[i],
          seconds: history.seconds[i]
        })
      )
      return E.right('continue' as const)
    } catch (e) {
      return E.left({ _tag: 'CallbackError' as const, callback: 'logEpochs', message: e instanceof Error ? e.message : String(e) })
    }
  }
})
