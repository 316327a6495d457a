/**
 * Error-free transformations of float64 products (Dekker 1971, "A floating-point technique for
 * extending the available precision"), for the few places where one rounding costs too much:
 * `a·b = p + e` exactly, with `p = fl(a·b)`. JavaScript has no fused multiply-add, so the error term
 * comes from Veltkamp's splitting of each factor into two 26-bit halves whose products are exact.
 *
 * @internal
 */

/** `2²⁷ + 1`: multiplying by it and subtracting back splits a float64 into two halves of ≤ 26 bits. */
const SPLITTER = 134217729

/** The high half of `a` (its low half is `a − high`). Valid for `|a| < 2⁹⁹⁵`, where `SPLITTER·a` cannot overflow. */
const high = (a: number): number => {
  const t = SPLITTER * a
  return t - (t - a)
}

/**
 * The rounding error of the product `p = fl(a·b)`: `a·b − p`, exactly (for `|a|, |b| < 2⁹⁹⁵` and no
 * underflow in the partial products).
 * @internal
 */
export const productError = (a: number, b: number, p: number): number => {
  const aHi = high(a)
  const aLo = a - aHi
  const bHi = high(b)
  const bLo = b - bHi
  return aHi * bHi - p + aHi * bLo + aLo * bHi + aLo * bLo
}
