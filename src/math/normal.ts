/**
 * The standard normal distribution's density `φ` and cumulative distribution `Φ`, to a few ulps in
 * float64 relative to their own values, tails included (`Φ(−10) ≈ 7.62e-24` keeps all its digits).
 * They are what the exact GELU `x·Φ(x)` and its derivative `Φ(x) + x·φ(x)` are made of.
 *
 * @since 0.1.0
 */
import { erfc } from './erf.ts'
import { productError } from './exact.ts'

/** `1/√2` in two parts: `Math.SQRT1_2` (correctly rounded) and `1/√2 − Math.SQRT1_2` (mpmath). */
const SQRT1_2_LO = -4.833646656726457e-17
/** `1/√(2π)`, correctly rounded. */
const ONE_OVER_SQRT_2PI = 0.3989422804014327
/** `2/√π`, correctly rounded. */
const TWO_OVER_SQRT_PI = 1.1283791670955126
/** Below this Φ(x) < 2⁻¹⁰⁷⁵ rounds to 0 (the argument of erfc passes 27.25); above its negative, φ does. */
const TAIL = 38.6

/**
 * The standard normal density `φ(x) = e^{−x²/2} / √(2π)`. `x²/2` is split as `hi²/2 + (x − hi)(x + hi)/2`
 * with `hi` a float32, so that `hi²` is exact: rounding `x²` would cost up to `x²/2` ulps (50 at
 * x = 10). Below about 2⁻¹⁰²² (|x| > 37.5) the result is subnormal and has fewer significant bits.
 *
 * @category math
 * @example
 * import { Special } from 'nn-ts'
 * Special.normalPdf(0) // 0.3989422804014327
 * Special.normalPdf(-10) // 7.69459862670642e-23
 */
export const normalPdf = (x: number): number => {
  if (Number.isNaN(x)) return NaN
  if (Math.abs(x) > TAIL) return 0
  const hi = Math.fround(x)
  const head = ONE_OVER_SQRT_2PI * Math.exp((-hi * hi) / 2)
  // e^{−δ} for the small δ = (x − hi)(x + hi)/2, applied as head + head·expm1(−δ): no rounding near 1.
  return head + head * Math.expm1(-((x - hi) * (x + hi)) / 2)
}

/**
 * The standard normal cumulative distribution `Φ(x) = ½ erfc(−x/√2)`. For x < 0 the argument `−x/√2`
 * is formed exactly, as a rounded part `u` and its error `δ` (the product's rounding error plus the
 * part of `1/√2` that float64 leaves out), and `erfc(u + δ) = erfc(u) − δ·(2/√π)e^{−u²}` to first
 * order: erfc is so steep in the tail that the rounding of `u` alone would cost `2u²` ulps.
 *
 * @category math
 * @example
 * import { Special } from 'nn-ts'
 * Special.normalCdf(0) // 0.5
 * Special.normalCdf(-10) // 7.619853024160524e-24 (true: 7.61985302416052606…e-24)
 */
export const normalCdf = (x: number): number => {
  if (Number.isNaN(x)) return NaN
  if (x >= 0) return 1 - erfc(x * Math.SQRT1_2) / 2
  if (x < -TAIL) return 0
  const v = -x
  const u = v * Math.SQRT1_2
  const delta = productError(v, Math.SQRT1_2, u) + v * SQRT1_2_LO
  return (erfc(u) - delta * TWO_OVER_SQRT_PI * Math.exp(-u * u)) / 2
}
