/**
 * Float32 matrix products with WebAssembly SIMD.
 *
 * One driver covers the three forms a dense layer needs, `x·W`, `dy·Wᵀ` and `xᵀ·dy`, by reading both
 * operands through strides instead of transposing them: element `(i, p)` of the left operand is at
 * `a + 4·(i·ars + p·aps)` and element `(p, j)` of the right one at `b + 4·(p·brs + j·bcs)`.
 *
 * The right operand is packed, eight columns at a time, into a contiguous `[k][8]` panel (a few tens
 * of kilobytes, so it stays in L1 while every row block of the left operand streams past it). A 4×8
 * register tile then needs two vector loads and four broadcasts per step of `k` for eight
 * multiply-adds: 8 accumulators + 2 panel vectors + 1 broadcast fit the 16 vector registers V8 has
 * on x64. Measured on the target machine, wider tiles (5×8, 6×8) spill and unrolling `k` makes V8's
 * register allocator worse, so the loop stays plain.
 *
 * All memory here is caller-provided scratch; this file allocates nothing.
 */

/**
 * `c + x·b` on four lanes: a multiply and an add (two roundings) in the plain build; one fused
 * multiply-add (one rounding) where the module is compiled with relaxed SIMD (assembly/gemmFma.ts:
 * `f32x4.relaxed_madd`, which the backend uses only after checking that this engine and CPU fuse it).
 */
// @ts-ignore: decorator
@inline function madd(x: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, b, c)
  return f32x4.add(c, f32x4.mul(x, b))
}

/** The packed panel's zero-padded bias (8 floats) sits right after the panel; the 4×8 tile after that. */
// @ts-ignore: decorator
@inline const PANEL_TAIL: usize = 32 + 128

/** Bytes of scratch one thread needs for a product with inner dimension `k`. */
export function gemmScratchBytes(k: i32): usize {
  return ((<usize>k) << 5) + PANEL_TAIL
}

/**
 * Copies columns `j .. j+w-1` of the right operand into `dst` as `[k][8]`, zero-padding past `w`, so
 * the micro-kernel never needs an edge case along `n`.
 */
function packPanel(b: usize, brs: i32, bcs: i32, k: i32, j: i32, w: i32, dst: usize): void {
  if (bcs == 1 && w == 8) {
    // x·W and xᵀ·dy: eight contiguous floats per row of the right operand.
    let src = b + ((<usize>j) << 2)
    const step = (<usize>brs) << 2
    for (let p = 0; p < k; p++) {
      v128.store(dst, v128.load(src))
      v128.store(dst, v128.load(src, 16), 16)
      src += step
      dst += 32
    }
    return
  }
  if (brs == 1 && w == 8) {
    // dy·Wᵀ: the panel's columns are eight rows of W, each contiguous along k. Four steps of k at a
    // time become two 4×4 transposes in registers instead of 32 scalar loads and stores.
    const rowB = (<usize>bcs) << 2
    let s0 = b + (<usize>j) * rowB
    let p = 0
    for (; p + 4 <= k; p += 4) {
      const s4 = s0 + 4 * rowB
      const r0 = v128.load(s0), r1 = v128.load(s0 + rowB), r2 = v128.load(s0 + 2 * rowB), r3 = v128.load(s0 + 3 * rowB)
      const r4 = v128.load(s4), r5 = v128.load(s4 + rowB), r6 = v128.load(s4 + 2 * rowB), r7 = v128.load(s4 + 3 * rowB)
      // Interleave pairs, then pairs of pairs: t01 = r0[0] r1[0] r0[1] r1[1], and so on.
      const t01l = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t01h = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7)
      const t23l = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t23h = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7)
      const t45l = v128.shuffle<f32>(r4, r5, 0, 4, 1, 5), t45h = v128.shuffle<f32>(r4, r5, 2, 6, 3, 7)
      const t67l = v128.shuffle<f32>(r6, r7, 0, 4, 1, 5), t67h = v128.shuffle<f32>(r6, r7, 2, 6, 3, 7)
      v128.store(dst, v128.shuffle<f64>(t01l, t23l, 0, 2))
      v128.store(dst, v128.shuffle<f64>(t45l, t67l, 0, 2), 16)
      v128.store(dst, v128.shuffle<f64>(t01l, t23l, 1, 3), 32)
      v128.store(dst, v128.shuffle<f64>(t45l, t67l, 1, 3), 48)
      v128.store(dst, v128.shuffle<f64>(t01h, t23h, 0, 2), 64)
      v128.store(dst, v128.shuffle<f64>(t45h, t67h, 0, 2), 80)
      v128.store(dst, v128.shuffle<f64>(t01h, t23h, 1, 3), 96)
      v128.store(dst, v128.shuffle<f64>(t45h, t67h, 1, 3), 112)
      s0 += 16
      dst += 128
    }
    for (; p < k; p++) {
      for (let jj = 0; jj < 8; jj++) store<f32>(dst + ((<usize>jj) << 2), load<f32>(s0 + (<usize>jj) * rowB))
      s0 += 4
      dst += 32
    }
    return
  }
  // A partial last panel, any layout.
  for (let p = 0; p < k; p++) {
    for (let jj = 0; jj < 8; jj++) {
      const v: f32 = jj < w ? load<f32>(b + ((<usize>(p * brs + (j + jj) * bcs)) << 2)) : 0
      store<f32>(dst + ((<usize>jj) << 2), v)
    }
    dst += 32
  }
}

/**
 * `C = bias + A·B` for a `[m, k]` left and `[k, n]` right operand (through strides, see the file
 * comment), over the column panels `q0 .. q1-1` (eight columns each) only, so threads can share one
 * product without sharing scratch. `c` is a compact row-major `[m, n]`; `bias` is 0 for none or
 * points at `n` floats; `scratch` holds `gemmScratchBytes(k)` bytes.
 */
export function gemm(
  a: usize, ars: i32, aps: i32,
  b: usize, brs: i32, bcs: i32,
  c: usize, m: i32, k: i32, n: i32,
  bias: usize, scratch: usize, q0: i32, q1: i32
): void {
  const pack = scratch
  const bias8 = pack + ((<usize>k) << 5)
  const tile = bias8 + 32
  const rowB = (<usize>ars) << 2
  const pB = (<usize>aps) << 2
  const ldc = (<usize>n) << 2
  for (let q = q0; q < q1; q++) {
    const j = q << 3
    const w = min(8, n - j)
    packPanel(b, brs, bcs, k, j, w, pack)
    for (let jj = 0; jj < 8; jj++) store<f32>(bias8 + ((<usize>jj) << 2), bias != 0 && jj < w ? load<f32>(bias + ((<usize>(j + jj)) << 2)) : 0)
    const init0 = v128.load(bias8), init1 = v128.load(bias8, 16)
    const full = w == 8
    let i = 0
    for (; i + 4 <= m; i += 4) {
      let c00 = init0, c01 = init1, c10 = init0, c11 = init1
      let c20 = init0, c21 = init1, c30 = init0, c31 = init1
      let ap = a + (<usize>i) * rowB
      let bp = pack
      const r2 = rowB * 2, r3 = rowB * 3
      for (let p = 0; p < k; p++) {
        const b0 = v128.load(bp), b1 = v128.load(bp, 16)
        let x = v128.load32_splat(ap)
        c00 = madd(x, b0, c00); c01 = madd(x, b1, c01)
        x = v128.load32_splat(ap + rowB)
        c10 = madd(x, b0, c10); c11 = madd(x, b1, c11)
        x = v128.load32_splat(ap + r2)
        c20 = madd(x, b0, c20); c21 = madd(x, b1, c21)
        x = v128.load32_splat(ap + r3)
        c30 = madd(x, b0, c30); c31 = madd(x, b1, c31)
        ap += pB
        bp += 32
      }
      // A full panel goes straight to C; a partial one through the tile, keeping C compact.
      const cp = full ? c + ((<usize>(i * n + j)) << 2) : tile
      const ld = full ? ldc : 32
      v128.store(cp, c00); v128.store(cp, c01, 16)
      v128.store(cp + ld, c10); v128.store(cp + ld, c11, 16)
      v128.store(cp + 2 * ld, c20); v128.store(cp + 2 * ld, c21, 16)
      v128.store(cp + 3 * ld, c30); v128.store(cp + 3 * ld, c31, 16)
      if (!full) copyTile(tile, c + ((<usize>(i * n + j)) << 2), ldc, 4, w)
    }
    // The last m % 4 rows, one at a time.
    for (; i < m; i++) {
      let c0 = init0, c1 = init1
      let ap = a + (<usize>i) * rowB
      let bp = pack
      for (let p = 0; p < k; p++) {
        const x = v128.load32_splat(ap)
        c0 = madd(x, v128.load(bp), c0)
        c1 = madd(x, v128.load(bp, 16), c1)
        ap += pB
        bp += 32
      }
      const cp = full ? c + ((<usize>(i * n + j)) << 2) : tile
      v128.store(cp, c0); v128.store(cp, c1, 16)
      if (!full) copyTile(tile, c + ((<usize>(i * n + j)) << 2), ldc, 1, w)
    }
  }
}

/** Copies the first `w` columns of `rows` tile rows (stride 32 bytes) into C. */
function copyTile(tile: usize, dst: usize, ldc: usize, rows: i32, w: i32): void {
  for (let r = 0; r < rows; r++) {
    memory.copy(dst, tile + ((<usize>r) << 5), (<usize>w) << 2)
    dst += ldc
  }
}

/**
 * `dst = srcᵀ` for a compact row-major `[rows, cols]` source: the left operand of `xᵀ·dy` packed so
 * that the product reads it along rows like `x·W` (its short depth, the batch, makes the strided
 * reads of the unpacked form ~15% slower). 4×4 blocks are transposed in registers; edges are scalar.
 */
export function transpose(src: usize, rows: i32, cols: i32, dst: usize): void {
  const rs = (<usize>cols) << 2
  const ds = (<usize>rows) << 2
  let r = 0
  for (; r + 4 <= rows; r += 4) {
    let c = 0
    for (; c + 4 <= cols; c += 4) {
      const s = src + (<usize>r) * rs + ((<usize>c) << 2)
      const r0 = v128.load(s), r1 = v128.load(s + rs), r2 = v128.load(s + 2 * rs), r3 = v128.load(s + 3 * rs)
      const t01l = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t01h = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7)
      const t23l = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t23h = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7)
      const d = dst + (<usize>c) * ds + ((<usize>r) << 2)
      v128.store(d, v128.shuffle<f64>(t01l, t23l, 0, 2))
      v128.store(d + ds, v128.shuffle<f64>(t01l, t23l, 1, 3))
      v128.store(d + 2 * ds, v128.shuffle<f64>(t01h, t23h, 0, 2))
      v128.store(d + 3 * ds, v128.shuffle<f64>(t01h, t23h, 1, 3))
    }
    for (; c < cols; c++) {
      for (let i = 0; i < 4; i++) store<f32>(dst + (<usize>c) * ds + ((<usize>(r + i)) << 2), load<f32>(src + (<usize>(r + i)) * rs + ((<usize>c) << 2)))
    }
  }
  for (; r < rows; r++) {
    for (let c = 0; c < cols; c++) store<f32>(dst + (<usize>c) * ds + ((<usize>r) << 2), load<f32>(src + (<usize>r) * rs + ((<usize>c) << 2)))
  }
}
