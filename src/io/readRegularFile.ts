/**
 * Reading input files without trusting them (Node only): only regular files are read, their size is
 * known before any byte is, and nothing is allocated beyond that size.
 *
 * A path can name a FIFO (opening it for reading waits for a writer forever, and reading it never
 * ends if the writer never closes), a character device (`/dev/zero` and `/dev/urandom` never end), a
 * socket or a directory. So a file is opened without blocking (`O_NONBLOCK`, which changes nothing
 * for regular files), its type is checked on the open descriptor (`fstat`, not a `stat` of the path
 * before opening, so the file cannot be swapped between the check and the read), and anything but a
 * regular file is refused at once. Callers then compare the size with what a header says, or with a
 * cap, before reading the body.
 *
 * Synchronous on purpose: the data loaders it serves are `IOEither`s, and it reads a known, bounded
 * number of bytes.
 *
 * @since 0.2.0
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import { fsReason } from './fsReason.ts'
import { printable } from './printable.ts'
import { showBytes } from './showBytes.ts'

/**
 * Why a file could not be read:
 * - `system`: opening or reading failed (`reason` in words: "no such file", "permission denied");
 * - `notRegular`: it is not a regular file (`found`: "a FIFO (named pipe)", "a character device");
 * - `tooLarge`: its size is above the caller's cap;
 * - `shrank`: it ended before the size `fstat` gave (it changed while being read).
 * @internal
 */
export type ReadProblem =
  | { readonly _tag: 'system'; readonly reason: string }
  | { readonly _tag: 'notRegular'; readonly found: string }
  | { readonly _tag: 'tooLarge'; readonly size: number; readonly limit: number }
  | { readonly _tag: 'shrank'; readonly at: number; readonly size: number }

/** An open regular file: its size (from `fstat` on the open descriptor) and bounded reads. @internal */
export interface RegularFile {
  readonly size: number
  /** Exactly `length` bytes from `position` (which must lie within `size`), or why not. */
  readonly readAt: (position: number, length: number) => E.Either<ReadProblem, Uint8Array>
}

interface FileKind {
  isFile(): boolean
  isDirectory(): boolean
  isFIFO(): boolean
  isSocket(): boolean
  isCharacterDevice(): boolean
  isBlockDevice(): boolean
}

/** What a non-regular file is, in words. @internal */
export const kindOf = (stat: FileKind): string =>
  stat.isDirectory()
    ? 'a directory'
    : stat.isFIFO()
      ? 'a FIFO (named pipe)'
      : stat.isSocket()
        ? 'a socket'
        : stat.isCharacterDevice()
          ? 'a character device'
          : stat.isBlockDevice()
            ? 'a block device'
            : 'not a regular file'

/**
 * Flags to open a file for reading without blocking: a FIFO opened for reading would otherwise wait
 * for a writer forever; the caller then checks the type on the open descriptor (fstat), so the file
 * cannot be swapped between check and read. Platforms without O_NONBLOCK (Windows) have no FIFOs that
 * block an open.
 * @internal
 */
export const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)

/** Fills `target` from `position`; a short count means the file ended early. */
const readExactly = (fd: number, target: Uint8Array, position: number): E.Either<ReadProblem, void> => {
  let done = 0
  while (done < target.length) {
    let got: number
    try {
      // At most 1 GiB per call: some platforms refuse larger single reads.
      got = readSync(fd, target, done, Math.min(target.length - done, 2 ** 30), position + done)
    } catch (e) {
      return E.left({ _tag: 'system', reason: fsReason(e) })
    }
    if (got === 0) return E.left({ _tag: 'shrank', at: position + done, size: position + target.length })
    done += got
  }
  return E.right(undefined)
}

/**
 * Opens `path` if it is a regular file, runs `use` on it and closes it whatever happens. A problem
 * opening it, or a file that is not regular, goes through `problem` into the caller's error type.
 * Never throws for anything the file system does.
 * @internal
 */
export const withRegularFile = <Err, A>(path: string, problem: (p: ReadProblem) => Err, use: (file: RegularFile) => E.Either<Err, A>): E.Either<Err, A> => {
  let fd: number
  try {
    fd = openSync(path, OPEN_FLAGS)
  } catch (e) {
    return E.left(problem({ _tag: 'system', reason: fsReason(e) }))
  }
  try {
    let stat: FileKind & { size: number }
    try {
      stat = fstatSync(fd)
    } catch (e) {
      return E.left(problem({ _tag: 'system', reason: fsReason(e) }))
    }
    if (!stat.isFile()) return E.left(problem({ _tag: 'notRegular', found: kindOf(stat) }))
    const size = stat.size
    return use({
      size,
      readAt: (position, length) => {
        const target = new Uint8Array(length)
        const got = readExactly(fd, target, position)
        return E.isLeft(got) ? got : E.right(target)
      }
    })
  } finally {
    try {
      closeSync(fd)
    } catch {
      // Nothing was written through this descriptor: a failed close loses nothing.
    }
  }
}

/**
 * The whole of the regular file `path`, if it holds at most `maxBytes` bytes (checked with `fstat`
 * before reading, so a larger file costs no memory).
 * @internal
 */
export const readRegularFile = (path: string, maxBytes: number): E.Either<ReadProblem, Uint8Array> =>
  withRegularFile(
    path,
    (p) => p,
    (file) => (file.size > maxBytes ? E.left({ _tag: 'tooLarge', size: file.size, limit: maxBytes }) : file.readAt(0, file.size))
  )

/** `a FIFO (named pipe)` → what to say after "is": a directory needs no explanation, a pipe or device does. */
const notRegular = (found: string): string =>
  found === 'a directory' ? 'a directory, expected a file' : `${found}, expected a regular file (nn-ts does not read pipes, sockets or devices: they can block forever or never end)`

/**
 * A problem as the words after a file's name, for messages that start with it: "cannot read the
 * file: no such file", "is a FIFO (named pipe), expected a regular file …".
 * @internal
 */
export const readProblemReason = (p: ReadProblem): string => {
  switch (p._tag) {
    case 'system':
      return `cannot read the file: ${p.reason}`
    case 'notRegular':
      return `is ${notRegular(p.found)}`
    case 'tooLarge':
      return `is ${showBytes(p.size)}, more than the ${showBytes(p.limit)} nn-ts reads for it`
    case 'shrank':
      return `ended at byte ${p.at}, before the ${p.size} bytes it had when opened: it changed while being read`
  }
}

/**
 * A problem as a sentence about `what` (e.g. `the spec`) at `file`: "cannot read the spec x.json: no
 * such file", "the spec x.json is a FIFO (named pipe), expected a regular file …". The path is made
 * printable.
 * @internal
 */
export const describeReadProblem = (p: ReadProblem, what: string, file: string): string => {
  const name = printable(file)
  switch (p._tag) {
    case 'system':
      return `cannot read ${what} ${name}: ${p.reason}`
    case 'notRegular':
      return `${what} ${name} is ${notRegular(p.found)}`
    case 'tooLarge':
      return `${what} ${name} is ${showBytes(p.size)}, more than the ${showBytes(p.limit)} nn-ts reads for ${what.replace(/^the /, 'a ')}`
    case 'shrank':
      return `${what} ${name} ended at byte ${p.at}, before the ${p.size} bytes it had when opened: it changed while being read`
  }
}
