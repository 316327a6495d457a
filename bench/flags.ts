/**
 * Flags of the bench scripts: `node:util` parseArgs, with a wrong flag or value reported as one line
 * (`bench/nets.ts: Unknown option '--nett'`) and exit code 2 instead of a stack trace.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util'

/** Prints `<script>: <message>` on stderr and exits 2. */
export const usageError = (script: string, message: string): never => {
  process.stderr.write(`${script}: ${message}\n`)
  process.exit(2)
}

/** The parsed flags of `process.argv`, or a one-line usage error. */
export const parseFlags = <const O extends NonNullable<ParseArgsConfig['options']>>(script: string, options: O) => {
  try {
    return parseArgs({ options, strict: true }).values
  } catch (e) {
    return usageError(script, e instanceof Error ? e.message : String(e))
  }
}
