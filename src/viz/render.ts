/**
 * Vega-Lite → SVG, headless: the spec is compiled to Vega, run in a `View` without a DOM (renderer
 * `'none'`) and serialized with `toSVG()`. Nothing touches the file system or the network: every chart
 * in this library carries its data inline.
 *
 * Vega renders asynchronously (it may load data or images), so the result is a `TaskEither`; a Vega
 * failure becomes a `Left` instead of a rejected promise, which a `Task` must never be.
 *
 * @since 0.1.0
 */
import * as TE from 'fp-ts/lib/TaskEither.js'
import type * as Vega from 'vega'
import type * as VegaLite from 'vega-lite'
import type { TopLevelSpec } from 'vega-lite'
import { importOptional } from '../io/optionalPackage.ts'

/**
 * A rendered chart.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { type Chart, learningCurves } from 'nn-ts/viz'
 * const history = { trainLoss: [0.9, 0.5], trainError: [0.3, 0.15], valLoss: [1, 0.6], valError: [0.35, 0.2], seconds: [2, 2] }
 * const chart: E.Either<Error, Chart> = await learningCurves(history)()
 * if (E.isRight(chart)) chart.right.svg.startsWith('<svg') // true
 */
export interface Chart {
  readonly svg: string
}

/**
 * The font stack every chart uses. resvg maps the bare generic `sans-serif` to Arial, and where Arial is
 * missing (most Linux machines) it falls back to whatever font comes first, often a serif; naming the
 * usual sans-serif families first keeps the PNGs in a sans-serif wherever one is installed.
 * @category constants
 * @example
 * import { FONT } from 'nn-ts/viz'
 * FONT.endsWith('sans-serif') // true: the generic family last, after the usual sans-serif fonts
 */
export const FONT = 'Helvetica, Arial, DejaVu Sans, Liberation Sans, sans-serif'

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))

/**
 * Renders a Vega-Lite spec to an SVG string.
 * @category renderers
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { renderSvg } from 'nn-ts/viz'
 * const render = renderSvg({
 *   data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] },
 *   mark: 'line',
 *   encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } }
 * }) // a TaskEither: nothing is drawn until it runs
 * const svg = await render()
 * if (E.isRight(svg)) svg.right.startsWith('<svg') // true
 */
export const renderSvg = (spec: TopLevelSpec): TE.TaskEither<Error, string> =>
  TE.tryCatch(async () => {
    const vega = await importOptional<typeof Vega>('vega', 'drawing charts')
    const { compile } = await importOptional<typeof VegaLite>('vega-lite', 'drawing charts')
    // Errors only: Vega-Lite's hints (e.g. about dropped non-finite values) are not the caller's problem.
    const { spec: vegaSpec } = compile(spec, { logger: vega.logger(vega.Error) })
    const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none', logLevel: vega.Error })
    try {
      return await view.toSVG()
    } finally {
      view.finalize()
    }
  }, toError)
