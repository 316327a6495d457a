/**
 * Why a file operation failed, in words: a missing file reads as "no such file", not `ENOENT: …`.
 * Shared by every boundary that reads or writes files (data loaders, the CLI).
 *
 * @since 0.2.0
 * @internal
 */

/** Node's file-system error codes in words; any other error keeps its own message. */
const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory, expected a file',
  ENOTDIR: 'a folder in the path is not a directory',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only'
}

/** The message of anything thrown. @internal */
export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Why a file operation failed, in words. @internal */
export const fsReason = (e: unknown): string => {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : ''
  return FS_REASONS[code] ?? errorText(e)
}
