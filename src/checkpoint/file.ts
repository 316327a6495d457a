/**
 * Checkpoint and parameters files (Node only), as `TaskEither`s that never reject.
 *
 * Writing goes through the tensor-file writer (`TensorFile.write`): streamed straight from the
 * tensors' memory (no string or buffer of the whole file, so a 42-million-parameter state with its
 * Adam moments writes like a small one), to `<file>.<pid>-<8 hex digits>.tmp` in the same directory,
 * fsynced, renamed over `file` (atomic on POSIX file systems), then the directory fsynced: after a crash
 * or a SIGKILL at any moment `file` is the previous file or the new one, whole. On any failure the
 * temporary file is removed; only a kill between its creation and the rename can leave it behind
 * (`isCheckpointTempFile` recognises it; delete it whenever no writer runs).
 *
 * `readCheckpoint` opens the file without blocking and reads only a regular file (a FIFO, a device or a
 * directory is refused at once), looks at its first 8 bytes (`Checkpoint.versionOf`) and reads a
 * version 2 file with the bounded tensor-file reader (`TensorFile.read`: header checked against the
 * real size before any data is read, checksum verified), a version 1 file as JSON text.
 *
 * @since 0.1.0
 */
import { type FileHandle, open } from 'node:fs/promises'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { fsReason } from '../io/fsReason.ts'
import { OPEN_FLAGS, kindOf } from '../io/readRegularFile.ts'
import type { OptState } from '../optim/Transform.ts'
import { isTempFileFor, read, write } from '../tensorfile/file.ts'
import type { Tree } from '../tree/Tree.ts'
import { decode, fromTensorFile, toTensorFile, versionOf } from './codec.ts'
import { type Checkpoint, type CheckpointError, fromTensorFileError } from './model.ts'
import { type ParamsFile, type ParamsOptions, paramsFromTensorFile, paramsToTensorFile } from './params.ts'

/** `e` about `file`: the message starts with the file name (once). */
const inFile = (file: string, e: CheckpointError): CheckpointError => ({
  ...e,
  file,
  message: e.message.startsWith(`${file}: `) ? e.message : `${file}: ${e.message}`
})

const fileError = (file: string, message: string): CheckpointError => ({ _tag: 'CheckpointError', file, message: `${file}: ${message}` })

/**
 * Whether `candidate` (a path or a bare name) is a temporary file left by `writeCheckpoint(file, …)` or
 * `writeParams(file, …)`: named `<file>.<pid>-<8 hex digits>.tmp` (the tensor-file writer's
 * `TensorFile.isTempFileFor`). Such files are never complete; delete them when no writer is running.
 * @category utils
 * @since 0.1.0
 * @example
 * import { isCheckpointTempFile } from 'nn-ts/node'
 * isCheckpointTempFile('out/checkpoint.safetensors', 'out/checkpoint.safetensors.4127-9f0c2a1e.tmp') // true
 * isCheckpointTempFile('out/checkpoint.safetensors', 'out/checkpoint.safetensors') // false
 */
export const isCheckpointTempFile: (file: string, candidate: string) => boolean = isTempFileFor

/**
 * Writes `c` to `file` as a version 2 checkpoint (a tensor file: see `Checkpoint.toTensorFile`),
 * streamed and atomic (see the module documentation). On failure — a state `toTensorFile` refuses,
 * no space left, no permission, a directory at `file` — the temporary file is removed, `file` is
 * untouched, and the error names the file, the step and the cause.
 * @category file
 * @since 0.1.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * import { writeCheckpoint } from 'nn-ts/node'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const written = await writeCheckpoint('checkpoint.safetensors', Checkpoint.make(Train.initialState(net, Optim.sgd(0.1), 7)))()
 * written // => E.right(undefined)
 */
export const writeCheckpoint = <P extends Tree, S extends Tree, O extends OptState>(file: string, c: Checkpoint<P, S, O>): TE.TaskEither<CheckpointError, void> =>
  pipe(
    TE.fromEither(toTensorFile(c)),
    TE.mapLeft((e) => inFile(file, e)),
    TE.flatMap((f) =>
      pipe(
        write(file, f.tensors, f.metadata),
        TE.mapLeft((e) => inFile(file, fromTensorFileError(e)))
      )
    )
  )



/** Reads `length` bytes from `position` into a new array, or says where the file ended early. */
const readBytes = async (handle: FileHandle, length: number, position: number): Promise<E.Either<string, Uint8Array>> => {
  const out = new Uint8Array(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done)
    if (bytesRead === 0) return E.left(`the file ended at byte ${position + done}, before the ${position + length} its size said: it shrank while being read`)
    done += bytesRead
  }
  return E.right(out)
}

type Sniffed = { readonly version: 1; readonly bytes: Uint8Array } | { readonly version: 2 }

/**
 * Opens `file` (a regular file only), reads its first bytes and decides its version; a version 1 file
 * is read whole from the same descriptor (JSON text has no bounded reader; its size is the file's).
 */
const sniff = async (file: string): Promise<E.Either<CheckpointError, Sniffed>> => {
  let step = 'open it'
  let handle: FileHandle | undefined
  try {
    handle = await open(file, OPEN_FLAGS)
    step = 'examine it'
    const stat = await handle.stat()
    if (!stat.isFile()) return E.left(fileError(file, `is ${kindOf(stat)}, expected a checkpoint file`))
    step = 'read it'
    const first = await readBytes(handle, Math.min(8, stat.size), 0)
    if (E.isLeft(first)) return E.left(fileError(file, first.left))
    if (versionOf(first.right) !== 1) return E.right({ version: 2 })
    const whole = await readBytes(handle, stat.size, 0)
    return E.isLeft(whole) ? E.left(fileError(file, whole.left)) : E.right({ version: 1, bytes: whole.right })
  } catch (e) {
    return E.left(fileError(file, `cannot ${step}: ${fsReason(e)}`))
  } finally {
    await handle?.close().catch(() => undefined)
  }
}

/**
 * Reads and fully validates the checkpoint in `file`, of either format version (see
 * `Checkpoint.decode` for what is checked, and the module documentation for how the file is read). A
 * missing, unreadable, empty, truncated or edited file, or one that is not a regular file, gives a
 * `CheckpointError` whose message starts with the file name and names the place, what was expected and
 * what was found.
 * @category file
 * @since 0.1.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * import { readCheckpoint, writeCheckpoint } from 'nn-ts/node'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const opt = Optim.adam(1e-3)
 * await writeCheckpoint('run.safetensors', Checkpoint.make(Train.initialState(net, opt, 7)))()
 * const resumed = await pipe(
 *   readCheckpoint('run.safetensors'),
 *   TE.flatMapEither((c) => Checkpoint.restore(Train.initialState(net, opt, 0), c))
 * )()
 * if (E.isRight(resumed)) resumed.right.step // 0
 * const missing = await readCheckpoint('nowhere.safetensors')()
 * if (E.isLeft(missing)) missing.left.message // 'nowhere.safetensors: cannot open it: no such file'
 */
export const readCheckpoint =
  (file: string): TE.TaskEither<CheckpointError, Checkpoint<Tree, Tree, OptState>> =>
  async () => {
    const sniffed = await sniff(file)
    if (E.isLeft(sniffed)) return sniffed
    if (sniffed.right.version === 1) return pipe(decode(sniffed.right.bytes), E.mapLeft((e) => inFile(file, e)))
    const contents = await read(file)()
    return pipe(
      contents,
      E.mapLeft(fromTensorFileError),
      E.flatMap(fromTensorFile),
      E.mapLeft((e) => inFile(file, e))
    )
  }

/**
 * Writes `params` to `file` as an nn-ts parameters file (a safetensors file whose tensors are named
 * by their tree paths, with `spec` in its metadata: see `Checkpoint.paramsToTensorFile`), streamed and
 * atomic like `writeCheckpoint`. PyTorch, NumPy or any safetensors reader reads it.
 * @category file
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Layers, Random } from 'nn-ts'
 * import { writeParams } from 'nn-ts/node'
 * const net = Layers.sequential(Layers.dense(784, 40), Layers.relu(), Layers.dense(40, 10))
 * const written = await writeParams('params.safetensors', net.init(Random.key(0)).params, { spec: { hidden: 40 } })()
 * written // => E.right(undefined)
 */
export const writeParams = (file: string, params: Tree, options: ParamsOptions = {}): TE.TaskEither<CheckpointError, void> =>
  pipe(
    TE.fromEither(paramsToTensorFile(params, options)),
    TE.mapLeft((e) => inFile(file, e)),
    TE.flatMap((f) =>
      pipe(
        write(file, f.tensors, f.metadata),
        TE.mapLeft((e) => inFile(file, fromTensorFileError(e)))
      )
    )
  )

/**
 * Options of `readParams`.
 * @category model
 * @since 0.2.0
 * @example
 * import { writeFileSync } from 'node:fs'
 * import * as E from 'fp-ts/lib/Either.js'
 * import { type ReadParamsOptions, readParams } from 'nn-ts/node'
 * // A safetensors file PyTorch wrote (nn.Linear(1, 1).bias): no nn-ts checksum in its header.
 * const json = new TextEncoder().encode('{"0.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')
 * writeFileSync('torch.safetensors', new Uint8Array([json.length, 0, 0, 0, 0, 0, 0, 0, ...json, 0, 0, 128, 63]))
 * const fromPyTorch: ReadParamsOptions = { requireChecksum: false }
 * E.isRight(await readParams('torch.safetensors')()) // false: nn-ts's own files carry a checksum
 * const read = await readParams('torch.safetensors', fromPyTorch)()
 * if (E.isRight(read)) read.right.tensors.map(([name]) => name) // ['0.bias']
 */
export interface ReadParamsOptions {
  /**
   * Whether a file without nn-ts's checksum is refused (default `true`). `false` reads safetensors
   * files written by other tools; a checksum that is present is always verified.
   */
  readonly requireChecksum?: boolean
}

/**
 * Reads a parameters file with the bounded tensor-file reader (`TensorFile.read`), then
 * `Checkpoint.paramsFromTensorFile`: an nn-ts parameters file is validated, a file of another tool
 * (read with `requireChecksum: false`) is taken as named. Load the result into a network with
 * `Checkpoint.restoreParams`. Every failure is a `CheckpointError` whose message starts with the file.
 * @category file
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Optim, Random, Train } from 'nn-ts'
 * import { readParams, writeParams } from 'nn-ts/node'
 * const net = Layers.sequential(Layers.dense(4, 3), Layers.relu(), Layers.dense(3, 2))
 * await writeParams('params.safetensors', net.init(Random.key(1)).params)()
 * // Saved without optimizer state: load into a run with any optimizer.
 * const fresh = Train.initialState(net, Optim.adam(1e-3), 0)
 * const loaded = await pipe(
 *   readParams('params.safetensors'),
 *   TE.flatMapEither((f) => Checkpoint.restoreParams(fresh.params, f))
 * )()
 * if (E.isRight(loaded)) loaded.right.length // 3
 */
export const readParams = (file: string, options: ReadParamsOptions = {}): TE.TaskEither<CheckpointError, ParamsFile> =>
  pipe(
    read(file, options.requireChecksum === undefined ? {} : { requireChecksum: options.requireChecksum }),
    TE.mapLeft(fromTensorFileError),
    TE.flatMapEither(paramsFromTensorFile),
    TE.mapLeft((e) => inFile(file, e))
  )
