/**
 * The CLI's boundary: reading a spec, data files and checkpoints into checked values, each failure a
 * `CliError` naming the file and what is wrong. Nothing here writes.
 *
 * Nothing read here can hang, exhaust memory or reach the commands as an exception:
 * - only regular files are read (a FIFO, a device or a socket is refused at once), and a spec is read
 *   only up to `SPEC_MAX_BYTES` (data files are bounded by their headers, see `readIdxFile`);
 * - a spec is strict JSON (`parseJson`: no duplicate key, nesting at most `SPEC_MAX_DEPTH` deep; a
 *   byte-order mark is allowed), then decoded, then checked for what decoding cannot see: at most
 *   `MAX_LAYERS` layers, at least one dense layer, `data.classes` equal to the output width, and a
 *   memory estimate (`footprint`) within `memoryLimit()` with every tensor small enough to allocate;
 *   a checkpoint's stored spec goes through the same checks;
 * - a checkpoint's parameters, layer state and optimizer state must be finite;
 * - every path and name echoed in a message passes through `printable`.
 *
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { dirname, isAbsolute, resolve } from 'node:path'
import * as Checkpoint from '../checkpoint/index.ts'
import { readCheckpoint } from '../checkpoint/file.ts'
import { examplesAsRows, loadLabelledIdx, loadMnist, readIdxFile } from '../data/mnist.ts'
import * as Data from '../data/index.ts'
import * as Spec from '../spec/index.ts'
import * as Tensor from '../tensor/Tensor.ts'
import { type TrainState, initialState } from '../train/step.ts'
import type { OptState } from '../optim/Transform.ts'
import * as Trees from '../tree/Tree.ts'
import type { Tree } from '../tree/Tree.ts'
import { type JsonFailure, parseJson, toPlain } from '../tensorfile/json.ts'
import { describeMemoryLimit, MAX_ARRAY_ELEMENTS, memoryLimit } from '../io/memoryLimit.ts'
import { printable } from '../io/printable.ts'
import { describeReadProblem, readRegularFile } from '../io/readRegularFile.ts'
import { showBytes } from '../io/showBytes.ts'
import { type CliError, input } from './errors.ts'
import { type Footprint, MAX_LAYERS, countLayers, footprint, tooLargeForOneArray } from './footprint.ts'

/**
 * The largest spec file read: a spec is a few hundred bytes, and `MAX_LAYERS` layers written out in
 * full with indentation take about 2 MiB. Parsing is what costs memory (about 40 bytes per byte of
 * JSON), so the cap keeps a hostile spec's parse within ~150 MB.
 * @internal
 */
export const SPEC_MAX_BYTES = 4 * 2 ** 20

/** How deep a spec's objects and arrays may nest (a network nested as graphs in graphs stays far below). @internal */
export const SPEC_MAX_DEPTH = 64

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A file's text, or why it cannot be read (`what` says what the file was supposed to be): regular
 * files only, at most `maxBytes`, well-formed UTF-8. Reads synchronously: the CLI has nothing else to
 * do meanwhile, and the size is bounded.
 * @internal
 */
export const readText = (file: string, what: string, maxBytes: number = SPEC_MAX_BYTES): TE.TaskEither<CliError, string> =>
  TE.fromIOEither(() =>
    pipe(
      readRegularFile(file, maxBytes),
      E.mapLeft((p) => input(describeReadProblem(p, `the ${what}`, file))),
      E.chain((bytes) =>
        E.tryCatch(
          () => UTF8.decode(bytes),
          () => input(`the ${what} ${printable(file)} is not UTF-8 text (a binary file?)`)
        )
      )
    )
  )

/** Line and column (from 1) of a UTF-16 index into `text`. */
const lineAndColumn = (text: string, at: number): string => {
  let line = 1
  let lineStart = 0
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) {
    line++
    lineStart = i + 1
  }
  return `line ${line}, column ${at - lineStart + 1}`
}

/** A JSON path as the spec's messages write it: `layers[2].units`, `(root)`. */
const showJsonPath = (path: ReadonlyArray<string | number>): string => (path.length === 0 ? '(root)' : Trees.showPath(path))

const jsonFailure = (file: string, text: string, f: JsonFailure): CliError =>
  f.reason.startsWith('duplicate key')
    ? input(
        `${printable(file)}: ${showJsonPath(f.path)}: duplicate key at ${lineAndColumn(text, f.at)}: each key may appear once in a spec (JSON readers disagree on which of two values wins)`
      )
    : input(`${printable(file)}: not valid JSON at ${lineAndColumn(text, f.at)}${f.path.length === 0 ? '' : ` (in ${showJsonPath(f.path)})`}: ${f.reason}`)

/**
 * Spec text as a JSON value: strict (no duplicate key, bounded nesting), a leading byte-order mark
 * ignored (editors add one, and checkpoints allow it too). @internal
 */
export const parseSpecText = (text: string, file: string): E.Either<CliError, unknown> => {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  if (body.trim() === '') return E.left(input(`${printable(file)}: empty file, expected a network spec (JSON)`))
  return pipe(
    parseJson(body, SPEC_MAX_DEPTH),
    E.bimap((f) => jsonFailure(file, body, f), toPlain)
  )
}

/** Relative data paths in a spec are relative to the spec file, so a spec works from any directory. */
const resolveData = (spec: Spec.Spec, specFile: string): Spec.Spec => {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(dirname(specFile), p))
  const d = spec.data
  if (d === undefined) return spec
  if (d.type === 'mnist') return d.dir === undefined ? spec : { ...spec, data: { ...d, dir: at(d.dir) } }
  return {
    ...spec,
    data: {
      ...d,
      trainImages: at(d.trainImages),
      trainLabels: at(d.trainLabels),
      ...(d.testImages === undefined ? {} : { testImages: at(d.testImages) }),
      ...(d.testLabels === undefined ? {} : { testLabels: at(d.testLabels) })
    }
  }
}

/** How many copies of the parameters the optimizer keeps: its state for a one-value tree, measured. */
const optimizerCopies = (built: Spec.Built): number => {
  const probe = built.optimizer.init([Tensor.zeros([1])])
  return Trees.leaves<Tensor.Tensor | number>(probe as Trees.Tree<Tensor.Tensor | number>).reduce((n, l) => n + (Trees.isTensor(l.value) ? l.value.data.length : 0), 0)
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/** A count in words: exact up to a million, then three digits with an exponent. */
const showCount = (n: number): string => (n < 1e6 ? String(n) : n.toExponential(2))

/** The estimate in words, for the refusal. */
const describeFootprint = (f: Footprint): string => {
  const moments = f.optimizerCopies === 0 ? 'no optimizer state' : `the optimizer's ${f.optimizerCopies === 1 ? 'copy' : `${f.optimizerCopies} copies`} of them`
  return `${showCount(f.params)} parameters (${showBytes(4 * f.params)}) with ${moments}, a training step's gradients, updates and next values, the previous step's values, and ${showCount(f.activations)} activation values held at once for a batch`
}

/**
 * What decoding cannot see in a decoded spec, checked before anything is built or allocated: the
 * number of layers, that the network has a layer with parameters, that `data.classes` is the output
 * width, and that training fits in memory (see `footprint`). `name` starts every message.
 * @internal
 */
export const checkSpec = (spec: Spec.Spec, name: string): E.Either<CliError, Spec.Spec> => {
  const fail = (message: string): E.Either<CliError, Spec.Spec> => E.left(input(`${printable(name)}: ${message}`))
  const layers = countLayers(spec.layers)
  if (layers > MAX_LAYERS) return fail(`the network has more than ${MAX_LAYERS} layers (nested ones included), the most nn-ts builds; expected at most ${MAX_LAYERS}`)
  // Building a network allocates nothing (initialising it does), and with the layer count bounded
  // neither does it recurse or spread arguments beyond what the runtime allows.
  const built = Spec.build(spec)
  const f = footprint(built.network.node, spec.input, spec.training.batchSize, optimizerCopies(built))
  if (!f.hasDense) {
    return fail(`the network has no dense layer, so it has no parameters to train and outputs its ${spec.input} input values as they are; expected at least one dense layer (the last one with as many units as classes)`)
  }
  const outputs = built.network.outWidth as number
  const d = spec.data
  if (d !== undefined && d.type === 'idx' && d.classes !== undefined && d.classes !== outputs) {
    return fail(
      `data.classes is ${d.classes}, but the network outputs ${outputs} values (one per class); expected data.classes ${outputs}, or no data.classes (it defaults to the output width), or a last layer with ${d.classes} units`
    )
  }
  const huge = tooLargeForOneArray(f)
  if (huge !== undefined) {
    return fail(`${huge.what} would hold ${showCount(huge.values)} values, more than the ${MAX_ARRAY_ELEMENTS} one array can hold; expected fewer units`)
  }
  if (f.bytes > memoryLimit()) {
    const largest = f.largestLayer === undefined ? '' : `; the largest layer is ${f.largestLayer.where} with ${showCount(f.largestLayer.params)} parameters`
    return fail(
      `training this network needs an estimated ${showBytes(f.bytes)} — ${describeFootprint(f)} — more than the ${describeMemoryLimit()} nn-ts plans to use${largest}; expected fewer or narrower layers, or a smaller batch`
    )
  }
  return E.right(spec)
}

/** JSON of a spec, decoded and checked (see `checkSpec`); `name` starts every message. */
const decodeSpec = (json: unknown, name: string, what: string): E.Either<CliError, Spec.Spec> => {
  const record = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {}
  // Counted before decoding: decoding and reporting walk every layer.
  if (countLayers(record['layers']) > MAX_LAYERS) {
    return E.left(input(`${printable(name)}: the network has more than ${MAX_LAYERS} layers (nested ones included), the most nn-ts builds; expected at most ${MAX_LAYERS}`))
  }
  return pipe(
    Spec.decode(json),
    E.mapLeft((e) => input(`${printable(name)}: ${what}${e.message}`)),
    E.chain((spec) => checkSpec(spec, name))
  )
}

/**
 * Spec text as the CLI takes it: parsed strictly (`parseSpecText`), decoded, and checked (`checkSpec`);
 * `name` starts every message. Pure: the file is read by `loadSpec`. @internal
 */
export const decodeSpecText = (text: string, name: string): E.Either<CliError, Spec.Spec> =>
  pipe(
    parseSpecText(text, name),
    E.chain((json) => decodeSpec(json, name, ''))
  )

/** A spec file, decoded and checked, with its data paths made absolute. @internal */
export const loadSpec = (file: string): TE.TaskEither<CliError, Spec.Spec> =>
  pipe(
    readText(file, 'spec'),
    TE.chainEitherK((text) => decodeSpecText(text, file)),
    TE.map((spec) => resolveData(spec, file))
  )

/** A batch size near `batchSize` that leaves no batch of one row in `n` examples (none if `n` < 2). */
const nearbyBatchSizes = (n: number, batchSize: number): number[] => {
  const found: number[] = []
  for (let d = 1; d < n && found.length < 2; d++) {
    for (const b of [batchSize - d, batchSize + d]) if (b >= 2 && b <= n && n % b !== 1 && found.length < 2) found.push(b)
  }
  return found.sort((a, b) => a - b)
}

/**
 * BatchNorm normalises a batch with its own statistics in training, which one row does not have (its
 * variance is 0; PyTorch refuses with "Expected more than 1 value per channel when training"). An
 * epoch of `trainSize` rows in batches of `batchSize` ends with a batch of one row when
 * `trainSize mod batchSize = 1`: refused here, before training, with batch sizes that work.
 * @internal
 */
export const checkTrainingBatches = (spec: Spec.Spec, trainSize: number, name: string): E.Either<CliError, void> => {
  const b = spec.training.batchSize
  const oneRow = b === 1 || trainSize === 1 || trainSize % b === 1
  if (!oneRow) return E.right(undefined)
  const f = footprint(Spec.network(spec).node, spec.input, b, 0)
  if (f.batchNormAt === undefined) return E.right(undefined)
  const why = `BatchNorm (${f.batchNormAt}) normalises each training batch by its own mean and variance, which a batch of one row does not have`
  if (trainSize < 2) return E.left(input(`${printable(name)}: the training set has ${plural(trainSize, 'example')}; ${why}; expected at least 2 training examples`))
  if (b === 1) return E.left(input(`${printable(name)}: training.batchSize is 1; ${why}; expected a batch size of at least 2`))
  const sizes = nearbyBatchSizes(trainSize, b)
  const v = spec.training.validationSize ?? 0
  return E.left(
    input(
      `${printable(name)}: ${trainSize} training examples in batches of ${b} leave a last batch of one row (${trainSize} = ${Math.floor(trainSize / b)} × ${b} + 1); ${why}; expected ${
        sizes.length === 0 ? 'another batch size' : `a batch size such as ${sizes.join(' or ')}`
      }, or one training example fewer (training.validationSize ${v + 1})`
    )
  )
}

/** The training data of a spec and its test data when it has some. @internal */
export interface Loaded {
  readonly train: Data.Dataset
  readonly test?: Data.Dataset
  /** The file (or dataset) the examples came from, for messages. */
  readonly source: string
  /** The file (or dataset) the test examples came from, for messages. */
  readonly testSource?: string
}

const dataError = (e: Data.DataError): CliError => input(e.message)

/** The network's output width: the classes its labels may take. */
const classesOf = (spec: Spec.Spec): number => Spec.network(spec).outWidth as number

/**
 * Reads the data a spec names (MNIST by default) and checks that each set fits the network
 * (`checkFits`), each named by its own file. Labels must be classes the network can output. @internal
 */
export const loadData = (spec: Spec.Spec): TE.TaskEither<CliError, Loaded> => {
  const d = spec.data ?? { type: 'mnist' as const }
  const fits = (l: Loaded): E.Either<CliError, Loaded> =>
    pipe(
      checkFits(spec, l.train, l.source),
      E.chain(() => (l.test === undefined ? E.right(l.test) : checkFits(spec, l.test, l.testSource ?? `${l.source} (test set)`))),
      E.map(() => l)
    )
  if (d.type === 'mnist') {
    return pipe(
      TE.fromIOEither(loadMnist(d.dir)),
      TE.bimap(dataError, (m): Loaded => ({ train: m.train, test: m.test, source: d.dir ?? 'MNIST', testSource: `${d.dir ?? 'MNIST'} test set` })),
      TE.chainEitherK(fits)
    )
  }
  const classes = d.classes ?? classesOf(spec)
  const train = TE.fromIOEither(loadLabelledIdx(d.trainImages, d.trainLabels, classes))
  if (d.testImages === undefined || d.testLabels === undefined) {
    if ((d.testImages === undefined) !== (d.testLabels === undefined)) {
      return TE.left(input(`the spec's data gives ${d.testImages === undefined ? 'testLabels without testImages' : 'testImages without testLabels'}; expected both or neither`))
    }
    return pipe(
      train,
      TE.bimap(dataError, (t): Loaded => ({ train: t, source: d.trainImages })),
      TE.chainEitherK(fits)
    )
  }
  const testImages = d.testImages
  const test = TE.fromIOEither(loadLabelledIdx(testImages, d.testLabels, classes))
  return pipe(
    TE.Do,
    TE.bind('train', () => train),
    TE.bind('test', () => test),
    TE.bimap(dataError, ({ train, test }): Loaded => ({ train, test, source: d.trainImages, testSource: testImages })),
    TE.chainEitherK(fits)
  )
}

/**
 * Whether a dataset fits the network: as many features per example as the spec's `input`, and labels
 * the network can output (as many classes as its output width).
 * @internal
 */
export const checkFits = (spec: Spec.Spec, d: Data.Dataset, source: string): E.Either<CliError, Data.Dataset> => {
  // The width of one row: reading all of `inputs` would expand a byte dataset to floats (4× its size).
  const features = Data.take(d, 1).inputs.shape[1] as number
  if (features !== spec.input) {
    return E.left(input(`${printable(source)} has ${features} features per example, but the network's input is ${spec.input}; expected a spec with "input": ${features}, or data with ${spec.input} features`))
  }
  const outputs = classesOf(spec)
  if (d.classes !== outputs) {
    return E.left(input(`${printable(source)} has ${d.classes} classes, but the network outputs ${outputs} values (one per class); expected its last layer to have ${d.classes} units`))
  }
  return E.right(d)
}

/** A checkpoint with the spec it stores, decoded, and its state restored against a fresh state of that spec. @internal */
export interface Restored {
  readonly spec: Spec.Spec
  readonly built: Spec.Built
  readonly state: TrainState<Tree, Tree, OptState>
}

/** Where in a tensor (or number) of a state the first non-finite value is, in words; `undefined` if all are finite. */
const firstNonFiniteIn = (root: string, tree: Trees.Tree<Tensor.Tensor | number>): string | undefined => {
  const path = Trees.firstNonFinite(tree)
  if (path === undefined) return undefined
  const leaf = Trees.at(tree, path)
  const where = Trees.showPath([root, ...path])
  if (leaf === undefined || !Trees.isTensor(leaf)) return `${where} is ${String(leaf)}`
  const index = leaf.data.findIndex((v) => !Number.isFinite(v))
  const value = leaf.data[index]
  const shape = leaf.shape
  const position =
    shape.length === 2 ? ` (row ${Math.floor(index / (shape[1] as number))}, column ${index % (shape[1] as number)} of ${Tensor.showShape(shape)})` : ` (of ${Tensor.showShape(shape)})`
  return `${where} holds ${value} at index ${index}${position}`
}

/**
 * Restores `c` onto a fresh state of `built`, so every shape and the optimizer's structure are
 * checked, and refuses a state holding NaN or ±Infinity (parameters, layer state, optimizer state),
 * naming where: training does not save one, and evaluating or resuming it would only produce NaN
 * later, blamed on training. @internal
 */
export const restoreInto = (file: string, built: Spec.Built, c: Checkpoint.Checkpoint): E.Either<CliError, TrainState<Tree, Tree, OptState>> =>
  pipe(
    Checkpoint.restore(initialState(built.network, built.optimizer, built.training.seed), c),
    E.mapLeft((e) => input(inFile(file, e.message))),
    E.chain((state) => {
      const bad =
        firstNonFiniteIn('params', state.params) ?? firstNonFiniteIn('layerState', state.layerState) ?? firstNonFiniteIn('optState', state.optState as Trees.Tree<Tensor.Tensor | number>)
      return bad === undefined
        ? E.right(state)
        : E.left(
            input(
              `${printable(file)}: ${bad}, expected finite values: evaluating or resuming this checkpoint could only give NaN (training does not save non-finite values, so the file was edited or damaged); expected an intact checkpoint (an earlier one, or retrain)`
            )
          )
    })
  )

const inFile = (file: string, message: string): string => (message.includes(file) ? message.replace(file, printable(file)) : `${printable(file)}: ${message}`)

/** Reads a checkpoint, decodes the spec it stores and restores its state. @internal */
export const loadCheckpoint = (file: string, trainSize?: number): TE.TaskEither<CliError, Restored> =>
  pipe(
    readCheckpoint(file),
    TE.mapLeft((e) => input(inFile(file, e.message))),
    TE.chainEitherK((c) =>
      pipe(
        decodeSpec(c.spec, file, 'the spec stored in the checkpoint is not valid: '),
        E.chain((spec) => {
          const built = Spec.build(spec, trainSize === undefined ? {} : { trainSize })
          return pipe(
            restoreInto(file, built, c),
            E.map((state) => ({ spec, built, state }))
          )
        })
      )
    )
  )

const ALL_DTYPES: ReadonlyArray<Data.IdxDType> = ['uint8', 'int8', 'int16', 'int32', 'float32', 'float64']

/**
 * Examples to predict on, from an IDX file `[n, ...]` (gzip-compressed or not, read as `readIdxFile`
 * reads: bounded by its header): bytes are scaled to [0, 1] as in training, other dtypes taken as they
 * are and checked to be finite and within float32's range.
 * @internal
 */
export const loadExamples = (file: string): TE.TaskEither<CliError, Tensor.Tensor> =>
  pipe(
    TE.fromIOEither(readIdxFile(file, { what: 'examples', dtypes: ALL_DTYPES, minDims: 2, maxDims: 4 })),
    TE.chainEitherK((idx) => examplesAsRows(idx, file)),
    TE.mapLeft(dataError)
  )
