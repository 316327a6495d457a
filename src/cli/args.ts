/**
 * The commands, their flags and their help texts; argument parsing into values or a usage error that
 * names the flag and lists the known ones.
 *
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { parseArgs } from 'node:util'
import { printable } from '../io/printable.ts'
import { type CliError, usage } from './errors.ts'
import { CHECKPOINT_NAME, NAN_STOP_NAME, resumeHelp } from './resume.ts'

type Flag = { readonly type: 'string' | 'boolean'; readonly value?: string; readonly help: string }

interface Command {
  readonly summary: string
  readonly usage: string
  readonly flags: Readonly<Record<string, Flag>>
  /** Flags that must be given. */
  readonly required: ReadonlyArray<string>
  /** More help, printed after the flags. */
  readonly notes?: string
}

const json: Flag = { type: 'boolean', help: 'print one JSON object as the last line of stdout (messages go to stderr)' }
const help: Flag = { type: 'boolean', help: 'show this help' }

/** @internal */
export const commands = {
  train: {
    summary: 'train a network described by a JSON spec',
    usage: 'nn-ts train --spec FILE [--resume CKPT] [--out DIR] [--checkpoint-every N] [--no-pictures] [--json]',
    flags: {
      spec: { type: 'string', value: 'FILE', help: 'the network spec (JSON), e.g. examples/seed.spec.json' },
      resume: { type: 'string', value: 'CKPT', help: 'continue from a checkpoint written by an earlier run (at any step), to the spec\'s epochs' },
      out: { type: 'string', value: 'DIR', help: `where ${CHECKPOINT_NAME} and the pictures go (default out/<spec name>)` },
      'checkpoint-every': { type: 'string', value: 'N', help: 'also write the checkpoint every N steps (default: after every epoch only)' },
      'no-pictures': { type: 'boolean', help: 'skip the learning curves, confusion matrix and misclassified digits' },
      json,
      help
    },
    required: ['spec'],
    notes: [
      `The checkpoint (${CHECKPOINT_NAME}) is written atomically after every epoch, every N steps with`,
      '--checkpoint-every, and at the end: a crash leaves the previous one whole. A NaN/Infinity stop saves',
      `the last good state to ${NAN_STOP_NAME} and leaves ${CHECKPOINT_NAME} as it was. SIGINT/SIGTERM:`,
      'the current step finishes, the checkpoint is written and the command to resume is printed (a second',
      'signal quits at once).',
      '',
      resumeHelp()
    ].join('\n')
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
export const exitCodesHelp = 'exit codes: 0 ok, 2 bad usage or bad input (spec, flags, data, checkpoint), 3 training stopped on NaN/Infinity, 130/143 stopped by SIGINT/SIGTERM (checkpoint saved), 1 internal error'

/** The help of one command. @internal */
export const commandHelp = (name: CommandName): string => {
  const c: Command = commands[name]
  const flags = Object.entries(c.flags).map(([flag, f]) => {
    const left = `--${flag}${f.value === undefined ? '' : ` ${f.value}`}`
    return `  ${left.padEnd(20)} ${f.help}`
  })
  return [`nn-ts ${name}: ${c.summary}`, '', `usage: ${c.usage}`, '', ...flags, '', ...(c.notes === undefined ? [] : [c.notes, '']), exitCodesHelp, ''].join('\n')
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

/**
 * Edits (insert, delete, replace, swap two neighbours) from `a` to `b`: the optimal string alignment
 * distance, so a transposition such as `trian` → `train` counts as one typo.
 */
const editDistance = (a: string, b: string): number => {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  const at = (i: number, j: number): number => (d[i] as number[])[j] as number
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      ;(d[i] as number[])[j] = best
    }
  }
  return at(a.length, b.length)
}

/** ` (did you mean 'train'?)` when one known word is within two typos of `word` (and closer than any other). */
const didYouMean = (word: string, known: ReadonlyArray<string>): string => {
  // Long inputs are not typos of short words, and the table would be large: compare only plausible lengths.
  const scored = known.filter((k) => Math.abs(k.length - word.length) <= 2).map((k) => ({ k, d: editDistance(word.toLowerCase(), k) }))
  const best = scored.reduce<{ k: string; d: number } | undefined>((m, x) => (m === undefined || x.d < m.d ? x : m), undefined)
  return best !== undefined && best.d <= 2 && best.d < word.length && scored.filter((x) => x.d === best.d).length === 1 ? ` (did you mean '${best.k}'?)` : ''
}

const flagList = (name: CommandName): string => Object.keys(commands[name].flags).map((f) => `--${f}`).join(', ')

/** A word from the command line in quotes, or as an escaped string when it holds control characters. */
const quoted = (word: string): string => (printable(word) === word ? `'${word}'` : printable(word))

/** Node's parse errors, reworded to name the flag and what the command takes; what the user typed is echoed printable. */
const reword = (name: CommandName, e: unknown): string => {
  const text = e instanceof Error ? e.message : String(e)
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : ''
  const typed = /'(-{1,2}[^' ]+)/.exec(text)?.[1]
  const flag = typed === undefined ? undefined : printable(typed)
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag ?? ''} for \`nn-ts ${name}\`${didYouMean(typed ?? '', Object.keys(commands[name].flags).map((f) => `--${f}`))}; expected one of ${flagList(name)}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return flag !== undefined && text.includes('argument missing')
        ? `${flag} needs a value (${commandHelpLine(name, flag)})`
        : `${printable(text.replace(/\.$/, ''))} (see \`nn-ts ${name} --help\`)`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted(/'([^']*)'/.exec(text)?.[1] ?? '')} for \`nn-ts ${name}\`: it takes only flags (${flagList(name)})`
    default:
      return `${printable(text)} (see \`nn-ts ${name} --help\`)`
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
    const what = first.startsWith('-') ? `expected a command before flags, found ${printable(first)}` : `unknown command ${quoted(first)}${didYouMean(first, names)}`
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
