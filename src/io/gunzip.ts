/**
 * Gzip decompression that cannot be made to use unbounded memory (Node only), with a precise reason
 * for every way a gzip file can be wrong.
 *
 * `gunzipSync` inflates whatever it is given: a 1 MB file can inflate to gigabytes, and every
 * failure after the first member (trailing garbage, a truncated stream, a bad checksum) reads the
 * same. Here each gzip member (RFC 1952) is parsed by hand — header, raw deflate body, CRC-32 and
 * length trailer — so that:
 * - the output is capped: `gunzipBounded(bytes, limit)` refuses, as soon as zlib has produced
 *   `limit + 1` bytes, a stream that inflates to more than `limit` (callers know the size from a
 *   header: an IDX file's dimensions);
 * - `gunzipPrefix` inflates only the start of the stream, from a bounded prefix of the input, to read
 *   such a header before anything else;
 * - a truncated stream, corrupt deflate data, a checksum or length mismatch, and bytes after the last
 *   member that are not another member (trailing garbage) are told apart. Trailing zero bytes are
 *   ignored, as gzip(1) does.
 *
 * @since 0.2.0
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { constants, crc32, inflateRawSync } from 'node:zlib'
import { errorText } from './fsReason.ts'
import { showBytes } from './showBytes.ts'

/**
 * What is wrong with a gzip stream. `at` is a byte offset into the compressed bytes.
 * @internal
 */
export type GunzipProblem =
  | { readonly _tag: 'header'; readonly at: number; readonly detail: string }
  | { readonly _tag: 'truncated'; readonly detail: string }
  | { readonly _tag: 'corrupt'; readonly at: number; readonly detail: string }
  | { readonly _tag: 'tooLarge'; readonly limit: number }
  | { readonly _tag: 'trailingGarbage'; readonly at: number; readonly count: number }

/** Whether `bytes` start like gzip (0x1f 0x8b). @internal */
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

const FHCRC = 0x02
const FEXTRA = 0x04
const FNAME = 0x08
const FCOMMENT = 0x10
const RESERVED = 0xe0

/** The offset of a member's deflate body, after its header (RFC 1952 §2.3) starting at `at`. */
const memberBody = (bytes: Uint8Array, at: number): E.Either<GunzipProblem, number> => {
  const truncated = (what: string): E.Either<GunzipProblem, number> => E.left({ _tag: 'truncated', detail: `the file ends inside the gzip header (${what}) of the member at byte ${at}` })
  if (at + 10 > bytes.length) return truncated('its first 10 bytes')
  if (bytes[at] !== 0x1f || bytes[at + 1] !== 0x8b) return E.left({ _tag: 'header', at, detail: 'expected the gzip magic number 0x1f 0x8b' })
  if (bytes[at + 2] !== 8) return E.left({ _tag: 'header', at, detail: `compression method ${bytes[at + 2]}, expected 8 (deflate)` })
  const flags = bytes[at + 3] as number
  if ((flags & RESERVED) !== 0) return E.left({ _tag: 'header', at, detail: `reserved flag bits set (flags 0x${flags.toString(16)})` })
  let p = at + 10
  if ((flags & FEXTRA) !== 0) {
    if (p + 2 > bytes.length) return truncated('the extra field length')
    p += 2 + ((bytes[p] as number) | ((bytes[p + 1] as number) << 8))
    if (p > bytes.length) return truncated('the extra field')
  }
  for (const [flag, what] of [
    [FNAME, 'the file name'],
    [FCOMMENT, 'the comment']
  ] as const) {
    if ((flags & flag) !== 0) {
      const end = bytes.indexOf(0, p)
      if (end < 0) return truncated(what)
      p = end + 1
    }
  }
  if ((flags & FHCRC) !== 0) p += 2
  if (p > bytes.length) return truncated('the header checksum')
  return E.right(p)
}

const codeOf = (e: unknown): string =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : ''

/** A zlib failure on the member whose body starts at `body`, as a problem. */
const inflateProblem = (e: unknown, body: number, limit: number): GunzipProblem => {
  const code = codeOf(e)
  if (code === 'ERR_BUFFER_TOO_LARGE') return { _tag: 'tooLarge', limit }
  if (code === 'Z_BUF_ERROR') return { _tag: 'truncated', detail: `the compressed data of the member at byte ${body} ends before its end marker` }
  return { _tag: 'corrupt', at: body, detail: `invalid compressed data in the member whose data starts at byte ${body} (${errorText(e)})` }
}

const readUint32LE = (bytes: Uint8Array, at: number): number =>
  ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>> 0

const allZero = (bytes: Uint8Array, from: number): boolean => {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false
  return true
}

/**
 * Decompresses all members of the gzip stream `bytes`, refusing any that would take the output past
 * `limit` bytes; memory stays within `limit` plus one member's output. Never throws.
 * @internal
 */
export const gunzipBounded = (bytes: Uint8Array, limit: number): E.Either<GunzipProblem, Uint8Array> => {
  const parts: Uint8Array[] = []
  let total = 0
  let at = 0
  for (;;) {
    const body = memberBody(bytes, at)
    if (E.isLeft(body)) return body
    const remaining = limit - total
    let out: Uint8Array
    let consumed: number
    try {
      // One byte more than allowed: output of exactly `remaining` bytes is fine, one more is refused.
      const r = inflateRawSync(bytes.subarray(body.right), { info: true, maxOutputLength: remaining + 1 }) as unknown as {
        buffer: Uint8Array
        engine: { bytesWritten: number }
      }
      out = r.buffer
      consumed = r.engine.bytesWritten
    } catch (e) {
      return E.left(inflateProblem(e, body.right, limit))
    }
    if (out.length > remaining) return E.left({ _tag: 'tooLarge', limit })
    const trailer = body.right + consumed
    if (trailer + 8 > bytes.length) return E.left({ _tag: 'truncated', detail: `the file ends inside the 8-byte checksum and length trailer of the member at byte ${at}` })
    const storedCrc = readUint32LE(bytes, trailer)
    const storedSize = readUint32LE(bytes, trailer + 4)
    const crc = crc32(out) >>> 0
    if (crc !== storedCrc) {
      return E.left({ _tag: 'corrupt', at: trailer, detail: `CRC-32 mismatch in the member at byte ${at}: stored 0x${storedCrc.toString(16).padStart(8, '0')}, computed 0x${crc.toString(16).padStart(8, '0')} (the data is corrupted)` })
    }
    if (storedSize !== out.length % 2 ** 32) {
      return E.left({ _tag: 'corrupt', at: trailer + 4, detail: `the member at byte ${at} says it holds ${storedSize} bytes (mod 2³²), it inflated to ${out.length}` })
    }
    parts.push(out)
    total += out.length
    at = trailer + 8
    if (at === bytes.length || allZero(bytes, at)) break
    if (!(bytes[at] === 0x1f && bytes[at + 1] === 0x8b)) return E.left({ _tag: 'trailingGarbage', at, count: bytes.length - at })
  }
  if (parts.length === 1) return E.right(parts[0] as Uint8Array)
  const joined = new Uint8Array(total)
  let offset = 0
  for (const p of parts) {
    joined.set(p, offset)
    offset += p.length
  }
  return E.right(joined)
}

/**
 * Deflate's best case is about 1032 output bytes per input byte (a 258-byte match in two bits), so a
 * prefix of `k` compressed bytes inflates to at most this many: the bound `gunzipPrefix` allows.
 */
const maxInflated = (k: number): number => 1032 * k + 1024

/** The compressed prefixes `gunzipPrefix` tries on a member, smallest first. */
const PREFIXES = [4096, 65536] as const

/** The most compressed bytes `gunzipPrefix` looks at, over all members. */
const PREFIX_BUDGET = 65536

/**
 * The first `want` bytes of what `bytes` inflates to (fewer if it holds fewer), inflating at most
 * 64 KiB of compressed input in all (so at most ~66 MB of output, whatever the file holds): for
 * reading a header inside a gzip file before deciding how much to decompress. Members are followed as
 * `gunzipBounded` does; their checksums are left to it.
 * @internal
 */
export const gunzipPrefix = (bytes: Uint8Array, want: number): E.Either<GunzipProblem, Uint8Array> => {
  const parts: Uint8Array[] = []
  let total = 0
  let spent = 0
  let at = 0
  while (total < want && spent < PREFIX_BUDGET) {
    const body = memberBody(bytes, at)
    if (E.isLeft(body)) return body
    const available = bytes.length - body.right
    let ended = false
    let consumed = 0
    let out: Uint8Array = new Uint8Array(0)
    for (const prefix of PREFIXES) {
      const k = Math.min(prefix, available, PREFIX_BUDGET - spent)
      try {
        // SYNC_FLUSH: a prefix that stops mid-stream yields what it holds instead of an error.
        const r = inflateRawSync(bytes.subarray(body.right, body.right + k), {
          info: true,
          finishFlush: constants.Z_SYNC_FLUSH,
          maxOutputLength: maxInflated(k)
        }) as unknown as { buffer: Uint8Array; engine: { bytesWritten: number } }
        out = r.buffer
        consumed = r.engine.bytesWritten
      } catch (e) {
        return E.left(inflateProblem(e, body.right, maxInflated(k)))
      }
      // Input left over means the member's deflate stream ended inside the prefix.
      ended = consumed < k
      if (ended || total + out.length >= want || k === available || k === PREFIX_BUDGET - spent) {
        spent += k
        break
      }
    }
    parts.push(out)
    total += out.length
    if (!ended) break
    at = body.right + consumed + 8
    if (!(at + 1 < bytes.length && bytes[at] === 0x1f && bytes[at + 1] === 0x8b)) break
  }
  const joined = new Uint8Array(Math.min(want, total))
  let offset = 0
  for (const p of parts) {
    if (offset >= joined.length) break
    joined.set(p.subarray(0, joined.length - offset), offset)
    offset += Math.min(p.length, joined.length - offset)
  }
  return E.right(joined)
}

/**
 * A problem as the words after a file name: "is gzip-compressed but truncated: …".
 * @internal
 */
export const describeGunzipProblem = (p: GunzipProblem): string => {
  switch (p._tag) {
    case 'header':
      return `is not a valid gzip file: at byte ${p.at}, ${p.detail}`
    case 'truncated':
      return `is a truncated gzip file: ${p.detail} (an incomplete download or copy?)`
    case 'corrupt':
      return `is a corrupt gzip file: ${p.detail}`
    case 'tooLarge':
      return `is gzip-compressed data that inflates to more than ${showBytes(p.limit)}`
    case 'trailingGarbage':
      return `is a gzip file followed by ${p.count} byte${p.count === 1 ? '' : 's'} of trailing garbage at byte ${p.at} (not another gzip member): the file was damaged or something was appended to it`
  }
}
