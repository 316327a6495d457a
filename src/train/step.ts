/**
 * Training as a pure state transition.
 *
 * `trainStep(network, loss, optimizer)(batch)` is a `State<TrainState, Either<TrainingError, StepMetrics>>`:
 * forward in train mode, loss, backward, optimizer update. If anything non-finite appears, the step
 * returns `Left` naming the step and the place, and the state it returns is the last good one.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { State } from 'fp-ts/lib/State.js'
import { type Dataset, epochBatchStream } from '../data/Dataset.ts'
import { type Layer, type Width, locateNonFinite, predict } from '../layers/Layer.ts'
import type { Loss } from '../losses/Loss.ts'
import { type GradientTransformation, type OptState, updateAndApplyChecked } from '../optim/Transform.ts'
import * as Random from '../random/Key.ts'
import { kernels as K } from '../tensor/backend.ts'
import { type DType, type Tensor, isFinite, sliceRows } from '../tensor/Tensor.ts'
import * as Tree from '../tree/Tree.ts'

/**
 * A network as the trainer sees it.
 * @category model
 * @example
 * import { Layers, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 4), Layers.relu())
 * const asTrained: Train.Network<Layers.ParamsOf<typeof net>, Layers.StateOf<typeof net>> = net // widths as plain numbers
 * asTrained.inWidth // 2
 */
export type Network<P extends Tree.Tree, S extends Tree.Tree> = Layer<P, S, Width, Width>

/**
 * Everything that changes during training, as one immutable value.
 * @category model
 * @example
 * import { Layers, Optim, Train, Tree } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 4), Layers.relu(), Layers.dense(4, 2))
 * const optimizer = Optim.momentum(0.1, 0.9)
 * const s0: Train.TrainState<Layers.ParamsOf<typeof net>, Layers.StateOf<typeof net>, Optim.StateOf<typeof optimizer>> = Train.initialState(net, optimizer, 42)
 * s0.step // 0
 * Tree.equals(s0.params, Train.initialState(net, optimizer, 42).params) // true: one seed, one state
 */
export interface TrainState<P extends Tree.Tree, S extends Tree.Tree, O extends OptState> {
  readonly params: P
  /** Layer state, e.g. BatchNorm running statistics. */
  readonly layerState: S
  readonly optState: O
  /** The key the next step draws from (split every step). */
  readonly rng: Random.Key
  /** Steps taken so far. */
  readonly step: number
}

/**
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const [r] = Train.trainStep(net, Loss.softmaxCrossEntropy, Optim.sgd(0.5))(xor.right)(Train.initialState(net, Optim.sgd(0.5), 0))
 * const metrics: Train.StepMetrics | undefined = E.isRight(r) ? r.right : undefined
 * metrics // { loss: …, errors: …, size: 4 }
 */
export interface StepMetrics {
  /** Mean loss over the batch. */
  readonly loss: number
  /** Rows whose arg-max prediction differs from the label. */
  readonly errors: number
  readonly size: number
}

/**
 * Training stopped because a value became NaN or ±Infinity.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Init, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 2, { weightInit: Init.constant(Infinity) }))
 * const batch = Data.fromLabelled(Tensor.fromRows([[1, 1]]), [0], 2)
 * if (E.isLeft(batch)) throw new Error(batch.left.message)
 * const s0 = Train.initialState(net, Optim.sgd(0.1), 0)
 * const [r, s] = Train.trainStep(net, Loss.softmaxCrossEntropy, Optim.sgd(0.1))(batch.right)(s0)
 * const error: Train.NonFiniteError | undefined = E.isLeft(r) && r.left._tag === 'NonFinite' ? r.left : undefined
 * error?.where // 'forward pass, layer [0] dense(2→2)'
 * s === s0 // true: the last good state
 */
export interface NonFiniteError {
  readonly _tag: 'NonFinite'
  /** The step (0-based count of steps before it) that produced the value. */
  readonly step: number
  /** Where, for a person: `forward pass, output of …`, `loss …`, `backward pass, gradient of params[2].W`, `layerState[1].runningVar`, `params[0].b after the optimizer update`, `optState[0].nu[0].W after the optimizer update`. */
  readonly where: string
  readonly message: string
}

/**
 * A batch that does not fit the network: its width is not the network's input width, or its targets
 * do not have one column per output.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 2))
 * const threeFeatures = Data.fromLabelled(Tensor.fromRows([[1, 2, 3]]), [0], 2)
 * if (E.isLeft(threeFeatures)) throw new Error(threeFeatures.left.message)
 * const [r] = Train.trainStep(net, Loss.softmaxCrossEntropy, Optim.sgd(0.1))(threeFeatures.right)(Train.initialState(net, Optim.sgd(0.1), 0))
 * if (E.isLeft(r)) r.left // { _tag: 'BatchShapeError', step: 0, message: 'the batch offered to step 0 does not fit: inputs of shape [1, 3], expected [1, 2] for sequential(dense(2→2))' }
 */
export interface BatchShapeError {
  readonly _tag: 'BatchShapeError'
  /** The step it was offered to. */
  readonly step: number
  readonly message: string
}

/**
 * Why a step did not happen.
 * @category model
 * @example
 * import type { Train } from 'nn-ts'
 * const explain = (e: Train.TrainingError): string =>
 *   e._tag === 'NonFinite' ? `diverged at step ${e.step} (${e.where}): lower the learning rate` : `bad data: ${e.message}`
 * explain({ _tag: 'BatchShapeError', step: 3, message: 'inputs of shape [1, 3], expected [1, 2]' }) // 'bad data: inputs of shape [1, 3], expected [1, 2]'
 */
export type TrainingError = NonFiniteError | BatchShapeError

/** Whether `batch` fits `network`, as a message when it does not (widths known only at run time included). */
const batchMismatch = <P extends Tree.Tree, S extends Tree.Tree>(network: Network<P, S>, batch: Dataset): string | undefined => {
  const [rows, width] = batch.inputs.shape
  const [targetRows, classes] = batch.targets.shape
  if (batch.inputs.shape.length !== 2) return `inputs of shape [${batch.inputs.shape.join(', ')}], expected [rows, features]`
  if (typeof network.inWidth === 'number' && width !== network.inWidth) {
    return `inputs of shape [${rows}, ${width}], expected [${rows}, ${network.inWidth}] for ${network.name}`
  }
  if (typeof network.outWidth === 'number' && (batch.targets.shape.length !== 2 || classes !== network.outWidth)) {
    return `targets of shape [${batch.targets.shape.join(', ')}], expected [${rows}, ${network.outWidth}] (one column per output of ${network.name})`
  }
  if (targetRows !== rows || batch.labels.length !== rows) return `${rows} input rows but ${targetRows} target rows and ${batch.labels.length} labels`
  return undefined
}

const nonFinite = (step: number, where: string): NonFiniteError => ({
  _tag: 'NonFinite',
  step,
  where,
  message: `non-finite value (NaN or Infinity) at step ${step} in ${where}; the returned state is the last good one (before step ${step})`
})

/**
 * The first training state: params and layer state from `network.init`, optimizer state from
 * `optimizer.init`, all of `dtype` (default float32; float64 for training in double precision). One
 * seed determines everything.
 * @category constructors
 * @example
 * import { Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 4), Layers.tanh(), Layers.dense(4, 2))
 * const s0 = Train.initialState(net, Optim.sgd(0.1), 42)
 * const s64 = Train.initialState(net, Optim.sgd(0.1), 42, 'float64')
 * s64.params[0].W.dtype // 'float64'
 */
export const initialState = <P extends Tree.Tree, S extends Tree.Tree, O extends OptState>(
  network: Network<P, S>,
  optimizer: GradientTransformation<O>,
  seed: number,
  dtype: DType = 'float32'
): TrainState<P, S, O> => {
  const [kInit, rng] = Random.split(Random.key(seed))
  const { params, state } = network.init(kInit, dtype)
  return { params, layerState: state, optState: optimizer.init(params), rng, step: 0 }
}

/**
 * Steps in one epoch of `examples` rows in batches of `batchSize` (the last batch holds the rest).
 * @category utils
 * @example
 * import { Train } from 'nn-ts'
 * Train.stepsPerEpoch(55000, 100) // 550
 * Train.stepsPerEpoch(10, 3) // 4
 */
export const stepsPerEpoch = (examples: number, batchSize: number): number => Math.ceil(examples / batchSize)

/** The key that orders the data; separate from the state's key so the order depends on seed and epoch only. */
const dataKey = (seed: number): Random.Key => Random.fold(Random.key(seed), 0x0da7a)

/**
 * The batches of epoch `epoch` (0-based) of a run seeded with `seed`, from batch `from` on: a pure
 * function of its arguments, so a run resumed at any step sees the batches it would have seen.
 * Gathered one at a time as they are iterated.
 * @category utils
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Tensor, Train } from 'nn-ts'
 * const d = Data.fromLabelled(Tensor.zeros([10, 2]), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1], 2)
 * if (E.isRight(d)) [...Train.epochOrder(d.right, 3, 0, 2, 1)].length // 3 (batches 1..3 of 4)
 */
export const epochOrder = (train: Dataset, batchSize: number, seed: number, epoch: number, from = 0): Iterable<Dataset> =>
  epochBatchStream(train, batchSize, dataKey(seed), epoch, from)

/**
 * Number of rows whose arg-max differs from `labels`.
 * @category utils
 * @example
 * import { Tensor, Train } from 'nn-ts'
 * const outputs = Tensor.fromRows([[0.9, 0.1], [0.2, 0.8]]) // arg-max: classes 0 and 1
 * Train.countErrors(outputs, [0, 0]) // 1
 */
export const countErrors = (predictions: Tensor, labels: ReadonlyArray<number>): number =>
  K.argmaxRows(predictions).reduce((n, p, i) => n + (p === labels[i] ? 0 : 1), 0)

/**
 * What a network state needs to compute gradients: params, layer state, the PRNG key and the step
 * count (which names the step in errors). A `TrainState` is one, so `valueAndGrad` runs on it too.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Random, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 2))
 * const batch = Data.fromLabelled(Tensor.fromRows([[1, 2]]), [1], 2)
 * if (E.isLeft(batch)) throw new Error(batch.left.message)
 * // Your own state: the model's fields and anything else; valueAndGrad keeps the rest as it is.
 * const { params, state } = net.init(Random.key(0))
 * const mine: Train.ModelState<typeof params, typeof state> & { readonly note: string } = { params, layerState: state, rng: Random.key(1), step: 0, note: 'mine' }
 * const [, next] = Train.valueAndGrad(net, Loss.softmaxCrossEntropy)<typeof mine>(batch.right)(mine)
 * next.note // 'mine'
 * next.rng // => Random.split(Random.key(1))[1]
 */
export interface ModelState<P extends Tree.Tree, S extends Tree.Tree> {
  readonly params: P
  readonly layerState: S
  readonly rng: Random.Key
  readonly step: number
}

/**
 * The loss of one batch, its gradient with respect to the params, and what the step measured.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Init, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 2, { weightInit: Init.zeros }))
 * const batch = Data.fromLabelled(Tensor.fromRows([[1, 2]], 'float64'), [1], 2)
 * if (E.isLeft(batch)) throw new Error(batch.left.message)
 * const [r] = Train.valueAndGrad(net, Loss.softmaxCrossEntropy)(batch.right)(Train.initialState(net, Optim.sgd(0.1), 0, 'float64'))
 * const g: Train.ValueAndGrad<Layers.ParamsOf<typeof net>> | undefined = E.isRight(r) ? r.right : undefined
 * g?.value // => Math.LN2
 * g?.grads[0].b // [0.5, -0.5]: softmax − one-hot
 */
export interface ValueAndGrad<P extends Tree.Tree> {
  /** Mean loss over the batch. */
  readonly value: number
  /** Shaped exactly like the params. */
  readonly grads: P
  readonly metrics: StepMetrics
}

/**
 * The loss of `network` on `batch` in train mode and its gradient with respect to the params, as a
 * `State` over any state with params, layer state, key and step: the key is split (dropout draws from
 * one half), the layer state is updated (BatchNorm running statistics), the step count is not (it
 * counts optimizer steps). NaN/Infinity in the output, the loss or a gradient is a `Left` naming the
 * place, with the state unchanged. The primitive of every custom loop: gradient accumulation,
 * per-example gradients, other optimizers.
 * @category combinators
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3))
 * const batch = Data.fromLabelled(Tensor.fromRows([[1, 2], [3, 4]]), [0, 2], 3)
 * if (E.isRight(batch)) {
 *   const [r, next] = Train.valueAndGrad(net, Loss.softmaxCrossEntropy)(batch.right)(Train.initialState(net, Optim.sgd(0.1), 0))
 *   if (E.isRight(r)) r.right.grads[0].W.shape // [2, 3]
 * }
 */
export const valueAndGrad = <P extends Tree.Tree, S extends Tree.Tree>(network: Network<P, S>, loss: Loss) => gradientsOf(network, loss, true)

/**
 * `valueAndGrad`; with `checkGrads` false it does not read the gradients for NaN and ±∞ (a fused
 * optimizer step does, in its own pass), and a non-finite layer state, which `valueAndGrad` reports
 * only after the gradients, is reported through `valueAndGrad` itself, so every error is its error.
 */
const gradientsOf =
  <P extends Tree.Tree, S extends Tree.Tree>(network: Network<P, S>, loss: Loss, checkGrads: boolean) =>
  <M extends ModelState<P, S>>(batch: Dataset): State<M, E.Either<TrainingError, ValueAndGrad<P>>> =>
  (s) => {
    const mismatch = batchMismatch(network, batch)
    if (mismatch !== undefined) return [E.left({ _tag: 'BatchShapeError', step: s.step, message: `the batch offered to step ${s.step} does not fit: ${mismatch}` }), s]
    const [key, rng] = Random.split(s.rng)
    const ctx = { mode: 'train' as const, key }
    // On failure, name where the value first appeared: a forward layer if any (a ReLU or a loss may
    // hide it downstream), else the place this check found it.
    const fail = (found: string): [E.Either<TrainingError, ValueAndGrad<P>>, M] => {
      const forwardAt = locateNonFinite(network, s.params, s.layerState, batch.inputs, ctx)
      return [E.left(nonFinite(s.step, forwardAt === undefined ? found : `forward pass, layer ${forwardAt}`)), s]
    }
    const forward = network.apply(s.params, s.layerState, batch.inputs, ctx)
    if (!isFinite(forward.y)) return fail(`forward pass, output of ${network.name}`)
    const l = loss.apply(forward.y, batch.targets)
    if (!Number.isFinite(l.value)) return fail(`loss ${loss.name}`)
    // The input gradient is not needed: no layer computes it (a dense first layer skips dy·Wᵀ).
    const { dparams } = forward.backward(l.grad, { needDx: false })
    // Backward runs from the output, so the non-finite gradient nearest the output appeared first.
    const badGrad = checkGrads ? Tree.leaves(dparams).filter((leaf) => !isFinite(leaf.value)).at(-1)?.path : undefined
    if (badGrad !== undefined) return fail(`backward pass, gradient of ${Tree.showPath(['params', ...badGrad])}`)
    const badState = Tree.firstNonFinite(forward.state)
    if (badState !== undefined) return checkGrads ? fail(Tree.showPath(['layerState', ...badState])) : gradientsOf(network, loss, true)<M>(batch)(s)
    const metrics: StepMetrics = { loss: l.value, errors: countErrors(forward.y, batch.labels), size: batch.labels.length }
    return [E.right({ value: l.value, grads: dparams, metrics }), { ...s, layerState: forward.state, rng }]
  }

/**
 * The gradient of each example of `batch` on its own (one row at a time, in train mode), as
 * `valueAndGrad` computes it for a batch of one: for per-example clipping, influence or
 * differential-privacy style training. The state threads through the rows in order (the key is split
 * once per row, layer state updated by each). With BatchNorm in train mode a single row normalizes to
 * zero, so use it on networks without BatchNorm, or in eval mode by freezing the statistics yourself.
 * @category combinators
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3))
 * const batch = Data.fromLabelled(Tensor.fromRows([[1, 2], [3, 4]]), [0, 2], 3)
 * if (E.isRight(batch)) {
 *   const [r] = Train.perExampleGrads(net, Loss.softmaxCrossEntropy)(batch.right)(Train.initialState(net, Optim.sgd(0.1), 0))
 *   if (E.isRight(r)) r.right.length // 2
 * }
 */
export const perExampleGrads =
  <P extends Tree.Tree, S extends Tree.Tree>(network: Network<P, S>, loss: Loss) =>
  <M extends ModelState<P, S>>(batch: Dataset): State<M, E.Either<TrainingError, ReadonlyArray<ValueAndGrad<P>>>> => {
    const gradients = valueAndGrad(network, loss)
    const rows = Array.from({ length: batch.labels.length }, (_, i): Dataset => ({
      inputs: sliceRows(batch.inputs, i, i + 1),
      targets: sliceRows(batch.targets, i, i + 1),
      labels: [batch.labels[i] as number],
      classes: batch.classes
    }))
    return traverseSteps((row: Dataset) => gradients<M>(row))(rows)
  }

/** The path of the first number leaf (a count, a learning rate) of an optimizer state that is NaN or ±∞. */
const firstNonFiniteNumber = (state: OptState): Tree.Path | undefined =>
  Tree.leaves(state).find((leaf) => typeof leaf.value === 'number' && !Number.isFinite(leaf.value))?.path

/**
 * One optimization step on one batch: `valueAndGrad`, then the optimizer's update, then a check that
 * the new params and the new optimizer state (moments, counts, learning rate) are finite. On a `Left`
 * the state is the last good one (before the step).
 * @category combinators
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 4), Layers.tanh(), Layers.dense(4, 2))
 * const step = Train.trainStep(net, Loss.softmaxCrossEntropy, Optim.sgd(0.1))
 * const batch = Data.fromLabelled(Tensor.fromRows([[0, 1], [1, 0]]), [1, 0], 2)
 * if (E.isLeft(batch)) throw new Error(batch.left.message)
 * const s0 = Train.initialState(net, Optim.sgd(0.1), 0)
 * const [metrics, s1] = step(batch.right)(s0) // a State: s0 is untouched
 * s1.step // 1
 * s0.step // 0
 * const [again] = step(batch.right)(s0) // pure: the same step from the same state measures the same
 * again // => metrics
 */
export const trainStep =
  <P extends Tree.Tree, S extends Tree.Tree, O extends OptState>(network: Network<P, S>, loss: Loss, optimizer: GradientTransformation<O>) => {
    const gradients = valueAndGrad(network, loss)
    // A fused optimizer step finds NaN and ±∞ in the gradients, new params and new moments in its own
    // pass, so they are read again only when it found some (to say where, as the checks below do).
    const fused = optimizer.fused !== undefined && optimizer.fused.update === optimizer.update
    const unchecked = fused ? gradientsOf(network, loss, false) : gradients
    return (batch: Dataset): State<TrainState<P, S, O>, E.Either<TrainingError, StepMetrics>> =>
      (s) => {
        const [r, afterGrad] = unchecked<TrainState<P, S, O>>(batch)(s)
        if (E.isLeft(r)) return [r, s]
        // `update` then `applyUpdates`, in one pass per leaf when the optimizer has a fused step.
        const [[params, finite], optState] = updateAndApplyChecked(optimizer)(r.right.grads, s.params)(s.optState)
        if (fused && !finite) {
          // The gradients first, reported as valueAndGrad reports them (the same pure computation).
          const [checked] = gradients<TrainState<P, S, O>>(batch)(s)
          if (E.isLeft(checked)) return [checked, s]
        }
        const badParam = finite ? undefined : Tree.firstNonFinite(params)
        if (badParam !== undefined) return [E.left(nonFinite(s.step, `${Tree.showPath(['params', ...badParam])} after the optimizer update`)), s]
        // A moment can overflow while the params stay finite (Adam's second moment at Infinity makes
        // the update 0), and would be saved and resumed: the whole next state is checked (only its
        // numbers when the fused step found its tensors finite).
        const badOptState = finite ? firstNonFiniteNumber(optState) : Tree.firstNonFinite(optState)
        if (badOptState !== undefined) return [E.left(nonFinite(s.step, `${Tree.showPath(['optState', ...badOptState])} after the optimizer update`)), s]
        return [E.right(r.right.metrics), { ...afterGrad, params, optState, step: s.step + 1 }]
      }
  }

/**
 * Totals over several batches.
 * @category model
 * @example
 * import { Train } from 'nn-ts'
 * const epoch: Train.EpochMetrics = Train.summarize([{ loss: 0.5, errors: 1, size: 4 }])
 * epoch // { loss: 0.5, error: 0.25, size: 4 }
 */
export interface EpochMetrics {
  /** Mean loss per example. */
  readonly loss: number
  /** Fraction of misclassified examples. */
  readonly error: number
  readonly size: number
}

/**
 * Folds step metrics into per-example means.
 * @category utils
 * @example
 * import { Train } from 'nn-ts'
 * // A full batch and a last, smaller one: means per example, not per batch.
 * Train.summarize([{ loss: 1, errors: 2, size: 3 }, { loss: 0.4, errors: 0, size: 1 }]) // { loss: 0.85, error: 0.5, size: 4 }
 * Train.summarize([]) // { loss: NaN, error: NaN, size: 0 }
 */
export const summarize = (steps: ReadonlyArray<StepMetrics>): EpochMetrics => {
  const size = steps.reduce((n, m) => n + m.size, 0)
  const lossSum = steps.reduce((n, m) => n + m.loss * m.size, 0)
  const errors = steps.reduce((n, m) => n + m.errors, 0)
  return { loss: size === 0 ? Number.NaN : lossSum / size, error: size === 0 ? Number.NaN : errors / size, size }
}

/**
 * Runs steps over `batches` in order, stopping at the first `Left` (whose state is the last good one).
 * A loop, so it is stack-safe for any number of batches. `State.traverseArray` cannot stop early, which
 * is why this traversal exists.
 * @category combinators
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Train } from 'nn-ts'
 * // A step is any State whose value is an Either: here, dividing a counter's value, refusing 0.
 * const divide = (x: number) => (count: number): [E.Either<string, number>, number] =>
 *   x === 0 ? [E.left('division by 0'), count] : [E.right(count / x), count + 1]
 * Train.traverseSteps(divide)([1, 2, 4])(1) // => [E.right([1, 1, 0.75]), 4]
 * Train.traverseSteps(divide)([1, 0, 4])(1) // => [E.left('division by 0'), 2]
 */
export const traverseSteps =
  <St, B, Err, A>(step: (b: B) => State<St, E.Either<Err, A>>) =>
  (batches: Iterable<B>): State<St, E.Either<Err, ReadonlyArray<A>>> =>
  (s0) => {
    const out: A[] = []
    let s = s0
    for (const b of batches) {
      const [r, next] = step(b)(s)
      if (E.isLeft(r)) return [r, next]
      out.push(r.right)
      s = next
    }
    return [E.right(out), s]
  }

/**
 * One epoch over `batches`: the steps' metrics summarized.
 * @category combinators
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const xor = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
 * if (E.isLeft(xor)) throw new Error(xor.left.message)
 * const epoch = Train.trainEpoch(net, Loss.softmaxCrossEntropy, Optim.sgd(0.5))
 * const [r, s1] = epoch(Data.batches(xor.right, 2))(Train.initialState(net, Optim.sgd(0.5), 0))
 * s1.step // 2: one step per batch
 * if (E.isRight(r)) r.right.size // 4
 */
export const trainEpoch =
  <P extends Tree.Tree, S extends Tree.Tree, O extends OptState>(network: Network<P, S>, loss: Loss, optimizer: GradientTransformation<O>) =>
  (batches: Iterable<Dataset>): State<TrainState<P, S, O>, E.Either<TrainingError, EpochMetrics>> =>
  (s) => {
    const [r, next] = traverseSteps(trainStep(network, loss, optimizer))(batches)(s)
    return [E.map(summarize)(r), next]
  }

/**
 * Loss and error of a network in eval mode over a dataset, in batches of `batchSize`.
 * @category destructors
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data, Init, Layers, Loss, Random, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 2, { weightInit: Init.zeros }))
 * const { params, state } = net.init(Random.key(0), 'float64')
 * const data = Data.fromLabelled(Tensor.fromRows([[0, 1], [1, 0], [1, 1]], 'float64'), [0, 1, 1], 2)
 * if (E.isLeft(data)) throw new Error(data.left.message)
 * const { loss, error, size } = Train.evaluate(net, Loss.softmaxCrossEntropy, params, state, Data.batches(data.right, 2))
 * loss // => Math.LN2
 * error // ≈ 0.667 (every tie predicts class 0: 2 of 3 wrong)
 * size // 3
 */
export const evaluate = <P extends Tree.Tree, S extends Tree.Tree>(
  network: Network<P, S>,
  loss: Loss,
  params: P,
  layerState: S,
  batches: ReadonlyArray<Dataset>
): EpochMetrics =>
  summarize(
    batches.map((b) => {
      const y = network.apply(params, layerState, b.inputs, { mode: 'eval', key: Random.key(0) }).y
      return { loss: loss.apply(y, b.targets).value, errors: countErrors(y, b.labels), size: b.labels.length }
    })
  )

/**
 * The predicted class (arg-max of the eval-mode output) of every row of `inputs`, computed
 * `batchSize` rows at a time so a large input never makes one large forward pass.
 * @category destructors
 * @example
 * import { Layers, Random, Tensor, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3))
 * const { params, state } = net.init(Random.key(0))
 * const labels = Train.predictLabels(net, params, state, Tensor.zeros([5, 2]))
 * labels.length // 5
 * labels.every((l) => l >= 0 && l < 3) // true
 */
export const predictLabels = <P extends Tree.Tree, S extends Tree.Tree>(
  network: Network<P, S>,
  params: P,
  layerState: S,
  inputs: Tensor,
  batchSize = 1000
): number[] => {
  const n = inputs.shape[0] ?? 0
  const labels: number[] = []
  for (let start = 0; start < n; start += batchSize) {
    const y = predict(network, params, layerState, sliceRows(inputs, start, Math.min(start + batchSize, n)))
    for (const label of K.argmaxRows(y)) labels.push(label)
  }
  return labels
}
