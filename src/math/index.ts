/**
 * Special functions in float64, each accurate to a few ulps relative to its own value over the whole
 * real line: the error function and its complement, the standard normal density and distribution.
 *
 * @since 0.1.0
 */
export { erf, erfc } from './erf.ts'
export { normalCdf, normalPdf } from './normal.ts'
