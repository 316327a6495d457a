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
 * k1._tag // 'Key'
 * k1 // => Random.fold(Random.key(42), 0)
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
 * @example
 * import { Random } from 'nn-ts'
 * Random.key(42) // => Random.key(42)
 * Random.key(-7).words.length // 2
 */
export const key = (seed: number): Key => {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Random.key: seed must be a safe integer, got ${seed}`)
  const lo = seed % 0x100000000
  const hi = Math.floor(seed / 0x100000000)
  return make(mix(lo >>> 0 ^ 0x3c6ef372), mix((hi >>> 0) + 0x9e3779b9))
}

/**
 * A new key derived from `k` and an integer `data` (JAX's `fold_in`).
 * @category combinators
 * @example
 * import { Random } from 'nn-ts'
 * const perEpoch = (epoch: number) => Random.fold(Random.key(0), epoch) // one key per epoch, no state kept
 * perEpoch(3) // => Random.fold(Random.key(0), 3)
 */
export const fold = (k: Key, data: number): Key => {
  const [k0, k1] = k.words
  const d = data >>> 0
  const a = mix((k0 ^ mix((d + 0x632be5ab) >>> 0)) >>> 0)
  const b = mix(((k1 + Math.imul(a, 0x9e3779b9)) >>> 0) ^ mix((d ^ 0x85ebca6b) >>> 0))
  return make(a ^ mix(b), b)
}

/**
 * Two independent keys.
 * @category combinators
 * @example
 * import { Random } from 'nn-ts'
 * const [forInit, forDropout] = Random.split(Random.key(42))
 * Random.uniforms(forInit, 1)[0] === Random.uniforms(forDropout, 1)[0] // false: independent streams
 */
export const split = (k: Key): [Key, Key] => [fold(k, 0), fold(k, 1)]

/**
 * `n` independent keys.
 * @category combinators
 * @example
 * import { Random } from 'nn-ts'
 * const keys = Random.splitN(Random.key(0), 3) // one key per layer
 * keys[1] // => Random.split(Random.key(0))[1]
 */
export const splitN = (k: Key, n: number): Key[] => Array.from({ length: n }, (_, i) => fold(k, i))

const u53 = (k0: number, k1: number, i: number): number => {
  const hi = word(k0, k1, 2 * i) >>> 5
  const lo = word(k0, k1, 2 * i + 1) >>> 6
  return (hi * 67108864 + lo) / 9007199254740992
}

/**
 * `n` uniform numbers in [0, 1) with 53 random bits each.
 * @category destructors
 * @example
 * import { Random } from 'nn-ts'
 * Random.uniforms(Random.key(0), 2) // Float64Array [0.6787769312774832, 0.0673409398683591]: on every machine
 */
export const uniforms = (k: Key, n: number): Float64Array => {
  const [k0, k1] = k.words
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = u53(k0, k1, i)
  return out
}

/**
 * `n` standard normal numbers (Box–Muller on the uniform stream).
 * @category destructors
 * @example
 * import { Random } from 'nn-ts'
 * Random.normals(Random.key(1), 2) // Float64Array [0.5988086476581648, -0.7917298756217209]
 */
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
 * import { Random, Tensor } from 'nn-ts'
 * const u = Random.uniform(Random.key(0), [2, 3], -1, 1)
 * u.shape // [2, 3]
 * Tensor.toArray(u).every((v) => v >= -1 && v < 1) // true
 * Tensor.equals(u, Random.uniform(Random.key(0), [2, 3], -1, 1)) // true: same key, same values
 */
export const uniform = (k: Key, shape: readonly number[], lo = 0, hi = 1, dtype: DType = 'float32'): Tensor => {
  const u = uniforms(k, sizeOf(shape))
  const data = alloc(dtype, u.length)
  for (let i = 0; i < u.length; i++) data[i] = lo + (hi - lo) * (u[i] as number)
  return fromData(shape, data)
}

/**
 * A tensor of normal values N(mean, std²).
 * @category constructors
 * @example
 * import { Random, Tensor } from 'nn-ts'
 * const x = Tensor.toArray(Random.normal(Random.key(0), [10000], 5, 2, 'float64'))
 * const mean = x.reduce((a, b) => a + b) / x.length
 * mean // ≈ 4.994 (10 000 draws: within 3 standard errors, 3·2/√10000 = 0.06, of 5)
 */
export const normal = (k: Key, shape: readonly number[], mean = 0, std = 1, dtype: DType = 'float32'): Tensor => {
  const z = normals(k, sizeOf(shape))
  const data = alloc(dtype, z.length)
  for (let i = 0; i < z.length; i++) data[i] = mean + std * (z[i] as number)
  return fromData(shape, data)
}

/**
 * A tensor of normal values N(mean, std²) redrawn until within two standard deviations.
 * @category constructors
 * @example
 * import { Random, Tensor } from 'nn-ts'
 * const w = Random.truncatedNormal(Random.key(0), [1000], 0, 0.1)
 * Tensor.toArray(w).every((v) => Math.abs(v) <= 0.2) // true: within two standard deviations
 */
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

/**
 * A uniformly random permutation of 0..n-1 (Fisher–Yates).
 * @category destructors
 * @example
 * import { Random } from 'nn-ts'
 * Random.permutation(Random.key(0), 5) // Int32Array [1, 2, 3, 4, 0]
 * const sorted = [...Random.permutation(Random.key(7), 100)].sort((a, b) => a - b)
 * sorted.every((v, i) => v === i) // true: each index once
 */
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
