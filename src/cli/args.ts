/**
 * The commands, their flags and their help texts; argument parsing into values or a usage error that
 * names the flag and lists the known ones.
 *
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { parseArgs } from 'node:util'
import { type CliError, usage } from './errors.ts'

type Flag = { readonly type: 'string' | 'boolean'; readonly value?: string; readonly help: string }

interface Command {
  readonly summary: string
  readonly usage: string
  readonly flags: Readonly<Record<string, Flag>>
  /** Flags that must be given. */
  readonly required: ReadonlyArray<string>
}

const json: Flag = { type: 'boolean', help: 'print one JSON object as the last line of stdout (messages go to stderr)' }
const help: Flag = { type: 'boolean', help: 'show this help' }

/** @internal */
export const commands = {
  train: {
    summary: 'train a network described by a JSON spec',
    usage: 'nn-ts train --spec FILE [--resume CKPT] [--out DIR] [--no-pictures] [--json]',
    flags: {
      spec: { type: 'string', value: 'FILE', help: 'the network spec (JSON), e.g. examples/seed.spec.json' },
      resume: { type: 'string', value: 'CKPT', help: 'continue from a checkpoint written by an earlier run of the same spec' },
      out: { type: 'string', value: 'DIR', help: 'where checkpoint.json and the pictures go (default out/<spec name>)' },
      'no-pictures': { type: 'boolean', help: 'skip the learning curves, confusion matrix and misclassified digits' },
      json,
      help
    },
    required: ['spec']
  },
  eval: {
    summary: 'test loss and accuracy of a checkpoint',
    usage: 'nn-ts eval --checkpoint FILE [--images IDX --labels IDX] [--json]',
    flags: {
      checkpoint: { type: 'string', value: 'FILE', help: 'a checkpoint written by `nn-ts train`' },
      images: { type: 'string', value: 'IDX', help: 'test examples (default: the spec\'s test data, else the MNIST test set)' },
      labels: { type: 'string', value: 'IDX', help: 'test labels, one per example (with --images)' },
      json,
      help
    },
    required: ['checkpoint']
  },
  predict: {
    summary: 'predicted labels for the examples of an IDX file',
    usage: 'nn-ts predict --checkpoint FILE --input IDX [--json]',
    flags: {
      checkpoint: { type: 'string', value: 'FILE', help: 'a checkpoint written by `nn-ts train`' },
      input: { type: 'string', value: 'IDX', help: 'examples as an IDX file ([n, 28, 28] uint8 like MNIST, or [n, features])' },
      json: { type: 'boolean', help: 'print {"predictions": [...]} instead of one label per line' },
      help
    },
    required: ['checkpoint', 'input']
  }
} as const satisfies Readonly<Record<string, Command>>

/** @internal */
export type CommandName = keyof typeof commands

const names = Object.keys(commands) as CommandName[]

/** @internal */
export const exitCodesHelp = 'exit codes: 0 ok, 2 bad usage or bad input (spec, flags, data, checkpoint), 3 training stopped on NaN/Infinity, 1 internal error'

/** The help of one command. @internal */
export const commandHelp = (name: CommandName): string => {
  const c: Command = commands[name]
  const flags = Object.entries(c.flags).map(([flag, f]) => {
    const left = `--${flag}${f.value === undefined ? '' : ` ${f.value}`}`
    return `  ${left.padEnd(20)} ${f.help}`
  })
  return [`nn-ts ${name}: ${c.summary}`, '', `usage: ${c.usage}`, '', ...flags, '', exitCodesHelp, ''].join('\n')
}

/** The help of the whole CLI. @internal */
export const mainHelp = (): string =>
  [
    'nn-ts: train and use networks described by JSON specs',
    '',
    'usage: nn-ts <command> [flags]',
    '',
    ...names.map((n) => `  ${n.padEnd(8)} ${commands[n].summary}`),
    '',
    'Run `nn-ts <command> --help` for the flags of a command.',
    exitCodesHelp,
    ''
  ].join('\n')

/** What the command line asked for. @internal */
export type Parsed =
  | { readonly command: 'help'; readonly text: string }
  | { readonly command: CommandName; readonly flags: Readonly<Record<string, string | boolean | undefined>>; readonly json: boolean }

const flagList = (name: CommandName): string => Object.keys(commands[name].flags).map((f) => `--${f}`).join(', ')

/** Node's parse errors, reworded to name the flag and what the command takes. */
const reword = (name: CommandName, e: unknown): string => {
  const text = e instanceof Error ? e.message : String(e)
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : ''
  const flag = /'(-{1,2}[^' ]+)/.exec(text)?.[1]
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag ?? ''} for \`nn-ts ${name}\`; expected one of ${flagList(name)}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return flag !== undefined && text.includes('argument missing')
        ? `${flag} needs a value (${commandHelpLine(name, flag)})`
        : `${text.replace(/\.$/, '')} (see \`nn-ts ${name} --help\`)`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(text)?.[0] ?? ''} for \`nn-ts ${name}\`: it takes only flags (${flagList(name)})`
    default:
      return `${text} (see \`nn-ts ${name} --help\`)`
  }
}

const commandHelpLine = (name: CommandName, flag: string): string => {
  const f = (commands[name].flags as Readonly<Record<string, Flag>>)[flag.replace(/^-+/, '')]
  return f === undefined ? `see \`nn-ts ${name} --help\`` : `${flag} ${f.value ?? ''}: ${f.help}`
}

/**
 * Parses `argv` (without `node` and the script): a command, then its flags. `--help` anywhere shows
 * the help of the command (or of the CLI) instead.
 * @internal
 */
export const parse = (argv: ReadonlyArray<string>): E.Either<CliError, Parsed> => {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') return E.right({ command: 'help', text: mainHelp() })
  if (!(names as ReadonlyArray<string>).includes(first)) {
    const what = first.startsWith('-') ? `expected a command before flags, found ${first}` : `unknown command '${first}'`
    return E.left(usage(`${what}; expected one of ${names.join(', ')} (see \`nn-ts --help\`)`))
  }
  const name = first as CommandName
  if (rest.includes('--help') || rest.includes('-h')) return E.right({ command: 'help', text: commandHelp(name) })
  return flagsOf(name, rest)
}

/** The flags of one command: known, with values where they need one, the required ones present. */
const flagsOf = (name: CommandName, rest: ReadonlyArray<string>): E.Either<CliError, Parsed> => {
  const c: Command = commands[name]
  const options = Object.fromEntries(Object.entries(c.flags).map(([k, f]) => [k, { type: f.type }]))
  const parsed = E.tryCatch(
    () => parseArgs({ args: [...rest], options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>,
    (e) => usage(reword(name, e))
  )
  if (E.isLeft(parsed)) return parsed
  const values = parsed.right
  const missing = c.required.filter((f) => values[f] === undefined)
  if (missing.length > 0) {
    return E.left(usage(`\`nn-ts ${name}\` needs ${missing.map((f) => `--${f}`).join(' and ')} (usage: ${c.usage})`))
  }
  const empty = Object.entries(values).find(([, v]) => v === '')
  if (empty !== undefined) return E.left(usage(`--${empty[0]} is empty, expected ${(c.flags[empty[0]] as Flag).value ?? 'a value'}`))
  return E.right({ command: name, flags: values, json: values['json'] === true })
}
