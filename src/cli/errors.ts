/**
 * What can end a CLI command early, as values: each kind has its exit code, and every message is one
 * clear paragraph that names the thing at fault (file, flag, field), what was expected and what was found.
 *
 * @internal
 */

/**
 * - `usage`: a command or flag the CLI does not know, a missing or malformed flag value (exit 2);
 * - `input`: a spec, data file or checkpoint that cannot be read or is wrong (exit 2);
 * - `nonFinite`: training produced NaN or ±Infinity; the last good state was saved (exit 3);
 * - `interrupted`: SIGINT or SIGTERM stopped training after a resumable checkpoint was saved (exit
 *   128 + the signal's number: 130 for SIGINT, 143 for SIGTERM, in `exitCode`);
 * - `internal`: anything else, i.e. a bug in nn-ts (exit 1).
 * @internal
 */
export type CliErrorKind = 'usage' | 'input' | 'nonFinite' | 'interrupted' | 'internal'

/** @internal */
export interface CliError {
  readonly kind: CliErrorKind
  readonly message: string
  /** Extra fields for `--json` output (e.g. the step and place of a non-finite value). */
  readonly details?: Readonly<Record<string, unknown>>
  /** The exit code when it is not the kind's (`exitCodes`): 143 for an `interrupted` by SIGTERM. */
  readonly exitCode?: number
}

/** @internal */
export const exitCodes: Readonly<Record<CliErrorKind, number>> = { usage: 2, input: 2, nonFinite: 3, interrupted: 130, internal: 1 }

/** @internal */
export const usage = (message: string): CliError => ({ kind: 'usage', message })

/** @internal */
export const input = (message: string): CliError => ({ kind: 'input', message })
