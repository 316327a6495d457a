/**
 * Checkpoints as values: `encode` to the bytes of a tensor file (format version 2), `decode` from
 * bytes of either version with full validation, `restore` against the state of the network that
 * resumes. `toTensorFile`/`fromTensorFile` are the steps in between, for writers and readers that
 * stream. The layouts are documented in `index.ts`.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { OptState } from '../optim/Transform.ts'
import type { Tensor } from '../tensor/Tensor.ts'
import { type Json, describeJson, isJsonObject, parseJson } from '../tensorfile/json.ts'
import * as TensorFiles from '../tensorfile/safetensors.ts'
import type { TensorFile } from '../tensorfile/safetensors.ts'
import type { TrainState } from '../train/step.ts'
import * as Trees from '../tree/Tree.ts'
import { type Tree, isTensor } from '../tree/Tree.ts'
import {
  type Checkpoint,
  type CheckpointError,
  FORMAT_TAG,
  FORMAT_VERSION,
  MAX_DEPTH,
  type Version,
  checkpointError,
  clip,
  encodeNumber,
  fromTensorFileError,
  specialNumber
} from './model.ts'
import { pathName, quoteAscii } from './names.ts'
import { decodeSpec, put, specText } from './specJson.ts'
import { decodeV1 } from './v1.ts'

// the parts of a version 2 file

/** The three trees of a state, in file order: the first segment of every tensor's name. */
const TREES = ['params', 'layerState', 'optState'] as const
type TreeName = (typeof TREES)[number]

/** The metadata entries of a version 2 checkpoint, in the order the documentation lists them. */
const ENTRIES = ['format', 'version', 'spec', 'step', 'rng', ...TREES] as const

/** A tree with its node at `path`, for messages: `params[0].W`. */
const where = (tree: TreeName, path: Trees.Path): string => Trees.showPath([tree, ...path])

// record keys in outlines

// A strict JSON reader refuses a lone surrogate even when escaped, so record keys escape it (and their
// escape character, U+0000) themselves: reversible, and the identity on every key without either.
const KEY_ESCAPES = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

const escapeKey = (key: string): string => key.replace(KEY_ESCAPES, (c) => (c === '\u0000' ? '\u0000\u0000' : `\u0000${c.charCodeAt(0).toString(16)}`))

const unescapeKey = (key: string): string | undefined => {
  if (!key.includes('\u0000')) return key
  let out = ''
  for (let i = 0; i < key.length; i++) {
    const c = key[i] as string
    if (c !== '\u0000') out += c
    else if (key[i + 1] === '\u0000') {
      out += c
      i++
    } else {
      const hex = key.slice(i + 1, i + 5)
      if (!/^d[89a-f][0-9a-f]{2}$/.test(hex)) return undefined
      out += String.fromCharCode(Number.parseInt(hex, 16))
      i += 4
    }
  }
  return out
}

// encoding

interface Outlined {
  readonly outline: string
  readonly tensors: ReadonlyArray<readonly [string, Tensor]>
}

/**
 * A tree's outline (JSON: tuples as arrays, records as objects, tensors as their names, numbers as
 * numbers or escapes) and its tensors named by path, in `Tree.leaves` order.
 */
const outline = (tree: OptState, name: TreeName, numbers: boolean): E.Either<CheckpointError, Outlined> => {
  // The walk checks the tree (kinds, depth) without recursion before the recursive writer below runs.
  try {
    Trees.leaves(tree, { maxDepth: MAX_DEPTH })
  } catch (e) {
    if (!(e instanceof Trees.TreeError)) throw e
    const at = where(name, e.path)
    return E.left(
      checkpointError(
        e.problem === 'tooDeep' ? `${at}: nested deeper than ${MAX_DEPTH} levels, more than a checkpoint holds` : `${at}: expected a tree node, found ${e.found}`,
        at
      )
    )
  }
  const tensors: Array<readonly [string, Tensor]> = []
  const path: Array<string | number> = []
  let failure: CheckpointError | undefined
  const write = (node: unknown): string => {
    if (isTensor(node)) {
      const tensorName = pathName([name, ...path])
      tensors.push([tensorName, node])
      return JSON.stringify(tensorName)
    }
    if (typeof node === 'number' && numbers) return JSON.stringify(encodeNumber(node))
    if (typeof node === 'number' || typeof node === 'boolean') {
      const at = where(name, path)
      failure ??= checkpointError(`${at}: expected ${numbers ? 'a tensor or a number' : 'a tensor (params and layer state hold tensors only)'}, found ${typeof node} ${String(node)}`, at)
      return 'null'
    }
    if (Array.isArray(node)) {
      const items = node.map((child: unknown, i) => {
        path.push(i)
        const s = write(child)
        path.pop()
        return s
      })
      return `[${items.join(',')}]`
    }
    const record = node as { readonly [key: string]: unknown }
    const fields = Object.keys(record).map((key) => {
      path.push(key)
      const s = `${JSON.stringify(escapeKey(key))}:${write(record[key])}`
      path.pop()
      return s
    })
    return `{${fields.join(',')}}`
  }
  const text = write(tree)
  return failure === undefined ? E.right({ outline: text, tensors }) : E.left(failure)
}

const isWord = (w: number): boolean => Number.isInteger(w) && w >= 0 && w <= 0xffffffff

/**
 * The checkpoint as a tensor file's contents (format version 2): every tensor of the params, layer
 * state and optimizer state under its path (`params[0].W`, `optState[0].mu[0].W`), and the metadata
 * entries of the format (see the module documentation). The tensors are the state's own, not copies.
 * What `encode` and the streaming `writeCheckpoint` write.
 *
 * Refused: a spec that is not JSON or would not read back (a lone surrogate, nested deeper than 100
 * levels), a step that is not a non-negative integer, a PRNG key that is not two 32-bit words, a
 * number in params or layer state, and trees nested deeper than 100 levels.
 * @category encoding
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const f = Checkpoint.toTensorFile(Checkpoint.make(Train.initialState(net, Optim.adam(1e-3), 7)))
 * if (E.isRight(f)) f.right.tensors.map(([name]) => name).slice(0, 3) // ['params[0].W', 'params[0].b', 'params[2].W']
 * if (E.isRight(f)) f.right.metadata.optState // '[{"count":0,"mu":[{"W":"optState[0].mu[0].W",…'
 */
export const toTensorFile = <P extends Tree, S extends Tree, O extends OptState>(c: Checkpoint<P, S, O>): E.Either<CheckpointError, TensorFile> => {
  const { step, rng } = c.state
  if (!(Number.isSafeInteger(step) && step >= 0)) return E.left(checkpointError(`cannot encode the checkpoint: step must be a non-negative integer, found ${step}`, 'step'))
  const words = rng?.words
  if (!Array.isArray(words) || words.length !== 2 || !words.every(isWord)) {
    return E.left(checkpointError(`cannot encode the checkpoint: rng must be a PRNG key of two unsigned 32-bit words, found ${clip(JSON.stringify(words) ?? String(words))}`, 'rng'))
  }
  return pipe(
    E.Do,
    E.bind('spec', () => specText(c.spec, 'checkpoint')),
    E.bind('params', () => outline(c.state.params, 'params', false)),
    E.bind('layerState', () => outline(c.state.layerState, 'layerState', false)),
    E.bind('optState', () => outline(c.state.optState, 'optState', true)),
    E.map(({ spec, params, layerState, optState }) => ({
      tensors: [...params.tensors, ...layerState.tensors, ...optState.tensors],
      metadata: {
        format: FORMAT_TAG,
        version: String(FORMAT_VERSION),
        spec,
        step: String(step),
        rng: `[${words[0]},${words[1]}]`,
        params: params.outline,
        layerState: layerState.outline,
        optState: optState.outline
      }
    }))
  )
}

/**
 * The checkpoint as the bytes of a tensor file, format version 2 (see `toTensorFile` for what is
 * refused). The whole file is built in memory: to write a large one, `writeCheckpoint` streams.
 * @category encoding
 * @since 0.1.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const bytes = Checkpoint.encode(Checkpoint.make(Train.initialState(net, Optim.sgd(0.1), 7)))
 * if (E.isRight(bytes)) Checkpoint.versionOf(bytes.right) // 2
 */
export const encode = <P extends Tree, S extends Tree, O extends OptState>(c: Checkpoint<P, S, O>): E.Either<CheckpointError, Uint8Array> =>
  pipe(
    toTensorFile(c),
    E.flatMap((f) => pipe(TensorFiles.encode(f.tensors, f.metadata), E.mapLeft(fromTensorFileError)))
  )

// decoding version 2

type Result<A> = E.Either<CheckpointError, A>

const isDigits = (s: string): boolean => /^(0|[1-9][0-9]*)$/.test(s)

const describeOutline = (v: Json): string => (typeof v === 'string' ? `the string ${clip(quoteAscii(v), 60)}` : describeJson(v))

interface Tensors {
  readonly byName: ReadonlyMap<string, Tensor>
  readonly used: Set<string>
}

/** The tree an outline describes, its tensors taken from the file by name. */
const fromOutline = (text: string, name: TreeName, numbers: boolean, tensors: Tensors): Result<OptState> => {
  // A tree nested MAX_DEPTH levels is MAX_DEPTH + 1 levels of JSON containers.
  const parsed = parseJson(text, MAX_DEPTH + 1)
  if (E.isLeft(parsed)) return E.left(checkpointError(`${name}: the outline in the metadata is not valid: ${parsed.left.reason} (character ${parsed.left.at})`, name))
  const path: Array<string | number> = []
  const fail = (message: string): Result<never> => {
    const at = where(name, path)
    return E.left(checkpointError(`${at}: ${message}`, at))
  }
  const what = numbers ? 'a tensor name, a number, a tuple or a record' : 'a tensor name, a tuple or a record'
  const build = (v: Json): Result<OptState> => {
    if (Array.isArray(v)) {
      const out: OptState[] = []
      for (let i = 0; i < v.length; i++) {
        path.push(i)
        const child = build(v[i] as Json)
        path.pop()
        if (E.isLeft(child)) return child
        out.push(child.right)
      }
      return E.right(out)
    }
    if (isJsonObject(v)) {
      const out: Record<string, unknown> = {}
      for (const [escaped, child] of v.entries) {
        const key = unescapeKey(escaped)
        if (key === undefined) return fail(`the record key ${quoteAscii(escaped)} has a U+0000 that is not followed by U+0000 or the hex digits of a lone surrogate`)
        path.push(key)
        const built = build(child)
        path.pop()
        if (E.isLeft(built)) return built
        put(out, key, built.right)
      }
      return E.right(out as OptState)
    }
    if (typeof v === 'number') return numbers ? E.right(v) : fail(`expected ${what}, found number ${v} (params and layer state hold tensors only)`)
    if (typeof v === 'string') {
      const special = specialNumber(v)
      if (special !== undefined) return numbers ? E.right(special) : fail(`expected ${what}, found ${describeOutline(v)} (params and layer state hold tensors only)`)
      const expected = pathName([name, ...path])
      if (v !== expected) return fail(`the outline names the tensor ${clip(quoteAscii(v), 60)}, but the tensor of this place is named ${quoteAscii(expected)}`)
      const tensor = tensors.byName.get(v)
      if (tensor === undefined) return fail(`no tensor named ${quoteAscii(v)} in the file`)
      tensors.used.add(v)
      return E.right(tensor)
    }
    return fail(`expected ${what}, found ${describeOutline(v)}`)
  }
  return build(parsed.right)
}

const entry = (metadata: Readonly<Record<string, string>>, key: (typeof ENTRIES)[number]): string => metadata[key] as string

const checkEntries = (metadata: Readonly<Record<string, string>>): Result<void> => {
  const format = metadata.format
  if (format !== FORMAT_TAG) {
    const hint = format === 'nn-ts params' ? ' (a parameters file: read it with readParams)' : ''
    const found = format === undefined ? 'no "format" entry in the metadata' : `format ${clip(quoteAscii(format), 60)}`
    return E.left(checkpointError(`not an nn-ts checkpoint: expected format "${FORMAT_TAG}", found ${found}${hint}`, 'format'))
  }
  const version = metadata.version
  if (version === undefined) return E.left(checkpointError(`missing metadata entry "version" (expected format version ${FORMAT_VERSION})`, 'version'))
  if (isDigits(version) && Number(version) > FORMAT_VERSION) {
    return E.left(checkpointError(`written by a newer nn-ts: format version ${version}, this reads versions 1 to ${FORMAT_VERSION}`, 'version'))
  }
  if (version !== String(FORMAT_VERSION)) {
    return E.left(checkpointError(`unsupported format version ${clip(quoteAscii(version), 40)} in a tensor file: expected "${FORMAT_VERSION}"`, 'version'))
  }
  const extra = Object.keys(metadata).find((k) => !(ENTRIES as ReadonlyArray<string>).includes(k))
  if (extra !== undefined) {
    return E.left(checkpointError(`unexpected metadata entry ${clip(quoteAscii(extra), 60)} (a version ${FORMAT_VERSION} checkpoint has exactly ${ENTRIES.join(', ')})`, extra))
  }
  const missing = ENTRIES.find((k) => metadata[k] === undefined)
  if (missing !== undefined) return E.left(checkpointError(`missing metadata entry "${missing}"`, missing))
  return E.right(undefined)
}

const decodeStep = (s: string): Result<number> =>
  isDigits(s) && Number.isSafeInteger(Number(s))
    ? E.right(Number(s))
    : E.left(checkpointError(`step: expected a non-negative integer, found ${clip(quoteAscii(s), 40)}`, 'step'))

const decodeRng = (s: string): Result<readonly [number, number]> => {
  const m = /^\[(0|[1-9][0-9]{0,9}),(0|[1-9][0-9]{0,9})\]$/.exec(s)
  const words = m === null ? undefined : ([Number(m[1]), Number(m[2])] as const)
  return words !== undefined && words.every(isWord)
    ? E.right(words)
    : E.left(checkpointError(`rng: expected the two words of a PRNG key, unsigned 32-bit integers written as [a,b], found ${clip(quoteAscii(s), 40)}`, 'rng'))
}

/**
 * The checkpoint in a tensor file's contents (format version 2), validating every metadata entry
 * (format tag, version, spec, step, PRNG key, the three outlines) and that every tensor belongs to
 * exactly the place its name says. The tensor file itself (layout, checksum) is validated by
 * `TensorFile.decode` or the file reader before. Never throws.
 * @category decoding
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const back = pipe(Checkpoint.toTensorFile(Checkpoint.make(Train.initialState(net, Optim.sgd(0.1), 7))), E.flatMap(Checkpoint.fromTensorFile))
 * if (E.isRight(back)) back.right.state.step // 0
 */
export const fromTensorFile = (f: TensorFile): E.Either<CheckpointError, Checkpoint> =>
  E.flatten(
    E.tryCatch(
      (): Result<Checkpoint> => {
        const { metadata } = f
        const checked = checkEntries(metadata)
        if (E.isLeft(checked)) return checked
        const tensors: Tensors = { byName: new Map(f.tensors), used: new Set() }
        return pipe(
          E.Do,
          E.bind('spec', () => decodeSpec(entry(metadata, 'spec'))),
          E.bind('step', () => decodeStep(entry(metadata, 'step'))),
          E.bind('rng', () => decodeRng(entry(metadata, 'rng'))),
          E.bind('params', () => fromOutline(entry(metadata, 'params'), 'params', false, tensors)),
          E.bind('layerState', () => fromOutline(entry(metadata, 'layerState'), 'layerState', false, tensors)),
          E.bind('optState', () => fromOutline(entry(metadata, 'optState'), 'optState', true, tensors)),
          E.filterOrElse(
            () => tensors.used.size === f.tensors.length,
            () => {
              const stray = f.tensors.find(([n]) => !tensors.used.has(n))?.[0] ?? ''
              return checkpointError(
                `tensor ${clip(quoteAscii(stray), 60)} is in the file but in none of the outlines (params, layerState, optState): ${f.tensors.length - tensors.used.size} tensor(s) belong to no place`,
                stray
              )
            }
          ),
          E.map(
            ({ spec, step, rng, params, layerState, optState }): Checkpoint => ({
              version: FORMAT_VERSION,
              spec,
              state: { params: params as Tree, layerState: layerState as Tree, optState, rng: { _tag: 'Key', words: [rng[0], rng[1]] }, step }
            })
          )
        )
      },
      (e) => checkpointError(`cannot decode the checkpoint: ${e instanceof Error ? e.message : String(e)}`)
    )
  )

// decoding either version

const isTextPrefix = (first: ArrayLike<number>): boolean => {
  for (let i = 0; i < Math.min(8, first.length); i++) if (first[i] === 0) return false
  return true
}

/**
 * Which format version a checkpoint file is, from its first 8 bytes (fewer if the file is shorter):
 * version 2 (a tensor file) starts with its header length as a little-endian 64-bit integer below
 * 100,000,000, so its bytes 4 to 7 are zero; version 1 is JSON text, which never holds a zero byte. So
 * a zero byte among the first 8 means version 2, and anything else is read as version 1 (an empty or
 * garbled file is then reported as not being JSON).
 * @category decoding
 * @since 0.2.0
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.versionOf(new TextEncoder().encode('{\n  "format": "nn-ts checkpoint"')) // 1
 * Checkpoint.versionOf(new Uint8Array([32, 123, 0, 0, 0, 0, 0, 0])) // 2: a header length of 31,520 bytes
 */
export const versionOf = (first: Uint8Array): Version => (isTextPrefix(first) ? 1 : FORMAT_VERSION)

/** The text of a version 1 file, or the message for one that holds nothing. */
const checkpointText = (text: string, byteLength: number): Result<string> => {
  // An editor may add a byte-order mark; it is not part of the JSON (nor of the checksum).
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  return json.trim() === '' ? E.left(checkpointError(`empty file (${byteLength} bytes): expected an nn-ts checkpoint`)) : E.right(json)
}

/**
 * Reads a checkpoint of either format version, validating everything, and never throws:
 *
 * - bytes of a version 2 file (see `versionOf`): the tensor file (layout, dtypes, shapes, offsets,
 *   checksum, see `TensorFile.decode`), then every metadata entry (`fromTensorFile`);
 * - bytes or text of a version 1 file (JSON): JSON, format tag, version, structure (every field, each
 *   tensor's dtype, shape and byte length), no repeated key, then the checksum.
 *
 * Each failure is a `CheckpointError` naming the place (`params[0].W`, `step`), what was expected and
 * what was found.
 * @category decoding
 * @since 0.1.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const bytes = Checkpoint.encode(Checkpoint.make(Train.initialState(net, Optim.sgd(0.1), 7)))
 * const back = pipe(bytes, E.flatMap(Checkpoint.decode))
 * if (E.isRight(back)) back.right.version // 2
 * const truncated = pipe(bytes, E.flatMap((b) => Checkpoint.decode(b.subarray(0, 100))))
 * if (E.isLeft(truncated)) truncated.left.message // 'bytes 0–7 say the header is … bytes long, but only 92 bytes follow them: the file is truncated or corrupted'
 */
export const decode = (input: Uint8Array | string): E.Either<CheckpointError, Checkpoint> => {
  if (typeof input === 'string') {
    if (!isTextPrefix(Array.from(input.slice(0, 8), (c) => c.charCodeAt(0)))) {
      return E.left(checkpointError('this text holds a zero character near its start, as a version 2 (binary) checkpoint does: decode its bytes (a Uint8Array), not text'))
    }
    return pipe(checkpointText(input, input.length), E.flatMap(decodeV1))
  }
  if (versionOf(input) === 1) return pipe(checkpointText(new TextDecoder().decode(input), input.length), E.flatMap(decodeV1))
  return pipe(TensorFiles.decode(input), E.mapLeft(fromTensorFileError), E.flatMap(fromTensorFile))
}

// restoring

/**
 * `found`, rebuilt in the order of `template`, if it has the template's structure, dtypes and shapes;
 * else the first place where they differ.
 */
const matchNode = (template: OptState, found: OptState, root: string): E.Either<CheckpointError, OptState> =>
  E.tryCatch(
    () => Trees.zipWith([template, found], ([, f]) => f as Tensor | number),
    (e) => {
      if (!(e instanceof Trees.TreeError)) throw e
      const path = Trees.showPath([root, ...e.path])
      return checkpointError(`${path}: expected ${e.expected}, found ${e.found}`, path)
    }
  )

const forOtherNetwork = (e: CheckpointError): CheckpointError =>
  checkpointError(`${e.message} (the checkpoint was saved from a different network or optimizer)`, e.path)

/**
 * The checkpoint's state typed as `template`'s, after checking it has exactly the template's tree
 * structure, dtypes and shapes in params, layer state and optimizer state. The template is the fresh
 * state of the network and optimizer to resume (`Train.initialState(network, optimizer, seed)`); only
 * its structure is used, every value (and the PRNG key and step) comes from the checkpoint. To load
 * params into a network trained with another optimizer, save and restore params alone
 * (`encodeParams`, `restoreParams`).
 * @category decoding
 * @since 0.1.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const opt = Optim.adam(1e-3)
 * const saved = pipe(Checkpoint.encode(Checkpoint.make(Train.initialState(net, opt, 7))), E.flatMap(Checkpoint.decode))
 * const resumed = pipe(saved, E.flatMap((c) => Checkpoint.restore(Train.initialState(net, opt, 0), c)))
 * const other = Layers.sequential(Layers.dense(2, 4), Layers.relu(), Layers.dense(4, 2))
 * const refused = pipe(saved, E.flatMap((c) => Checkpoint.restore(Train.initialState(other, opt, 0), c)))
 * if (E.isLeft(refused)) refused.left.message // 'params[0].W: expected float32 [2, 4], found float32 [2, 3] (the checkpoint was saved from a different network or optimizer)'
 */
export const restore = <P extends Tree, S extends Tree, O extends OptState>(
  template: TrainState<P, S, O>,
  c: Checkpoint
): E.Either<CheckpointError, TrainState<P, S, O>> =>
  pipe(
    E.Do,
    E.bind('params', () => matchNode(template.params, c.state.params, 'params')),
    E.bind('layerState', () => matchNode(template.layerState, c.state.layerState, 'layerState')),
    E.bind('optState', () => matchNode(template.optState, c.state.optState, 'optState')),
    E.mapLeft(forOtherNetwork),
    // Checked leaf by leaf above: the values have the template's types.
    E.map(({ params, layerState, optState }) => ({ params: params as P, layerState: layerState as S, optState: optState as O, rng: c.state.rng, step: c.state.step }))
  )
