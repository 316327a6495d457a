/**
 * Reading optimizer states: find a sub-state, describe the structure, compare by value.
 *
 * An optimizer state is a tree of tensors *and numbers* (`OptState`), which `Tree` (tensors only)
 * does not cover, so this module holds the one walk over such states; everything else that looks
 * inside a state (reading the learning rate, the state-structure law) goes through it.
 *
 * @since 0.1.0
 */
import type { Eq } from 'fp-ts/lib/Eq.js'
import { kernels as K } from '../tensor/backend.ts'
import { type Tensor, showShape } from '../tensor/Tensor.ts'
import { isTensor } from '../tree/Tree.ts'
import type { OptState } from './Transform.ts'

/**
 * A record inside a state (never a tensor).
 * @category model
 * @example
 * import type { Optim } from 'nn-ts'
 * const r: Optim.StateRecord = { count: 3, learningRate: 0.1 }
 */
export type StateRecord = { readonly [key: string]: OptState }

const isRecord = (s: unknown): s is StateRecord => typeof s === 'object' && s !== null && !Array.isArray(s) && !isTensor(s)

/**
 * The first record inside `state` (depth first, in tuple and key order, the state itself first) for
 * which `pred` holds. Accepts `unknown` so it can read a state whose type was lost (a decoded
 * checkpoint); anything that is not a tuple or record is skipped.
 * @category destructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const s = Optim.adam(1e-3).init({ w: Tensor.vector([1]) })
 * Optim.findRecord(s, (r) => 'mu' in r) // the Adam moments { count, mu, nu }
 */
export const findRecord = (state: unknown, pred: (r: StateRecord) => boolean): StateRecord | undefined => {
  if (Array.isArray(state)) {
    for (const s of state) {
      const found = findRecord(s, pred)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (!isRecord(state)) return undefined
  if (pred(state)) return state
  for (const k of Object.keys(state)) {
    const found = findRecord(state[k], pred)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * Rebuilds `state` with `f` applied to every record for which `pred` holds (those records are not
 * entered further). Tensors and numbers elsewhere are shared, not copied.
 * @category combinators
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const s = Optim.sgd(0.1).init({ w: Tensor.vector([1]) })
 * const t = Optim.mapRecords(s, (r) => 'learningRate' in r, (r) => ({ ...r, learningRate: 0.01 }))
 */
export const mapRecords = <S extends OptState>(state: S, pred: (r: StateRecord) => boolean, f: (r: StateRecord) => StateRecord): S =>
  mapAt(state, pred, f) as S

const mapAt = (state: OptState, pred: (r: StateRecord) => boolean, f: (r: StateRecord) => StateRecord): OptState => {
  if (Array.isArray(state)) return state.map((s: OptState) => mapAt(s, pred, f))
  if (!isRecord(state)) return state
  if (pred(state)) return f(state)
  const out: { [key: string]: OptState } = {}
  for (const k of Object.keys(state)) out[k] = mapAt(state[k] as OptState, pred, f)
  return out
}

/**
 * Why a value is not a valid optimizer state (`OptState`), naming the path, or `undefined` if it
 * is one: only tuples, plain records, tensors and finite numbers are allowed.
 * @category utils
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * Optim.whyNotPlain(Optim.adam(1e-3).init({ w: Tensor.vector([1]) })) // undefined
 * Optim.whyNotPlain({ count: NaN }) // 'count: NaN is not a finite number'
 */
export const whyNotPlain = (state: unknown, path = ''): string | undefined => {
  const at = path === '' ? '<root>' : path
  if (typeof state === 'number') return Number.isFinite(state) ? undefined : `${at}: ${state} is not a finite number`
  if (isTensor(state)) return undefined
  if (Array.isArray(state)) {
    for (let i = 0; i < state.length; i++) {
      const why = whyNotPlain(state[i], `${path}[${i}]`)
      if (why !== undefined) return why
    }
    return undefined
  }
  if (typeof state !== 'object' || state === null) return `${at}: ${state === null ? 'null' : typeof state} is not allowed`
  const proto: unknown = Object.getPrototypeOf(state)
  if (proto !== Object.prototype && proto !== null) return `${at}: an instance of ${(state as object).constructor?.name ?? 'a class'} is not a plain record`
  for (const k of Object.keys(state)) {
    const why = whyNotPlain((state as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`)
    if (why !== undefined) return why
  }
  return undefined
}

/**
 * The shape of a state without its values: keys, tuple lengths, tensor shapes and dtypes, and
 * `number` where a number sits. Two states with the same structure string fit the same optimizer.
 * @category destructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * Optim.structure(Optim.sgd(0.1).init({ w: Tensor.vector([1, 2]) }))
 * // '[{"count":"number","learningRate":"number"}]'
 */
export const structure = (state: OptState): string =>
  JSON.stringify(state, (_key, value: unknown) =>
    isTensor(value) ? `${(value as Tensor).dtype}${showShape((value as Tensor).shape)}` : typeof value === 'number' ? 'number' : value
  )

/**
 * Equality by value of two states: same structure, same numbers, same tensor values (as numbers,
 * so `0` and `-0` are equal; states hold no NaN).
 * @category instances
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const p = { w: Tensor.vector([1]) }
 * Optim.StateEq.equals(Optim.adam(0.1).init(p), Optim.adam(0.1).init(p)) // true
 */
export const StateEq: Eq<OptState> = {
  equals: (a, b) => {
    if (typeof a === 'number' || typeof b === 'number') return a === b
    if (isTensor(a) || isTensor(b)) {
      return (
        isTensor(a) &&
        isTensor(b) &&
        a.dtype === b.dtype &&
        showShape(a.shape) === showShape(b.shape) &&
        K.sum(K.zipWith(a, b, (x, y) => (x === y ? 0 : 1))) === 0
      )
    }
    if (Array.isArray(a) || Array.isArray(b)) {
      return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x: OptState, i) => StateEq.equals(x, b[i] as OptState))
    }
    const ra = a as StateRecord
    const rb = b as StateRecord
    const keys = Object.keys(ra)
    return keys.length === Object.keys(rb).length && keys.every((k) => k in rb && StateEq.equals(ra[k] as OptState, rb[k] as OptState))
  }
}
