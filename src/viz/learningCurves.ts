/**
 * Learning curves: training and validation loss per epoch, and training and validation error per
 * epoch, as two side-by-side panels of one chart, from the trainer's `History` (`Train.fit`).
 *
 * @since 0.1.0
 */
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { TopLevelSpec } from 'vega-lite'
import type { History } from '../train/fit.ts'
import { type Chart, FONT, renderSvg } from './render.ts'

/**
 * One point of a curve in the chart's long-format data.
 * @category model
 * @example
 * import { type CurvePoint, curvePoints } from 'nn-ts/viz'
 * const points: ReadonlyArray<CurvePoint> = curvePoints({ trainLoss: [0.9], trainError: [0.3], valLoss: [NaN], valError: [NaN], seconds: [2] })
 * points // [{ epoch: 1, metric: 'loss', split: 'train', value: 0.9 }, { epoch: 1, metric: 'error', split: 'train', value: 0.3 }]
 */
export interface CurvePoint {
  readonly epoch: number
  readonly metric: 'loss' | 'error'
  readonly split: 'train' | 'validation'
  readonly value: number
}

/**
 * The history as long-format rows, epochs counted from 1. Non-finite values (a diverged loss, or a
 * run without validation) are left out rather than drawn as gaps at infinity.
 * @category destructors
 * @example
 * import { curvePoints } from 'nn-ts/viz'
 * curvePoints({ trainLoss: [0.9], trainError: [0.3], valLoss: [1], valError: [0.35], seconds: [2] }).length // 4
 */
export const curvePoints = (history: History): ReadonlyArray<CurvePoint> => {
  const series: ReadonlyArray<readonly [ReadonlyArray<number>, CurvePoint['metric'], CurvePoint['split']]> = [
    [history.trainLoss, 'loss', 'train'],
    [history.valLoss, 'loss', 'validation'],
    [history.trainError, 'error', 'train'],
    [history.valError, 'error', 'validation']
  ]
  return series.flatMap(([values, metric, split]) =>
    values.flatMap((value, i) => (Number.isFinite(value) ? [{ epoch: i + 1, metric, split, value }] : []))
  )
}

const panel = (metric: CurvePoint['metric'], title: string, yTitle: string, format: string) => ({
  title,
  width: 320,
  height: 220,
  transform: [{ filter: { field: 'metric', equal: metric } }],
  mark: { type: 'line' as const, point: true },
  encoding: {
    x: { field: 'epoch', type: 'quantitative' as const, title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
    y: { field: 'value', type: 'quantitative' as const, title: yTitle, axis: { format }, scale: { zero: false } },
    color: {
      field: 'split',
      type: 'nominal' as const,
      title: null,
      // Same colours in both panels, train first: the legend reads the same for loss and error.
      scale: { domain: ['train', 'validation'], range: ['#1f77b4', '#ff7f0e'] }
    }
  }
})

/**
 * The Vega-Lite spec of the learning curves (for callers who want to restyle it before rendering).
 * @category constructors
 * @example
 * import { learningCurvesSpec } from 'nn-ts/viz'
 * const history = { trainLoss: [0.9, 0.5], trainError: [0.3, 0.15], valLoss: [1, 0.6], valError: [0.35, 0.2], seconds: [2, 2] }
 * const spec = { ...learningCurvesSpec(history), title: 'My run' } // restyle, then renderSvg(spec)
 * spec.title // 'My run'
 */
export const learningCurvesSpec = (history: History): TopLevelSpec => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: { text: 'Learning curves', anchor: 'middle' },
  background: 'white',
  padding: 12,
  data: { values: curvePoints(history).map((p) => ({ ...p })) },
  hconcat: [panel('loss', 'Loss per epoch', 'loss', '.3~f'), panel('error', 'Error per epoch', 'error (% misclassified)', '.1%')],
  config: { font: FONT, legend: { orient: 'bottom' } }
})

/**
 * Renders training/validation loss and training/validation error per epoch to SVG.
 * @category renderers
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { learningCurves } from 'nn-ts/viz'
 * const history = { trainLoss: [0.9, 0.5], trainError: [0.3, 0.15], valLoss: [1, 0.6], valError: [0.35, 0.2], seconds: [2, 2] }
 * const chart = await learningCurves(history)() // Either<Error, { svg }>
 * if (E.isRight(chart)) chart.right.svg.includes('Loss per epoch') // true
 */
export const learningCurves = (history: History): TE.TaskEither<Error, Chart> =>
  TE.map((svg: string) => ({ svg }))(renderSvg(learningCurvesSpec(history)))
