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
