/**
 * Errors of a network spec, as values a person can act on: every issue names the JSON path
 * (`layers[2].units`), what was expected there and what was found.
 *
 * @since 0.1.0
 */
import type * as t from 'io-ts'

/**
 * One thing wrong with a spec.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Spec } from 'nn-ts'
 * const issue: Spec.SpecIssue = { path: 'layers[0].units', expected: 'a positive integer', found: '-5' }
 * const r = Spec.decodeNetwork({ input: 2, layers: [{ type: 'dense', units: -5 }] })
 * if (E.isLeft(r)) r.left.issues // => [issue]
 */
export interface SpecIssue {
  /** Where, as a JSON path from the root: `layers[2].units`, `optimizer.learningRate`; `(root)` for the whole spec. */
  readonly path: string
  readonly expected: string
  readonly found: string
}

/**
 * Why a spec was rejected: every issue found (not only the first), and a message listing them one per
 * line, ready to print.
 * @category model
 * @example
 * import { Spec } from 'nn-ts'
 * const e: Spec.SpecError = Spec.specError([{ path: 'training.epochs', expected: 'a positive integer', found: '0' }])
 * e.message // 'invalid spec: training.epochs: expected a positive integer, found 0'
 */
export interface SpecError {
  readonly _tag: 'SpecError'
  readonly issues: ReadonlyArray<SpecIssue>
  readonly message: string
}

/** One issue as a line: `layers[2].units: expected a positive integer, found -5`. */
const showIssue = (i: SpecIssue): string => `${i.path}: expected ${i.expected}, found ${i.found}`

/**
 * A `SpecError` from its issues; one issue fits on one line, several are listed one per line.
 * @category constructors
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.specError([{ path: 'input', expected: 'a positive integer', found: '"784" (a string)' }]).message
 * // 'invalid spec: input: expected a positive integer, found "784" (a string)'
 */
export const specError = (issues: ReadonlyArray<SpecIssue>): SpecError => ({
  _tag: 'SpecError',
  issues,
  message:
    issues.length === 1
      ? `invalid spec: ${showIssue(issues[0] as SpecIssue)}`
      : `invalid spec (${issues.length} problems):\n${issues.map((i) => `  - ${showIssue(i)}`).join('\n')}`
})

const MAX_FOUND = 60

/**
 * A found value in words: numbers and strings as written in JSON (strings with their type, so `"40"`
 * is not mistaken for 40), containers by their size and fields, a missing field as such.
 * @category utils
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.describeValue(undefined) // 'nothing (the field is missing)'
 * Spec.describeValue('40') // '"40" (a string)'
 */
export const describeValue = (u: unknown): string => {
  if (u === undefined) return 'nothing (the field is missing)'
  if (u === null) return 'null'
  if (typeof u === 'number') return String(u)
  if (typeof u === 'boolean') return `${u} (a boolean)`
  if (typeof u === 'string') {
    const s = JSON.stringify(u)
    return `${s.length > MAX_FOUND ? `${s.slice(0, MAX_FOUND)}…"` : s} (a string)`
  }
  if (Array.isArray(u)) return `an array of ${u.length} item${u.length === 1 ? '' : 's'}`
  if (typeof u === 'object') {
    const keys = Object.keys(u)
    return keys.length === 0 ? 'an empty object' : `an object with fields ${keys.join(', ')}`
  }
  return typeof u
}

/** A JSON path from io-ts context keys: digits index arrays, other keys name fields; empty keys (unions, intersections) add nothing. */
const pathOf = (context: t.Context): string => {
  const parts = context.map((c) => c.key).filter((k) => k !== '')
  const path = parts.reduce((acc, k) => (/^\d+$/.test(k) ? `${acc}[${k}]` : acc === '' ? k : `${acc}.${k}`), '')
  return path === '' ? '(root)' : path
}

/** The name of the codec `closed` puts in the context of an unknown field. */
const UNKNOWN_FIELD = 'an unknown field'

/** io-ts's built-in names in words; our own codecs are already named in words. */
const BUILTIN_NAMES: Readonly<Record<string, string>> = {
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  UnknownRecord: 'an object',
  UnknownArray: 'an array'
}

/**
 * Our own io-ts error reporter: one `SpecIssue` per validation error, with the path, the expectation
 * (the error's message when a codec gave one, else the failing codec's name) and the found value.
 * Duplicate issues (an intersection reports a missing object once per member) are dropped.
 * @category utils
 * @example
 * import * as t from 'io-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Spec } from 'nn-ts'
 * const r = t.type({ units: t.number }).decode({ units: 'x' })
 * if (E.isLeft(r)) Spec.issuesOf(r.left) // [{ path: 'units', expected: 'a number', found: '"x" (a string)' }]
 */
export const issuesOf = (errors: t.Errors): ReadonlyArray<SpecIssue> => {
  const seen = new Set<string>()
  const out: SpecIssue[] = []
  for (const e of errors) {
    const last = e.context[e.context.length - 1]
    const name = last?.type.name ?? 'a valid value'
    // An unknown field is wrong by its name, not its value.
    const found = last?.type.name === UNKNOWN_FIELD ? `an unknown field "${last.key}"` : describeValue(e.value)
    const issue: SpecIssue = { path: pathOf(e.context), expected: e.message ?? BUILTIN_NAMES[name] ?? name, found }
    const id = `${issue.path}\u0000${issue.expected}`
    if (!seen.has(id)) {
      seen.add(id)
      out.push(issue)
    }
  }
  return out
}
