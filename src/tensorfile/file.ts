/**
 * Tensor files on disk (Node only): a streaming atomic writer and a bounded, validating reader, as
 * `TaskEither`s that never reject. The format is the one of the pure codec (`TensorFile.encode`).
 *
 * `write` streams: the header, then each tensor's bytes straight from its memory in chunks — no string
 * and no concatenated buffer of the whole file is ever built, so file size is bounded by the disk, not
 * by the largest JavaScript string or array. It writes `<file>.<pid>-<8 hex digits>.tmp` in the same
 * directory, fsyncs it, renames it over `file` (atomic on POSIX file systems) and fsyncs the directory:
 * after a crash at any moment `file` is the old file or the new one, whole. On any failure the
 * temporary file is removed (a SIGKILL between its creation and the rename can leave it; `isTempFileFor`
 * recognises it, and it may be deleted whenever no writer runs).
 *
 * `read` opens the file without blocking and refuses anything that is not a regular file (a FIFO, a
 * device, a directory), reads the 8-byte length and the header, validates the header against the
 * file's real size before reading any data, then reads each tensor's bytes straight into its array,
 * hashing as it goes, and verifies the checksum. It never reads past the size it found and never
 * allocates more than that size, whatever the header claims.
 *
 * @since 0.2.0
 */
import { randomBytes } from 'node:crypto'
import { type FileHandle, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import { fsReason } from '../io/fsReason.ts'
import { OPEN_FLAGS, kindOf } from '../io/readRegularFile.ts'
import { type Data, type Tensor, alloc, fromData } from '../tensor/Tensor.ts'
import {
  type DecodeOptions,
  type TensorEntry,
  type TensorFile,
  type TensorFileError,
  decodeHeader,
  headerSize,
  layout,
  startChecksum,
  toHostOrder,
  verifyChecksum
} from './safetensors.ts'

/**
 * Options of `write`.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor } from 'nn-ts'
 * import { TensorFile } from 'nn-ts/node'
 * const options: TensorFile.WriteOptions = { chunkBytes: 1 << 20 } // at most 1 MiB per write call
 * const written = await TensorFile.write('big.safetensors', [['W', Tensor.zeros([1024, 1024])]], {}, options)()
 * E.isRight(written) // true
 */
export interface WriteOptions {
  /** The most bytes handed to one write call (default 16 MiB): bounds what is in flight at once. */
  readonly chunkBytes?: number
}

/**
 * Options of `read`: those of `decode`, and the read size.
 * @category model
 * @example
 * import { writeFileSync } from 'node:fs'
 * import * as E from 'fp-ts/lib/Either.js'
 * import { TensorFile } from 'nn-ts/node'
 * // A safetensors file from another tool: no nn-ts checksum in its header.
 * const json = new TextEncoder().encode('{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
 * writeFileSync('other.safetensors', new Uint8Array([json.length, 0, 0, 0, 0, 0, 0, 0, ...json, 0, 0, 128, 63]))
 * const options: TensorFile.ReadOptions = { requireChecksum: false }
 * const read = await TensorFile.read('other.safetensors', options)()
 * if (E.isRight(read)) read.right.tensors[0]?.[1] // [1]
 */
export interface ReadOptions extends DecodeOptions {
  /** The most bytes asked of one read call (default 16 MiB). */
  readonly chunkBytes?: number
}

const DEFAULT_CHUNK = 16 * 2 ** 20

/** A chunk size that is a positive multiple of 8 bytes: whole values, and never zero. */
const chunkSize = (requested: number | undefined): number =>
  requested === undefined || !Number.isFinite(requested) ? DEFAULT_CHUNK : Math.max(8, Math.floor(requested / 8) * 8)

const inFile = (file: string, e: TensorFileError): TensorFileError => ({ ...e, file, message: `${file}: ${e.message}` })

const fileError = (file: string, message: string): TensorFileError => ({ _tag: 'TensorFileError', file, message: `${file}: ${message}` })

const TEMP_PATTERN = /^\.(\d+)-[0-9a-f]{8}\.tmp$/

/**
 * Whether `candidate` (a path or a bare name) is a temporary file left by `write(file, …)`: named
 * `<file>.<pid>-<8 hex digits>.tmp`. Such files are never complete tensor files; delete them when no
 * writer is running.
 * @category utils
 * @example
 * import { TensorFile } from 'nn-ts/node'
 * TensorFile.isTempFileFor('out/net.safetensors', 'out/net.safetensors.4127-9f0c2a1e.tmp') // true
 * TensorFile.isTempFileFor('out/net.safetensors', 'out/net.safetensors') // false
 */
export const isTempFileFor = (file: string, candidate: string): boolean => {
  const name = basename(file)
  const other = basename(candidate)
  return other.startsWith(name) && TEMP_PATTERN.test(other.slice(name.length))
}

// Unique per process (pid) and per call (random suffix), so concurrent writers never share a temporary
// file; the randomness affects only the name, never what is written.
const tempPathFor = (file: string): string => `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`

const errorCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined

/** Flushes a directory entry (the rename) to disk; platforms that cannot open or sync a directory skip it. */
const syncDirectory = async (dir: string): Promise<void> => {
  let handle: FileHandle | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch (e) {
    const code = errorCode(e)
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e
  } finally {
    await handle?.close()
  }
}

/** Writes all of `bytes` at the current position: a write may take fewer bytes than offered. */
const writeAll = async (handle: FileHandle, bytes: Uint8Array): Promise<void> => {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done)
    if (bytesWritten <= 0) throw new Error(`the system accepted no bytes (${bytes.length - done} left to write)`)
    done += bytesWritten
  }
}

/**
 * Writes `tensors` (in this order, names unique) and `metadata` to `file` atomically and without
 * building the file in memory (see the module documentation). On any failure — tensors `layout`
 * refuses, no space left, no permission, a directory at `file` — the temporary file is removed, `file`
 * is untouched, and the error names `file`, the step and the cause.
 * @category file
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Tensor } from 'nn-ts'
 * import { TensorFile } from 'nn-ts/node'
 * const save = TensorFile.write('net.safetensors', [['W', Tensor.zeros([784, 40])], ['b', Tensor.zeros([40])]], { epoch: '3' })
 * const saved = await save() // written next to the target, then renamed over it
 * saved // => E.right(undefined)
 */
export const write =
  (
    file: string,
    tensors: ReadonlyArray<readonly [string, Tensor]>,
    metadata: Readonly<Record<string, string>> = {},
    options: WriteOptions = {}
  ): TE.TaskEither<TensorFileError, void> =>
  async () => {
    const planned = layout(tensors, metadata)
    if (E.isLeft(planned)) return E.left(inFile(file, planned.left))
    const chunk = chunkSize(options.chunkBytes)
    const temp = tempPathFor(file)
    let step = 'create a temporary file next to it'
    let handle: FileHandle | undefined
    try {
      handle = await open(temp, 'wx', 0o644)
      step = `write the temporary file ${basename(temp)}`
      await writeAll(handle, planned.right.header)
      for (const part of planned.right.parts) {
        for (let at = 0; at < part.length; at += chunk) await writeAll(handle, part.subarray(at, Math.min(at + chunk, part.length)))
      }
      step = 'flush the temporary file to disk'
      await handle.sync()
      step = 'close the temporary file'
      const closing = handle
      handle = undefined
      await closing.close()
      step = 'rename the temporary file over it'
      await rename(temp, file)
      step = 'flush the directory to disk'
      await syncDirectory(dirname(file))
      return E.right(undefined)
    } catch (e) {
      await handle?.close().catch(() => undefined)
      // After a successful rename there is no temporary file left, and this fails harmlessly.
      await unlink(temp).catch(() => undefined)
      const reason = handle === undefined && step.startsWith('create') && errorCode(e) === 'ENOENT' ? `the directory ${dirname(file)} does not exist` : fsReason(e)
      return E.left(fileError(file, `cannot ${step}: ${reason}`))
    }
  }


/** Fills `target` from `position`, or says how the file ended early (it shrank while being read). */
const readExactly = async (handle: FileHandle, target: Uint8Array, position: number): Promise<E.Either<string, void>> => {
  let done = 0
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done)
    if (bytesRead === 0) return E.left(`the file ended at byte ${position + done} while reading bytes ${position}–${position + target.length}: it shrank while being read`)
    done += bytesRead
  }
  return E.right(undefined)
}


/**
 * Reads the tensor file `file`, validating everything `decode` does, the checksum included (see the
 * module documentation for the bounds it keeps). Any problem — missing, not a regular file, truncated,
 * edited, not a tensor file — is a `TensorFileError` whose message starts with the file name.
 * @category file
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Tensor } from 'nn-ts'
 * import { TensorFile } from 'nn-ts/node'
 * await TensorFile.write('net.safetensors', [['W', Tensor.zeros([784, 40])], ['b', Tensor.zeros([40])]])()
 * const load = pipe(TensorFile.read('net.safetensors'), TE.map((f) => f.tensors.map(([name]) => name)))
 * await load() // => E.right(['W', 'b'])
 * const missing = await TensorFile.read('missing.safetensors')()
 * if (E.isLeft(missing)) missing.left.message // 'missing.safetensors: …'
 */
export const read =
  (file: string, options: ReadOptions = {}): TE.TaskEither<TensorFileError, TensorFile> =>
  async () => {
    const chunk = chunkSize(options.chunkBytes)
    let step = 'open it'
    let handle: FileHandle | undefined
    try {
      handle = await open(file, OPEN_FLAGS)
      step = 'examine it'
      const stat = await handle.stat()
      if (!stat.isFile()) return E.left(fileError(file, `is ${kindOf(stat)}, expected a regular file holding tensors`))
      const size = stat.size
      step = 'read the header'
      const prefix = new Uint8Array(Math.min(8, size))
      const gotPrefix = await readExactly(handle, prefix, 0)
      if (E.isLeft(gotPrefix)) return E.left(fileError(file, gotPrefix.left))
      const headerEnd = headerSize(prefix, size)
      if (E.isLeft(headerEnd)) return E.left(inFile(file, headerEnd.left))
      // headerSize checked the length against the real file size: this allocation is bounded by it.
      const head = new Uint8Array(headerEnd.right)
      head.set(prefix)
      const gotHeader = await readExactly(handle, head.subarray(prefix.length), prefix.length)
      if (E.isLeft(gotHeader)) return E.left(fileError(file, gotHeader.left))
      const header = decodeHeader(head, size, options)
      if (E.isLeft(header)) return E.left(inFile(file, header.left))
      step = 'read the tensor data'
      // File order, so the hash sees the data section as it lies; the ranges tile it exactly, so every
      // allocation below together is the data section's size, which is within the file's.
      const hasher = startChecksum(header.right)
      const inFileOrder = [...header.right.tensors].sort((a, b) => a.begin - b.begin || a.end - b.end)
      const arrays = new Map<TensorEntry, Data>()
      for (const entry of inFileOrder) {
        const data = alloc(entry.dtype, (entry.end - entry.begin) / (entry.dtype === 'float64' ? 8 : 4))
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        for (let at = 0; at < bytes.length; at += chunk) {
          const part = bytes.subarray(at, Math.min(at + chunk, bytes.length))
          const got = await readExactly(handle, part, header.right.dataStart + entry.begin + at)
          if (E.isLeft(got)) return E.left(fileError(file, got.left))
          hasher.update(part)
        }
        toHostOrder(data)
        arrays.set(entry, data)
      }
      const verified = verifyChecksum(header.right, hasher)
      if (E.isLeft(verified)) return E.left(inFile(file, verified.left))
      return E.right({
        tensors: header.right.tensors.map((e) => [e.name, fromData(e.shape, arrays.get(e) as Data)] as const),
        metadata: header.right.metadata
      })
    } catch (e) {
      return E.left(fileError(file, `cannot ${step}: ${fsReason(e)}`))
    } finally {
      await handle?.close().catch(() => undefined)
    }
  }
