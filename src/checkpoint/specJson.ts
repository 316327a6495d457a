/**
 * The spec inside a tensor file's metadata: JSON text that must read back to the same value through
 * the strict parser (no repeated key, no lone surrogate, bounded nesting). Shared by checkpoints and
 * parameter files.
 *
 * @since 0.2.0
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { type Json, type JsonObject, parseJson } from '../tensorfile/json.ts'
import { type CheckpointError, MAX_DEPTH, checkpointError } from './model.ts'

/** Stores `value` under `key` as an own property, even when the key is `__proto__`. @internal */
export const put = (out: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
}

/** A parsed JSON value as a plain JavaScript value (objects keep own keys, `__proto__` included). */
const toValue = (v: Json): unknown => {
  if (Array.isArray(v)) return v.map(toValue)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of (v as JsonObject).entries) put(out, k, toValue(x))
    return out
  }
  return v
}

/**
 * The spec as JSON text (as `JSON.stringify` writes it; `undefined` is `null`) that `decodeSpec`
 * reads back to the same value, or why it cannot be stored. @internal
 */
export const specText = (spec: unknown, what: string): E.Either<CheckpointError, string> => {
  const text = E.tryCatch(
    () => JSON.stringify(spec ?? null),
    (e) => e
  )
  if (E.isLeft(text) || text.right === undefined) {
    const why = E.isLeft(text) ? (text.left instanceof Error ? text.left.message : String(text.left)) : `found ${typeof spec}`
    return E.left(checkpointError(`cannot encode the ${what}: the spec is not a JSON value (${why})`, 'spec'))
  }
  const back = parseJson(text.right, MAX_DEPTH)
  if (E.isLeft(back)) return E.left(checkpointError(`cannot encode the ${what}: the spec would not read back (${back.left.reason})`, 'spec'))
  return E.right(text.right)
}

/** The spec from its metadata entry. @internal */
export const decodeSpec = (s: string): E.Either<CheckpointError, unknown> => {
  const parsed = parseJson(s, MAX_DEPTH)
  return E.isLeft(parsed)
    ? E.left(checkpointError(`spec: expected JSON text nested at most ${MAX_DEPTH} levels: ${parsed.left.reason} (character ${parsed.left.at})`, 'spec'))
    : E.right(toValue(parsed.right))
}
