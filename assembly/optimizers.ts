/**
 * Fused optimizer steps: one pass per parameter leaf that reads the gradient, the parameter and the
 * moments once and writes the new moments and the new parameter.
 *
 * Each performs exactly the float32 operations of its composed chain of element-wise kernels
 * (elementwise.ts: `scale`, `axpby`, `axpbySquare`, `adaptiveDirection`, and `axpby(1, p, 1, u)` to
 * apply the update), in the same order, with every coefficient rounded to float32 once per call as
 * those kernels round it — including the multiplications by 1 of `axpby(…, 1, u)` — so a fused step
 * equals the composed one bit for bit. Four lanes at a time, then a scalar loop for the last `len % 4`
 * (the same IEEE operations, so tails agree with bodies). Outputs may alias inputs.
 *
 * Each returns 1 when the gradient and every result are finite, else 0: it sums `x − x` over them
 * (0 for a finite x, NaN for NaN or ±∞, and NaN stays), so a trainer need not read them again.
 */

// @ts-ignore: decorator
@inline function finite(acc: v128, tail: f32): i32 {
  return i32x4.all_true(f32x4.eq(acc, acc)) && tail == tail ? 1 : 0
}

// @ts-ignore: decorator
@inline function nan4(x: v128): v128 {
  return f32x4.sub(x, x)
}

// @ts-ignore: decorator
@inline function at(base: usize, i: i32): usize {
  return base + ((<usize>i) << 2)
}

/** `out = p + (−η)·g`: `scale(g, −η)` then `axpby(1, p, 1, u)`. `negEta` is −η. */
export function sgdStep(p: usize, g: usize, negEta: f64, out: usize, len: i32): i32 {
  const c = <f32>negEta, one: f32 = 1
  const cv = f32x4.splat(c), onev = f32x4.splat(one)
  let acc = f32x4.splat(0), tail: f32 = 0
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const gv = v128.load(at(g, i))
    const u = f32x4.mul(cv, gv)
    const pn = f32x4.add(f32x4.mul(onev, v128.load(at(p, i))), f32x4.mul(onev, u))
    v128.store(at(out, i), pn)
    acc = f32x4.add(acc, f32x4.add(nan4(gv), nan4(pn)))
  }
  for (; i < len; i++) {
    const gi = load<f32>(at(g, i))
    const u = c * gi
    const pn = one * load<f32>(at(p, i)) + one * u
    store<f32>(at(out, i), pn)
    tail += (gi - gi) + (pn - pn)
  }
  return finite(acc, tail)
}

/**
 * Heavy-ball momentum after the learning rate: `u = (−η)·g`, `v' = β·v + 1·u`, `p' = p + v'`; with
 * `nesterov` (≠ 0) `p' = p + (β·v' + 1·u)`.
 */
export function momentumStep(p: usize, g: usize, v: usize, negEta: f64, decay: f64, nesterov: i32, outP: usize, outV: usize, len: i32): i32 {
  const c = <f32>negEta, b = <f32>decay, one: f32 = 1
  const cv = f32x4.splat(c), bv = f32x4.splat(b), onev = f32x4.splat(one)
  let acc = f32x4.splat(0), tail: f32 = 0
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const gv = v128.load(at(g, i))
    const u = f32x4.mul(cv, gv)
    const vn = f32x4.add(f32x4.mul(bv, v128.load(at(v, i))), f32x4.mul(onev, u))
    v128.store(at(outV, i), vn)
    const step = nesterov != 0 ? f32x4.add(f32x4.mul(bv, vn), f32x4.mul(onev, u)) : vn
    const pn = f32x4.add(f32x4.mul(onev, v128.load(at(p, i))), f32x4.mul(onev, step))
    v128.store(at(outP, i), pn)
    acc = f32x4.add(acc, f32x4.add(f32x4.add(nan4(gv), nan4(vn)), nan4(pn)))
  }
  for (; i < len; i++) {
    const gi = load<f32>(at(g, i))
    const u = c * gi
    const vn = b * load<f32>(at(v, i)) + one * u
    store<f32>(at(outV, i), vn)
    const step = nesterov != 0 ? b * vn + one * u : vn
    const pn = one * load<f32>(at(p, i)) + one * step
    store<f32>(at(outP, i), pn)
    tail += (gi - gi) + (vn - vn) + (pn - pn)
  }
  return finite(acc, tail)
}

/** Moving-average momentum before the learning rate: `v' = decay·v + keep·g`, `p' = p + (−η)·v'`. */
export function emaMomentumStep(p: usize, g: usize, v: usize, decay: f64, keep: f64, negEta: f64, outP: usize, outV: usize, len: i32): i32 {
  const a = <f32>decay, k = <f32>keep, c = <f32>negEta, one: f32 = 1
  const av = f32x4.splat(a), kv = f32x4.splat(k), cv = f32x4.splat(c), onev = f32x4.splat(one)
  let acc = f32x4.splat(0), tail: f32 = 0
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const gv = v128.load(at(g, i))
    const vn = f32x4.add(f32x4.mul(av, v128.load(at(v, i))), f32x4.mul(kv, gv))
    v128.store(at(outV, i), vn)
    const pn = f32x4.add(f32x4.mul(onev, v128.load(at(p, i))), f32x4.mul(onev, f32x4.mul(cv, vn)))
    v128.store(at(outP, i), pn)
    acc = f32x4.add(acc, f32x4.add(f32x4.add(nan4(gv), nan4(vn)), nan4(pn)))
  }
  for (; i < len; i++) {
    const gi = load<f32>(at(g, i))
    const vn = a * load<f32>(at(v, i)) + k * gi
    store<f32>(at(outV, i), vn)
    const pn = one * load<f32>(at(p, i)) + one * (c * vn)
    store<f32>(at(outP, i), pn)
    tail += (gi - gi) + (vn - vn) + (pn - pn)
  }
  return finite(acc, tail)
}

/**
 * Adam, and AdamW when `decayed` (≠ 0): `m' = b1·m + k1·g`, `v' = b2·v + (k2·g)·g`,
 * `d = (c1·m') / (√(c2·v' + epsRoot) + eps)`, AdamW's `d ← 1·d + wd·p`, then `p' = p + (−η)·d`.
 */
export function adamStep(
  p: usize, g: usize, m: usize, v: usize,
  b1: f64, k1: f64, b2: f64, k2: f64, c1: f64, c2: f64, epsRoot: f64, eps: f64, weightDecay: f64, decayed: i32, negEta: f64,
  outP: usize, outM: usize, outV: usize, len: i32
): i32 {
  const fb1 = <f32>b1, fk1 = <f32>k1, fb2 = <f32>b2, fk2 = <f32>k2
  const fc1 = <f32>c1, fc2 = <f32>c2, fer = <f32>epsRoot, fe = <f32>eps, fwd = <f32>weightDecay, c = <f32>negEta, one: f32 = 1
  const b1v = f32x4.splat(fb1), k1v = f32x4.splat(fk1), b2v = f32x4.splat(fb2), k2v = f32x4.splat(fk2)
  const c1v = f32x4.splat(fc1), c2v = f32x4.splat(fc2), erv = f32x4.splat(fer), ev = f32x4.splat(fe), wdv = f32x4.splat(fwd)
  const cv = f32x4.splat(c), onev = f32x4.splat(one)
  let acc = f32x4.splat(0), tail: f32 = 0
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const gv = v128.load(at(g, i))
    const pv = v128.load(at(p, i))
    const mn = f32x4.add(f32x4.mul(b1v, v128.load(at(m, i))), f32x4.mul(k1v, gv))
    const vn = f32x4.add(f32x4.mul(b2v, v128.load(at(v, i))), f32x4.mul(f32x4.mul(k2v, gv), gv))
    v128.store(at(outM, i), mn)
    v128.store(at(outV, i), vn)
    const den = f32x4.add(f32x4.sqrt(f32x4.add(f32x4.mul(c2v, vn), erv)), ev)
    let d = f32x4.div(f32x4.mul(c1v, mn), den)
    if (decayed != 0) d = f32x4.add(f32x4.mul(onev, d), f32x4.mul(wdv, pv))
    const pn = f32x4.add(f32x4.mul(onev, pv), f32x4.mul(onev, f32x4.mul(cv, d)))
    v128.store(at(outP, i), pn)
    acc = f32x4.add(acc, f32x4.add(f32x4.add(nan4(gv), nan4(mn)), f32x4.add(nan4(vn), nan4(pn))))
  }
  for (; i < len; i++) {
    const gi = load<f32>(at(g, i))
    const pi = load<f32>(at(p, i))
    const mn = fb1 * load<f32>(at(m, i)) + fk1 * gi
    const vn = fb2 * load<f32>(at(v, i)) + fk2 * gi * gi
    store<f32>(at(outM, i), mn)
    store<f32>(at(outV, i), vn)
    let d = (fc1 * mn) / (Mathf.sqrt(fc2 * vn + fer) + fe)
    if (decayed != 0) d = one * d + fwd * pi
    const pn = one * pi + one * (c * d)
    store<f32>(at(outP, i), pn)
    tail += (gi - gi) + (mn - mn) + (vn - vn) + (pn - pn)
  }
  return finite(acc, tail)
}

/**
 * RMSProp: `v' = decay·v + (keep·g)·g`, `d = (1·g) / (√(1·v' + 0) + eps)` (`adaptiveDirection(g, v',
 * 1, 1, 0, eps)`), `p' = p + (−η)·d`.
 */
export function rmsPropStep(p: usize, g: usize, v: usize, decay: f64, keep: f64, eps: f64, negEta: f64, outP: usize, outV: usize, len: i32): i32 {
  const a = <f32>decay, k = <f32>keep, fe = <f32>eps, c = <f32>negEta, one: f32 = 1, zero: f32 = 0
  const av = f32x4.splat(a), kv = f32x4.splat(k), ev = f32x4.splat(fe), cv = f32x4.splat(c), onev = f32x4.splat(one), zerov = f32x4.splat(zero)
  let acc = f32x4.splat(0), tail: f32 = 0
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const gv = v128.load(at(g, i))
    const vn = f32x4.add(f32x4.mul(av, v128.load(at(v, i))), f32x4.mul(f32x4.mul(kv, gv), gv))
    v128.store(at(outV, i), vn)
    const d = f32x4.div(f32x4.mul(onev, gv), f32x4.add(f32x4.sqrt(f32x4.add(f32x4.mul(onev, vn), zerov)), ev))
    const pn = f32x4.add(f32x4.mul(onev, v128.load(at(p, i))), f32x4.mul(onev, f32x4.mul(cv, d)))
    v128.store(at(outP, i), pn)
    acc = f32x4.add(acc, f32x4.add(f32x4.add(nan4(gv), nan4(vn)), nan4(pn)))
  }
  for (; i < len; i++) {
    const gi = load<f32>(at(g, i))
    const vn = a * load<f32>(at(v, i)) + k * gi * gi
    store<f32>(at(outV, i), vn)
    const d = (one * gi) / (Mathf.sqrt(one * vn + zero) + fe)
    const pn = one * load<f32>(at(p, i)) + one * (c * d)
    store<f32>(at(outP, i), pn)
    tail += (gi - gi) + (vn - vn) + (pn - pn)
  }
  return finite(acc, tail)
}
