/**
 * Named tensors in one binary file, in the safetensors layout, so a file nn-ts writes is read by
 * PyTorch, NumPy or any safetensors reader, and a 42-million-parameter network is written without
 * ever building a string of it.
 *
 * Layout (little-endian throughout):
 *
 * 1. 8 bytes: `N`, the header length, an unsigned 64-bit integer.
 * 2. `N` bytes: the header, UTF-8 JSON, starting with `{`, padded at the end with spaces so that the
 *    data starts at a multiple of 8 bytes:
 *    `{"__metadata__":{"key":"value",…,"checksum":"sha256:…"},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},…}`.
 *    `data_offsets` are `[begin, end)` byte offsets relative to the start of the data section.
 * 3. The data section: each tensor's row-major values as little-endian IEEE 754 bytes (`F32`: 4 bytes,
 *    `F64`: 8 bytes per value), in the order of the header, back to back.
 *
 * Reading validates everything and refuses, as a `TensorFileError` saying what, where and what was
 * expected: a header length beyond the file or above 100,000,000 bytes (the limit of the reference
 * implementation), a header that is not UTF-8, not one JSON object, or has a duplicate key at any level
 * (`JSON.parse` would keep the last one silently), a dtype other than `F32` and `F64` (other
 * safetensors dtypes — F16, BF16, integers — are refused by name, not converted), a shape that is not
 * non-negative integers, a byte range that does not hold exactly `product(shape) · itemsize` bytes,
 * ranges that overlap, leave a gap or do not cover the data section exactly (in whatever order the
 * header lists them), `__metadata__` values that are not strings, and a wrong checksum.
 *
 * The checksum (`__metadata__.checksum`, written by nn-ts, required by default when reading) is
 * `"sha256:"` and the lowercase hex SHA-256 of two things, in order:
 *
 * 1. the UTF-8 bytes of the canonical header: the header without whitespace or padding, with
 *    `__metadata__` first holding every metadata entry except `checksum` with keys sorted by UTF-16
 *    code units, then every tensor in header order as `"name":{"dtype":…,"shape":[…],"data_offsets":[b,e]}`,
 *    strings as `JSON.stringify` writes them;
 * 2. the data section, byte for byte.
 *
 * So it covers everything `decode` returns (names and their order, dtypes, shapes, values, metadata)
 * and the offsets; re-padding the header does not change it, any other edit does.
 *
 * Bytes are copied, never converted, so every value round-trips bit for bit: −0, subnormals, ±Infinity
 * and NaN payloads. (A big-endian host swaps each value's bytes, which keeps the bits too.)
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { type DType, type Data, type Tensor, alloc, fromData, showShape } from '../tensor/Tensor.ts'
import { type Json, type JsonObject, describeJson, isJsonObject, notWellFormed, parseJson } from './json.ts'
import { type Sha256, sha256 } from './sha256.ts'

// model

/**
 * Why tensors could not be encoded, or bytes decoded as a tensor file. `message` is a complete
 * sentence to print as is: what is wrong, where (byte offset, tensor name) and what was expected.
 * @category model
 * @example
 * import { TensorFile } from 'nn-ts'
 * const e: TensorFile.TensorFileError = TensorFile.tensorFileError('the file is empty', { offset: 0 })
 * e // { _tag: 'TensorFileError', message: 'the file is empty', offset: 0 }
 */
export interface TensorFileError {
  readonly _tag: 'TensorFileError'
  readonly message: string
  /** The file, for errors of reading and writing files. */
  readonly file?: string
  /** The byte offset in the file where the problem is, when one place is to blame. */
  readonly offset?: number
  /** The tensor the problem is about, when there is one. */
  readonly tensor?: string
}

/**
 * Named tensors in a fixed order, and free-form string metadata: what a tensor file holds.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const f: TensorFile.TensorFile = { tensors: [['W', Tensor.zeros([2, 3])]], metadata: { note: 'zeros' } }
 * const bytes = TensorFile.encode(f.tensors, f.metadata)
 * const back = E.flatMap((b: Uint8Array) => TensorFile.decode(b))(bytes)
 * if (E.isRight(back)) back.right // => f
 */
export interface TensorFile {
  readonly tensors: ReadonlyArray<readonly [string, Tensor]>
  /** Metadata as given to `encode`; the checksum entry is the codec's own and is not included. */
  readonly metadata: Readonly<Record<string, string>>
}

/**
 * One tensor's entry in a validated header: its dtype, shape and `[begin, end)` byte range in the data
 * section (`end − begin = product(shape) · itemsize`).
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const entry: TensorFile.TensorEntry = { name: 'b', dtype: 'float32', shape: [3], begin: 0, end: 12 }
 * const header = E.flatMap((b: Uint8Array) => TensorFile.decodeHeader(b))(TensorFile.encode([['b', Tensor.zeros([3])]]))
 * if (E.isRight(header)) header.right.tensors // => [entry]
 */
export interface TensorEntry {
  readonly name: string
  readonly dtype: DType
  readonly shape: ReadonlyArray<number>
  readonly begin: number
  readonly end: number
}

/**
 * A validated header: where the data section starts, how long it is, the tensors in header order
 * (their ranges tile the data section exactly), the metadata and the checksum as written.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const bytes = TensorFile.encode([['b', Tensor.zeros([3])]])
 * const header = E.flatMap((b: Uint8Array) => TensorFile.decodeHeader(b))(bytes)
 * if (E.isRight(header)) header.right // { dataStart: 168, dataLength: 12, tensors: [{ name: 'b', … }], metadata: {}, checksum: 'sha256:…' }
 */
export interface Header {
  /** The file offset of the data section: 8 + the header length. */
  readonly dataStart: number
  readonly dataLength: number
  readonly tensors: ReadonlyArray<TensorEntry>
  /** Without the checksum entry. */
  readonly metadata: Readonly<Record<string, string>>
  /** `sha256:<64 hex digits>` as the header says, if it has one. */
  readonly checksum: string | undefined
}

/**
 * An encoded file in pieces, for writing it without concatenating: `header` (length prefix, JSON and
 * padding) then each of `parts` (one per tensor, in order). On little-endian hosts the parts are views
 * of the tensors' own memory: read them, never write to them.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const l = TensorFile.layout([['W', Tensor.zeros([2, 3])]])
 * if (E.isRight(l)) l.right.byteLength // 192: 168 bytes of header, 24 of data
 */
export interface Layout {
  readonly header: Uint8Array
  readonly parts: ReadonlyArray<Uint8Array>
  /** The length of the whole file. */
  readonly byteLength: number
}

/**
 * Options of `decode` and `decodeHeader`.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * // A file another tool wrote: a header without nn-ts's checksum.
 * const json = new TextEncoder().encode('{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
 * const bytes = new Uint8Array([json.length, 0, 0, 0, 0, 0, 0, 0, ...json, 0, 0, 128, 63])
 * const foreign: TensorFile.DecodeOptions = { requireChecksum: false }
 * E.isRight(TensorFile.decode(bytes)) // false: nn-ts's own files carry a checksum
 * const r = TensorFile.decode(bytes, foreign)
 * if (E.isRight(r)) r.right.tensors // => [['b', Tensor.vector([1])]]
 */
export interface DecodeOptions {
  /**
   * Whether a file without `__metadata__.checksum` is refused (default `true`). Set it to `false` to
   * read safetensors files written by other tools; a checksum that is present is always verified.
   */
  readonly requireChecksum?: boolean
}

/**
 * A `TensorFileError` with `message` as is, at a byte offset and/or about a tensor.
 * @category constructors
 * @example
 * import { TensorFile } from 'nn-ts'
 * TensorFile.tensorFileError('the file is empty').message // 'the file is empty'
 */
export const tensorFileError = (message: string, where: { readonly offset?: number; readonly tensor?: string } = {}): TensorFileError => ({
  _tag: 'TensorFileError',
  message,
  ...(where.offset === undefined ? {} : { offset: where.offset }),
  ...(where.tensor === undefined ? {} : { tensor: where.tensor })
})

/**
 * The largest header this codec writes or reads, in bytes: the limit of the reference safetensors
 * implementation, so a corrupted length field cannot make a reader parse gigabytes of "JSON".
 * @category model
 * @example
 * import { TensorFile } from 'nn-ts'
 * TensorFile.MAX_HEADER_BYTES // 100000000
 */
export const MAX_HEADER_BYTES = 100_000_000

/**
 * The `__metadata__` key that holds the checksum; reserved, so `encode` refuses metadata that uses it.
 * @category model
 * @example
 * import { TensorFile } from 'nn-ts'
 * TensorFile.CHECKSUM_KEY // 'checksum'
 */
export const CHECKSUM_KEY = 'checksum'

const METADATA_KEY = '__metadata__'
const CHECKSUM_PATTERN = /^sha256:[0-9a-f]{64}$/
/** Headers hold objects in an object with arrays inside; anything deeper is not a tensor file. */
const MAX_JSON_DEPTH = 8
const PREFIX_BYTES = 8
/** The data section starts at a multiple of this, so 8-byte values can be mapped in place by readers. */
const DATA_ALIGNMENT = 8

const FILE_DTYPE: Readonly<Record<DType, string>> = { float32: 'F32', float64: 'F64' }
const ITEM_BYTES: Readonly<Record<DType, number>> = { float32: 4, float64: 8 }
const dtypeOfFile = (s: string): DType | undefined => (s === 'F32' ? 'float32' : s === 'F64' ? 'float64' : undefined)

/** The host's byte order: typed arrays use it, the format is little-endian. */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const bytesOf = (data: Data): Uint8Array => new Uint8Array(data.buffer, data.byteOffset, data.byteLength)

/** Reverses the bytes of each `itemBytes`-byte value in place: little- ↔ big-endian, bits kept. */
const swapEach = (bytes: Uint8Array, itemBytes: number): void => {
  for (let i = 0; i < bytes.length; i += itemBytes) bytes.subarray(i, i + itemBytes).reverse()
}

/**
 * The tensor's values as little-endian bytes: a view of its memory on little-endian hosts (no copy), a
 * byte-swapped copy on big-endian ones.
 * @internal
 */
export const littleEndianBytes = (t: Tensor): Uint8Array => {
  if (LITTLE_ENDIAN_HOST) return bytesOf(t.data)
  const copy = bytesOf(t.data).slice()
  swapEach(copy, ITEM_BYTES[t.dtype])
  return copy
}

/**
 * Turns an array just filled with little-endian bytes into host order, in place (nothing to do on
 * little-endian hosts). Only for arrays the caller allocated and nobody else holds.
 * @internal
 */
export const toHostOrder = (data: Data): void => {
  if (!LITTLE_ENDIAN_HOST) swapEach(bytesOf(data), data.BYTES_PER_ELEMENT)
}

/**
 * The tensor of `entry` from its little-endian bytes (`end − begin` of them), copied.
 * @category decoding
 * @example
 * import { TensorFile } from 'nn-ts'
 * const t = TensorFile.tensorFromBytes({ name: 'x', dtype: 'float32', shape: [1], begin: 0, end: 4 }, new Uint8Array([0, 0, 128, 63]))
 * t.data[0] // 1
 */
export const tensorFromBytes = (entry: TensorEntry, littleEndian: Uint8Array): Tensor => {
  const data = alloc(entry.dtype, (entry.end - entry.begin) / ITEM_BYTES[entry.dtype])
  bytesOf(data).set(littleEndian.subarray(0, entry.end - entry.begin))
  toHostOrder(data)
  return fromData(entry.shape, data)
}

// the canonical header and the checksum

const utf8 = new TextEncoder()

const tensorJson = (e: TensorEntry): string =>
  `${JSON.stringify(e.name)}:{"dtype":"${FILE_DTYPE[e.dtype]}","shape":[${e.shape.join(',')}],"data_offsets":[${e.begin},${e.end}]}`

const metadataJson = (metadata: Readonly<Record<string, string>>, checksum: string | undefined): string => {
  const entries = Object.keys(metadata)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`)
  if (checksum !== undefined) entries.push(`${JSON.stringify(CHECKSUM_KEY)}:${JSON.stringify(checksum)}`)
  return `{${entries.join(',')}}`
}

/** The header JSON: canonical when `checksum` is undefined (see the module documentation). */
const headerJson = (tensors: ReadonlyArray<TensorEntry>, metadata: Readonly<Record<string, string>>, checksum: string | undefined): string =>
  `{${JSON.stringify(METADATA_KEY)}:${metadataJson(metadata, checksum)}${tensors.map((e) => `,${tensorJson(e)}`).join('')}}`

/**
 * A SHA-256 already fed with the canonical header of `header`: feed it the data section (in file order,
 * in chunks of any size) and compare with `verifyChecksum`. How a streaming reader checks a file
 * without holding it whole.
 * @category decoding
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const bytes = TensorFile.encode([['b', Tensor.zeros([3])]])
 * if (E.isRight(bytes)) {
 *   const header = TensorFile.decodeHeader(bytes.right)
 *   if (E.isRight(header)) {
 *     // Hash the data section as it streams in, then compare with the header's checksum.
 *     const hasher = TensorFile.startChecksum(header.right).update(bytes.right.subarray(header.right.dataStart))
 *     TensorFile.verifyChecksum(header.right, hasher) // => E.right(undefined)
 *   }
 * }
 */
export const startChecksum = (header: Pick<Header, 'tensors' | 'metadata'>): Sha256 =>
  sha256().update(utf8.encode(headerJson(header.tensors, header.metadata, undefined)))

/**
 * Whether `hasher` (from `startChecksum`, fed the whole data section) matches the header's checksum.
 * A header without a checksum passes (`decodeHeader` already refused it unless told not to).
 * @category decoding
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { TensorFile } from 'nn-ts'
 * const header: TensorFile.Header = { dataStart: 24, dataLength: 0, tensors: [], metadata: {}, checksum: undefined }
 * E.isRight(TensorFile.verifyChecksum(header, TensorFile.startChecksum(header))) // true: no checksum to verify
 */
export const verifyChecksum = (header: Header, hasher: Sha256): E.Either<TensorFileError, void> => {
  if (header.checksum === undefined) return E.right(undefined)
  const found = `sha256:${hasher.hex()}`
  return found === header.checksum
    ? E.right(undefined)
    : E.left(
        tensorFileError(
          `checksum mismatch: the header says ${header.checksum}, the contents hash to ${found}: the file was edited or corrupted after it was written`
        )
      )
}

// encoding

const isSafeCount = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0

/** What is wrong with one input tensor, if anything (checked because JavaScript callers skip types). */
const tensorProblem = (t: Tensor): string | undefined => {
  if (t === null || typeof t !== 'object' || !Array.isArray(t.shape)) return 'expected a Tensor'
  if (t.dtype !== 'float32' && t.dtype !== 'float64') return `dtype ${JSON.stringify(t.dtype)} is not float32 or float64`
  const arrayOk = t.dtype === 'float32' ? t.data instanceof Float32Array : t.data instanceof Float64Array
  if (!arrayOk) return `dtype ${t.dtype} does not match its data, a ${Object.prototype.toString.call(t.data).slice(8, -1)}`
  if (!t.shape.every(isSafeCount)) return `shape ${showShape(t.shape)} is not non-negative integers`
  const n = t.shape.reduce((a, b) => a * b, 1)
  return n === t.data.length ? undefined : `shape ${showShape(t.shape)} holds ${n} values, but the data has ${t.data.length}`
}

/**
 * The file for `tensors` (in this order, names unique) and `metadata`, in pieces: the header (with the
 * checksum, which this computes over all the data) and one little-endian byte view per tensor. What a
 * streaming writer uses; `encode` concatenates it.
 *
 * Refused with a `TensorFileError`: a duplicate name, the name `__metadata__`, the metadata key
 * `checksum` (reserved), names, keys or values that are not well-formed Unicode (they could not
 * round-trip through UTF-8), and tensors whose shape, dtype and data disagree.
 * @category encoding
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const l = TensorFile.layout([['W', Tensor.zeros([2, 3])], ['b', Tensor.zeros([3])]], { step: '120' })
 * if (E.isRight(l)) l.right.parts.map((p) => p.byteLength) // [24, 12]
 */
export const layout = (tensors: ReadonlyArray<readonly [string, Tensor]>, metadata: Readonly<Record<string, string>> = {}): E.Either<TensorFileError, Layout> =>
  // Inputs are checked below; this still turns a throw nobody foresaw (an untyped caller's odd value,
  // an allocation the engine refuses) into an error value.
  E.flatten(E.tryCatch(() => layoutUnsafe(tensors, metadata), (e) => tensorFileError(`cannot encode the tensors: ${e instanceof Error ? e.message : String(e)}`)))

const layoutUnsafe = (tensors: ReadonlyArray<readonly [string, Tensor]>, metadata: Readonly<Record<string, string>>): E.Either<TensorFileError, Layout> => {
  for (const key of Object.keys(metadata)) {
    const value: unknown = metadata[key]
    if (key === CHECKSUM_KEY) return E.left(tensorFileError(`metadata key ${JSON.stringify(CHECKSUM_KEY)} is reserved for the file's own checksum: use another key`))
    if (typeof value !== 'string') return E.left(tensorFileError(`metadata ${JSON.stringify(key)}: expected a string, found ${typeof value}`))
    if (notWellFormed.test(key) || notWellFormed.test(value))
      return E.left(tensorFileError(`metadata ${JSON.stringify(key)}: contains an unpaired surrogate, which UTF-8 cannot store (not well-formed Unicode)`))
  }
  const seen = new Set<string>()
  const entries: TensorEntry[] = []
  let offset = 0
  for (const [name, t] of tensors) {
    const at = { tensor: name }
    if (typeof name !== 'string') return E.left(tensorFileError(`tensor names must be strings, found ${typeof name}`))
    if (name === METADATA_KEY) return E.left(tensorFileError(`tensor name ${JSON.stringify(METADATA_KEY)} is reserved for the metadata: use another name`, at))
    if (seen.has(name)) return E.left(tensorFileError(`tensor ${JSON.stringify(name)} appears twice: names in a file are unique`, at))
    if (notWellFormed.test(name)) return E.left(tensorFileError(`tensor ${JSON.stringify(name)}: the name contains an unpaired surrogate, which UTF-8 cannot store`, at))
    const problem = tensorProblem(t)
    if (problem !== undefined) return E.left(tensorFileError(`tensor ${JSON.stringify(name)}: ${problem}`, at))
    seen.add(name)
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], begin: offset, end: offset + t.data.byteLength })
    offset += t.data.byteLength
  }
  const parts = tensors.map(([, t]) => littleEndianBytes(t))
  const hasher = startChecksum({ tensors: entries, metadata })
  for (const p of parts) hasher.update(p)
  const json = utf8.encode(headerJson(entries, metadata, `sha256:${hasher.hex()}`))
  if (json.length > MAX_HEADER_BYTES)
    return E.left(tensorFileError(`the header would be ${json.length} bytes, more than the ${MAX_HEADER_BYTES} a tensor file may have: too many tensors or too much metadata`))
  const padded = Math.ceil((PREFIX_BYTES + json.length) / DATA_ALIGNMENT) * DATA_ALIGNMENT
  const header = new Uint8Array(padded).fill(0x20)
  const prefix = new DataView(header.buffer)
  prefix.setUint32(0, padded - PREFIX_BYTES, true)
  prefix.setUint32(4, 0, true)
  header.set(json, PREFIX_BYTES)
  return E.right({ header, parts, byteLength: padded + offset })
}

/**
 * The whole file for `tensors` and `metadata` as one byte array (see `layout` for what is refused).
 * For big networks prefer the streaming file writer, which never concatenates.
 * @category encoding
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const bytes = TensorFile.encode([['W', Tensor.fromArray([2], [1, -0])]], { note: 'tiny' })
 * E.isRight(bytes) // true
 */
export const encode = (tensors: ReadonlyArray<readonly [string, Tensor]>, metadata: Readonly<Record<string, string>> = {}): E.Either<TensorFileError, Uint8Array> =>
  E.flatMap((l: Layout) =>
    E.tryCatch(() => concatenate(l), (e) => tensorFileError(`cannot build the ${l.byteLength}-byte file in memory (${e instanceof Error ? e.message : String(e)}): write it to a file with the streaming writer instead`))
  )(layout(tensors, metadata))

const concatenate = (l: Layout): Uint8Array => {
  const out = new Uint8Array(l.byteLength)
  out.set(l.header, 0)
  let at = l.header.length
  for (const p of l.parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

// decoding

const show = (s: string): string => JSON.stringify(s.length <= 60 ? s : `${s.slice(0, 60)}…`)

/**
 * The length of the length prefix plus the header (= where the data section starts), read from the
 * first 8 bytes of a file of `fileLength` bytes and checked against it: how many bytes to read before
 * `decodeHeader`. Never trusts the length field before comparing it with the real size.
 * @category decoding
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const bytes = TensorFile.encode([['b', Tensor.zeros([3])]])
 * if (E.isRight(bytes)) TensorFile.headerSize(bytes.right.subarray(0, 8), bytes.right.length) // => E.right(168)
 */
export const headerSize = (first: Uint8Array, fileLength: number = first.length): E.Either<TensorFileError, number> => {
  if (fileLength < PREFIX_BYTES)
    return E.left(
      tensorFileError(
        `the file has ${fileLength} byte${fileLength === 1 ? '' : 's'}, fewer than the 8 of the header length: it is empty, truncated or not a tensor file`,
        { offset: 0 }
      )
    )
  if (first.length < PREFIX_BYTES) return E.left(tensorFileError(`need the first 8 bytes of the file to read the header length, got ${first.length}`, { offset: 0 }))
  const view = new DataView(first.buffer, first.byteOffset, PREFIX_BYTES)
  const low = view.getUint32(0, true)
  const high = view.getUint32(4, true)
  const available = fileLength - PREFIX_BYTES
  // Compared as two words first, so an absurd 64-bit value is never turned into an allocation size.
  if (high !== 0 || low > MAX_HEADER_BYTES)
    return E.left(
      tensorFileError(
        `bytes 0–7 say the header is ${view.getBigUint64(0, true)} bytes long, more than the ${MAX_HEADER_BYTES} a tensor-file header may have (the file has ${fileLength} bytes): the file is corrupted or not a safetensors file`,
        { offset: 0 }
      )
    )
  if (low > available)
    return E.left(
      tensorFileError(`bytes 0–7 say the header is ${low} bytes long, but only ${available} bytes follow them: the file is truncated or corrupted`, { offset: 0 })
    )
  if (low < 2) return E.left(tensorFileError(`bytes 0–7 say the header is ${low} bytes long, too short for a JSON object ('{}' is 2 bytes)`, { offset: 0 }))
  return E.right(PREFIX_BYTES + low)
}

type Result<A> = E.Either<TensorFileError, A>

/** A non-negative safe integer, or the error for `what`. */
const count = (v: Json, what: string, where: { readonly tensor: string }): Result<number> =>
  isSafeCount(v) ? E.right(v) : E.left(tensorFileError(`${what}: expected a non-negative integer below 2^53, found ${describeJson(v)}`, where))

const countList = (v: Json, what: string, where: { readonly tensor: string }): Result<number[]> => {
  if (!Array.isArray(v)) return E.left(tensorFileError(`${what}: expected an array of non-negative integers, found ${describeJson(v)}`, where))
  const out: number[] = []
  for (let i = 0; i < v.length; i++) {
    const c = count(v[i] as Json, `${what}[${i}]`, where)
    if (E.isLeft(c)) return c
    out.push(c.right)
  }
  return E.right(out)
}

const TENSOR_FIELDS: ReadonlyArray<string> = ['dtype', 'shape', 'data_offsets']

/** One tensor entry of the header, checked on its own (ranges against the data section come later). */
const tensorEntry = (name: string, v: Json, dataLength: number): Result<TensorEntry> => {
  const where = { tensor: name }
  const what = `tensor ${show(name)}`
  if (!isJsonObject(v)) return E.left(tensorFileError(`${what}: expected an object {dtype, shape, data_offsets}, found ${describeJson(v)}`, where))
  const extra = v.entries.find(([k]) => !TENSOR_FIELDS.includes(k))
  if (extra !== undefined)
    return E.left(tensorFileError(`${what}: unexpected field ${show(extra[0])} (a tensor entry has exactly dtype, shape and data_offsets)`, where))
  const field = (k: string): Json | undefined => v.entries.find(([key]) => key === k)?.[1]
  const missing = TENSOR_FIELDS.find((k) => field(k) === undefined)
  if (missing !== undefined) return E.left(tensorFileError(`${what}: missing field ${show(missing)}`, where))
  const fileDtype = field('dtype') as Json
  if (typeof fileDtype !== 'string') return E.left(tensorFileError(`${what}: dtype: expected a string such as "F32", found ${describeJson(fileDtype)}`, where))
  const dtype = dtypeOfFile(fileDtype)
  if (dtype === undefined) return E.left(tensorFileError(`${what}: dtype ${show(fileDtype)} is not supported: nn-ts reads "F32" and "F64" tensors only`, where))
  const shape = countList(field('shape') as Json, `${what}: shape`, where)
  if (E.isLeft(shape)) return shape
  const offsets = countList(field('data_offsets') as Json, `${what}: data_offsets`, where)
  if (E.isLeft(offsets)) return offsets
  if (offsets.right.length !== 2)
    return E.left(tensorFileError(`${what}: data_offsets: expected [begin, end], found an array of ${offsets.right.length}`, where))
  const [begin, end] = offsets.right as [number, number]
  if (begin > end) return E.left(tensorFileError(`${what}: data_offsets [${begin}, ${end}]: begin is after end`, where))
  if (end > dataLength)
    return E.left(
      tensorFileError(`${what}: data_offsets [${begin}, ${end}] reach past the end of the data section, which has ${dataLength} bytes: the file is truncated or corrupted`, where)
    )
  // The byte size, exact as long as it stays below 2^53; past that it cannot match any range.
  let bytes = shape.right.includes(0) ? 0 : ITEM_BYTES[dtype]
  for (const d of shape.right) {
    bytes *= d
    if (bytes > Number.MAX_SAFE_INTEGER) break
  }
  if (bytes !== end - begin) {
    const need = bytes > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : `${bytes}`
    return E.left(
      tensorFileError(`${what}: dtype ${fileDtype} and shape ${showShape(shape.right)} need ${need} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`, where)
    )
  }
  return E.right({ name, dtype, shape: shape.right, begin, end })
}

const metadataOf = (v: Json): Result<{ readonly metadata: Record<string, string>; readonly checksum: string | undefined }> => {
  if (!isJsonObject(v)) return E.left(tensorFileError(`__metadata__: expected an object of strings, found ${describeJson(v)}`))
  const entries: Array<[string, string]> = []
  let checksum: string | undefined
  for (const [k, value] of v.entries) {
    if (typeof value !== 'string') return E.left(tensorFileError(`__metadata__.${show(k)}: expected a string, found ${describeJson(value)}`))
    if (k !== CHECKSUM_KEY) entries.push([k, value])
    else if (CHECKSUM_PATTERN.test(value)) checksum = value
    else return E.left(tensorFileError(`__metadata__.checksum: expected "sha256:" and 64 lowercase hex digits, found ${describeJson(value)}`))
  }
  // fromEntries defines own properties, so even a key named "__proto__" stays data.
  return E.right({ metadata: Object.fromEntries(entries), checksum })
}

/** The ranges, sorted, must tile [0, dataLength): no overlap, no gap, nothing left over. */
const checkTiling = (tensors: ReadonlyArray<TensorEntry>, dataLength: number, dataStart: number): Result<void> => {
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end)
  let expected = 0
  let previous: TensorEntry | undefined
  for (const e of sorted) {
    if (e.begin !== expected) {
      const kind =
        e.begin < expected
          ? `overlaps the bytes of tensor ${show((previous as TensorEntry).name)} (which end at ${expected})`
          : `leaves a gap: the previous tensor's data ends at ${expected}${previous === undefined ? ' (the start of the data section)' : ` (tensor ${show(previous.name)})`}`
      return E.left(
        tensorFileError(`tensor ${show(e.name)}: data_offsets [${e.begin}, ${e.end}] ${kind}; tensors must be stored back to back`, {
          tensor: e.name,
          offset: dataStart + Math.min(e.begin, expected)
        })
      )
    }
    expected = e.end
    previous = e
  }
  if (expected !== dataLength)
    return E.left(
      tensorFileError(
        `the tensors' data ends at byte ${expected} of the data section, but the file has ${dataLength} bytes after the header: ${dataLength - expected} trailing bytes belong to no tensor`,
        { offset: dataStart + expected }
      )
    )
  return E.right(undefined)
}

const headerText = (bytes: Uint8Array): Result<string> =>
  E.tryCatch(
    () => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes),
    () => tensorFileError(`the header (bytes 8 to ${PREFIX_BYTES + bytes.length}) is not valid UTF-8: the file is corrupted or not a safetensors file`, { offset: PREFIX_BYTES })
  )

const decodeHeaderUnsafe = (bytes: Uint8Array, fileLength: number, options: DecodeOptions): Result<Header> => {
  const size = headerSize(bytes, fileLength)
  if (E.isLeft(size)) return size
  const dataStart = size.right
  if (bytes.length < dataStart) return E.left(tensorFileError(`need the first ${dataStart} bytes of the file to read the header, got ${bytes.length}`, { offset: 0 }))
  const headerBytes = bytes.subarray(PREFIX_BYTES, dataStart)
  if (headerBytes[0] !== 0x7b)
    return E.left(
      tensorFileError(`the header must start with '{', found byte 0x${(headerBytes[0] as number).toString(16).padStart(2, '0')}: the file is corrupted or not a safetensors file`, {
        offset: PREFIX_BYTES
      })
    )
  const text = headerText(headerBytes)
  if (E.isLeft(text)) return text
  const parsed = parseJson(text.right, MAX_JSON_DEPTH)
  if (E.isLeft(parsed)) {
    const offset = PREFIX_BYTES + utf8.encode(text.right.slice(0, parsed.left.at)).length
    return E.left(tensorFileError(`header, file byte ${offset}: ${parsed.left.reason}`, { offset }))
  }
  // It starts with '{' and parsed as one value, so it is an object.
  const root = parsed.right as JsonObject
  const dataLength = fileLength - dataStart
  const tensors: TensorEntry[] = []
  let meta: { readonly metadata: Record<string, string>; readonly checksum: string | undefined } = { metadata: {}, checksum: undefined }
  for (const [key, value] of root.entries) {
    if (key === METADATA_KEY) {
      const m = metadataOf(value)
      if (E.isLeft(m)) return m
      meta = m.right
    } else {
      const entry = tensorEntry(key, value, dataLength)
      if (E.isLeft(entry)) return entry
      tensors.push(entry.right)
    }
  }
  const tiled = checkTiling(tensors, dataLength, dataStart)
  if (E.isLeft(tiled)) return tiled
  if (meta.checksum === undefined && options.requireChecksum !== false)
    return E.left(
      tensorFileError(
        '__metadata__ has no "checksum": the file was not written by nn-ts, or its checksum was removed (read files of other tools with { requireChecksum: false })'
      )
    )
  return E.right({ dataStart, dataLength, tensors, metadata: meta.metadata, checksum: meta.checksum })
}

/** Any throw nobody foresaw as an error value: no input, however crafted, may make decoding throw. */
const neverThrow = <A>(f: () => Result<A>): Result<A> =>
  E.flatten(E.tryCatch(f, (e) => tensorFileError(`cannot decode the tensor file: ${e instanceof Error ? e.message : String(e)}`)))

/**
 * The validated header of a file of `fileLength` bytes whose first bytes are `bytes` (at least the
 * first `headerSize(…)` of them; the whole file is fine). Checks everything except the checksum, which
 * needs the data: see `startChecksum`. Never throws.
 * @category decoding
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const bytes = TensorFile.encode([['W', Tensor.zeros([2, 3])]])
 * if (E.isRight(bytes)) {
 *   const h = TensorFile.decodeHeader(bytes.right)
 *   if (E.isRight(h)) h.right.tensors.map((t) => t.name) // ['W']
 *   TensorFile.decodeHeader(bytes.right.subarray(0, 100)) // Left: bytes 0–7 say the header is 160 bytes long, but only 92 bytes follow them: …
 * }
 */
export const decodeHeader = (bytes: Uint8Array, fileLength: number = bytes.length, options: DecodeOptions = {}): E.Either<TensorFileError, Header> =>
  neverThrow(() => decodeHeaderUnsafe(bytes, fileLength, options))

/**
 * The tensors and metadata of a whole file in memory, validating everything (see the module
 * documentation), the checksum included. Tensors are copies: `bytes` may be reused afterwards. Never
 * throws, and allocates no more than `bytes.length` for the tensors, whatever the header claims.
 * @category decoding
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const back = pipe(TensorFile.encode([['W', Tensor.fromArray([2], [1, -0])]], { note: 'tiny' }), E.flatMap((bytes) => TensorFile.decode(bytes)))
 * if (E.isRight(back)) back.right // { tensors: [['W', { shape: [2], dtype: 'float32', data: Float32Array [1, -0] }]], metadata: { note: 'tiny' } }
 */
export const decode = (bytes: Uint8Array, options: DecodeOptions = {}): E.Either<TensorFileError, TensorFile> =>
  neverThrow(() => {
    const header = decodeHeaderUnsafe(bytes, bytes.length, options)
    if (E.isLeft(header)) return header
    const { dataStart, tensors, metadata } = header.right
    const verified = verifyChecksum(header.right, startChecksum(header.right).update(bytes.subarray(dataStart)))
    if (E.isLeft(verified)) return verified
    return E.right({
      tensors: tensors.map((e) => [e.name, tensorFromBytes(e, bytes.subarray(dataStart + e.begin, dataStart + e.end))] as const),
      metadata
    })
  })
