/**
 * The WebAssembly SIMD backend agrees with the reference kernels.
 *
 * fast-check draws shapes (0, 1, odd sizes, sizes around and off multiples of 4 and 8, up to 80),
 * magnitudes and seeds; both backends run on the same float32 inputs and must agree element by
 * element within a bound derived from how each computes, never tuned per case.
 *
 * Error model. u = 2⁻²⁴ (float32 unit roundoff), η = 2⁻¹⁵⁰ (half the smallest subnormal step). A
 * float32 operation gives fl(a ∘ b) = (a ∘ b)(1 + δ) + ε with |δ| ≤ u and |ε| ≤ η, ε ≠ 0 only when
 * the result is subnormal (below 2⁻¹²⁶ the spacing is a fixed 2⁻¹⁴⁹, so relative precision is lost
 * but the absolute error is at most half a step). ε = 0 for a sum or difference of float32 values,
 * and for the float32 rounding of a float64 sum of float32 values: the exact result is a multiple of
 * 2⁻¹⁴⁹ (so are float64's roundings of such sums), hence representable once it is subnormal. Products,
 * quotients and roundings of other float64 values do carry ε. The reference computes in float64 and
 * rounds when it stores to float32 (float64 itself never underflows here except in softmax's exp, see
 * there). Random.normal can draw values down to about 1e-24 times the scale (Box–Muller: √(−2 ln(1−2⁻⁵³))
 * · cos of a double next to π/2) and exact zeros, so a product of two drawn values can be subnormal:
 * every bound below carries the ε terms of its computation. S is the sum of the absolute values of
 * the terms that make up an element.
 *
 * - Products (`k` terms, plus the bias for `affine`): each backend's relative error is at most
 *   γ(k+1)·S, γ(n) = n·u / (1 − n·u) (recursive summation; the reference rounds to float32 at least
 *   every four terms, WebAssembly after every term), so 2γ(k+1)·S for both, which is at most 1e-5·S
 *   for every k ≤ 82. Underflow: WebAssembly rounds k float32 products, the reference stores at most
 *   k float32 partial sums; each ε then passes through at most k more roundings: 2k(1 + γ(k))·η.
 * - Element-wise and row kernels: a handful of roundings, each ≤ u relative to a term, so the
 *   relative part is 1e-5·S with a wide margin; the ε terms are counted at each property.
 * - Softmax: the float32 `x − max` is rounded, which perturbs `exp` by a relative |x − max|·u; since
 *   y = e^(x−max) / Σ ≤ e^(x−max), that is an absolute error ≤ max_d |d|·e^d·u = u/e. So
 *   |wasm − ref| ≤ 1e-5·y + u, the u also covering the underflow terms (see the property).
 * - `sum` and `dot` accumulate in float64 in both backends, only in another order: 2·n·2⁻⁵³·S (float64
 *   does not underflow: a product of two float32 values is at least 2⁻²⁹⁸).
 *
 * Float64 tensors, element-wise maps over closures, the small-tensor kernels (BatchNorm vectors,
 * losses) and the copies delegate to the reference kernels and must agree bit for bit. So must the
 * element-wise kernels of one float32 rounding (add, sub, mul, relu, reluBackward, dropout): the
 * reference computes them in float64 and rounds once to float32, and for +, −, ×, ÷ and √ of float32
 * operands that double rounding is innocuous (53 ≥ 2·24 + 2), so it equals WebAssembly's single
 * float32 operation. Shape errors must be the same errors.
 *
 * `NN_TS_LAW_RUNS` and `NN_TS_LAW_SEED` change the number of cases and fix fast-check's seed (see
 * ./lawParameters.ts).
 */
import fc from 'fast-check'
import * as E from 'fp-ts/Either'
import { describe, expect, it } from 'vitest'
import { Random, Tensor } from '../src/index.ts'
import { kernels } from '../src/tensor/backend.ts'
import { type Kernels, reference as R } from '../src/tensor/kernels.ts'
import { setFlagsFromString } from 'node:v8'
import { type WasmKernels, backendWith, wasm } from '../src/tensor/wasm/backend.ts'
import { spawnNodeWorker } from '../src/node/threads.ts'
import { lawParameters } from './lawParameters.ts'

type T = Tensor.Tensor

const W: Kernels = E.getOrElse<string, Kernels>((why) => {
  throw new Error(`the WebAssembly backend did not load: ${why}`)
})(wasm)
/** The default backend's products variant (plain SIMD here: Node 20 without the relaxed-SIMD flag). */
const PLAIN = W

const U = 2 ** -24
/** Half the smallest float32 subnormal step: the absolute error of one rounding to a subnormal result. */
const ETA = 2 ** -150
const gamma = (n: number): number => (n * U) / (1 - n * U)
const PRODUCT_TOLERANCE = (k: number): number => 2 * gamma(k + 1)
/** k rounded float32 products in WebAssembly, at most k float32 stores in the reference (see above). */
const PRODUCT_UNDERFLOW = (k: number): number => 2 * k * (1 + gamma(k)) * ETA
const TOLERANCE = 1e-5
const F64_SUM_TOLERANCE = (n: number): number => 2 * n * 2 ** -53

/** A dimension: the edge sizes explicitly, then anything up to 80. */
const dim = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 33), fc.integer({ min: 1, max: 80 }))
const posDim = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17), fc.integer({ min: 1, max: 80 }))
const magnitude = fc.constantFrom(1e-3, 1, 1e3)
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 })
const runs = lawParameters(60)

/** A float32 tensor of normals times `scale`; with `relu`, negative entries become exact zeros. */
const data = (s: number, shape: readonly number[], scale: number, relu = false): T => {
  const t = Random.normal(Random.key(s), shape, 0, scale, 'float32')
  return relu ? R.map(t, (v) => (v > 0 ? v : 0)) : t
}

const abs64 = (t: T): T => R.map(Tensor.cast(t, 'float64'), Math.abs)

/** Element-wise |w − r| ≤ tolerance·scale, with the first offending element named. */
const agree = (what: string, w: T, r: T, scale: ArrayLike<number>, tolerance: number, absolute = 0): void => {
  expect(w.shape, `${what} shape`).toEqual(r.shape)
  expect(w.dtype, `${what} dtype`).toBe(r.dtype)
  for (let i = 0; i < r.data.length; i++) {
    const a = w.data[i] as number
    const b = r.data[i] as number
    const bound = tolerance * (scale[i] as number) + absolute
    if (!(Math.abs(a - b) <= bound)) {
      throw new Error(`${what}[${i}]: wasm ${a}, reference ${b}, |difference| ${Math.abs(a - b)} > ${bound}`)
    }
  }
}

const agreeNumber = (what: string, w: number, r: number, scale: number, tolerance: number): void => {
  if (!(Math.abs(w - r) <= tolerance * scale)) throw new Error(`${what}: wasm ${w}, reference ${r}, scale ${scale}`)
}

const identical = (what: string, w: T, r: T): void => {
  if (!Tensor.equals(w, r)) throw new Error(`${what}: results differ`)
}

/** Checks the three products and `affine` of backend `W` for `[m, k] · [k, n]` (and the transposed layouts). */
const checkProducts = (m: number, k: number, n: number, s: number, sa: number, sb: number, relu: boolean, W: Kernels = PLAIN): void => {
  const a = data(s, [m, k], sa, relu)
  const b = data(s + 1, [k, n], sb)
  const bias = data(s + 2, [n], sa * sb)
  const tol = PRODUCT_TOLERANCE(k)
  const underflow = PRODUCT_UNDERFLOW(k)

  const nn = R.matmul(abs64(a), abs64(b)).data
  agree('matmul', W.matmul(a, b), R.matmul(a, b), nn, tol, underflow)
  const withBias = R.addRowVector(R.matmul(abs64(a), abs64(b)), abs64(bias)).data
  agree('affine', W.affine(a, b, bias), R.affine(a, b, bias), withBias, tol, underflow)

  // dy·Wᵀ: a [m, k] times bt [n, k] transposed.
  const bt = data(s + 3, [n, k], sb)
  agree('matmulTransposeB', W.matmulTransposeB(a, bt), R.matmulTransposeB(a, bt), R.matmulTransposeB(abs64(a), abs64(bt)).data, tol, underflow)

  // xᵀ·dy: at [k, m] transposed times b2 [k, n]; the inner dimension is k.
  const at = data(s + 4, [k, m], sa, relu)
  const b2 = data(s + 5, [k, n], sb)
  agree('matmulTransposeA', W.matmulTransposeA(at, b2), R.matmulTransposeA(at, b2), R.matmulTransposeA(abs64(at), abs64(b2)).data, tol, underflow)
}

describe('the WebAssembly backend agrees with the reference kernels', () => {
  it('is the default backend unless NN_TS_BACKEND says otherwise', () => {
    const requested = process.env['NN_TS_BACKEND']
    expect(kernels.name).toBe(requested === 'reference' ? 'reference' : W.name)
  })

  it('matmul, matmulTransposeB, matmulTransposeA and affine, within 2γ(k+1)·Σ|terms| + 2k(1 + γ(k))·η', () => {
    fc.assert(
      fc.property(dim, dim, dim, seed, magnitude, magnitude, fc.boolean(), (m, k, n, s, sa, sb, relu) =>
        checkProducts(m, k, n, s, sa, sb, relu)
      ),
      runs
    )
  })

  it('the products at the MNIST shapes (784×800 and 40×30) and packed-operand sizes, same bound', () => {
    checkProducts(128, 784, 800, 11, 1, 0.05, true)
    checkProducts(100, 40, 30, 12, 1, 0.3, false)
    // Large enough that xᵀ·dy packs its left operand, with odd sizes for the transpose's edges.
    checkProducts(67, 75, 61, 13, 1, 0.3, false)
    checkProducts(130, 99, 33, 14, 1, 0.3, true)
  })

  it('two threads give the one-thread products bit for bit (each column panel is computed by one thread, the same way)', () => {
    const two = E.getOrElseW((why: string) => {
      throw new Error(why)
    })(backendWith({ threads: 2, minParallelFlops: 0, spawn: spawnNodeWorker, fma: false }))
    const one = E.getOrElseW((why: string) => {
      throw new Error(why)
    })(backendWith({ threads: 1, fma: false }))
    expect(one.name).toBe('wasm-simd')
    // The worker starts asynchronously; until it is up, products run on one thread. Wait for it.
    const deadline = Date.now() + 10_000
    const probe = data(1, [16, 16], 1)
    while (Date.now() < deadline) {
      two.matmul(probe, probe)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5)
      if (two.threadsReady()) break
    }
    // Where worker threads exist (Node), the two-thread backend has its worker: else this law tests nothing.
    expect(two.name).toBe('wasm-simd-2t')
    fc.assert(
      fc.property(posDim, posDim, fc.integer({ min: 9, max: 200 }), seed, (m, k, n, s) => {
        const a = data(s, [m, k], 1)
        const b = data(s + 1, [k, n], 1)
        const bt = data(s + 2, [n, k], 1)
        const at = data(s + 3, [k, m], 1)
        const bias = data(s + 4, [n], 1)
        identical('matmul', two.matmul(a, b), one.matmul(a, b))
        identical('matmulTransposeB', two.matmulTransposeB(a, bt), one.matmulTransposeB(a, bt))
        identical('matmulTransposeA', two.matmulTransposeA(at, b), one.matmulTransposeA(at, b))
        identical('affine', two.affine(a, b, bias), one.affine(a, b, bias))
      }),
      lawParameters(40)
    )
    const x = data(5, [128, 784], 1)
    const w = data(6, [784, 800], 0.05)
    identical('matmul 128×784×800', two.matmul(x, w), one.matmul(x, w))
    identical('matmulTransposeA 784×128×800', two.matmulTransposeA(x, two.matmul(x, w)), one.matmulTransposeA(x, one.matmul(x, w)))
  })

  it('row-vector broadcasts and row/column sums, within 1e-5·Σ|terms| (+ 2η for the products)', () => {
    // Sums (float32 adds in WebAssembly; float64 sums of float32 values rounded once in the reference)
    // are exact when subnormal: no ε. A product is one rounding in each backend (WebAssembly's float32
    // multiply; the reference's exact float64 product stored as float32): one ε each, 2η.
    const productUnderflow = 2 * ETA
    fc.assert(
      fc.property(dim, dim, seed, magnitude, (m, n, s, scale) => {
        const a = data(s, [m, n], scale)
        const v = data(s + 1, [n], scale)
        const r = data(s + 2, [m], scale)
        const A = abs64(a)
        agree('addRowVector', W.addRowVector(a, v), R.addRowVector(a, v), R.addRowVector(A, abs64(v)).data, TOLERANCE)
        agree('mulRowVector', W.mulRowVector(a, v), R.mulRowVector(a, v), R.mulRowVector(A, abs64(v)).data, TOLERANCE, productUnderflow)
        agree('scaleRows', W.scaleRows(a, r), R.scaleRows(a, r), R.scaleRows(A, abs64(r)).data, TOLERANCE, productUnderflow)
        agree('rowSums', W.rowSums(a), R.rowSums(a), R.rowSums(A).data, TOLERANCE)
        agree('columnSums', W.columnSums(a), R.columnSums(a), R.columnSums(A).data, TOLERANCE)
      }),
      runs
    )
  })

  it('softmaxRows within 1e-5·y + u, softmaxRowsBackward within 1e-5·|y|(|dy| + Σ|dy·y|) + (2 + (1 + u)²)·η, logSumExpRows within 1e-5·(1 + |ref|)', () => {
    // softmaxRows: besides u/e from rounding x − max (file comment), the absolute u covers underflow.
    // WebAssembly's exp gives 0 below x − max < −87.3, where y < e^−87.3 < 2⁻¹²⁵; its exp can be
    // subnormal (ε), then times 1/Σ ≤ 1 (ε); the reference's store (ε). u/e + 2⁻¹²⁵ + 3η < 0.37·u + 2⁻¹²⁴ < u.
    // The reference's float64 exp underflows only below x − max < −708, moving y by less than 2⁻¹⁰⁷⁴.
    //
    // softmaxRowsBackward: both sum S = Σ dy·y in float64 (each product exact). WebAssembly then rounds
    // S to float32 (δ, and ε if subnormal), computes dy − S in float32 (δ; exact if subnormal) and
    // y·(dy − S) in float32 (δ, ε); the reference does those in float64 and rounds once to float32
    // (δ, ε). Relative part: about 4u·|y|(|dy| + Σ|dy·y|) plus float64 terms, inside 1e-5. Underflow
    // (y = e^(x−max)/Σ is subnormal once logits are more than 87 apart): the product's ε, the store's
    // ε, and the rounded S's ε times |y| ≤ 1 through two more roundings: (2 + (1 + u)²)·η.
    //
    // logSumExpRows: the underflow terms move Σ ≥ 1 by at most n·(2⁻¹²⁵ + 2η), its log by less; the
    // absolute 1e-5 covers them.
    const softmaxBackwardUnderflow = (2 + (1 + U) ** 2) * ETA
    const logitScale = fc.constantFrom(1e-3, 1, 10, 100)
    fc.assert(
      fc.property(posDim, dim, seed, logitScale, (n, m, s, scale) => {
        const x = data(s, [m, n], scale)
        const y = R.softmaxRows(x)
        agree('softmaxRows', W.softmaxRows(x), y, y.data, TOLERANCE, U)

        const dy = data(s + 1, [m, n], 1)
        // |y|·(|dy| + Σ_l |dy_l·y_l|), the row sum broadcast back over the row.
        const rowAbs = R.rowSums(R.zipWith(abs64(dy), abs64(y), (p, q) => p * q))
        const dyPlusRow = R.zipWith(abs64(dy), R.scaleRows(Tensor.full([m, n], 1, 'float64'), rowAbs), (p, q) => p + q)
        const scaleBack = R.zipWith(abs64(y), dyPlusRow, (p, q) => p * q)
        agree('softmaxRowsBackward', W.softmaxRowsBackward(y, dy), R.softmaxRowsBackward(y, dy), scaleBack.data, TOLERANCE, softmaxBackwardUnderflow)

        const lse = R.logSumExpRows(x)
        agree('logSumExpRows', W.logSumExpRows(x), lse, R.map(abs64(lse), (t) => 1 + t).data, TOLERANCE)
      }),
      // [n, m, seed, scale] that broke the bound without its underflow term (element 185: both
      // results subnormal, one step 2⁻¹⁴⁹ apart); always checked.
      { ...runs, examples: [[9, 21, 4, 100]] }
    )
  })

  it('sum and dot, both accumulated in float64: within 2n·2⁻⁵³·Σ|terms|', () => {
    fc.assert(
      fc.property(dim, dim, seed, magnitude, (m, n, s, scale) => {
        const a = data(s, [m, n], scale)
        const b = data(s + 1, [m, n], scale)
        const len = m * n
        agreeNumber('sum', W.sum(a), R.sum(a), R.sum(abs64(a)), F64_SUM_TOLERANCE(len))
        agreeNumber('dot', W.dot(a, b), R.dot(a, b), R.dot(abs64(a), abs64(b)), F64_SUM_TOLERANCE(len))
      }),
      runs
    )
  })

  it('the optimizer kernels scale, axpby, axpbySquare and adaptiveDirection, within 1e-5·Σ|terms| + their underflow terms', () => {
    // The WebAssembly kernels take coefficients in float32, so they are drawn where float32 is
    // normal (or exactly 0): a coefficient below 2⁻¹²⁶ would already differ by more than u.
    const magnitudeOf = fc.double({ min: 2 ** -126, max: 2, noNaN: true })
    const coefficient = fc.oneof(fc.constant(0), magnitudeOf, magnitudeOf.map((c) => -c))
    const positive = fc.double({ min: 1e-3, max: 10, noNaN: true })
    const epsRoot = 1e-8
    const eps = 1e-7
    // Underflow (ε ≤ η per subnormal product or quotient; sums of float32 values are exact when
    // subnormal). The reference computes in float64 (no underflow there) and rounds once: one ε.
    // scale: WebAssembly's c·a, one ε.
    const scaleUnderflow = 2 * ETA
    // axpby: WebAssembly's a·x and b·y, each then through the float32 add (1 + u).
    const axpbyUnderflow = (1 + 2 * (1 + U)) * ETA
    // axpbySquare: WebAssembly's a·v (then the add); b·g, whose ε is multiplied by |g| < 1 (with
    // |b| ≥ 2⁻¹²⁶, b·g is subnormal only if |g| < 1) and goes through ·g and the add; (b·g)·g (then the add).
    const axpbySquareUnderflow = (1 + 2 * (1 + U) + (1 + U) ** 2) * ETA
    // adaptiveDirection: WebAssembly's numerator c1·m, whose ε is divided by the denominator, at least
    // (√epsRoot + eps)(1 − u)³ in float32 (epsRoot's rounding, the sum, √ and the sum with eps, each
    // ≥ 1 − u), then rounded (1 + u); the quotient's ε. The ε of c2·v under the root moves the result
    // by a relative η/(2·epsRoot·(1 − u)²) < 1e-37 only, inside the relative part.
    const adaptiveUnderflow = (2 + (1 + U) / ((Math.sqrt(epsRoot) + eps) * (1 - U) ** 3)) * ETA
    fc.assert(
      fc.property(dim, dim, seed, magnitude, coefficient, coefficient, positive, positive, (m, n, s, scale, alpha, beta, c1, c2) => {
        const x = data(s, [m, n], scale)
        const y = data(s + 1, [m, n], scale)
        const X = abs64(x)
        const Y = abs64(y)
        agree('scale', W.scale(x, alpha), R.scale(x, alpha), R.scale(X, Math.abs(alpha)).data, TOLERANCE, scaleUnderflow)
        agree('axpby', W.axpby(alpha, x, beta, y), R.axpby(alpha, x, beta, y), R.axpby(Math.abs(alpha), X, Math.abs(beta), Y).data, TOLERANCE, axpbyUnderflow)
        // A second moment is never negative; nor is its weight.
        const v = R.map(y, Math.abs)
        const b2 = Math.abs(beta)
        agree('axpbySquare', W.axpbySquare(alpha, v, b2, x), R.axpbySquare(alpha, v, b2, x), R.axpbySquare(Math.abs(alpha), Y, b2, X).data, TOLERANCE, axpbySquareUnderflow)
        // Every operation is a product, quotient, square root or a sum of non-negative terms, so
        // the error is relative to the result itself.
        const dir = R.adaptiveDirection(x, v, c1, c2, epsRoot, eps)
        agree('adaptiveDirection', W.adaptiveDirection(x, v, c1, c2, epsRoot, eps), dir, abs64(dir).data, TOLERANCE, adaptiveUnderflow)
      }),
      runs
    )
  })

  it('element-wise kernels over many chunks of the WebAssembly runner (16384 elements each) agree as on one', () => {
    // The runner copies each chunk in, computes it and copies it out; an element depends only on the
    // elements at its own index, so the bounds are those of the properties above (add, mul, relu and
    // reluBackward round once in both backends: identical).
    const axpbyUnderflow = (1 + 2 * (1 + U)) * ETA
    for (const len of [16383, 16384, 16385, 3 * 16384 + 5]) {
      const x = data(len, [len], 1)
      const y = data(len + 1, [len], 1)
      const X = abs64(x)
      agree(`scale ${len}`, W.scale(x, 0.3), R.scale(x, 0.3), R.scale(X, 0.3).data, TOLERANCE, 2 * ETA)
      agree(`axpby ${len}`, W.axpby(0.9, x, -0.1, y), R.axpby(0.9, x, -0.1, y), R.axpby(0.9, X, 0.1, abs64(y)).data, TOLERANCE, axpbyUnderflow)
      identical(`add ${len}`, W.add(x, y), R.add(x, y))
      identical(`sub ${len}`, W.sub(x, y), R.sub(x, y))
      identical(`dropout ${len}`, W.dropout(x, y, 0.1, 1 / 0.9), R.dropout(x, y, 0.1, 1 / 0.9))
      identical(`mul ${len}`, W.mul(x, y), R.mul(x, y))
      identical(`relu ${len}`, W.relu(x), R.relu(x))
      identical(`reluBackward ${len}`, W.reluBackward(y, x), R.reluBackward(y, x))
    }
  })

  it('ReLU keeps NaN, maps −0 to 0 and has derivative 0 at 0, like Math.max and the HW1 convention', () => {
    const x = Tensor.fromArray([5], [Number.NaN, -0, 0, -2, 3])
    const d = Tensor.fromArray([5], [1, 1, 1, Number.NaN, 2])
    for (const K of [R, W]) {
      expect(Array.from(K.relu(x).data)).toEqual([Number.NaN, 0, 0, 0, 3])
      expect(Object.is(K.relu(x).data[1], 0)).toBe(true)
      expect(Array.from(K.reluBackward(d, x).data)).toEqual([0, 0, 0, Number.NaN, 2])
    }
  })

  it('delegated kernels (closures, argmax, column copies) give the reference results bit for bit', () => {
    fc.assert(
      fc.property(posDim, posDim, seed, fc.nat(), fc.nat(), (m, n, s, i, j) => {
        const a = data(s, [m, n], 1)
        const b = data(s + 1, [m, n], 1)
        const c = data(s + 2, [m, n], 1)
        identical('map', W.map(a, Math.tanh), R.map(a, Math.tanh))
        identical('zipWith', W.zipWith(a, b, Math.atan2), R.zipWith(a, b, Math.atan2))
        identical('zipWith3', W.zipWith3(a, b, c, (p, q, r) => p * q - r), R.zipWith3(a, b, c, (p, q, r) => p * q - r))
        identical('add', W.add(a, b), R.add(a, b))
        identical('sub', W.sub(a, b), R.sub(a, b))
        identical('mul', W.mul(a, b), R.mul(a, b))
        identical('add as zipWith', R.add(a, b), R.zipWith(a, b, (x, y) => x + y))
        identical('sub as zipWith', R.sub(a, b), R.zipWith(a, b, (x, y) => x - y))
        identical('mul as zipWith', R.mul(a, b), R.zipWith(a, b, (x, y) => x * y))
        // Small-tensor kernels (BatchNorm vectors, losses) are the reference ones in both backends.
        const probabilities = R.map(c, (x) => 1 / (1 + Math.exp(-x)))
        const targets = R.map(b, (x) => (x > 0 ? 1 : 0))
        identical('divide', W.divide(a, 7), R.divide(a, 7))
        identical('inverseSqrt', W.inverseSqrt(R.map(a, Math.abs), 1e-3), R.inverseSqrt(R.map(a, Math.abs), 1e-3))
        for (const form of ['binary', 'binaryLogits', 'categorical'] as const) {
          identical(`crossEntropyTerms ${form}`, W.crossEntropyTerms(form, probabilities, targets), R.crossEntropyTerms(form, probabilities, targets))
        }
        for (const form of ['binary', 'binaryLogits', 'categorical', 'softmax'] as const) {
          identical(`crossEntropyGrad ${form}`, W.crossEntropyGrad(form, probabilities, targets, m), R.crossEntropyGrad(form, probabilities, targets, m))
        }
        identical('relu', W.relu(a), R.relu(a))
        identical('reluBackward', W.reluBackward(b, a), R.reluBackward(b, a))
        // Dropout: a product with the stored float32 scale or 0, one rounding in both backends; the
        // WebAssembly comparison u ≥ rate runs in float32 against the least float32 ≥ rate, which
        // selects the same elements (rates drawn where float32 cannot hold them exactly).
        const u = Random.uniform(Random.key(s + 3), [m, n], 0, 1, 'float32')
        const rate = (i % 1000) / 1000 + 1e-9 * (j % 7)
        const keepScale = 1 / (1 - rate)
        identical('dropout', W.dropout(a, u, rate, keepScale), R.dropout(a, u, rate, keepScale))
        identical('dropout as a mask', R.dropout(a, u, rate, keepScale), R.mul(a, R.map(u, (v) => (v >= rate ? keepScale : 0))))
        // The dedicated ReLU kernels are the closure forms the activation layer used before them.
        identical('relu as map', R.relu(a), R.map(a, (x) => Math.max(x, 0)))
        identical('reluBackward as zipWith', R.reluBackward(b, a), R.zipWith(b, a, (d, x) => d * (x > 0 ? 1 : 0)))
        expect(W.argmaxRows(a)).toEqual(R.argmaxRows(a))
        identical('concatColumns', W.concatColumns(a, b), R.concatColumns(a, b))
        const [lo, hi] = [i % (n + 1), j % (n + 1)].sort((p, q) => p - q) as [number, number]
        identical('sliceColumns', W.sliceColumns(a, lo, hi), R.sliceColumns(a, lo, hi))
      }),
      runs
    )
  })

  it('float64 tensors go to the reference kernels: every kernel agrees bit for bit', () => {
    fc.assert(
      fc.property(posDim, posDim, posDim, seed, (m, k, n, s) => {
        const d = (t: number, shape: readonly number[]): T => Random.normal(Random.key(s + t), shape, 0, 1, 'float64')
        const a = d(0, [m, k])
        const b = d(1, [k, n])
        const bt = d(2, [n, k])
        const at = d(3, [k, m])
        const v = d(4, [k])
        const r = d(5, [m])
        const a2 = d(6, [m, k])
        identical('matmul', W.matmul(a, b), R.matmul(a, b))
        identical('matmulTransposeB', W.matmulTransposeB(a, bt), R.matmulTransposeB(a, bt))
        identical('matmulTransposeA', W.matmulTransposeA(at, b), R.matmulTransposeA(at, b))
        identical('affine', W.affine(a, b, d(7, [n])), R.affine(a, b, d(7, [n])))
        identical('addRowVector', W.addRowVector(a, v), R.addRowVector(a, v))
        identical('mulRowVector', W.mulRowVector(a, v), R.mulRowVector(a, v))
        identical('scaleRows', W.scaleRows(a, r), R.scaleRows(a, r))
        identical('rowSums', W.rowSums(a), R.rowSums(a))
        identical('columnSums', W.columnSums(a), R.columnSums(a))
        identical('softmaxRows', W.softmaxRows(a), R.softmaxRows(a))
        identical('softmaxRowsBackward', W.softmaxRowsBackward(R.softmaxRows(a), a2), R.softmaxRowsBackward(R.softmaxRows(a), a2))
        identical('logSumExpRows', W.logSumExpRows(a), R.logSumExpRows(a))
        expect(W.sum(a)).toBe(R.sum(a))
        expect(W.dot(a, a2)).toBe(R.dot(a, a2))
        identical('scale', W.scale(a, 0.3), R.scale(a, 0.3))
        identical('add', W.add(a, a2), R.add(a, a2))
        identical('add as zipWith', R.add(a, a2), R.zipWith(a, a2, (x, y) => x + y))
        identical('sub', W.sub(a, a2), R.sub(a, a2))
        identical('sub as zipWith', R.sub(a, a2), R.zipWith(a, a2, (x, y) => x - y))
        const u = Random.uniform(Random.key(s + 8), [m, k], 0, 1, 'float64')
        identical('dropout', W.dropout(a, u, 0.3, 1 / 0.7), R.dropout(a, u, 0.3, 1 / 0.7))
        identical('mul', W.mul(a, a2), R.mul(a, a2))
        identical('mul as zipWith', R.mul(a, a2), R.zipWith(a, a2, (x, y) => x * y))
        identical('relu', W.relu(a), R.relu(a))
        identical('relu as map', R.relu(a), R.map(a, (x) => Math.max(x, 0)))
        identical('reluBackward', W.reluBackward(a2, a), R.reluBackward(a2, a))
        identical('reluBackward as zipWith', R.reluBackward(a2, a), R.zipWith(a2, a, (g, x) => g * (x > 0 ? 1 : 0)))
        identical('axpby', W.axpby(0.9, a, 0.1, a2), R.axpby(0.9, a, 0.1, a2))
        identical('axpbySquare', W.axpbySquare(0.9, R.map(a, Math.abs), 0.1, a2), R.axpbySquare(0.9, R.map(a, Math.abs), 0.1, a2))
        const vv = R.map(a2, Math.abs)
        identical('adaptiveDirection', W.adaptiveDirection(a, vv, 1, 1, 0, 1e-8), R.adaptiveDirection(a, vv, 1, 1, 0, 1e-8))
      }),
      lawParameters(20)
    )
  })

  it('shape and dtype errors are the reference errors', () => {
    const a = data(1, [3, 5], 1)
    const b = data(2, [4, 6], 1)
    const v = data(3, [4], 1)
    const a64 = Tensor.cast(a, 'float64')
    const message = (f: () => unknown): string => {
      try {
        f()
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`
      }
      return 'no error'
    }
    const cases: ReadonlyArray<[string, (K: Kernels) => unknown]> = [
      ['matmul', (K) => K.matmul(a, b)],
      ['matmul dtypes', (K) => K.matmul(a, Tensor.cast(data(4, [5, 2], 1), 'float64'))],
      ['matmulTransposeB', (K) => K.matmulTransposeB(a, b)],
      ['matmulTransposeA', (K) => K.matmulTransposeA(a, b)],
      ['affine weights', (K) => K.affine(a, b, v)],
      ['affine bias', (K) => K.affine(a, data(5, [5, 2], 1), v)],
      ['affine bias dtype', (K) => K.affine(a, data(5, [5, 2], 1), Tensor.cast(data(6, [2], 1), 'float64'))],
      ['addRowVector', (K) => K.addRowVector(a, v)],
      ['addRowVector dtypes', (K) => K.addRowVector(a, Tensor.cast(data(7, [5], 1), 'float64'))],
      ['mulRowVector', (K) => K.mulRowVector(a, v)],
      ['scaleRows', (K) => K.scaleRows(a, v)],
      ['rowSums', (K) => K.rowSums(v)],
      ['columnSums', (K) => K.columnSums(v)],
      ['softmaxRows', (K) => K.softmaxRows(v)],
      ['softmaxRowsBackward', (K) => K.softmaxRowsBackward(a, b)],
      ['logSumExpRows', (K) => K.logSumExpRows(v)],
      ['dot', (K) => K.dot(a, b)],
      ['dot dtypes', (K) => K.dot(a, a64)],
      ['add', (K) => K.add(a, b)],
      ['add dtypes', (K) => K.add(a, a64)],
      ['mul', (K) => K.mul(a, b)],
      ['sub', (K) => K.sub(a, b)],
      ['sub dtypes', (K) => K.sub(a, a64)],
      ['dropout', (K) => K.dropout(a, b, 0.5, 2)],
      ['dropout dtypes', (K) => K.dropout(a, a64, 0.5, 2)],
      ['crossEntropyTerms', (K) => K.crossEntropyTerms('binary', a, b)],
      ['crossEntropyGrad', (K) => K.crossEntropyGrad('softmax', a, b, 3)],
      ['reluBackward', (K) => K.reluBackward(a, b)],
      ['reluBackward dtypes', (K) => K.reluBackward(a, a64)],
      ['axpby', (K) => K.axpby(1, a, 1, b)],
      ['axpbySquare', (K) => K.axpbySquare(1, a, 1, b)],
      ['adaptiveDirection', (K) => K.adaptiveDirection(a, b, 1, 1, 0, 1e-8)]
    ]
    for (const [what, f] of cases) {
      const expected = message(() => f(R))
      expect(expected, what).not.toBe('no error')
      expect(message(() => f(W)), what).toBe(expected)
    }
  })

  it('every kernel of the interface is covered by these laws', () => {
    // The fused optimizer steps are pinned, on each backend, to the composed kernels they replace, bit
    // for bit (laws/fusedOptim.law.test.ts); those agree across backends by the bounds above.
    const fused = ['sgdStep', 'momentumStep', 'emaMomentumStep', 'adamStep', 'rmsPropStep']
    const covered = new Set([
      ...fused,
      'name', 'matmul', 'matmulTransposeB', 'matmulTransposeA', 'affine', 'addRowVector', 'mulRowVector', 'rowSums', 'scaleRows',
      'columnSums', 'scale', 'add', 'sub', 'mul', 'divide', 'inverseSqrt', 'dropout', 'crossEntropyTerms', 'crossEntropyGrad', 'relu', 'reluBackward', 'axpby', 'axpbySquare', 'adaptiveDirection', 'map', 'zipWith', 'zipWith3', 'softmaxRows',
      'softmaxRowsBackward', 'logSumExpRows', 'argmaxRows', 'sum', 'dot', 'concatColumns', 'sliceColumns'
    ])
    expect(Object.keys(R).filter((k) => !covered.has(k))).toEqual([])
  })
})

describe('the FMA variant (products with fused multiply-adds, relaxed SIMD) agrees with the reference kernels', () => {
  // Test code may set engine flags; the library core never does (nn-ts/node's useRelaxedSimd is the
  // explicit opt-in). On Node ≥ 22 relaxed SIMD needs no flag.
  const orThrow = <A>(e: E.Either<string, A>): A =>
    E.getOrElseW((why: string) => {
      throw new Error(why)
    })(e)
  let built: { one: WasmKernels; two: WasmKernels; plain: WasmKernels } | undefined
  const fmaBackends = (): { one: WasmKernels; two: WasmKernels; plain: WasmKernels } => (built ??= build())
  const build = (): { one: WasmKernels; two: WasmKernels; plain: WasmKernels } => {
    setFlagsFromString('--experimental-wasm-relaxed-simd')
    const one = orThrow(backendWith({ threads: 1, fma: true }))
    const two = orThrow(backendWith({ threads: 2, fma: true, minParallelFlops: 0, spawn: spawnNodeWorker }))
    const plain = orThrow(backendWith({ threads: 1, fma: false }))
    const deadline = Date.now() + 10_000
    while (!two.threadsReady() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5)
    return { one, two, plain }
  }

  it('is named for its variant, and really fuses: bias + x·x, x = 1 + 2⁻¹², bias = −(1 + 2⁻¹¹), is 2⁻²⁴ fused and 0 split', () => {
    const { one, two, plain } = fmaBackends()
    expect([one.name, two.name, plain.name]).toEqual(['wasm-simd-fma', 'wasm-simd-fma-2t', 'wasm-simd'])
    const x = Tensor.fromArray([1, 1], [1 + 2 ** -12])
    const bias = Tensor.fromArray([1], [-(1 + 2 ** -11)])
    expect([one.affine(x, x, bias).data[0], two.affine(x, x, bias).data[0], plain.affine(x, x, bias).data[0]]).toEqual([2 ** -24, 2 ** -24, 0])
    // A product that has run fixes the variant: a run never mixes them.
    const fresh = orThrow(backendWith({ threads: 1, fma: false }))
    fresh.matmul(x, x)
    expect(E.isLeft(fresh.useFma())).toBe(true)
    expect(E.isRight(orThrow(backendWith({ threads: 1, fma: false })).useFma())).toBe(true)
  })

  it('products within the plain products\' bound: 2γ(k+1)·Σ|terms| + 2k(1 + γ(k))·η', () => {
    // Each step of the FMA tile is c ← fl(c + a·b), one rounding where plain SIMD has two, so its
    // error is at most γ(k+1)·S (k multiply-adds, the bias as the first term), inside the bound that
    // covers plain SIMD and the reference together (file comment). Underflow: a·b is exact inside the
    // multiply-add, so ε arises only when a rounded partial sum is subnormal, at most once per step:
    // k·η, each through at most k more roundings, within 2k(1 + γ(k))·η.
    const { one } = fmaBackends()
    fc.assert(
      fc.property(dim, dim, dim, seed, magnitude, magnitude, fc.boolean(), (m, k, n, s, sa, sb, relu) => checkProducts(m, k, n, s, sa, sb, relu, one)),
      runs
    )
    checkProducts(128, 784, 800, 11, 1, 0.05, true, one)
    checkProducts(130, 99, 33, 14, 1, 0.3, true, one)
  })

  it('two threads give the one-thread FMA products bit for bit (the worker runs the FMA module too)', () => {
    const { one, two } = fmaBackends()
    expect(two.threadsReady()).toBe(true)
    fc.assert(
      fc.property(posDim, posDim, fc.integer({ min: 9, max: 200 }), seed, (m, k, n, s) => {
        const a = data(s, [m, k], 1)
        const b = data(s + 1, [k, n], 1)
        const bt = data(s + 2, [n, k], 1)
        const at = data(s + 3, [k, m], 1)
        const bias = data(s + 4, [n], 1)
        identical('fma matmul', two.matmul(a, b), one.matmul(a, b))
        identical('fma matmulTransposeB', two.matmulTransposeB(a, bt), one.matmulTransposeB(a, bt))
        identical('fma matmulTransposeA', two.matmulTransposeA(at, b), one.matmulTransposeA(at, b))
        identical('fma affine', two.affine(a, b, bias), one.affine(a, b, bias))
      }),
      lawParameters(40)
    )
  })

  it('only the products change: every other kernel is the plain variant\'s, bit for bit', () => {
    const { one, plain } = fmaBackends()
    fc.assert(
      fc.property(posDim, posDim, seed, (m, n, s) => {
        const a = data(s, [m, n], 1)
        const b = data(s + 1, [m, n], 1)
        const v = data(s + 2, [n], 1)
        const pos = R.map(b, Math.abs)
        identical('addRowVector', one.addRowVector(a, v), plain.addRowVector(a, v))
        identical('columnSums', one.columnSums(a), plain.columnSums(a))
        identical('softmaxRows', one.softmaxRows(a), plain.softmaxRows(a))
        identical('axpby', one.axpby(0.9, a, 0.1, b), plain.axpby(0.9, a, 0.1, b))
        const k = { b1: 0.9, k1: 0.1, b2: 0.999, k2: 0.001, c1: 10, c2: 1000, epsRoot: 0, eps: 1e-8, eta: 1e-3 }
        const [x, y] = [one.adamStep(a, b, a, pos, k), plain.adamStep(a, b, a, pos, k)]
        identical('adamStep', x.param, y.param)
        identical('dropout', one.dropout(a, pos, 0.5, 2), plain.dropout(a, pos, 0.5, 2))
      }),
      runs
    )
  })
})
