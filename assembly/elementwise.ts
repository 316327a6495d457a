/**
 * Float32 element-wise kernels with named operations (the optimizers' hot paths), four lanes at a
 * time with a scalar loop for the last `len % 4`. Scalars arrive as float64 and are rounded to float32
 * once per call. Outputs may alias inputs (each output element reads only its own input elements).
 */

// @ts-ignore: decorator
@inline function at(base: usize, i: i32): usize {
  return base + ((<usize>i) << 2)
}

/** `out = c · a`. */
export function scale(a: usize, c: f64, out: usize, len: i32): void {
  const s = <f32>c
  const sv = f32x4.splat(s)
  let i = 0
  for (; i + 4 <= len; i += 4) v128.store(at(out, i), f32x4.mul(sv, v128.load(at(a, i))))
  for (; i < len; i++) store<f32>(at(out, i), s * load<f32>(at(a, i)))
}

/** `out = α·x + β·y`. */
export function axpby(alpha: f64, x: usize, beta: f64, y: usize, out: usize, len: i32): void {
  const a = <f32>alpha, b = <f32>beta
  const av = f32x4.splat(a), bv = f32x4.splat(b)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    v128.store(at(out, i), f32x4.add(f32x4.mul(av, v128.load(at(x, i))), f32x4.mul(bv, v128.load(at(y, i)))))
  }
  for (; i < len; i++) store<f32>(at(out, i), a * load<f32>(at(x, i)) + b * load<f32>(at(y, i)))
}

/** `out = α·v + β·g²`. */
export function axpbySquare(alpha: f64, v: usize, beta: f64, g: usize, out: usize, len: i32): void {
  const a = <f32>alpha, b = <f32>beta
  const av = f32x4.splat(a), bv = f32x4.splat(b)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const gv = v128.load(at(g, i))
    v128.store(at(out, i), f32x4.add(f32x4.mul(av, v128.load(at(v, i))), f32x4.mul(f32x4.mul(bv, gv), gv)))
  }
  for (; i < len; i++) {
    const gi = load<f32>(at(g, i))
    store<f32>(at(out, i), a * load<f32>(at(v, i)) + b * gi * gi)
  }
}

/** `out = (c1·m) / (√(c2·v + epsRoot) + eps)`. */
export function adaptiveDirection(m: usize, v: usize, c1: f64, c2: f64, epsRoot: f64, eps: f64, out: usize, len: i32): void {
  const k1 = <f32>c1, k2 = <f32>c2, er = <f32>epsRoot, e = <f32>eps
  const k1v = f32x4.splat(k1), k2v = f32x4.splat(k2), erv = f32x4.splat(er), ev = f32x4.splat(e)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const den = f32x4.add(f32x4.sqrt(f32x4.add(f32x4.mul(k2v, v128.load(at(v, i))), erv)), ev)
    v128.store(at(out, i), f32x4.div(f32x4.mul(k1v, v128.load(at(m, i))), den))
  }
  for (; i < len; i++) {
    store<f32>(at(out, i), (k1 * load<f32>(at(m, i))) / (Mathf.sqrt(k2 * load<f32>(at(v, i)) + er) + e))
  }
}

/** `out = a + b` (one float32 rounding, as a float64 sum rounded to float32). */
export function add(a: usize, b: usize, out: usize, len: i32): void {
  let i = 0
  for (; i + 4 <= len; i += 4) v128.store(at(out, i), f32x4.add(v128.load(at(a, i)), v128.load(at(b, i))))
  for (; i < len; i++) store<f32>(at(out, i), load<f32>(at(a, i)) + load<f32>(at(b, i)))
}

/** `out = a ⊙ b` (one float32 rounding, as a float64 product rounded to float32). */
export function mul(a: usize, b: usize, out: usize, len: i32): void {
  let i = 0
  for (; i + 4 <= len; i += 4) v128.store(at(out, i), f32x4.mul(v128.load(at(a, i)), v128.load(at(b, i))))
  for (; i < len; i++) store<f32>(at(out, i), load<f32>(at(a, i)) * load<f32>(at(b, i)))
}

/** `out = max(a, 0)`: NaN stays NaN and −0 becomes +0, like `Math.max(a, 0)`. */
export function relu(a: usize, out: usize, len: i32): void {
  const zero = f32x4.splat(0)
  let i = 0
  for (; i + 4 <= len; i += 4) v128.store(at(out, i), f32x4.max(v128.load(at(a, i)), zero))
  for (; i < len; i++) {
    const x = load<f32>(at(a, i))
    store<f32>(at(out, i), x > 0 ? x : x != x ? x : 0)
  }
}

/** `out = dy · [x > 0]`: `dy · 1` or `dy · 0` (so NaN or ±∞ in `dy` still give NaN where x ≤ 0). */
export function reluBackward(dy: usize, x: usize, out: usize, len: i32): void {
  const zero = f32x4.splat(0)
  const one = f32x4.splat(1)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const mask = v128.and(f32x4.gt(v128.load(at(x, i)), zero), one)
    v128.store(at(out, i), f32x4.mul(v128.load(at(dy, i)), mask))
  }
  for (; i < len; i++) store<f32>(at(out, i), load<f32>(at(dy, i)) * (load<f32>(at(x, i)) > 0 ? <f32>1 : <f32>0))
}

/** `out = a − b` (one float32 rounding, as a float64 difference rounded to float32). */
export function sub(a: usize, b: usize, out: usize, len: i32): void {
  let i = 0
  for (; i + 4 <= len; i += 4) v128.store(at(out, i), f32x4.sub(v128.load(at(a, i)), v128.load(at(b, i))))
  for (; i < len; i++) store<f32>(at(out, i), load<f32>(at(a, i)) - load<f32>(at(b, i)))
}

/**
 * Inverted dropout: `out = x · (u ≥ rate ? keep : 0)` with `keep` rounded to float32 once. The draws
 * `u` are float32 and `rate` a float64 in [0, 1): `u ≥ rate` exactly when `u ≥ r`, `r` the least
 * float32 not below `rate`, so the comparison runs on four float32 lanes.
 */
export function dropout(x: usize, u: usize, rate: f64, keep: f64, out: usize, len: i32): void {
  let r = <f32>rate
  if (<f64>r < rate) r = reinterpret<f32>(reinterpret<i32>(r) + 1)
  const k = <f32>keep
  const rv = f32x4.splat(r), kv = f32x4.splat(k)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const scale = v128.and(f32x4.ge(v128.load(at(u, i)), rv), kv)
    v128.store(at(out, i), f32x4.mul(v128.load(at(x, i)), scale))
  }
  for (; i < len; i++) store<f32>(at(out, i), load<f32>(at(x, i)) * (load<f32>(at(u, i)) >= r ? k : <f32>0))
}
