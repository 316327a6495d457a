/**
 * A pure, splittable, counter-based pseudo-random generator.
 *
 * A `Key` is two 32-bit words. Random values are a hash of (key, counter), so drawing never changes
 * the key: to draw again, `split` it (as in JAX). Same seed, same values, on any machine.
 *
 * @since 0.1.0
 */
import { type DType, type Tensor, alloc, fromData, sizeOf } from '../tensor/Tensor.ts'

/**
 * @category model
 * @example
 * import { Random } from 'nn-ts'
 * const [k1, k2] = Random.split(Random.key(42))
 */
export interface Key {
  readonly _tag: 'Key'
  readonly words: readonly [number, number]
}

/** An avalanche mix of one 32-bit word (constants from Wellons' "lowbias32" search). */
const mix = (x: number): number => {
  x ^= x >>> 16
  x = Math.imul(x, 0x7feb352d)
  x ^= x >>> 15
  x = Math.imul(x, 0x846ca68b)
  x ^= x >>> 16
  return x >>> 0
}

/** The `i`-th 32-bit word of the stream of `key`. */
const word = (k0: number, k1: number, i: number): number => mix((mix((i ^ k0) >>> 0) + k1) >>> 0 ^ 0x5bd1e995)

const make = (k0: number, k1: number): Key => ({ _tag: 'Key', words: [k0 >>> 0, k1 >>> 0] })

/**
 * A key from an integer seed (any safe integer; negative seeds are fine).
 * @category constructors
 */
export const key = (seed: number): Key => {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Random.key: seed must be a safe integer, got ${seed}`)
  const lo = seed % 0x100000000
  const hi = Math.floor(seed / 0x100000000)
  return make(mix(lo >>> 0 ^ 0x3c6ef372), mix((hi >>> 0) + 0x9e3779b9))
}

/** A new key derived from `k` and an integer `data` (JAX's `fold_in`). @category combinators */
export const fold = (k: Key, data: number): Key => {
  const [k0, k1] = k.words
  const d = data >>> 0
  const a = mix((k0 ^ mix((d + 0x632be5ab) >>> 0)) >>> 0)
  const b = mix(((k1 + Math.imul(a, 0x9e3779b9)) >>> 0) ^ mix((d ^ 0x85ebca6b) >>> 0))
  return make(a ^ mix(b), b)
}

/** Two independent keys. @category combinators */
export const split = (k: Key): [Key, Key] => [fold(k, 0), fold(k, 1)]

/** `n` independent keys. @category combinators */
export const splitN = (k: Key, n: number): Key[] => Array.from({ length: n }, (_, i) => fold(k, i))

const u53 = (k0: number, k1: number, i: number): number => {
  const hi = word(k0, k1, 2 * i) >>> 5
  const lo = word(k0, k1, 2 * i + 1) >>> 6
  return (hi * 67108864 + lo) / 9007199254740992
}

/** `n` uniform numbers in [0, 1) with 53 random bits each. @category destructors */
export const uniforms = (k: Key, n: number): Float64Array => {
  const [k0, k1] = k.words
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = u53(k0, k1, i)
  return out
}

/** `n` standard normal numbers (Box–Muller on the uniform stream). @category destructors */
export const normals = (k: Key, n: number): Float64Array => {
  const u = uniforms(k, n + (n % 2))
  const out = new Float64Array(n)
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - (u[i] as number)))
    const t = 2 * Math.PI * (u[i + 1] as number)
    out[i] = r * Math.cos(t)
    if (i + 1 < n) out[i + 1] = r * Math.sin(t)
  }
  return out
}

/**
 * A tensor of uniform values in [lo, hi).
 * @category constructors
 * @example
 * import { Random } from 'nn-ts'
 * Random.uniform(Random.key(0), [2, 3], -1, 1)
 */
export const uniform = (k: Key, shape: readonly number[], lo = 0, hi = 1, dtype: DType = 'float32'): Tensor => {
  const u = uniforms(k, sizeOf(shape))
  const data = alloc(dtype, u.length)
  for (let i = 0; i < u.length; i++) data[i] = lo + (hi - lo) * (u[i] as number)
  return fromData(shape, data)
}

/** A tensor of normal values N(mean, std²). @category constructors */
export const normal = (k: Key, shape: readonly number[], mean = 0, std = 1, dtype: DType = 'float32'): Tensor => {
  const z = normals(k, sizeOf(shape))
  const data = alloc(dtype, z.length)
  for (let i = 0; i < z.length; i++) data[i] = mean + std * (z[i] as number)
  return fromData(shape, data)
}

/** A tensor of normal values N(mean, std²) redrawn until within two standard deviations. @category constructors */
export const truncatedNormal = (k: Key, shape: readonly number[], mean = 0, std = 1, dtype: DType = 'float32'): Tensor => {
  const n = sizeOf(shape)
  const data = alloc(dtype, n)
  let filled = 0
  let round = 0
  while (filled < n) {
    const z = normals(fold(k, round++), n - filled)
    for (let i = 0; i < z.length; i++) {
      const v = z[i] as number
      if (Math.abs(v) <= 2) data[filled++] = mean + std * v
    }
  }
  return fromData(shape, data)
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). @category destructors */
export const permutation = (k: Key, n: number): Int32Array => {
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) out[i] = i
  const u = uniforms(k, n)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor((u[i] as number) * (i + 1))
    const t = out[i] as number
    out[i] = out[j] as number
    out[j] = t
  }
  return out
}
