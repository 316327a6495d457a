/**
 * A strict JSON parser, written for tensor-file headers and used for network specs too. `JSON.parse` is not enough there: it silently keeps the
 * last of two equal keys (so one file could mean two things to two readers), it reorders integer-like
 * keys (`"10"` before `"a"`), and its errors say nothing about where. This parser keeps object entries
 * in file order, refuses duplicate keys, strings that are not well-formed Unicode and nesting deeper
 * than a limit, and reports the position (and the JSON path) of every failure. It never throws.
 *
 * @since 0.2.0
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'

/** A JSON object as parsed: its entries in file order, keys unique. @internal */
export interface JsonObject {
  readonly entries: ReadonlyArray<readonly [string, Json]>
}

/** A parsed JSON value; objects keep their key order. @internal */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | JsonObject

/**
 * Why parsing stopped, and where: `at` is a UTF-16 index into the text, `path` the keys and indices
 * from the root to the value being parsed (for a duplicate key, to that key). @internal
 */
export interface JsonFailure {
  readonly at: number
  readonly reason: string
  readonly path: ReadonlyArray<string | number>
}

/** Whether a parsed value is an object (not an array, not null). @internal */
export const isJsonObject = (v: Json): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A lone surrogate: text that UTF-8 cannot carry, so it could not round-trip through a file. @internal */
export const notWellFormed = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** A character for an error message: printable ones quoted, others by code point. */
const showChar = (text: string, at: number): string => {
  const c = text.codePointAt(at)
  if (c === undefined) return 'the end of the text'
  return c >= 0x20 && c < 0x7f ? `'${String.fromCodePoint(c)}'` : `U+${c.toString(16).toUpperCase().padStart(4, '0')}`
}

/** A short description of a parsed value for "found …" in messages. @internal */
export const describeJson = (v: Json): string => {
  if (v === null) return 'null'
  if (Array.isArray(v)) return `an array of ${v.length}`
  if (isJsonObject(v)) {
    const keys = v.entries.map(([k]) => JSON.stringify(k)).join(', ')
    return `an object {${keys.length <= 60 ? keys : `${keys.slice(0, 60)}…`}}`
  }
  if (typeof v === 'string') return `the string ${v.length <= 40 ? JSON.stringify(v) : `${JSON.stringify(v.slice(0, 40))}…`}`
  return `${typeof v} ${String(v)}`
}

/**
 * Parses `text` as exactly one JSON value (whitespace around it allowed), objects and arrays nested at
 * most `maxDepth` deep (the recursion is bounded, so a hostile header cannot exhaust the stack).
 * @internal
 */
export const parseJson = (text: string, maxDepth: number): E.Either<JsonFailure, Json> => {
  // The cursor and the first failure are local to this call; `undefined` means "failed, see `failure`".
  let i = 0
  let failure: JsonFailure | undefined
  // Keys and indices from the root to the value being parsed; its length is bounded by maxDepth.
  const path: Array<string | number> = []
  const fail = (reason: string, at = i, where: ReadonlyArray<string | number> = path): undefined => {
    failure ??= { at, reason, path: [...where] }
    return undefined
  }
  // A sticky expression per call: its `lastIndex` is state, so it is not shared between calls.
  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y

  const skipWhitespace = (): void => {
    for (;;) {
      const c = text.charCodeAt(i)
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++
      else return
    }
  }

  const string = (): string | undefined => {
    const start = i
    let j = i + 1
    let escaped = false
    for (;;) {
      if (j >= text.length) return fail('unterminated string', start)
      const c = text.charCodeAt(j)
      if (c === 0x22) break
      if (c === 0x5c) {
        escaped = true
        j += 2
        continue
      }
      if (c < 0x20) return fail(`control character ${showChar(text, j)} inside a string (JSON requires it escaped)`, j)
      j++
    }
    i = j + 1
    let value: string
    if (!escaped) value = text.slice(start + 1, j)
    else {
      // The token is delimited and free of raw control characters; JSON.parse checks its escapes.
      const token = text.slice(start, j + 1)
      const parsed = E.tryCatch(
        () => JSON.parse(token) as string,
        () => undefined
      )
      if (E.isLeft(parsed)) return fail(`invalid escape sequence in the string ${token.length <= 40 ? token : `${token.slice(0, 40)}…`}`, start)
      value = parsed.right
    }
    if (notWellFormed.test(value)) return fail('string with an unpaired surrogate escape (not well-formed Unicode)', start)
    return value
  }

  const number = (): number | undefined => {
    NUMBER.lastIndex = i
    const m = NUMBER.exec(text)
    if (m === null) return fail(`unexpected ${showChar(text, i)}, expected a number`)
    i += m[0].length
    return Number(m[0])
  }

  const literal = <A extends Json>(word: string, v: A): A | undefined => {
    if (!text.startsWith(word, i)) return fail(`unexpected ${showChar(text, i)}, expected a JSON value`)
    i += word.length
    return v
  }

  const value = (depth: number): Json | undefined => {
    skipWhitespace()
    const c = text[i]
    if (c === '{') return object(depth + 1)
    if (c === '[') return array(depth + 1)
    if (c === '"') return string()
    if (c === 't') return literal('true', true)
    if (c === 'f') return literal('false', false)
    if (c === 'n') return literal('null', null)
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number()
    return fail(`unexpected ${showChar(text, i)}, expected a JSON value`)
  }

  const object = (depth: number): JsonObject | undefined => {
    if (depth > maxDepth) return fail(`objects and arrays nested deeper than ${maxDepth} levels`)
    i++
    const entries: Array<readonly [string, Json]> = []
    const seen = new Set<string>()
    skipWhitespace()
    if (text[i] === '}') {
      i++
      return { entries }
    }
    for (;;) {
      skipWhitespace()
      const keyAt = i
      if (text[i] !== '"') return fail(`unexpected ${showChar(text, i)}, expected a string key`)
      const key = string()
      if (key === undefined) return undefined
      if (seen.has(key)) return fail(`duplicate key ${JSON.stringify(key)} (each key may appear once)`, keyAt, [...path, key])
      seen.add(key)
      skipWhitespace()
      if (text[i] !== ':') return fail(`unexpected ${showChar(text, i)}, expected ':' after the key ${JSON.stringify(key)}`)
      i++
      path.push(key)
      const v = value(depth)
      path.pop()
      if (v === undefined) return undefined
      entries.push([key, v])
      skipWhitespace()
      if (text[i] === ',') i++
      else if (text[i] === '}') {
        i++
        return { entries }
      } else return fail(`unexpected ${showChar(text, i)}, expected ',' or '}'`)
    }
  }

  const array = (depth: number): Json[] | undefined => {
    if (depth > maxDepth) return fail(`objects and arrays nested deeper than ${maxDepth} levels`)
    i++
    const items: Json[] = []
    skipWhitespace()
    if (text[i] === ']') {
      i++
      return items
    }
    for (;;) {
      path.push(items.length)
      const v = value(depth)
      path.pop()
      if (v === undefined) return undefined
      items.push(v)
      skipWhitespace()
      if (text[i] === ',') i++
      else if (text[i] === ']') {
        i++
        return items
      } else return fail(`unexpected ${showChar(text, i)}, expected ',' or ']'`)
    }
  }

  const root = value(0)
  if (root !== undefined) {
    skipWhitespace()
    if (i < text.length) fail(`unexpected ${showChar(text, i)} after the end of the JSON value`)
  }
  return failure === undefined && root !== undefined ? E.right(root) : E.left(failure ?? { at: i, reason: 'invalid JSON', path: [] })
}

/**
 * A parsed value as plain JavaScript data, as `JSON.parse` would give it: objects become plain
 * objects with their keys defined as own data properties (so a key `"__proto__"` is a key, never the
 * prototype). Recursive, so only for values `parseJson` returned: their depth is bounded.
 * @internal
 */
export const toPlain = (v: Json): unknown => {
  if (Array.isArray(v)) return v.map(toPlain)
  if (isJsonObject(v)) return Object.fromEntries(v.entries.map(([k, x]) => [k, toPlain(x)]))
  return v
}
