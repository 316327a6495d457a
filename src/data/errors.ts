/**
 * Errors of the data layer are values, not exceptions: reading and decoding a file returns
 * `Either<DataError, A>`, and the message alone tells a person what to fix.
 *
 * @since 0.1.0
 */

/**
 * What went wrong with which input. `message` names the file (or dataset) itself, says what was found
 * and what was expected, so it can be printed as is.
 * @category model
 * @example
 * import { Data } from 'nn-ts'
 * const e: Data.DataError = Data.dataError('t10k-labels', 'wrong magic number 0x00000803, expected 0x00000801')
 * e.message // 't10k-labels: wrong magic number 0x00000803, expected 0x00000801'
 */
export interface DataError {
  readonly _tag: 'DataError'
  /** The file path or dataset name the problem is about. */
  readonly file: string
  /** A complete sentence that names `file` (most start with it). */
  readonly message: string
}

/**
 * A `DataError` about `file`; the message is prefixed with the file name so that it reads on its own.
 * @category constructors
 * @example
 * import { Data } from 'nn-ts'
 * Data.dataError('train-images', 'truncated').message // 'train-images: truncated'
 */
export const dataError = (file: string, message: string): DataError => ({ _tag: 'DataError', file, message: `${file}: ${message}` })
