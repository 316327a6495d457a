/**
 * Tensor files: named float32/float64 tensors and string metadata in one binary file in the
 * safetensors layout (8-byte header length, JSON header, raw little-endian data), with a SHA-256
 * checksum, validated on every read. The codec is pure (no Node built-in): `encode`/`layout` to bytes,
 * `decode` from bytes, `decodeHeader` + `startChecksum` for readers that stream. Files on disk (atomic
 * streaming writes, bounded reads) are in the Node entry.
 *
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Tensor, TensorFile } from 'nn-ts'
 * const bytes = TensorFile.encode([['W', Tensor.fromRows([[1, 2], [3, 4]])], ['b', Tensor.vector([0.5, -0])]], { step: '120' })
 * const back = pipe(bytes, E.flatMap((b) => TensorFile.decode(b)))
 * if (E.isRight(back)) back.right.metadata // { step: '120' }
 * if (E.isRight(back)) back.right.tensors[1]?.[1] // [0.5, -0]: bit for bit, −0 included
 * @since 0.2.0
 */
export * from './safetensors.ts'
export * from './sha256.ts'
