/**
 * A training report on disk: learning curves, confusion matrix and misclassified digits, as files a
 * person can open. The only effectful part of the viz module; everything it writes is computed by the
 * pure renderers first.
 *
 * @since 0.1.0
 */
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as A from 'fp-ts/lib/ReadonlyArray.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { Tensor } from '../tensor/Tensor.ts'
import type { History } from '../train/fit.ts'
import { confusionMatrix } from './confusionMatrix.ts'
import { learningCurves } from './learningCurves.ts'
import { type GridOptions, misclassifiedGrid } from './misclassifiedGrid.ts'
import { toPng } from './png.ts'

/**
 * What a report shows: the per-epoch history, and predictions on an evaluation set.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor } from 'nn-ts'
 * import { type ReportInput, writeReport } from 'nn-ts/viz'
 * const input: ReportInput = {
 *   history: { trainLoss: [0.9], trainError: [0.3], valLoss: [1], valError: [0.35], seconds: [2] },
 *   labels: [1, 7],
 *   predictions: [1, 1],
 *   images: Tensor.zeros([2, 784]),
 *   classes: 10 // else one more than the largest label or prediction: 8
 * }
 * const report = await writeReport('report', input)()
 * if (E.isRight(report)) report.right.files.length // 5
 */
export interface ReportInput {
  readonly history: History
  /** True classes of the evaluation samples. */
  readonly labels: ReadonlyArray<number>
  /** Predicted classes, one per label. */
  readonly predictions: ReadonlyArray<number>
  /** The evaluation images, `[n, 784]` in [0, 1], rows matching `labels`. */
  readonly images: Tensor
  /** Number of classes (default: one more than the largest label or prediction). */
  readonly classes?: number
  readonly classNames?: ReadonlyArray<string>
  readonly grid?: GridOptions
  /** Pixels per SVG unit in the PNG versions of the charts (default 2). */
  readonly pngScale?: number
}

/**
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor } from 'nn-ts'
 * import { type Report, writeReport } from 'nn-ts/viz'
 * const history = { trainLoss: [0.9], trainError: [0.3], valLoss: [1], valError: [0.35], seconds: [2] }
 * const report: E.Either<Error, Report> = await writeReport('report', { history, labels: [0], predictions: [0], images: Tensor.zeros([1, 784]) })()
 * if (E.isRight(report)) report.right.files[0] // 'report/learning-curves.svg'
 */
export interface Report {
  /** Paths of the files written, in `dir`. */
  readonly files: ReadonlyArray<string>
}

/**
 * File names a report writes.
 * @category constants
 * @example
 * import { reportFiles } from 'nn-ts/viz'
 * reportFiles // ['learning-curves.svg', 'learning-curves.png', 'confusion-matrix.svg', 'confusion-matrix.png', 'misclassified.png']
 */
export const reportFiles = ['learning-curves.svg', 'learning-curves.png', 'confusion-matrix.svg', 'confusion-matrix.png', 'misclassified.png'] as const

const toError = E.toError

/**
 * Writes next to the target and renames, so a reader never sees half a file; on any failure (a full
 * disk half-way, a folder in the way of the rename) the temporary file is removed, not left truncated.
 */
const writeAtomically =
  (dir: string) =>
  ([name, contents]: readonly [string, string | Uint8Array]): TE.TaskEither<Error, string> => {
    const path = join(dir, name)
    const tmp = `${path}.${process.pid}.tmp`
    return TE.tryCatch(async () => {
      try {
        await writeFile(tmp, contents)
        await rename(tmp, path)
      } catch (e) {
        await unlink(tmp).catch(() => undefined)
        throw e
      }
      return path
    }, toError)
  }

/**
 * Renders every picture and writes `learning-curves.svg/.png`, `confusion-matrix.svg/.png` and
 * `misclassified.png` into `dir` (created if missing).
 * @category effects
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor } from 'nn-ts'
 * import { reportFiles, writeReport } from 'nn-ts/viz'
 * const history = { trainLoss: [0.9, 0.5], trainError: [0.3, 0.15], valLoss: [1, 0.6], valError: [0.35, 0.2], seconds: [2, 2] }
 * const write = writeReport('out/report', { history, labels: [1, 7], predictions: [1, 1], images: Tensor.zeros([2, 784]) })
 * const report = await write() // renders, then writes the files
 * if (E.isRight(report)) report.right.files // => reportFiles.map((name) => `out/report/${name}`)
 */
export const writeReport = (dir: string, input: ReportInput): TE.TaskEither<Error, Report> => {
  const classes = input.classes ?? [...input.labels, ...input.predictions].reduce((m, c) => Math.max(m, c), 0) + 1
  const scale = input.pngScale ?? 2
  return pipe(
    TE.Do,
    TE.bind('curves', () => learningCurves(input.history)),
    TE.bind('matrix', () => confusionMatrix(input.labels, input.predictions, classes, input.classNames)),
    TE.bind('pictures', ({ curves, matrix }) =>
      TE.fromEither(
        E.tryCatch(
          (): ReadonlyArray<readonly [string, string | Uint8Array]> => [
            ['learning-curves.svg', curves.svg],
            ['learning-curves.png', toPng(curves.svg, { scale })],
            ['confusion-matrix.svg', matrix.svg],
            ['confusion-matrix.png', toPng(matrix.svg, { scale })],
            ['misclassified.png', misclassifiedGrid(input.images, input.labels, input.predictions, input.grid)]
          ],
          toError
        )
      )
    ),
    TE.chainFirst(() => TE.tryCatch(() => mkdir(dir, { recursive: true }), toError)),
    TE.chain(({ pictures }) => pipe(pictures, A.map(writeAtomically(dir)), A.sequence(TE.ApplicativeSeq))),
    TE.map((files) => ({ files }))
  )
}
