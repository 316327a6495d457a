/**
 * Initializers as JSON: a name (`"heNormal"`) or a tagged object (`{ "type": "uniform", "min": -0.1,
 * "max": 0.1 }`), their codec and the `Init` function each names. A dense layer built from a spec
 * records its initializers in its `node` as text (the name, or the object's JSON), so a network
 * written back as a spec says how it was initialized.
 *
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import * as Init from '../init/Initializer.ts'
import { closed, finite, nameOrTagged, nonNegative } from './codecs.ts'

/** The initializers that take no arguments, by name. @internal */
export const initializerNames = [
  'zeros',
  'ones',
  'glorotUniform',
  'glorotNormal',
  'xavierUniform',
  'xavierNormal',
  'heUniform',
  'heNormal',
  'lecunUniform',
  'lecunNormal'
] as const

/** The codec of an initializer written in a spec. @internal */
export const initializer = nameOrTagged('an initializer', initializerNames, {
  constant: closed('a constant initializer', { type: t.literal('constant'), value: finite }, {}),
  uniform: closed('a uniform initializer', { type: t.literal('uniform'), min: finite, max: finite }, {}),
  normal: closed('a normal initializer', { type: t.literal('normal'), std: nonNegative }, { mean: finite })
})

/** An initializer as a spec writes it. @internal */
export type InitializerJson = t.TypeOf<typeof initializer>

const named: Readonly<Record<(typeof initializerNames)[number], Init.Initializer>> = {
  zeros: Init.zeros,
  ones: Init.ones,
  glorotUniform: Init.glorotUniform,
  glorotNormal: Init.glorotNormal,
  xavierUniform: Init.xavierUniform,
  xavierNormal: Init.xavierNormal,
  heUniform: Init.heUniform,
  heNormal: Init.heNormal,
  lecunUniform: Init.lecunUniform,
  lecunNormal: Init.lecunNormal
}

/**
 * The `Init` function an initializer names. Total on decoded values: a uniform range with `min > max`
 * is refused by `Spec.decode` before it gets here.
 * @internal
 */
export const initializerOf = (s: InitializerJson): Init.Initializer => {
  if (typeof s === 'string') return named[s]
  switch (s.type) {
    case 'constant':
      return Init.constant(s.value)
    case 'uniform':
      return Init.uniform(s.min, s.max)
    case 'normal':
      return Init.normal(s.mean ?? 0, s.std)
  }
}

/** What is wrong with a decoded initializer that the codec cannot see, as `[field, expected, found]`. @internal */
export const initializerProblem = (s: InitializerJson): readonly [string, string, number] | undefined =>
  typeof s === 'object' && s.type === 'uniform' && !(s.min <= s.max) ? ['max', `a number ≥ min (${s.min})`, s.max] : undefined

/** An initializer as a node attribute: its name, or its object as JSON text. @internal */
export const initializerToAttr = (s: InitializerJson): string => (typeof s === 'string' ? s : JSON.stringify(s))

/** An initializer from a node attribute written by `initializerToAttr`; Left says what was expected. @internal */
export const initializerFromAttr = (attr: unknown): E.Either<string, InitializerJson> => {
  const expected = `an initializer's name (${initializerNames.join(', ')}) or its JSON object`
  if (typeof attr !== 'string') return E.left(expected)
  const parsed = E.tryCatch((): unknown => (attr.startsWith('{') ? JSON.parse(attr) : attr), () => expected)
  return E.chain((u: unknown) => {
    const r = initializer.decode(u)
    return E.isRight(r) && initializerProblem(r.right) === undefined ? E.right(r.right) : E.left(expected)
  })(parsed)
}
