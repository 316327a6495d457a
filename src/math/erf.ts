/**
 * The error function `erf` and its complement `erfc = 1 − erf`, accurate to a few ulps in float64 over
 * the whole real line, tails included: `erfc` is evaluated in its own right where it is small, never as
 * `1 − erf`, so `erfc(10) ≈ 2.09e-45` keeps all its digits.
 *
 * Three regions, each from a classical formula (Abramowitz & Stegun, ch. 7):
 *
 * - `|x| < ½`: the Maclaurin series `erf x = (2/√π) Σ (−1)ⁿ x²ⁿ⁺¹ / (n! (2n+1))` (A&S 7.1.5), and
 *   `erfc = 1 − erf` (no cancellation: erfc > 0.47 there).
 * - `½ ≤ x < 3`: Taylor expansion around the nearest of 20 centres `x₀` spaced ⅛ apart, whose
 *   `erfc(x₀)` are tabulated (correctly rounded). Since `erfc′(t) = −(2/√π) e^{−t²}`,
 *   `erfc(x₀ + h) = erfc(x₀) − (2/√π) e^{−x₀²} ∫₀ʰ e^{−2x₀s − s²} ds`, and the integrand's Taylor
 *   coefficients follow from the ODE `f′ = −(2x₀ + 2s) f` (the Hermite recurrence, A&S 7.1.19).
 *   With `|h| ≤ 1/16` the integral changes `erfc(x₀)` by at most a factor `e^{2x₀|h|} < 1.5`, so the
 *   table's rounding is not amplified.
 * - `x ≥ 3`: the continued fraction `erfc x = (e^{−x²}/√π) · 2x / (2x² + 1 − 1·2 / (2x² + 5 − 3·4 /
 *   (2x² + 9 − …)))` (the even part of A&S 7.1.14), evaluated backwards from a depth that suffices for
 *   float64 at that `x`. `e^{−x²}` is computed without rounding `x²` (which would cost `x²·ε`, dozens
 *   of ulps at x = 7).
 *
 * Negative arguments use `erf(−x) = −erf(x)` and `erfc(−x) = 2 − erfc(x)`. Measured against 50-digit
 * mpmath at 10⁵ points in [−30, 30] (and at tiny arguments): at most 1.2 ulps for erf and 2.5 for erfc
 * (glibc's, for comparison: 0.9 and 3.2); test/gelu.test.ts pins reference values.
 *
 * @since 0.1.0
 */
import { productError } from './exact.ts'

/** `2/√π`, correctly rounded, and what it leaves out: `2/√π − TWO_OVER_SQRT_PI` (mpmath). */
const TWO_OVER_SQRT_PI = 1.1283791670955126
const TWO_OVER_SQRT_PI_LO = 1.533545961316588e-17

/** Where the Maclaurin series stops and the Taylor table starts. */
const SERIES_END = 0.5
/** Spacing of the Taylor centres: `x₀ = ½ + (j + ½)/8`, so `|x − x₀| ≤ 1/16`. */
const CENTRES_PER_UNIT = 8
/** Where the continued fraction takes over; erfc(3) ≈ 2.2e-5. */
const FRACTION_START = 3
/** Beyond this erfc is below half the smallest subnormal (erfc(27.25) ≈ 6.7e-325): it rounds to 0. */
const UNDERFLOW = 27.25

/**
 * `erfc(½ + (j + ½)/8)` for j = 0…19, correctly rounded (mpmath at 50 digits:
 * `[float(mpmath.erfc(mpf(1)/2 + (j + mpf(1)/2)/8)) for j in range(20)]`).
 */
const CENTRE_ERFC: ReadonlyArray<number> = Object.freeze([
  0.42632554338440803, // erfc(0.5625)
  0.33091533711391874, // erfc(0.6875)
  0.25053597441363795, // erfc(0.8125)
  0.1848975989656002, // erfc(0.9375)
  0.13294173056504724, // erfc(1.0625)
  0.0930782802183135, // erfc(1.1875)
  0.06343142528861129, // erfc(1.3125)
  0.042059393943539934, // erfc(1.4375)
  0.02712538617906646, // erfc(1.5625)
  0.01701028339802197, // erfc(1.6875)
  0.010369374205224815, // erfc(1.8125)
  0.0061431936047868, // erfc(1.9375)
  0.003536249125209789, // erfc(2.0625)
  0.001977491183610797, // erfc(2.1875)
  0.0010740732907223848, // erfc(2.3125)
  0.0005665432545801649, // erfc(2.4375)
  0.00029016886167340607, // erfc(2.5625)
  0.00014428851742548005, // erfc(2.6875)
  6.965075439264378e-5, // erfc(2.8125)
  3.2635287147561264e-5 // erfc(2.9375)
])

/**
 * `erf x` for `|x| < ½` by the Maclaurin series, as the unevaluated sum `head + tail` of
 * `(2/√π)·x·(1 + q)`, `q = Σₙ₌₁¹² (−1)ⁿ x²ⁿ / (n!(2n+1))` in Horner form (the 13th term is below 2⁻⁵⁶ of
 * the sum; each denominator `n!(2n+1)` is an exact integer, so each coefficient is rounded once).
 * `|q| < 0.08`, and the leading product `(2/√π)·x` is kept exact (the constant in two parts, the
 * product's rounding error recovered), so the only rounding that matters is the caller's last one:
 * `head + tail` for erf, `(1 − head) − tail` for erfc.
 */
const erfSeries = (x: number): { readonly head: number; readonly tail: number } => {
  const z = x * x
  const q =
    z *
    (-1 / 3 +
      z *
        (1 / 10 +
          z *
            (-1 / 42 +
              z *
                (1 / 216 +
                  z *
                    (-1 / 1320 +
                      z *
                        (1 / 9360 +
                          z *
                            (-1 / 75600 +
                              z * (1 / 685440 + z * (-1 / 6894720 + z * (1 / 76204800 + z * (-1 / 918086400 + z * (1 / 11975040000))))))))))))
  const head = TWO_OVER_SQRT_PI * x
  const tail = productError(TWO_OVER_SQRT_PI, x, head) + TWO_OVER_SQRT_PI_LO * x + head * q
  return { head, tail }
}

/** Below this a Taylor term no longer changes the sum Σ u_k (an average of e^{−2x₀s − s²}, at least 0.68). */
const NEGLIGIBLE = 2 ** -60

/** `erfc x` for `½ ≤ x < 3` by the Taylor expansion around the nearest tabulated centre. */
const erfcTaylor = (x: number): number => {
  const j = Math.floor((x - SERIES_END) * CENTRES_PER_UNIT)
  const x0 = SERIES_END + (j + 0.5) / CENTRES_PER_UNIT
  const h = x - x0 // exact: x and x₀ are within a factor 2 of each other
  // The integrand e^{−2x₀s − s²} has Taylor coefficients c_k with c₀ = 1, c₁ = −2x₀ and
  // (k+1) c_{k+1} = −2x₀ c_k − 2 c_{k−1}; the integral over [0, h] is h Σ u_k with u_k = c_k h^k / (k+1):
  // u₀ = 1, u₁ = a/2, u_{k+1} = (a (k+1) u_k + b k u_{k−1}) / ((k+1)(k+2)), a = −2x₀h, b = −2h².
  // |a| + |b| < 0.38, so once two consecutive terms are negligible every later one is smaller still.
  const a = -2 * x0 * h
  const b = -2 * h * h
  let before = 1
  let current = a / 2
  let sum = 1 + current
  for (let k = 1; Math.abs(current) > NEGLIGIBLE || Math.abs(before) > NEGLIGIBLE; k++) {
    const next = (a * (k + 1) * current + b * k * before) / ((k + 1) * (k + 2))
    sum += next
    before = current
    current = next
  }
  // x₀ has 8 significant bits, so x₀² is exact and e^{−x₀²} is rounded once.
  return (CENTRE_ERFC[j] as number) - TWO_OVER_SQRT_PI * Math.exp(-x0 * x0) * (h * sum)
}

/**
 * Depth of the continued fraction at `x ≥ 3`: measured against mpmath, float64 accuracy needs 16
 * levels at x = 3, 11 at 4 and 7 at 6, about `4 + 108/x²`; this adds a margin of 4.
 */
const fractionDepth = (x: number): number => 8 + Math.ceil(108 / (x * x))

/**
 * `erfc x` for `3 ≤ x < 27.25` by the continued fraction, as `e^{−x²} · g` with
 * `g = (2/√π)·x / (2x² + 1 − t)`. Each rounding is kept out of the result where it would cost an ulp:
 * `2x²` and `(2/√π)·x` carry their rounding errors, the quotient is corrected by its exact remainder,
 * and `e^{−x²}` is `e^{−hi²}·e^{−δ}` with `hi` a float32 (so `hi²` is exact) and `δ = (x − hi)(x + hi)`
 * small, `e^{−δ}` applied as `g + g·expm1(−δ)`. What is left is about one ulp of `exp` and two roundings.
 */
const erfcFraction = (x: number): number => {
  const xx = x * x
  const y = 2 * xx
  let t = 0
  for (let n = fractionDepth(x); n >= 1; n--) t = ((2 * n - 1) * (2 * n)) / (y + 4 * n + 1 - t)
  // The denominator y + (1 − t) as dHi + dLo. 1 − t (t < 0.1 here) is rounded by at most ε/2, under
  // 0.03 ulp of the denominator (> 18); the roundings of 2x² and of the sum are carried in dLo.
  const rest = 1 - t
  const dHi = y + rest
  const dLo = y - dHi + rest + 2 * productError(x, x, xx)
  const nHi = TWO_OVER_SQRT_PI * x
  const nLo = productError(TWO_OVER_SQRT_PI, x, nHi) + TWO_OVER_SQRT_PI_LO * x
  const q = nHi / dHi
  const qd = q * dHi
  const remainder = nHi - qd - productError(q, dHi, qd)
  const g = q + (remainder + nLo - q * dLo) / dHi
  const hi = Math.fround(x)
  return Math.exp(-hi * hi) * (g + g * Math.expm1(-(x - hi) * (x + hi)))
}

/** `erfc x` for `x ≥ ½`. */
const erfcPositive = (x: number): number =>
  x < FRACTION_START ? erfcTaylor(x) : x < UNDERFLOW ? erfcFraction(x) : 0

/**
 * The error function `erf x = (2/√π) ∫₀ˣ e^{−t²} dt`, odd, from −1 to 1, to a few ulps in float64.
 * `erf(±∞) = ±1`; NaN stays NaN.
 *
 * @category math
 * @example
 * import { Special } from 'nn-ts'
 * Special.erf(0.5) // 0.5204998778130465
 * Special.erf(-3) // -0.9999779095030014
 */
export const erf = (x: number): number => {
  if (Number.isNaN(x) || x === 0) return x // erf(±0) = ±0
  const ax = Math.abs(x)
  if (ax < SERIES_END) {
    const { head, tail } = erfSeries(x)
    return head + tail
  }
  const r = 1 - erfcPositive(ax)
  return x < 0 ? -r : r
}

/**
 * The complementary error function `erfc x = 1 − erf x = (2/√π) ∫ₓ^∞ e^{−t²} dt`, from 2 down to 0,
 * to a few ulps in float64 relative to its own value, however small: `erfc(10)` is `2.088487583762545e-45`,
 * not `1 − erf(10) = 0`. It underflows to 0 beyond x ≈ 27.2. `erfc(−∞) = 2`, `erfc(∞) = 0`; NaN stays NaN.
 *
 * @category math
 * @example
 * import { Special } from 'nn-ts'
 * Special.erfc(0.5) // 0.4795001221869534 (the correctly rounded value ends in …535)
 * Special.erfc(10) // 2.088487583762545e-45
 */
export const erfc = (x: number): number => {
  if (Number.isNaN(x)) return NaN
  if (Math.abs(x) < SERIES_END) {
    const { head, tail } = erfSeries(x)
    return 1 - head - tail
  }
  return x < 0 ? 2 - erfcPositive(-x) : erfcPositive(x)
}
