/**
 * `nn-ts/viz`, pictures of a training run: learning curves and a confusion matrix (Vega-Lite, rendered headless to
 * SVG), PNG conversion (resvg), a grid of misclassified digits (pngjs) and a report writer.
 * The packages it draws with (vega, vega-lite, @resvg/resvg-js, pngjs) are optional peer dependencies:
 * a function that needs a missing one says which to install.
 * @since 0.1.0
 */
export * from './render.ts'
export * from './png.ts'
export * from './learningCurves.ts'
export * from './confusionMatrix.ts'
export * from './misclassifiedGrid.ts'
export * from './report.ts'
