/**
 * The run-time half of `scripts/docs.ts`: the checks its generated examples call, and the runner that
 * executes one group of examples in one process (`tsx scripts/docs-runtime.ts <group.json>`).
 *
 * A value comment becomes a call here: `check(actual, pattern, where, text)` for a literal comment
 * (`x // [1, 2]`), `same(actual, expected, where, text)` for an expression comment (`x // => E.right(1)`),
 * `taken(where)` when an `if (…) x // value` line skips its value. See scripts/docs.ts for the convention.
 *
 * The runner imports each example's module with the working directory set to a fresh temporary folder
 * (removed afterwards), collects what the example prints (shown only when it fails) and writes one JSON
 * line per event to stdout: `{ start: id }`, `{ fail: id, message }`, `{ done: id }`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { inspect } from 'node:util'

// patterns: what a literal value comment means (built by scripts/docs.ts, plain JSON)

/** A number as written: `text` keeps every digit, `mode` says how `…` (truncated) or `≈` (rounded) read it. */
export type Pattern =
  | { readonly t: 'any' }
  | { readonly t: 'num'; readonly text: string; readonly mode: 'exact' | 'truncated' | 'rounded' }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'lit'; readonly v: boolean | null }
  | { readonly t: 'undefined' }
  | { readonly t: 'arr'; readonly items: ReadonlyArray<Pattern>; readonly rest: boolean; readonly ctor?: string }
  | { readonly t: 'obj'; readonly entries: ReadonlyArray<readonly [string, Pattern]>; readonly rest: boolean }

interface TensorLike {
  readonly shape: readonly number[]
  readonly dtype: string
  readonly data: ArrayLike<number>
}

const isTensorLike = (x: unknown): x is TensorLike =>
  typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x && 'data' in x && Array.isArray((x as TensorLike).shape) && ArrayBuffer.isView((x as TensorLike).data)

/** A tensor's values as nested arrays, one level per dimension (a rank-0 tensor is its number). */
const nested = (t: TensorLike): unknown => {
  const go = (dim: number, offset: number): unknown => {
    if (dim === t.shape.length) return t.data[offset]
    const stride = t.shape.slice(dim + 1).reduce((a, b) => a * b, 1)
    return Array.from({ length: t.shape[dim] as number }, (_, i) => go(dim + 1, offset + i * stride))
  }
  return go(0, 0)
}

/** The digits of a decimal `text` (no sign) and of `x` in the same notation, `x` written out exactly. */
const sameLeadingDigits = (x: number, text: string): boolean => {
  const exp = /e([+-]?\d+)$/i.exec(text)
  if (exp !== null) {
    const mantissa = text.slice(0, exp.index)
    const fraction = mantissa.split('.')[1]?.length ?? 0
    const [m, e] = Math.abs(x).toExponential(100).split('e') as [string, string]
    return Number(e) === Number(exp[1]) && m.slice(0, m.indexOf('.') + (fraction > 0 ? fraction + 1 : 0)).replace(/\.$/, '') === mantissa.replace(/\.$/, '')
  }
  const fraction = text.split('.')[1]?.length ?? 0
  const full = Math.abs(x).toFixed(100)
  const cut = full.slice(0, full.indexOf('.') + (fraction > 0 ? fraction + 1 : 0))
  return cut === text
}

/**
 * `f32`: the number is an element of a float32 tensor or array, so the comment shows the decimal it was
 * rounded from (`0.2` for 0.20000000298…): exact means equal after rounding the literal to float32.
 */
const matchNumber = (x: number, p: Extract<Pattern, { t: 'num' }>, f32: boolean): boolean => {
  const negative = p.text.startsWith('-')
  const digits = negative ? p.text.slice(1) : p.text
  const value = negative ? -Number(digits) : Number(digits)
  if (p.mode === 'exact') {
    const expected = f32 ? Math.fround(value) : value
    // `0` matches either zero; `-0` only negative zero.
    return p.text === '0' ? x === 0 : Object.is(x, expected)
  }
  if (!Number.isFinite(x) || (x < 0) !== negative) return false
  if (p.mode === 'truncated') return sameLeadingDigits(x, digits)
  // ≈: the value rounds to the digits shown, i.e. lies within half a unit of the last digit shown.
  const exp = /e([+-]?\d+)$/i.exec(digits)
  const mantissa = exp === null ? digits : digits.slice(0, exp.index)
  const unit = 10 ** (-(mantissa.split('.')[1]?.length ?? 0) + (exp === null ? 0 : Number(exp[1])))
  return Math.abs(x - value) <= unit / 2 + Math.abs(value) * Number.EPSILON * 4
}

const wildcard = (s: string): RegExp => new RegExp(`^${s.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`)

const isPlain = (x: object): boolean => {
  const proto = Object.getPrototypeOf(x) as unknown
  return proto === Object.prototype || proto === null
}

/** Whether `actual` is what the pattern shows. Tensors and typed arrays compare by their values. */
export const matches = (actual: unknown, p: Pattern, f32 = false): boolean => {
  switch (p.t) {
    case 'any':
      return true
    case 'undefined':
      return actual === undefined
    case 'lit':
      return actual === p.v
    case 'str':
      return typeof actual === 'string' && (p.v.includes('…') ? wildcard(p.v).test(actual) : actual === p.v)
    case 'num':
      if (isTensorLike(actual) && actual.shape.length === 0) return matchNumber(actual.data[0] as number, p, actual.dtype === 'float32')
      return typeof actual === 'number' && matchNumber(actual, p, f32)
    case 'arr': {
      if (p.ctor !== undefined && (typeof actual !== 'object' || actual === null || actual.constructor.name !== p.ctor)) return false
      let values: ArrayLike<unknown>
      if (isTensorLike(actual)) {
        const rows = nested(actual)
        // A tensor matches its nested rows, or (rank ≥ 2) its row-major values written flat.
        if (Array.isArray(rows) && matchItems(rows, p, actual.dtype === 'float32')) return true
        values = actual.data
      } else if (Array.isArray(actual) || ArrayBuffer.isView(actual)) values = actual as unknown as ArrayLike<unknown>
      else return false
      return matchItems(Array.from(values), p, f32 || actual instanceof Float32Array || (isTensorLike(actual) && actual.dtype === 'float32'))
    }
    case 'obj': {
      if (typeof actual !== 'object' || actual === null) return false
      const record = actual as Record<string, unknown>
      if (!p.entries.every(([k, v]) => (k in record || v.t === 'undefined') && matches(record[k], v))) return false
      // A plain object shows all its fields unless the pattern ends with `…`; class instances (errors) only those shown.
      if (p.rest || !isPlain(actual)) return true
      const shown = new Set(p.entries.map(([k]) => k))
      return Object.keys(record).every((k) => shown.has(k) || record[k] === undefined)
    }
  }
}

const matchItems = (values: ReadonlyArray<unknown>, p: Extract<Pattern, { t: 'arr' }>, f32: boolean): boolean =>
  (p.rest ? values.length >= p.items.length : values.length === p.items.length) && p.items.every((item, i) => matches(values[i], item, f32))

/** Structural equality, exact: numbers by `Object.is`, typed arrays and arrays element by element, same classes. */
export const deepEqual = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  if (ArrayBuffer.isView(a)) {
    const x = a as unknown as ArrayLike<unknown>
    const y = b as unknown as ArrayLike<unknown>
    return x.length === y.length && Array.from(x).every((v, i) => Object.is(v, y[i]))
  }
  if (a instanceof Map && b instanceof Map) return deepEqual([...a.entries()], [...b.entries()])
  if (a instanceof Set && b instanceof Set) return deepEqual([...a], [...b])
  if (a instanceof Error && (a.message !== (b as Error).message || a.name !== (b as Error).name)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

const show = (x: unknown): string =>
  inspect(isTensorLike(x) ? { dtype: x.dtype, shape: x.shape, values: nested(x) } : x, { depth: 6, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 400 })

/** Fails an example: `where` is the line of the source file the value comment is on. */
export class ExampleCheckError extends Error {
  constructor(readonly where: string, message: string) {
    super(`${where}: ${message}`)
    this.name = 'ExampleCheckError'
  }
}

/** `actual // <literal>`: the value must be what the literal shows. Returns `actual`. */
export const check = <A>(actual: A, pattern: Pattern, where: string, text: string): A => {
  if (!matches(actual, pattern)) throw new ExampleCheckError(where, `the comment says ${text}, the value is ${show(actual)}`)
  return actual
}

/** `actual // => expected`: deep equality with the expression's value. Returns `actual`. */
export const same = <A>(actual: A, expected: unknown, where: string, text: string): A => {
  if (!deepEqual(actual, expected)) throw new ExampleCheckError(where, `the comment says => ${text} (${show(expected)}), the value is ${show(actual)}`)
  return actual
}

/** `if (cond) x // value` whose condition is false: the value the comment shows was never computed. */
export const taken = (where: string): never => {
  throw new ExampleCheckError(where, 'the condition of this `if` is false, so the value its comment shows is never computed')
}

// the runner

interface Job {
  readonly id: string
  readonly file: string
  /** Source file and line of the example's first line, and how many generated lines precede it. */
  readonly source: string
  readonly line: number
  readonly headerLines: number
}

const out = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

/** The example's own line for a thrown error: the first stack frame in the generated file, mapped back. */
const whereThrown = (error: unknown, job: Job): string => {
  const stack = error instanceof Error ? (error.stack ?? '') : ''
  const base = job.file.split(/[\\/]/).pop() as string
  const frame = new RegExp(`${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`).exec(stack)
  return frame === null ? `${job.source}:${job.line}` : `${job.source}:${job.line + Number(frame[1]) - 1 - job.headerLines}:${frame[2]}`
}

const describeError = (error: unknown, job: Job): string => {
  if (error instanceof ExampleCheckError) return error.message
  const stack = error instanceof Error ? (error.stack ?? String(error)) : inspect(error)
  return `${whereThrown(error, job)}: threw ${stack.split('\n').slice(0, 6).join('\n    ')}`
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'dir', 'table'] as const

const runJobs = async (jobs: ReadonlyArray<Job>): Promise<void> => {
  // Deep enough to reach the example's own frame below the library's.
  Error.stackTraceLimit = 100
  const home = process.cwd()
  let current: { job: Job; failure: string | undefined } | undefined
  const late = (error: unknown): void => {
    if (current !== undefined) current.failure ??= `${describeError(error, current.job)} (not awaited)`
    else out({ fail: 'unknown', message: `an example failed after it finished: ${inspect(error)}` })
  }
  process.on('unhandledRejection', late)
  process.on('uncaughtException', late)
  for (const job of jobs) {
    out({ start: job.id })
    const dir = mkdtempSync(join(tmpdir(), 'nn-ts-example-'))
    const printed: string[] = []
    const saved = CONSOLE_METHODS.map((m) => [m, console[m]] as const)
    for (const m of CONSOLE_METHODS) console[m] = (...args: unknown[]) => void printed.push(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '))
    current = { job, failure: undefined }
    try {
      process.chdir(dir)
      await import(pathToFileURL(job.file).href)
      // One turn of the event loop, so a rejection the example left behind is caught as its own.
      await new Promise((resolve) => setTimeout(resolve, 0))
    } catch (error) {
      current.failure ??= describeError(error, job)
    } finally {
      for (const [m, f] of saved) console[m] = f as never
      process.chdir(home)
      rmSync(dir, { recursive: true, force: true })
    }
    const { failure } = current
    current = undefined
    if (failure !== undefined) out({ fail: job.id, message: printed.length > 0 ? `${failure}\n  it printed:\n    ${printed.join('\n').split('\n').slice(0, 20).join('\n    ')}` : failure })
    else out({ done: job.id })
  }
}

// Run as a script. No top-level await: the examples import this module, and would wait forever for a
// module still evaluating.
if (process.argv[1] !== undefined && /docs-runtime\.ts$/.test(process.argv[1])) {
  const list = process.argv[2]
  if (list === undefined) throw new Error('usage: tsx scripts/docs-runtime.ts <group.json>')
  runJobs(JSON.parse(readFileSync(list, 'utf8')) as Job[]).catch((error: unknown) => {
    out({ fail: 'runner', message: inspect(error) })
    process.exitCode = 1
  })
}
