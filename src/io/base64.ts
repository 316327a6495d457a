/**
 * Standard base64 (RFC 4648, with padding) over bytes, without Node's `Buffer`, so the core runs in
 * browsers too.
 *
 * @since 0.2.0
 * @internal
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** The value of each base64 character code, −1 for any other. */
const VALUES: Int8Array = (() => {
  const v = new Int8Array(128).fill(-1)
  for (let i = 0; i < ALPHABET.length; i++) v[ALPHABET.charCodeAt(i)] = i
  return v
})()

/** `bytes` as padded standard base64. @internal */
export const toBase64 = (bytes: Uint8Array): string => {
  const parts: string[] = []
  // Built in chunks: one string per 3 bytes would be slow, one giant concatenation fine for V8.
  const CHUNK = 3 * 4096
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const end = Math.min(bytes.length, start + CHUNK)
    let s = ''
    for (let i = start; i < end; i += 3) {
      const b0 = bytes[i] as number
      const b1 = i + 1 < end ? (bytes[i + 1] as number) : 0
      const b2 = i + 2 < end ? (bytes[i + 2] as number) : 0
      const n = (b0 << 16) | (b1 << 8) | b2
      s += ALPHABET[n >>> 18]
      s += ALPHABET[(n >>> 12) & 63]
      s += i + 1 < end ? ALPHABET[(n >>> 6) & 63] : '='
      s += i + 2 < end ? ALPHABET[n & 63] : '='
    }
    parts.push(s)
  }
  return parts.join('')
}

/**
 * The bytes of `text`, or `undefined` unless it is exactly padded standard base64 (length a multiple
 * of 4, only the alphabet, `=` only as the last one or two characters, zero unused bits).
 * @internal
 */
export const fromBase64 = (text: string): Uint8Array | undefined => {
  if (text.length % 4 !== 0) return undefined
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
  const out = new Uint8Array((text.length / 4) * 3 - padding)
  let o = 0
  const value = (code: number): number => (code < 128 ? (VALUES[code] as number) : -1)
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length
    const c0 = value(text.charCodeAt(i))
    const c1 = value(text.charCodeAt(i + 1))
    const c2 = last && padding === 2 ? 0 : value(text.charCodeAt(i + 2))
    const c3 = last && padding >= 1 ? 0 : value(text.charCodeAt(i + 3))
    if ((c0 | c1 | c2 | c3) < 0) return undefined
    const n = (c0 << 18) | (c1 << 12) | (c2 << 6) | c3
    // Padding must hide only zero bits, so every byte string has exactly one encoding.
    if (last && ((padding === 2 && (n & 0xffff) !== 0) || (padding === 1 && (n & 0xff) !== 0))) return undefined
    out[o++] = n >>> 16
    if (o < out.length) out[o++] = (n >>> 8) & 0xff
    if (o < out.length) out[o++] = n & 0xff
  }
  return out
}
