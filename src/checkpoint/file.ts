/**
 * Checkpoint files: atomic writes and validating reads, as `TaskEither`s that never reject.
 *
 * `writeCheckpoint(file, c)` never leaves a half-written `file`: it writes a temporary file next to it, flushes
 * it to disk, renames it over `file` (atomic on POSIX file systems) and flushes the directory, so after
 * a crash or a SIGKILL at any moment `file` holds either the previous checkpoint or the new one. A kill
 * between creating and renaming the temporary file leaves it behind; it is named
 * `<file>.<pid>-<8 hex digits>.tmp` (e.g. `run.ckpt.json.4127-9f0c2a1e.tmp`), is never read as a
 * checkpoint, and may be deleted at any time when no writer is running (`isCheckpointTempFile` recognises it).
 *
 * @since 0.1.0
 */
import { randomBytes } from 'node:crypto'
import { type FileHandle, open, readFile, rename, unlink } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import type * as TE from 'fp-ts/lib/TaskEither.js'
import type { OptState } from '../optim/Transform.ts'
import type { Tree } from '../tree/Tree.ts'
import { type Checkpoint, type CheckpointError, decode, encode } from './codec.ts'

const inFile = (file: string, e: CheckpointError): CheckpointError => ({ ...e, file, message: `${file}: ${e.message}` })

const fileError = (file: string, message: string): CheckpointError => ({ _tag: 'CheckpointError', file, message: `${file}: ${message}` })

const errorCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined

/** A system error as words a person can act on, with its code for searching. */
const explain = (e: unknown, doing: string): string => {
  const code = errorCode(e)
  if (code === 'ENOENT') return `no such file or directory (${doing})`
  if (code === 'EISDIR') return `is a directory, expected a checkpoint file (${doing})`
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${doing})`
  if (code === 'ENOSPC') return `no space left on the device (${doing})`
  const detail = e instanceof Error ? e.message : String(e)
  return `cannot ${doing}: ${detail}`
}

const TEMP_PATTERN = /^\.(\d+)-[0-9a-f]{8}\.tmp$/

/**
 * Whether `candidate` (a path or a bare name) is a temporary file left by `writeCheckpoint(file, …)`: in the
 * same directory, named `<file>.<pid>-<8 hex digits>.tmp`. Such files are never valid checkpoints;
 * delete them when no writer is running.
 * @category utils
 * @example
 * import { isCheckpointTempFile } from 'nn-ts/node'
 * isCheckpointTempFile('out/run.ckpt.json', 'out/run.ckpt.json.4127-9f0c2a1e.tmp') // true
 * isCheckpointTempFile('out/run.ckpt.json', 'out/run.ckpt.json') // false
 */
export const isCheckpointTempFile = (file: string, candidate: string): boolean => {
  const name = basename(file)
  const other = basename(candidate)
  return other.startsWith(name) && TEMP_PATTERN.test(other.slice(name.length))
}

// The name is unique per process (pid) and per call (random suffix), so concurrent writers never
// share a temporary file; the randomness affects only the name, never what is written.
const tempPathFor = (file: string): string => `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`

/** Flushes a directory entry (the rename) to disk; platforms that cannot open a directory skip it. */
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

/**
 * Writes `c` to `file` atomically: a temporary file in the same directory, written and fsynced, then
 * renamed over `file`, then the directory fsynced. On failure the temporary file is removed and
 * `file` is untouched.
 * @category file
 * @example
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * import { writeCheckpoint } from 'nn-ts/node'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const save = writeCheckpoint('run.ckpt.json', Checkpoint.make(Train.initialState(net, Optim.sgd(0.1), 7)))
 * // await save() // Right(undefined), or Left(CheckpointError) naming the file
 */
export const writeCheckpoint =
  <P extends Tree, S extends Tree, O extends OptState>(file: string, c: Checkpoint<P, S, O>): TE.TaskEither<CheckpointError, void> =>
  async () => {
    let text: string
    try {
      text = encode(c)
    } catch (e) {
      return E.left(fileError(file, `cannot encode the checkpoint: ${e instanceof Error ? e.message : String(e)}`))
    }
    const temp = tempPathFor(file)
    let step = 'create a temporary file next to it'
    try {
      const handle = await open(temp, 'wx', 0o644)
      try {
        step = 'write the temporary file'
        await handle.writeFile(text, 'utf8')
        step = 'flush the temporary file to disk'
        await handle.sync()
      } finally {
        await handle.close()
      }
      step = 'rename the temporary file over it'
      await rename(temp, file)
      step = 'flush the directory to disk'
      await syncDirectory(dirname(file))
      return E.right(undefined)
    } catch (e) {
      await unlink(temp).catch(() => undefined)
      return E.left(fileError(file, explain(e, step)))
    }
  }

/**
 * Reads and fully validates the checkpoint in `file` (see `decode`). A missing, unreadable, empty,
 * truncated or edited file gives a `CheckpointError` whose message starts with the file name.
 * @category file
 * @example
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * import { readCheckpoint } from 'nn-ts/node'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const opt = Optim.sgd(0.1)
 * const resume = pipe(
 *   readCheckpoint('run.ckpt.json'),
 *   TE.flatMapEither((c) => Checkpoint.restore(Train.initialState(net, opt, 0), c))
 * )
 * // await resume() // Right(TrainState) or Left: "run.ckpt.json: checksum mismatch: …"
 */
export const readCheckpoint =
  (file: string): TE.TaskEither<CheckpointError, Checkpoint<Tree, Tree, OptState>> =>
  async () => {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (e) {
      return E.left(fileError(file, explain(e, 'read the checkpoint')))
    }
    return E.mapLeft((e: CheckpointError) => inFile(file, e))(decode(text))
  }
