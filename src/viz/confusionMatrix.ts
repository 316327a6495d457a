/**
 * The confusion matrix of a classifier: how often each true class was predicted as each class, as
 * counts and as a heatmap with the count written in every cell.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { TopLevelSpec } from 'vega-lite'
import { FONT, renderSvg } from './render.ts'

/**
 * Counts (rows: true class, columns: predicted class) and the heatmap.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { type ConfusionMatrix, confusionMatrix } from 'nn-ts/viz'
 * const cm: E.Either<Error, ConfusionMatrix> = await confusionMatrix([0, 1, 1], [0, 1, 0], 2)()
 * if (E.isRight(cm)) cm.right.counts // [[1, 0], [1, 1]]
 */
export interface ConfusionMatrix {
  readonly counts: number[][]
  readonly svg: string
}

const checkClass = (what: string, v: number, i: number, classes: number): void => {
  if (!Number.isInteger(v) || v < 0 || v >= classes) throw new RangeError(`confusionMatrix: ${what}[${i}] = ${v} is not a class in [0, ${classes})`)
}

/**
 * `counts[t][p]`: how many samples of true class `t` were predicted as `p`. Throws a `RangeError` when
 * the arrays differ in length or hold something that is not a class.
 * @category constructors
 * @example
 * import { confusionCounts } from 'nn-ts/viz'
 * confusionCounts([0, 1, 1], [0, 1, 0], 2) // [[1, 0], [1, 1]]: one 1 predicted as 0
 */
export const confusionCounts = (labels: ReadonlyArray<number>, predictions: ReadonlyArray<number>, classes: number): number[][] => {
  if (!Number.isInteger(classes) || classes <= 0) throw new RangeError(`confusionMatrix: classes must be a positive integer, got ${classes}`)
  if (labels.length !== predictions.length) {
    throw new RangeError(`confusionMatrix: ${labels.length} labels but ${predictions.length} predictions`)
  }
  const counts = Array.from({ length: classes }, () => new Array<number>(classes).fill(0))
  labels.forEach((t, i) => {
    const p = predictions[i] as number
    checkClass('labels', t, i, classes)
    checkClass('predictions', p, i, classes)
    ;(counts[t] as number[])[p] = ((counts[t] as number[])[p] as number) + 1
  })
  return counts
}

/**
 * The Vega-Lite spec of the heatmap for given counts.
 * @category constructors
 * @example
 * import { confusionMatrixSpec } from 'nn-ts/viz'
 * const spec = confusionMatrixSpec([[5, 1], [0, 4]], ['cat', 'dog'])
 * spec.title // { text: 'Confusion matrix', offset: 12, subtitle: '9 of 10 correct (90.00%)' }
 */
export const confusionMatrixSpec = (counts: ReadonlyArray<ReadonlyArray<number>>, classNames?: ReadonlyArray<string>): TopLevelSpec => {
  const name = (c: number): string => classNames?.[c] ?? String(c)
  const cells = counts.flatMap((row, t) => row.map((count, p) => ({ actual: name(t), predicted: name(p), count })))
  const max = cells.reduce((m, c) => Math.max(m, c.count), 1)
  const order = counts.map((_, c) => name(c))
  const side = Math.max(200, Math.min(600, 36 * counts.length))
  const total = cells.reduce((n, c) => n + c.count, 0)
  const correct = counts.reduce((n, row, c) => n + (row[c] ?? 0), 0)
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Confusion matrix', offset: 12, subtitle: `${correct} of ${total} correct (${total === 0 ? 0 : ((100 * correct) / total).toFixed(2)}%)` },
    background: 'white',
    padding: 12,
    width: side,
    height: side,
    data: { values: cells },
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: order, title: 'predicted class', axis: { orient: 'top', labelAngle: 0 } },
      y: { field: 'actual', type: 'ordinal', sort: order, title: 'true class' }
    },
    layer: [
      {
        mark: { type: 'rect' },
        encoding: {
          color: { field: 'count', type: 'quantitative', title: 'count', scale: { domain: [0, max], range: ['#f7fbff', '#08306b'] } }
        }
      },
      {
        mark: { type: 'text', fontSize: counts.length > 12 ? 8 : 11 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          // Light text on dark cells (the colour scale is dark above about half of its range), and
          // zeros in grey so the eye goes to the counts that matter.
          color: {
            condition: [
              { test: `datum.count > ${max / 2}`, value: 'white' },
              { test: 'datum.count === 0', value: '#aaaaaa' }
            ],
            value: 'black'
          }
        }
      }
    ],
    config: { font: FONT, axis: { grid: false, tickBand: 'extent' }, view: { stroke: null } }
  }
}

/**
 * Counts and a heatmap of how each true class was predicted. `classNames` label the axes (default: the
 * class numbers). Bad input (different lengths, a label outside `[0, classes)`) is a `Left`.
 * @category renderers
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { confusionMatrix } from 'nn-ts/viz'
 * const cm = await confusionMatrix([0, 1, 2, 2], [0, 2, 2, 2], 3)()
 * if (E.isRight(cm)) cm.right.counts // [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
 * const bad = await confusionMatrix([0, 3], [0, 1], 3)()
 * if (E.isLeft(bad)) bad.left.message // 'confusionMatrix: labels[1] = 3 is not a class in [0, 3)'
 */
export const confusionMatrix = (
  labels: ReadonlyArray<number>,
  predictions: ReadonlyArray<number>,
  classes: number,
  classNames?: ReadonlyArray<string>
): TE.TaskEither<Error, ConfusionMatrix> =>
  pipe(
    TE.fromEither(E.tryCatch(() => confusionCounts(labels, predictions, classes), E.toError)),
    TE.chain((counts) =>
      pipe(
        renderSvg(confusionMatrixSpec(counts, classNames)),
        TE.map((svg) => ({ counts, svg }))
      )
    )
  )
