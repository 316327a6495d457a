/**
 * The io-ts building blocks of the spec codec: numbers with their range in the name, records that
 * reject unknown fields, and unions dispatched on a `type` field so an error speaks about the member
 * the user meant instead of listing every member's complaints.
 *
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'

/** A number codec named by its range, e.g. `a positive integer`. @internal */
export const numberWhere = (name: string, ok: (n: number) => boolean): t.Type<number, number, unknown> =>
  new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === 'number' && ok(u),
    (u, c) => (typeof u === 'number' && ok(u) ? t.success(u) : t.failure(u, c)),
    t.identity
  )

/** @internal */
export const positiveInt = numberWhere('a positive integer', (n) => Number.isSafeInteger(n) && n > 0)
/** @internal */
export const nonNegativeInt = numberWhere('an integer ≥ 0', (n) => Number.isSafeInteger(n) && n >= 0)
/** @internal */
export const positive = numberWhere('a finite number > 0', (n) => Number.isFinite(n) && n > 0)
/** @internal */
export const nonNegative = numberWhere('a finite number ≥ 0', (n) => Number.isFinite(n) && n >= 0)
/** @internal */
export const finite = numberWhere('a finite number', Number.isFinite)
/** `[0, 1)`: momentum, decay rates, dropout. @internal */
export const fraction = numberWhere('a number in [0, 1)', (n) => n >= 0 && n < 1)
/** `[0, 1]`. @internal */
export const unitInterval = numberWhere('a number in [0, 1]', (n) => n >= 0 && n <= 1)
/** @internal */
export const text = new t.Type<string, string, unknown>(
  'a non-empty string',
  (u): u is string => typeof u === 'string' && u !== '',
  (u, c) => (typeof u === 'string' && u !== '' ? t.success(u) : t.failure(u, c)),
  t.identity
)

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** The edit distance of two short strings, to suggest the field a typo meant. */
const distance = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length] as number
}

/** `one of a, b, c` with a `did you mean` when one candidate is a near miss (case or a typo or two). @internal */
export const oneOf = (candidates: ReadonlyArray<string>, found: unknown): string => {
  const list = `one of ${candidates.join(', ')}`
  if (typeof found !== 'string') return list
  const near = candidates
    .map((c) => ({ c, d: c.toLowerCase() === found.toLowerCase() ? 0 : distance(c.toLowerCase(), found.toLowerCase()) }))
    .filter(({ d }) => d <= (found.length >= 4 ? 2 : 1))
    .sort((x, y) => x.d - y.d)[0]
  return near === undefined ? list : `${list} (did you mean ${near.c}?)`
}

/**
 * An object with `required` and `optional` fields and nothing else: an unknown field (a typo such as
 * `unit` for `units`) is an error naming the field and the known ones, where io-ts's `exact`/`strict`
 * would silently drop it. Reports the unknown fields and the fields' own errors together.
 * @internal
 */
export const closed = <R extends t.Props, O extends t.Props>(
  name: string,
  required: R,
  optional: O
): t.Type<t.TypeOf<t.TypeC<R>> & t.TypeOf<t.PartialC<O>>, unknown, unknown> => {
  type A = t.TypeOf<t.TypeC<R>> & t.TypeOf<t.PartialC<O>>
  const known = [...Object.keys(required), ...Object.keys(optional)]
  const is = (u: unknown): u is A =>
    isRecord(u) &&
    Object.keys(u).every((k) => known.includes(k)) &&
    Object.entries(required).every(([k, c]) => c.is(u[k])) &&
    Object.entries(optional).every(([k, c]) => !(k in u) || c.is(u[k]))
  return new t.Type<A, unknown, unknown>(
    name,
    is,
    (u, c) => {
      if (!isRecord(u)) return t.failure(u, c, name)
      // Field by field (not io-ts's intersection, whose member indices would end up in the paths), so
      // every error is collected with the field's own path.
      const errors: t.ValidationError[] = Object.keys(u)
        .filter((k) => !known.includes(k))
        .map((k) => ({
          value: u[k],
          context: t.appendContext(c, k, unknownField, u[k]),
          message: `one of the fields ${known.join(', ')}${didYouMean(known, k)}`
        }))
      const fields = [
        ...Object.entries(required).map(([k, codec]) => [k, codec] as const),
        ...Object.entries(optional).filter(([k]) => k in u).map(([k, codec]) => [k, codec] as const)
      ]
      // A field codec may also fill something in (a gelu layer's form): keep what it decoded.
      const changed: Record<string, unknown> = {}
      for (const [k, codec] of fields) {
        const r = codec.validate(u[k], t.appendContext(c, k, codec, u[k]))
        if (E.isLeft(r)) for (const e of r.left) errors.push(e)
        else if (r.right !== u[k]) changed[k] = r.right
      }
      if (errors.length > 0) return t.failures(errors)
      return t.success((Object.keys(changed).length === 0 ? u : { ...u, ...changed }) as A)
    },
    t.identity
  )
}

/** The context type of an unknown field, so the reporter can say "found an unknown field". @internal */
export const unknownField = new t.Type<never>('an unknown field', (_u): _u is never => false, (u, c) => t.failure(u, c), t.identity)

const didYouMean = (known: ReadonlyArray<string>, k: string): string => {
  const m = / \(did you mean (.*)\?\)$/.exec(oneOf(known, k))
  return m === null ? '' : ` (did you mean "${m[1]}"?)`
}

/**
 * A union of closed records told apart by their `type` field. An unknown or missing `type` is one
 * error listing the known ones (`describe` words the list); a known one is checked by its member only.
 * @internal
 */
export const tagged = <M extends Record<string, t.Mixed>>(
  name: string,
  members: M,
  describe: (found: unknown) => string = (found) => oneOf(Object.keys(members), found)
): t.Type<t.TypeOf<M[keyof M]>, unknown, unknown> =>
  new t.Type<t.TypeOf<M[keyof M]>, unknown, unknown>(
    name,
    (u): u is t.TypeOf<M[keyof M]> => isRecord(u) && typeof u['type'] === 'string' && Object.hasOwn(members, u['type']) && (members[u['type']] as t.Mixed).is(u),
    (u, c) => {
      if (!isRecord(u)) return t.failure(u, c, `${name} (an object with a "type" field)`)
      const tag = u['type']
      const member = typeof tag === 'string' && Object.hasOwn(members, tag) ? (members[tag] as t.Mixed) : undefined
      if (member === undefined) return t.failure(tag, t.appendContext(c, 'type', t.string, tag), describe(tag))
      return member.validate(u, c) as t.Validation<t.TypeOf<M[keyof M]>>
    },
    t.identity
  )

/** A string among `names`; an unknown one lists them. @internal */
export const enumeration = <const N extends string>(name: string, names: ReadonlyArray<N>, describe: (found: unknown) => string = (found) => oneOf(names, found)): t.Type<N, N, unknown> =>
  new t.Type<N, N, unknown>(
    name,
    (u): u is N => typeof u === 'string' && (names as ReadonlyArray<string>).includes(u),
    (u, c) => (typeof u === 'string' && (names as ReadonlyArray<string>).includes(u) ? t.success(u as N) : t.failure(u, c, describe(u))),
    t.identity
  )

/** A string codec: either a bare name from `names`, or a tagged record from `objects`. @internal */
export const nameOrTagged = <const N extends string, M extends Record<string, t.Mixed>>(
  name: string,
  names: ReadonlyArray<N>,
  objects: M
): t.Type<N | t.TypeOf<M[keyof M]>, unknown, unknown> => {
  const all = [...names, ...Object.keys(objects).map((k) => `{ "type": "${k}", … }`)]
  const describe = (found: unknown): string => oneOf(all, found)
  const bare = enumeration(name, names, describe)
  const object = tagged(name, objects, (found) => oneOf(Object.keys(objects), found))
  return new t.Type<N | t.TypeOf<M[keyof M]>, unknown, unknown>(
    name,
    (u): u is N | t.TypeOf<M[keyof M]> => bare.is(u) || object.is(u),
    (u, c) => (typeof u === 'string' ? bare.validate(u, c) : isRecord(u) ? object.validate(u, c) : t.failure(u, c, `${name}: ${describe(undefined)}`)),
    t.identity
  )
}
