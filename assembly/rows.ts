/**
 * Float32 row and column kernels with WebAssembly SIMD: broadcasts, reductions and softmax.
 *
 * Sums that the reference backend accumulates in float64 (column sums, row sums, `sum`, `dot`, the
 * softmax normaliser) are accumulated in float64 here too, two lanes at a time: a float32
 * accumulator over a 60 000-row column would drift far past the agreement the backends promise.
 * Element-wise work stays in float32, four lanes at a time, with a scalar loop for the last `n % 4`.
 *
 * Every function reads and writes caller-provided scratch; outputs may alias inputs element for
 * element (each output element depends only on the input elements at the same place or on row
 * statistics computed before it is written).
 */

// @ts-ignore: decorator
@inline function f32At(base: usize, i: i32): usize {
  return base + ((<usize>i) << 2)
}

/** `out[i, j] = a[i, j] + v[j]` for `a: [m, n]`, `v: [n]`. */
export function addRowVector(a: usize, v: usize, out: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const r = a + (<usize>(i * n) << 2), o = out + (<usize>(i * n) << 2)
    let j = 0
    for (; j + 4 <= n; j += 4) v128.store(f32At(o, j), f32x4.add(v128.load(f32At(r, j)), v128.load(f32At(v, j))))
    for (; j < n; j++) store<f32>(f32At(o, j), load<f32>(f32At(r, j)) + load<f32>(f32At(v, j)))
  }
}

/** `out[i, j] = a[i, j] · v[j]` for `a: [m, n]`, `v: [n]`. */
export function mulRowVector(a: usize, v: usize, out: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const r = a + (<usize>(i * n) << 2), o = out + (<usize>(i * n) << 2)
    let j = 0
    for (; j + 4 <= n; j += 4) v128.store(f32At(o, j), f32x4.mul(v128.load(f32At(r, j)), v128.load(f32At(v, j))))
    for (; j < n; j++) store<f32>(f32At(o, j), load<f32>(f32At(r, j)) * load<f32>(f32At(v, j)))
  }
}

/** `out[i, j] = a[i, j] · v[i]` for `a: [m, n]`, `v: [m]`. */
export function scaleRows(a: usize, v: usize, out: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const r = a + (<usize>(i * n) << 2), o = out + (<usize>(i * n) << 2)
    const s = load<f32>(f32At(v, i))
    const sv = f32x4.splat(s)
    let j = 0
    for (; j + 4 <= n; j += 4) v128.store(f32At(o, j), f32x4.mul(v128.load(f32At(r, j)), sv))
    for (; j < n; j++) store<f32>(f32At(o, j), load<f32>(f32At(r, j)) * s)
  }
}

/**
 * `out[j] = Σ_i a[i, j]` for `a: [m, n]`, summed down each column in row order in float64 (as the
 * reference does, so both give the same float64 sum before rounding). `acc` is `n` float64 scratch.
 */
export function columnSums(a: usize, out: usize, m: i32, n: i32, acc: usize): void {
  memory.fill(acc, 0, (<usize>n) << 3)
  for (let i = 0; i < m; i++) {
    const r = a + (<usize>(i * n) << 2)
    let j = 0
    for (; j + 4 <= n; j += 4) {
      const x = v128.load(f32At(r, j))
      const ap = acc + ((<usize>j) << 3)
      v128.store(ap, f64x2.add(v128.load(ap), f64x2.promote_low_f32x4(x)))
      v128.store(ap, f64x2.add(v128.load(ap, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3))), 16)
    }
    for (; j < n; j++) {
      const ap = acc + ((<usize>j) << 3)
      store<f64>(ap, load<f64>(ap) + <f64>load<f32>(f32At(r, j)))
    }
  }
  for (let j = 0; j < n; j++) store<f32>(f32At(out, j), <f32>load<f64>(acc + ((<usize>j) << 3)))
}

/** Σ of `n` floats from `p`, in float64 (two lanes, then the tail). */
function sumF64(p: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0)
  let j = 0
  for (; j + 4 <= n; j += 4) {
    const x = v128.load(f32At(p, j))
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(x))
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3)))
  }
  const s = f64x2.add(s0, s1)
  let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1)
  for (; j < n; j++) t += <f64>load<f32>(f32At(p, j))
  return t
}

/** Σ of `n` products `x[j]·y[j]`, each exact in float64 (24-bit significands), summed in float64. */
function dotF64(x: usize, y: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0)
  let j = 0
  for (; j + 4 <= n; j += 4) {
    const a = v128.load(f32At(x, j)), b = v128.load(f32At(y, j))
    s0 = f64x2.add(s0, f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)))
    s1 = f64x2.add(
      s1,
      f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 2, 3)), f64x2.promote_low_f32x4(v128.shuffle<f32>(b, b, 2, 3, 2, 3)))
    )
  }
  const s = f64x2.add(s0, s1)
  let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1)
  for (; j < n; j++) t += <f64>load<f32>(f32At(x, j)) * <f64>load<f32>(f32At(y, j))
  return t
}

/** `out[i] = Σ_j a[i, j]` for `a: [m, n]`, in float64, rounded once. */
export function rowSums(a: usize, out: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) store<f32>(f32At(out, i), <f32>sumF64(a + (<usize>(i * n) << 2), n))
}

/** Σ of every element, in float64. */
export function sum(a: usize, len: i32): f64 {
  return sumF64(a, len)
}

/** Σ a·b over every element, in float64. */
export function dot(a: usize, b: usize, len: i32): f64 {
  return dotF64(a, b, len)
}

/** Largest of `n ≥ 1` floats; NaN if any is NaN, like `Math.max` in the reference. */
function rowMax(p: usize, n: i32): f32 {
  let mv = f32x4.splat(-Infinity)
  let j = 0
  // f32x4.max propagates NaN, which keeps the reference's Math.max semantics.
  for (; j + 4 <= n; j += 4) mv = f32x4.max(mv, v128.load(f32At(p, j)))
  let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)))
  for (; j < n; j++) mx = max(mx, load<f32>(f32At(p, j)))
  return mx
}

// exp on four float32 lanes: 2^n · e^r with n = round(x / ln 2) and |r| ≤ ln 2 / 2, e^r by a degree-7
// Taylor-style polynomial in Horner form (Cephes' minimax coefficients), 2^n built in the exponent bits.
// Accurate to about 2 ulp; inputs below −87.3 (where 2^n leaves the normal range) give 0.

// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341
// ln 2 split in a part with few significant bits (so n · LN2_HI is exact) and the rest.
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693359375
// @ts-ignore: decorator
@inline const LN2_LO: f32 = -2.12194440e-4
// @ts-ignore: decorator
@inline const EXP_LO: f32 = -87.3
// @ts-ignore: decorator
@inline const EXP_HI: f32 = 88.3

// @ts-ignore: decorator
@inline function expf4(x: v128): v128 {
  const tiny = f32x4.lt(x, f32x4.splat(EXP_LO))
  const xc = f32x4.min(f32x4.max(x, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI))
  const nf = f32x4.nearest(f32x4.mul(xc, f32x4.splat(LOG2E)))
  const r = f32x4.sub(f32x4.sub(xc, f32x4.mul(nf, f32x4.splat(LN2_HI))), f32x4.mul(nf, f32x4.splat(LN2_LO)))
  let p = f32x4.splat(1.9875691500e-4)
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1))
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1))
  // 2^n as float bits: (n + 127) << 23. n ∈ [−126, 128) after the clamp; the x > 88.3 side would
  // overflow float32 anyway, and the reference gives Infinity there too (handled by the caller's max shift).
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(nf), i32x4.splat(127)), 23)
  return v128.andnot(f32x4.mul(p, pow2), tiny)
}

/** Scalar exp through the vector one, for row tails (keeps tails and bodies bit-consistent). */
// @ts-ignore: decorator
@inline function expf1(x: f32): f32 {
  return f32x4.extract_lane(expf4(f32x4.splat(x)), 0)
}

/**
 * Row-wise softmax of `a: [m, n]` into `out`: `e = exp(x − max)` in float32, the normaliser summed in
 * float64, then `e · (1 / Σ e)`.
 */
export function softmaxRows(a: usize, out: usize, m: i32, n: i32): void {
  if (n == 0) return
  for (let i = 0; i < m; i++) {
    const r = a + (<usize>(i * n) << 2), o = out + (<usize>(i * n) << 2)
    const mx = rowMax(r, n)
    const mv = f32x4.splat(mx)
    let j = 0
    for (; j + 4 <= n; j += 4) v128.store(f32At(o, j), expf4(f32x4.sub(v128.load(f32At(r, j)), mv)))
    for (; j < n; j++) store<f32>(f32At(o, j), expf1(load<f32>(f32At(r, j)) - mx))
    const inv = <f32>(1 / sumF64(o, n))
    const iv = f32x4.splat(inv)
    j = 0
    for (; j + 4 <= n; j += 4) v128.store(f32At(o, j), f32x4.mul(v128.load(f32At(o, j)), iv))
    for (; j < n; j++) store<f32>(f32At(o, j), load<f32>(f32At(o, j)) * inv)
  }
}

/** `out = y ⊙ (dy − Σ_j dy_j y_j)` per row, the sum in float64. */
export function softmaxRowsBackward(y: usize, dy: usize, out: usize, m: i32, n: i32): void {
  for (let i = 0; i < m; i++) {
    const off = (<usize>(i * n)) << 2
    const yr = y + off, dr = dy + off, o = out + off
    const s = <f32>dotF64(dr, yr, n)
    const sv = f32x4.splat(s)
    let j = 0
    for (; j + 4 <= n; j += 4) {
      v128.store(f32At(o, j), f32x4.mul(v128.load(f32At(yr, j)), f32x4.sub(v128.load(f32At(dr, j)), sv)))
    }
    for (; j < n; j++) store<f32>(f32At(o, j), load<f32>(f32At(yr, j)) * (load<f32>(f32At(dr, j)) - s))
  }
}

/** `out[i] = log Σ_j exp(a[i, j])` by the max shift, the sum and the logarithm in float64. */
export function logSumExpRows(a: usize, out: usize, m: i32, n: i32, tmp: usize): void {
  for (let i = 0; i < m; i++) {
    const r = a + (<usize>(i * n) << 2)
    if (n == 0) {
      store<f32>(f32At(out, i), -Infinity)
      continue
    }
    const mx = rowMax(r, n)
    const mv = f32x4.splat(mx)
    let j = 0
    for (; j + 4 <= n; j += 4) v128.store(f32At(tmp, j), expf4(f32x4.sub(v128.load(f32At(r, j)), mv)))
    for (; j < n; j++) store<f32>(f32At(tmp, j), expf1(load<f32>(f32At(r, j)) - mx))
    store<f32>(f32At(out, i), <f32>(<f64>mx + Math.log(sumF64(tmp, n))))
  }
}
