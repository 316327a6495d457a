/**
 * The IDX file format of the MNIST files (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
 * `0x00 0x00 <dtype code> <ndims>`, then `ndims` big-endian uint32 dimensions, then the values,
 * big-endian, row-major.
 *
 * Decoding is a boundary: every way a file can be wrong (compressed, wrong kind, truncated, padded)
 * comes back as a `Left` whose message says what was found and what was expected. This module is one
 * of the few places allowed to loop over raw typed arrays.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { printable } from '../io/printable.ts'
import type { DataError } from './errors.ts'

/** A `DataError` about `name`, whose message echoes the name only in printable form. */
const dataError = (name: string, message: string): DataError => ({ _tag: 'DataError', file: name, message: `${printable(name)}: ${message}` })

/**
 * The element types IDX files can hold (dtype codes 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e).
 * @category model
 * @example
 * import { Data } from 'nn-ts'
 * const pixels: Data.IdxDType = 'uint8'
 * Data.idxMagic(pixels, 3) // 0x00000803: the type code 0x08 in the magic number
 */
export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64'

/**
 * A decoded IDX file: its element type, its dimensions and its values, row-major. `decodeIdx` returns
 * a typed array of the dtype (`Uint8Array` for `uint8`, ...) that nobody else holds.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data } from 'nn-ts'
 * const labels: Data.IdxArray = { dtype: 'uint8', shape: [3], data: new Uint8Array([5, 0, 4]) }
 * Data.decodeIdx(Data.encodeIdx(labels)) // => E.right(labels)
 */
export interface IdxArray {
  readonly dtype: IdxDType
  readonly shape: readonly number[]
  readonly data: ArrayLike<number>
}

/**
 * What a caller expects a file to hold, checked against the magic number before anything else so that
 * a mixed-up file (labels given as images) is reported as such rather than as a length problem.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data } from 'nn-ts'
 * const labels: Data.IdxExpectation = { what: 'labels', dtypes: ['uint8'], minDims: 1, maxDims: 1 }
 * const bytes = Data.encodeIdx({ dtype: 'uint8', shape: [2], data: [5, 0] })
 * E.isRight(Data.decodeIdxExpecting(bytes, 'train-labels', labels)) // true
 */
export interface IdxExpectation {
  /** What the file holds, in words: `images`, `labels`. */
  readonly what: string
  readonly dtypes: ReadonlyArray<IdxDType>
  readonly minDims: number
  readonly maxDims: number
}

interface DTypeInfo {
  readonly code: number
  readonly bytes: number
}

const DTYPES: Readonly<Record<IdxDType, DTypeInfo>> = {
  uint8: { code: 0x08, bytes: 1 },
  int8: { code: 0x09, bytes: 1 },
  int16: { code: 0x0b, bytes: 2 },
  int32: { code: 0x0c, bytes: 4 },
  float32: { code: 0x0d, bytes: 4 },
  float64: { code: 0x0e, bytes: 8 }
}

const DTYPE_NAMES = Object.keys(DTYPES) as IdxDType[]

/** The format allows more, but MNIST-like data never needs more than 4 and a cap catches garbage early. */
const MAX_DIMS = 4

/**
 * The most bytes an IDX header can take (magic number and four dimensions): reading this many from
 * the start of a file (or of its decompressed stream) is always enough for `decodeIdxHeader`.
 * @internal
 */
export const IDX_MAX_HEADER_BYTES = 4 + 4 * MAX_DIMS

const dtypeOfCode = (code: number): IdxDType | undefined => DTYPE_NAMES.find((d) => DTYPES[d].code === code)

const hex = (n: number, digits: number): string => `0x${n.toString(16).padStart(digits, '0')}`

/**
 * The magic number of an IDX file holding `dtype` values in `ndims` dimensions.
 * @category utils
 * @example
 * import { Data } from 'nn-ts'
 * Data.idxMagic('uint8', 3) // 0x00000803 (MNIST images)
 */
export const idxMagic = (dtype: IdxDType, ndims: number): number => DTYPES[dtype].code * 256 + ndims

/** `0x00000803` as text. */
const showMagic = (magic: number): string => hex(magic >>> 0, 8)

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

const showDims = (min: number, max: number): string =>
  min === max ? plural(min, 'dimension') : `${min} to ${max} dimensions`

const showShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`

/**
 * What the header of an IDX file says, before its values are read.
 * @internal
 */
export interface IdxHeader {
  readonly magic: number
  readonly dtype: IdxDType
  readonly shape: readonly number[]
  /** Byte offset of the first value: the header's size. */
  readonly offset: number
  /** The size of the whole file the header describes (header and values); above 2⁵³ it is rounded. */
  readonly byteLength: number
}

type Header = IdxHeader

const GZIP_MAGIC = [0x1f, 0x8b] as const

/** The number of values of a shape; above 2⁵³ it is rounded, which only ever makes it compare as too large. */
const countOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

const decodeHeader = (bytes: Uint8Array, name: string, holder: string): E.Either<DataError, Header> => {
  const fail = (message: string): E.Either<DataError, Header> => E.left(dataError(name, message))
  if (bytes.length < 4) {
    return fail(`truncated: expected at least 4 bytes (the IDX magic number), ${holder} has ${bytes.length}`)
  }
  const [b0, b1, b2, b3] = [bytes[0] as number, bytes[1] as number, bytes[2] as number, bytes[3] as number]
  // Unsigned 32-bit, so that a first byte >= 0x80 does not print as a negative number.
  const magic = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0
  if (b0 === GZIP_MAGIC[0] && b1 === GZIP_MAGIC[1]) {
    // The files on yann.lecun.com are .gz: the most likely way to get here, so say it plainly.
    return fail(`is gzip-compressed (starts with 0x1f 0x8b), expected a raw IDX file starting with 0x00 0x00: gunzip it first`)
  }
  if (b0 !== 0 || b1 !== 0) {
    return fail(`not an IDX file: wrong magic number ${showMagic(magic)}, expected the first two bytes to be 0x00 0x00`)
  }
  const dtype = dtypeOfCode(b2)
  if (dtype === undefined) {
    const known = DTYPE_NAMES.map((d) => `${hex(DTYPES[d].code, 2)} (${d})`).join(', ')
    return fail(`unknown IDX data type code ${hex(b2, 2)} in magic number ${showMagic(magic)}, expected one of ${known}`)
  }
  if (b3 < 1 || b3 > MAX_DIMS) {
    return fail(`magic number ${showMagic(magic)} says ${plural(b3, 'dimension')}, expected 1 to ${MAX_DIMS}`)
  }
  const offset = 4 + 4 * b3
  if (bytes.length < offset) {
    return fail(`truncated: expected ${offset} bytes of header for ${plural(b3, 'dimension')}, ${holder} has ${bytes.length}`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const shape = Array.from({ length: b3 }, (_, i) => view.getUint32(4 + 4 * i, false))
  const zero = shape.findIndex((d) => d === 0)
  if (zero >= 0) {
    return fail(`dimension ${zero} of shape ${showShape(shape)} is 0, expected every dimension to be positive`)
  }
  return E.right({ magic, dtype, shape, offset, byteLength: offset + countOf(shape) * DTYPES[dtype].bytes })
}

const checkExpectation = (header: Header, name: string, expect: IdxExpectation): E.Either<DataError, Header> => {
  const ndims = header.shape.length
  if (expect.dtypes.includes(header.dtype) && ndims >= expect.minDims && ndims <= expect.maxDims) return E.right(header)
  const magics = expect.dtypes.flatMap((d) =>
    Array.from({ length: expect.maxDims - expect.minDims + 1 }, (_, i) => showMagic(idxMagic(d, expect.minDims + i)))
  )
  const wanted = `${expect.what}: ${expect.dtypes.join(' or ')}, ${showDims(expect.minDims, expect.maxDims)}`
  const expected = magics.length <= 3 ? `${magics.join(' or ')} (${wanted})` : wanted
  return E.left(
    dataError(
      name,
      `wrong magic number ${showMagic(header.magic)} (${header.dtype}, ${plural(ndims, 'dimension')}), expected ${expected}`
    )
  )
}

/** `what` of a header in words: `16-byte header + 48×4×4 uint8 values`. @internal */
export const describeIdxHeader = (header: IdxHeader): string => `${header.offset}-byte header + ${header.shape.join('×')} ${header.dtype} values`

/** A byte count as an integer when it is exactly one, else in exponent form (a crafted header's claim). */
const showCount = (n: number): string => (Number.isSafeInteger(n) ? String(n) : n.toExponential(3))

/**
 * Whether `size` bytes (of a file, or of decompressed data: `holder` says which in messages) are
 * exactly what `header` describes; truncation and trailing bytes are reported with both counts.
 * @internal
 */
export const checkIdxSize = (header: IdxHeader, size: number, name: string, holder = 'file'): E.Either<DataError, IdxHeader> => {
  const expected = header.byteLength
  if (size < expected) {
    return E.left(dataError(name, `truncated: expected ${showCount(expected)} bytes (${describeIdxHeader(header)}), ${holder} has ${size}`))
  }
  if (size > expected) {
    return E.left(dataError(name, `${size - expected} trailing bytes after the expected ${expected} bytes (${describeIdxHeader(header)})`))
  }
  return E.right(header)
}

/**
 * Decodes the header at the start of `bytes`, which may be only a prefix of the file (the first
 * `IDX_MAX_HEADER_BYTES` are always enough), and checks it against `expect` when given: the dtype
 * code, 1 to 4 dimensions, every dimension positive. `byteLength` then says how large the whole file
 * must be, so a caller can compare it with the file's size before reading the values. `holder` names
 * what `bytes` came from in truncation messages (`file`, `decompressed data`). Never throws.
 * @internal
 */
export const decodeIdxHeader = (bytes: Uint8Array, name: string, expect?: IdxExpectation, holder = 'file'): E.Either<DataError, IdxHeader> =>
  pipe(
    decodeHeader(bytes, name, holder),
    E.chain((h) => (expect === undefined ? E.right(h) : checkExpectation(h, name, expect)))
  )

/**
 * The values of a checked file, copied out of `bytes` so the result shares no memory with the input;
 * with `copy` false, single-byte values are a view into `bytes` instead (see `decodeIdxView`).
 */
const readValues = (bytes: Uint8Array, header: Header, copy: boolean): IdxArray['data'] => {
  const count = countOf(header.shape)
  const start = header.offset
  const size = DTYPES[header.dtype].bytes
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * size)
  switch (header.dtype) {
    // Views over plain typed arrays, then `slice` copies: `bytes` may be a Node Buffer, whose own
    // `slice` returns a view into the file buffer instead of a copy.
    case 'uint8': {
      const view = new Uint8Array(bytes.buffer, bytes.byteOffset + start, count)
      return copy ? view.slice() : view
    }
    case 'int8': {
      const view = new Int8Array(bytes.buffer, bytes.byteOffset + start, count)
      return copy ? view.slice() : view
    }
    case 'int16': {
      const out = new Int16Array(count)
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, false)
      return out
    }
    case 'int32': {
      const out = new Int32Array(count)
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, false)
      return out
    }
    case 'float32': {
      const out = new Float32Array(count)
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, false)
      return out
    }
    case 'float64': {
      const out = new Float64Array(count)
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, false)
      return out
    }
  }
}

const decode = (bytes: Uint8Array, name: string, expect: IdxExpectation | undefined, copy: boolean): E.Either<DataError, IdxArray> =>
  pipe(
    decodeIdxHeader(bytes, name, expect),
    E.chain((h) => checkIdxSize(h, bytes.length, name)),
    E.map((h) => ({ dtype: h.dtype, shape: [...h.shape], data: readValues(bytes, h, copy) }))
  )

/**
 * Decodes the bytes of an IDX file. Checks the magic number (first two bytes 0, a known dtype code,
 * 1 to 4 dimensions), that every dimension is positive and that the file is exactly as long as its
 * header says; `name` (a path, usually) starts every error message. Never throws.
 * @category decoders
 * @example
 * import { Data } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * const bytes = Data.encodeIdx({ dtype: 'uint8', shape: [2], data: [5, 0] })
 * const decoded = Data.decodeIdx(bytes, 'labels')
 * if (E.isRight(decoded)) decoded.right // { dtype: 'uint8', shape: [2], data: Uint8Array [5, 0] }
 * E.isRight(Data.decodeIdx(bytes.subarray(0, 9), 'labels')) // false: 'labels: truncated: expected 10 bytes ...'
 */
export const decodeIdx = (bytes: Uint8Array, name = 'IDX data'): E.Either<DataError, IdxArray> =>
  decode(bytes, name, undefined, true)

/**
 * `decodeIdx`, but first checks that the magic number is one `expect` allows, so a file of the wrong
 * kind is reported as "wrong magic number 0x00000803 (uint8, 3 dimensions), expected 0x00000801
 * (labels: uint8, 1 dimension)" before its length is looked at.
 * @category decoders
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data } from 'nn-ts'
 * const bytes = Data.encodeIdx({ dtype: 'uint8', shape: [1, 2, 2], data: [0, 1, 2, 3] }) // images, not labels
 * const r = Data.decodeIdxExpecting(bytes, 't10k-labels', { what: 'labels', dtypes: ['uint8'], minDims: 1, maxDims: 1 })
 * if (E.isLeft(r)) r.left.message // 't10k-labels: wrong magic number 0x00000803 (…), expected 0x00000801 (…)…'
 */
export const decodeIdxExpecting = (bytes: Uint8Array, name: string, expect: IdxExpectation): E.Either<DataError, IdxArray> =>
  decode(bytes, name, expect, true)

/**
 * `decodeIdxExpecting` without copying single-byte values: the result's data may be a view into
 * `bytes`. For loaders that own the bytes and convert the values right away (MNIST's 47 MB of pixels
 * are scaled to floats anyway, so a copy first would only cost time).
 * @internal
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Data } from 'nn-ts'
 * const bytes = Data.encodeIdx({ dtype: 'uint8', shape: [2], data: [5, 0] })
 * const r = Data.decodeIdxView(bytes, 'labels', { what: 'labels', dtypes: ['uint8'], minDims: 1, maxDims: 1 })
 * if (E.isRight(r)) r.right.data instanceof Uint8Array && r.right.data.buffer === bytes.buffer // true: a view of the bytes, not a copy
 */
export const decodeIdxView = (bytes: Uint8Array, name: string, expect: IdxExpectation): E.Either<DataError, IdxArray> =>
  decode(bytes, name, expect, false)

/**
 * Encodes an array as IDX bytes (the inverse of `decodeIdx`), for tests and for writing inputs. Values
 * are stored as the dtype stores them (integers wrap, float32 rounds). Throws a `RangeError` for an
 * array `decodeIdx` would reject: 0 or more than 4 dimensions, a dimension that is not a positive
 * 32-bit integer, or a value count that does not match the shape.
 * @category encoders
 * @example
 * import { Data } from 'nn-ts'
 * Data.encodeIdx({ dtype: 'uint8', shape: [2], data: [5, 0] }) // Uint8Array [0, 0, 8, 1, 0, 0, 0, 2, 5, 0]
 */
export const encodeIdx = (a: IdxArray): Uint8Array => {
  const info = DTYPES[a.dtype]
  if (info === undefined) throw new RangeError(`encodeIdx: unknown dtype ${String(a.dtype)}, expected one of ${DTYPE_NAMES.join(', ')}`)
  const ndims = a.shape.length
  if (ndims < 1 || ndims > MAX_DIMS) throw new RangeError(`encodeIdx: ${plural(ndims, 'dimension')}, expected 1 to ${MAX_DIMS}`)
  if (!a.shape.every((d) => Number.isInteger(d) && d > 0 && d <= 0xffffffff)) {
    throw new RangeError(`encodeIdx: shape ${showShape(a.shape)}, expected positive 32-bit integer dimensions`)
  }
  const count = a.shape.reduce((x, y) => x * y, 1)
  if (a.data.length !== count) throw new RangeError(`encodeIdx: ${a.data.length} values for shape ${showShape(a.shape)}, expected ${count}`)
  const offset = 4 + 4 * ndims
  const out = new Uint8Array(offset + count * info.bytes)
  const view = new DataView(out.buffer)
  view.setUint32(0, idxMagic(a.dtype, ndims), false)
  a.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false))
  const v = a.data
  switch (a.dtype) {
    case 'uint8':
    case 'int8':
      for (let i = 0; i < count; i++) view.setUint8(offset + i, (v[i] as number) & 0xff)
      break
    case 'int16':
      for (let i = 0; i < count; i++) view.setInt16(offset + 2 * i, v[i] as number, false)
      break
    case 'int32':
      for (let i = 0; i < count; i++) view.setInt32(offset + 4 * i, v[i] as number, false)
      break
    case 'float32':
      for (let i = 0; i < count; i++) view.setFloat32(offset + 4 * i, v[i] as number, false)
      break
    case 'float64':
      for (let i = 0; i < count; i++) view.setFloat64(offset + 8 * i, v[i] as number, false)
      break
  }
  return out
}
