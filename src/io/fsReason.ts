/**
 * Why a file operation failed, in words: a missing file reads as "no such file", not `ENOENT: …`.
 * Shared by every boundary that reads or writes files (data loaders, the CLI). System messages can
 * quote the path they failed on, so any text kept from them passes through `printable`.
 *
 * @since 0.2.0
 * @internal
 */
import { printable } from './printable.ts'

/** Node's file-system error codes in words; any other error keeps its own message. */
const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory, expected a file',
  ENOTDIR: 'a folder in the path is not a directory',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  ENAMETOOLONG: 'the name is too long for the file system',
  ELOOP: 'too many symbolic links (a loop?)',
  EAGAIN: 'it is not ready to be read (a pipe or device with no data)',
  ENXIO: 'no such device or address (a FIFO with no writer, or a socket)'
}

/** The message of anything thrown, safe to print (see `printable`). @internal */
export const errorText = (e: unknown): string => printable(e instanceof Error ? e.message : String(e))

/** Why a file operation failed, in words. @internal */
export const fsReason = (e: unknown): string => {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : ''
  return FS_REASONS[code] ?? errorText(e)
}
