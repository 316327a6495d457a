/**
 * The CLI's boundary: reading a spec, data files and checkpoints into checked values, each failure a
 * `CliError` naming the file and what is wrong. Nothing here writes.
 *
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { gunzipSync } from 'node:zlib'
import * as Checkpoint from '../checkpoint/index.ts'
import { readCheckpoint } from '../checkpoint/file.ts'
import { loadLabelledIdx, loadMnist } from '../data/mnist.ts'
import * as Data from '../data/index.ts'
import * as Spec from '../spec/index.ts'
import * as Tensor from '../tensor/Tensor.ts'
import { type TrainState, initialState } from '../train/step.ts'
import type { OptState } from '../optim/Transform.ts'
import type { Tree } from '../tree/Tree.ts'
import { fsReason } from '../io/fsReason.ts'
import { type CliError, input } from './errors.ts'

/** A file's text, or why it cannot be read (`what` says what the file was supposed to be). @internal */
export const readText = (file: string, what: string): TE.TaskEither<CliError, string> =>
  TE.tryCatch(
    () => readFile(file, 'utf8'),
    (e) => input(`cannot read the ${what} ${file}: ${fsReason(e)}`)
  )

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

/** A spec file, decoded and checked, with its data paths made absolute. @internal */
export const loadSpec = (file: string): TE.TaskEither<CliError, Spec.Spec> =>
  pipe(
    readText(file, 'spec'),
    TE.chainEitherK((text) => pipe(Spec.parse(text, file), E.mapLeft((e) => input(e.message)))),
    TE.map((spec) => resolveData(spec, file))
  )

/** The training data of a spec and its test data when it has some. @internal */
export interface Loaded {
  readonly train: Data.Dataset
  readonly test?: Data.Dataset
  /** The file (or dataset) the examples came from, for messages. */
  readonly source: string
}

const dataError = (e: Data.DataError): CliError => input(e.message)

/** The network's output width: the classes its labels may take. */
const classesOf = (spec: Spec.Spec): number => Spec.network(spec).outWidth as number

/** Reads the data a spec names (MNIST by default). Labels must be classes the network can output. @internal */
export const loadData = (spec: Spec.Spec): TE.TaskEither<CliError, Loaded> => {
  const d = spec.data ?? { type: 'mnist' as const }
  if (d.type === 'mnist') {
    return pipe(
      TE.fromIOEither(loadMnist(d.dir)),
      TE.bimap(dataError, (m) => ({ train: m.train, test: m.test, source: d.dir ?? 'MNIST' }))
    )
  }
  const classes = d.classes ?? classesOf(spec)
  const train = TE.fromIOEither(loadLabelledIdx(d.trainImages, d.trainLabels, classes))
  if (d.testImages === undefined || d.testLabels === undefined) {
    if ((d.testImages === undefined) !== (d.testLabels === undefined)) {
      return TE.left(input(`the spec's data gives ${d.testImages === undefined ? 'testLabels without testImages' : 'testImages without testLabels'}; expected both or neither`))
    }
    return pipe(train, TE.bimap(dataError, (t) => ({ train: t, source: d.trainImages })))
  }
  const test = TE.fromIOEither(loadLabelledIdx(d.testImages, d.testLabels, classes))
  return pipe(
    TE.Do,
    TE.bind('train', () => train),
    TE.bind('test', () => test),
    TE.bimap(dataError, ({ train, test }) => ({ train, test, source: d.trainImages }))
  )
}

/**
 * Whether a dataset fits the network: as many features per example as the spec's `input`, and labels
 * the network can output (as many classes as its output width).
 * @internal
 */
export const checkFits = (spec: Spec.Spec, d: Data.Dataset, source: string): E.Either<CliError, Data.Dataset> => {
  const features = d.inputs.shape[1] as number
  if (features !== spec.input) {
    return E.left(input(`${source} has ${features} features per example, but the network's input is ${spec.input}; expected a spec with "input": ${features}, or data with ${spec.input} features`))
  }
  const outputs = classesOf(spec)
  if (d.classes > outputs) {
    return E.left(input(`${source} has ${d.classes} classes, but the network outputs ${outputs} values; expected its last layer to have ${d.classes} units`))
  }
  return E.right(d)
}

/** A checkpoint with the spec it stores, decoded, and its state restored against a fresh state of that spec. @internal */
export interface Restored {
  readonly spec: Spec.Spec
  readonly built: Spec.Built
  readonly state: TrainState<Tree, Tree, OptState>
}

/** Restores `c` onto a fresh state of `built`, so every shape and the optimizer's structure are checked. @internal */
export const restoreInto = (file: string, built: Spec.Built, c: Checkpoint.Checkpoint): E.Either<CliError, TrainState<Tree, Tree, OptState>> =>
  pipe(
    Checkpoint.restore(initialState(built.network, built.optimizer, built.training.seed), c),
    E.mapLeft((e) => input(`${file}: ${e.message}`))
  )

const inFile = (file: string, message: string): string => (message.includes(file) ? message : `${file}: ${message}`)

/** Reads a checkpoint, decodes the spec it stores and restores its state. @internal */
export const loadCheckpoint = (file: string, trainSize?: number): TE.TaskEither<CliError, Restored> =>
  pipe(
    readCheckpoint(file),
    TE.mapLeft((e) => input(inFile(file, e.message))),
    TE.chainEitherK((c) =>
      pipe(
        Spec.decode(c.spec),
        E.mapLeft((e) => input(`${file}: the spec stored in the checkpoint is not valid: ${e.message}`)),
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
 * Examples to predict on, from an IDX file `[n, ...]`: bytes are scaled to [0, 1] as in training,
 * other dtypes taken as they are and checked to be finite. Gzip files are decompressed.
 * @internal
 */
export const loadExamples = (file: string): TE.TaskEither<CliError, Tensor.Tensor> =>
  pipe(
    TE.tryCatch(
      () => readFile(file),
      (e) => input(`cannot read the input ${file}: ${fsReason(e)}`)
    ),
    TE.chainEitherK((bytes) =>
      bytes[0] === 0x1f && bytes[1] === 0x8b
        ? E.tryCatch(
            (): Uint8Array => gunzipSync(bytes),
            () => input(`${file}: is gzip-compressed but does not decompress: the file is probably incomplete`)
          )
        : E.right<CliError, Uint8Array>(bytes)
    ),
    TE.chainEitherK((bytes) =>
      pipe(Data.decodeIdxExpecting(bytes, file, { what: 'examples', dtypes: ALL_DTYPES, minDims: 2, maxDims: 4 }), E.mapLeft(dataError))
    ),
    TE.chainEitherK((idx) => {
      const n = idx.shape[0] as number
      if (idx.dtype === 'uint8') return E.right(Data.scaleTo01(idx))
      const rows = Tensor.fromArray([n, Tensor.sizeOf(idx.shape.slice(1))], idx.data, 'float32')
      // Any integer fits, so only a float file can hold NaN or Infinity (or values beyond float32).
      return pipe(
        Data.fromLabelled(rows, new Array<number>(n).fill(0), 1, file),
        E.bimap(dataError, () => rows)
      )
    })
  )
