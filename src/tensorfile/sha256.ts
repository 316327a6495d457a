/**
 * SHA-256 (FIPS 180-4, section 6.2) in plain TypeScript: no Node built-in, so the core library can
 * checksum tensor files in any JavaScript runtime. Incremental: feed chunks with `update` as they are
 * read or written, and take `digest` at any point (it does not end the hash), so a file is never held
 * whole just to hash it.
 *
 * @since 0.2.0
 */

/**
 * The 64 round constants (FIPS 180-4, 4.2.2): the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes, as signed 32-bit integers (the arithmetic below is on int32).
 */
const K: ReadonlyArray<number> = Object.freeze(
  [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
    0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
    0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
    0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
    0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ].map((k) => k | 0)
)

/** The initial hash value H(0) (FIPS 180-4, 5.3.3): fractional parts of the square roots of the first 8 primes. */
const H0: ReadonlyArray<number> = Object.freeze(
  [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19].map((h) => h | 0)
)

const BLOCK = 64
/** Bytes compressed per call of `compress` (256 blocks). */
const RUN = 256 * BLOCK

/**
 * The compression function (FIPS 180-4, 6.2.2) on the 64-byte blocks of `m` from `from` up to `to`
 * (a multiple of 64 bytes), updating `h` in place; `k` holds the constants, `w` is the message
 * schedule, both owned by one hasher. All arithmetic is int32: a sum of up to five int32 values is
 * exact in a double, and `| 0` reduces it modulo 2^32. The state stays in locals across blocks.
 */
const compress = (k: Int32Array, h: Int32Array, w: Int32Array, m: Uint8Array, from: number, to: number): void => {
  let h0 = h[0] as number
  let h1 = h[1] as number
  let h2 = h[2] as number
  let h3 = h[3] as number
  let h4 = h[4] as number
  let h5 = h[5] as number
  let h6 = h[6] as number
  let h7 = h[7] as number
  for (let at = from; at < to; at += BLOCK) {
    for (let t = 0; t < 16; t++) {
      const i = at + 4 * t
      w[t] = ((m[i] as number) << 24) | ((m[i + 1] as number) << 16) | ((m[i + 2] as number) << 8) | (m[i + 3] as number)
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15] as number
      const y = w[t - 2] as number
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
      w[t] = ((w[t - 16] as number) + s0 + (w[t - 7] as number) + s1) | 0
    }
    let a = h0
    let b = h1
    let c = h2
    let d = h3
    let e = h4
    let f = h5
    let g = h6
    let hh = h7
    for (let t = 0; t < 64; t++) {
      const bigSigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
      // Ch and Maj in equivalent forms with one operation fewer each.
      const choose = g ^ (e & (f ^ g))
      const t1 = (hh + bigSigma1 + choose + (k[t] as number) + (w[t] as number)) | 0
      const bigSigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
      const majority = (a & b) ^ (c & (a ^ b))
      const t2 = (bigSigma0 + majority) | 0
      hh = g
      g = f
      f = e
      e = (d + t1) | 0
      d = c
      c = b
      b = a
      a = (t1 + t2) | 0
    }
    h0 = (h0 + a) | 0
    h1 = (h1 + b) | 0
    h2 = (h2 + c) | 0
    h3 = (h3 + d) | 0
    h4 = (h4 + e) | 0
    h5 = (h5 + f) | 0
    h6 = (h6 + g) | 0
    h7 = (h7 + hh) | 0
  }
  h[0] = h0
  h[1] = h1
  h[2] = h2
  h[3] = h3
  h[4] = h4
  h[5] = h5
  h[6] = h6
  h[7] = h7
}

/**
 * A running SHA-256. It is an accumulator: `update` adds bytes to the one hash it belongs to (create
 * one per hash with `sha256`); the module itself holds no state.
 * @category model
 * @example
 * import { TensorFile } from 'nn-ts'
 * const hasher: TensorFile.Sha256 = TensorFile.sha256()
 * hasher.update(new Uint8Array([1, 2, 3])).byteLength() // 3
 * // The same digest as hashing the bytes at once:
 * hasher.hex() // => TensorFile.sha256Hex(new Uint8Array([1, 2, 3]))
 */
export interface Sha256 {
  /** Adds `chunk` to the message and returns the same hasher. The chunk is read now, never kept. */
  readonly update: (chunk: Uint8Array) => Sha256
  /** The 32-byte digest of everything added so far. Does not end the hash: `update` may go on. */
  readonly digest: () => Uint8Array
  /** `digest()` as 64 lowercase hexadecimal digits. */
  readonly hex: () => string
  /** How many bytes have been added. */
  readonly byteLength: () => number
}

/**
 * A new SHA-256 of the empty message. Feed it chunks with `update`; any split of a message into chunks
 * gives the same digest.
 * @category constructors
 * @example
 * import { TensorFile } from 'nn-ts'
 * const utf8 = new TextEncoder()
 * TensorFile.sha256().update(utf8.encode('ab')).update(utf8.encode('c')).hex()
 * // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 */
export const sha256 = (): Sha256 => {
  // The constants are copied per hasher: an Int32Array reads faster than an array of numbers (whose
  // values beyond ±2^30 are boxed), and a module-level typed array would be shared mutable memory.
  const k = Int32Array.from(K)
  const h = Int32Array.from(H0)
  const w = new Int32Array(64)
  // Bytes of an incomplete block, waiting for the next chunk (or for padding in `digest`).
  const pending = new Uint8Array(BLOCK)
  let pendingLength = 0
  let total = 0

  const hasher: Sha256 = {
    update: (chunk) => {
      const n = chunk.length
      total += n
      let i = 0
      if (pendingLength > 0) {
        i = Math.min(BLOCK - pendingLength, n)
        pending.set(chunk.subarray(0, i), pendingLength)
        pendingLength += i
        if (pendingLength < BLOCK) return hasher
        compress(k, h, w, pending, 0, BLOCK)
        pendingLength = 0
      }
      // Whole blocks straight from the chunk, no copy, a bounded run per call: V8 optimizes a function
      // it sees called often, so one call over a huge chunk would run slowly before that happens.
      const end = i + Math.floor((n - i) / BLOCK) * BLOCK
      for (let at = i; at < end; at += RUN) compress(k, h, w, chunk, at, Math.min(at + RUN, end))
      i = end
      if (i < n) {
        pending.set(chunk.subarray(i), 0)
        pendingLength = n - i
      }
      return hasher
    },
    digest: () => {
      // Padding (FIPS 180-4, 5.1.1) on copies, so the running state is left as it was.
      const state = Int32Array.from(h)
      const tail = new Uint8Array(pendingLength + 9 <= BLOCK ? BLOCK : 2 * BLOCK)
      tail.set(pending.subarray(0, pendingLength))
      tail[pendingLength] = 0x80
      // The message length in bits as a 64-bit big-endian integer: total·8 = hi·2^32 + lo.
      const view = new DataView(tail.buffer)
      view.setUint32(tail.length - 8, Math.floor(total / 2 ** 29), false)
      view.setUint32(tail.length - 4, (total % 2 ** 29) * 8, false)
      compress(k, state, w, tail, 0, tail.length)
      const out = new Uint8Array(32)
      const outView = new DataView(out.buffer)
      state.forEach((word, i) => outView.setInt32(4 * i, word, false))
      return out
    },
    hex: () => toHex(hasher.digest()),
    byteLength: () => total
  }
  return hasher
}

/**
 * Bytes as lowercase hexadecimal, two digits per byte.
 * @category utils
 * @example
 * import { TensorFile } from 'nn-ts'
 * TensorFile.toHex(new Uint8Array([0, 15, 255])) // '000fff'
 */
export const toHex = (bytes: Uint8Array): string => {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}

/**
 * The SHA-256 of `bytes` as 64 lowercase hexadecimal digits.
 * @category utils
 * @example
 * import { TensorFile } from 'nn-ts'
 * TensorFile.sha256Hex(new Uint8Array(0))
 * // 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 */
export const sha256Hex = (bytes: Uint8Array): string => sha256().update(bytes).hex()
