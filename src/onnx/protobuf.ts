/**
 * A minimal protocol-buffers *writer*: just the wire format the ONNX exporter needs (varints,
 * little-endian 32-bit floats and length-delimited fields). No schema compiler, no dependency.
 *
 * A message is the concatenation of its encoded fields, and a field is a key (`number << 3 | wire
 * type`) followed by its payload, so every function here returns bytes and a message is built by
 * concatenating them. Fields whose value is absent are simply not written (proto2 `optional`).
 *
 * @since 0.1.0
 */

/** Encoded bytes of one or more fields. @category model */
export type Bytes = Uint8Array

/** Wire types of the protobuf encoding (the ones this writer emits). */
const WIRE_VARINT = 0
const WIRE_LENGTH_DELIMITED = 2
const WIRE_FIXED32 = 5

const TWO_64 = 1n << 64n

/**
 * The base-128 varint of an integer. Negative values are written as their 64-bit two's complement
 * (ten bytes), which is how protobuf encodes a negative `int64` such as ONNX's `axis = -1`.
 * @category encoders
 * @example
 * import { varint } from './protobuf.ts' // internal: the encoder nn-ts/onnx writes models with
 * varint(300) // Uint8Array [0xac, 0x02]
 */
export const varint = (value: number | bigint): Bytes => {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`protobuf varint: not a safe integer: ${value}`)
  let v = BigInt(value)
  if (v < 0n) v += TWO_64
  if (v < 0n || v >= TWO_64) throw new RangeError(`protobuf varint: ${value} does not fit in 64 bits`)
  const out: number[] = []
  do {
    const low = Number(v & 0x7fn)
    v >>= 7n
    out.push(v > 0n ? low | 0x80 : low)
  } while (v > 0n)
  return Uint8Array.from(out)
}

/** Concatenates encoded parts (fields of one message, in order). @category combinators */
export const concat = (parts: ReadonlyArray<Bytes>): Bytes => {
  const total = parts.reduce((n, p) => n + p.length, 0)
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const key = (field: number, wire: number): Bytes => {
  if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new RangeError(`protobuf: bad field number ${field}`)
  return varint(field * 8 + wire)
}

/** An integer field (`int32`, `int64`, enums): wire type 0. @category encoders */
export const int = (field: number, value: number | bigint): Bytes => concat([key(field, WIRE_VARINT), varint(value)])

/** A `float` field: wire type 5, IEEE 754 single precision, little-endian. @category encoders */
export const float32 = (field: number, value: number): Bytes => {
  const payload = new Uint8Array(4)
  new DataView(payload.buffer).setFloat32(0, value, true)
  return concat([key(field, WIRE_FIXED32), payload])
}

/** A `bytes` field, or an embedded message given as its encoded fields: wire type 2. @category encoders */
export const bytes = (field: number, payload: Bytes): Bytes => concat([key(field, WIRE_LENGTH_DELIMITED), varint(payload.length), payload])

/** A `string` field (UTF-8). @category encoders */
export const string = (field: number, value: string): Bytes => bytes(field, new TextEncoder().encode(value))

/**
 * An embedded message: the concatenation of its fields, length-delimited.
 * @category encoders
 * @example
 * import { int, message, string } from './protobuf.ts'
 * const opset = message(8, [string(1, ''), int(2, 13)]) // field 8: { field 1: '', field 2: 13 }
 * opset // Uint8Array [0x42, 4, 0x0a, 0, 0x10, 13]
 */
export const message = (field: number, fields: ReadonlyArray<Bytes>): Bytes => bytes(field, concat(fields))

/** A repeated integer field written packed (one length-delimited run of varints). @category encoders */
export const packedInts = (field: number, values: ReadonlyArray<number | bigint>): Bytes => bytes(field, concat(values.map(varint)))

/** Float32 values as little-endian bytes (ONNX `raw_data` is little-endian on every machine). @category encoders */
export const float32LE = (values: ArrayLike<number>): Bytes => {
  const out = new Uint8Array(values.length * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true)
  return out
}
