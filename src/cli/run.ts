/**
 * The CLI as a function: `run(argv, io)` parses, runs one command and returns the exit code. Every
 * expected failure is a `CliError` printed as one message prefixed `nn-ts: `; an exception is a bug,
 * reported without a stack trace unless `NN_TS_DEBUG` is set.
 *
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { type Parsed, parse } from './args.ts'
import { type Io, type Summary, evalCommand, predictCommand, train } from './commands.ts'
import { printableMessage } from '../io/printable.ts'
import { type CliError, exitCodes } from './errors.ts'

export type { Io, Signals, StopSignal } from './commands.ts'

const commandOf = (p: Exclude<Parsed, { command: 'help' }>, io: Io) => {
  switch (p.command) {
    case 'train':
      return train(p.flags, p.json, io)
    case 'eval':
      return evalCommand(p.flags, p.json, io)
    case 'predict':
      return predictCommand(p.flags, p.json, io)
  }
}

/** Prints a failure: the message on stderr and, with `--json`, an `{ ok: false, … }` object on stdout. */
const report = (e: CliError, json: boolean, io: Io): number => {
  const code = e.exitCode ?? exitCodes[e.kind]
  // Parts of a message that echo input were made printable where they were written; this catches any
  // control character that slipped through, so no message can drive the terminal.
  io.stderr(`nn-ts: ${printableMessage(e.message)}\n`)
  if (json) io.stdout(`${JSON.stringify({ ok: false, exitCode: code, error: { kind: e.kind, message: e.message, ...e.details } })}\n`)
  return code
}

/** Whether `--json` was asked for, even when the command line as a whole is wrong. */
const wantsJson = (argv: ReadonlyArray<string>): boolean => argv.includes('--json')

/**
 * Runs the CLI on `argv` (the arguments after the script name) and returns the exit code: 0 ok,
 * 2 bad usage or input, 3 training stopped on a non-finite value, 130/143 training stopped by
 * SIGINT/SIGTERM (after saving a checkpoint), 1 a bug.
 * @internal
 */
export const run = async (argv: ReadonlyArray<string>, io: Io): Promise<number> => {
  const json = wantsJson(argv)
  try {
    const parsed = parse(argv)
    if (E.isLeft(parsed)) return report(parsed.left, json, io)
    const p = parsed.right
    if (p.command === 'help') {
      io.stdout(p.text)
      return 0
    }
    const result = await commandOf(p, io)()
    if (E.isLeft(result)) return report(result.left, p.json, io)
    const summary: Summary = result.right
    if (p.json) io.stdout(`${JSON.stringify(summary)}\n`)
    return 0
  } catch (e) {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    const debug = process.env['NN_TS_DEBUG'] !== undefined && e instanceof Error ? `\n${e.stack ?? ''}` : ''
    return report({ kind: 'internal', message: `internal error (a bug in nn-ts, please report it with the command you ran): ${message}${debug}` }, json, io)
  }
}
