/**
 * Tensor names for tree paths: how checkpoints and parameter files name each tensor after its place in
 * the tree, reversibly, in printable ASCII.
 *
 * Grammar (a name is the concatenation of its path's segments, in order):
 *
 * - a tuple index `n` is `[n]` (decimal, no leading zeros): `[0]`, `[12]`;
 * - a record key that is an ASCII identifier (`[A-Za-z_$][A-Za-z0-9_$]*`) is `.key`, or `key` alone
 *   when it is the first segment: `W`, `[0].W`, `params[3].b`;
 * - any other key (empty, with a dot, bracket, slash, quote, space, control or non-ASCII character, a
 *   lone surrogate, or all digits like `"0"`) is `[` + a JSON string literal + `]`, with every
 *   character outside printable ASCII written as `\uXXXX` (one per UTF-16 code unit):
 *   `["a.b"]`, `[0]["layer 1"]`, `["0"]`, `["caf\u00e9"]`.
 *
 * So an index and a key that reads like one never meet (`[0]` against `["0"]`), two different paths
 * never have the same name, every name is printable ASCII (safe in a terminal, a safetensors header,
 * Python), and `parsePathName` gives the path back. The root's path (`[]`) is the empty name. Names
 * for tuples and identifier keys read like JavaScript accessors, and like the paths in error messages.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Path } from '../tree/Tree.ts'

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/**
 * `s` as a JSON string literal in printable ASCII: `JSON.stringify`, then every code unit outside
 * U+0020–U+007E (non-ASCII letters, DEL, line separators, lone surrogates) as `\uXXXX`. `JSON.parse`
 * reads it back to `s` exactly, lone surrogates included.
 * @category utils
 * @since 0.2.0
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.quoteAscii('a.b') // '"a.b"'
 * Checkpoint.quoteAscii('tab\there') // '"tab\\there"'
 * Checkpoint.quoteAscii('café') // '"caf\\u00e9"'
 */
export const quoteAscii = (s: string): string =>
  JSON.stringify(s).replace(/[^\u0020-\u007e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

const segmentName = (key: string | number, first: boolean): string =>
  typeof key === 'number' ? `[${key}]` : IDENTIFIER.test(key) ? (first ? key : `.${key}`) : `[${quoteAscii(key)}]`

/**
 * The tensor name of a tree path (grammar in the module documentation): `[0].W` for the weights of the
 * first layer of a `sequential`, `params[0].W` for the same tensor inside a checkpoint. Throws a
 * `RangeError` for an index that is not a non-negative safe integer (no tree has one).
 * @category utils
 * @since 0.2.0
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.pathName([0, 'W']) // '[0].W'
 * Checkpoint.pathName(['params', 3, 'b']) // 'params[3].b'
 * Checkpoint.pathName([1, 'a.b', '0']) // '[1]["a.b"]["0"]'
 * Checkpoint.pathName([]) // ''
 */
export const pathName = (path: Path): string =>
  path
    .map((key, i) => {
      if (typeof key === 'number' && !(Number.isSafeInteger(key) && key >= 0)) throw new RangeError(`Checkpoint.pathName: a tuple index must be a non-negative integer, found ${key}`)
      return segmentName(key, i === 0)
    })
    .join('')

const DIGITS = /^(0|[1-9][0-9]*)\]/
const IDENTIFIER_PREFIX = /^[A-Za-z_$][A-Za-z0-9_$]*/

/** The end (exclusive) of the JSON string literal starting at `from` (a `"`), or -1 if it does not end. */
const endOfString = (name: string, from: number): number => {
  for (let i = from + 1; i < name.length; i++) {
    const c = name[i]
    if (c === '\\') i++
    else if (c === '"') return i + 1
  }
  return -1
}

/**
 * The path a tensor name stands for: the inverse of `pathName` (`parsePathName(pathName(p))` is `p`
 * for every path). Only names `pathName` writes are accepted; anything else is a `Left` saying where
 * the name stops following the grammar.
 * @category utils
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.parsePathName('[0].W') // => E.right([0, 'W'])
 * Checkpoint.parsePathName('[1]["a.b"]') // => E.right([1, 'a.b'])
 * Checkpoint.parsePathName('0.weight') // => E.left('at character 0 of "0.weight": expected an identifier or "[" (names are written by Checkpoint.pathName)')
 */
export const parsePathName = (name: string): E.Either<string, Path> => {
  const path: Array<string | number> = []
  const fail = (at: number, expected: string): E.Either<string, Path> =>
    E.left(`at character ${at} of ${quoteAscii(name)}: expected ${expected} (names are written by Checkpoint.pathName)`)
  let i = 0
  while (i < name.length) {
    const c = name[i]
    if (c === '[') {
      const digits = DIGITS.exec(name.slice(i + 1))
      if (digits !== null) {
        const index = Number(digits[1])
        if (!Number.isSafeInteger(index)) return fail(i + 1, 'an index below 2^53')
        path.push(index)
        i += 1 + digits[0].length
        continue
      }
      if (name[i + 1] !== '"') return fail(i + 1, 'an index or a quoted key after "["')
      const end = endOfString(name, i + 1)
      if (end === -1 || name[end] !== ']') return fail(i + 1, 'a JSON string literal closed by \'"]\'')
      const literal = name.slice(i + 1, end)
      // Only the canonical spelling: one path, one name (so names can be compared as strings).
      const key = E.tryCatch(
        () => JSON.parse(literal) as unknown,
        () => undefined
      )
      if (E.isLeft(key) || typeof key.right !== 'string' || quoteAscii(key.right) !== literal || IDENTIFIER.test(key.right)) {
        return fail(i + 1, 'a key quoted as pathName quotes it (ASCII-escaped JSON, identifiers unquoted)')
      }
      path.push(key.right)
      i = end + 1
      continue
    }
    const afterDot = c === '.' && path.length > 0
    if (!afterDot && path.length > 0) return fail(i, '"[" or "."')
    const from = afterDot ? i + 1 : i
    const ident = IDENTIFIER_PREFIX.exec(name.slice(from))
    if (ident === null) return fail(from, path.length === 0 ? 'an identifier or "["' : 'an identifier after "."')
    path.push(ident[0])
    i = from + ident[0].length
  }
  return E.right(path)
}
