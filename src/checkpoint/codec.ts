/**
 * Checkpoints as values: `encode` to JSON text, `decode` with full validation, `restore` against the
 * state of the network that resumes. The file layout is documented in `index.ts` (and docs/api.md).
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { fromBase64, toBase64 } from '../io/base64.ts'
import type { OptState } from '../optim/Transform.ts'
import type { Key } from '../random/Key.ts'
import { type DType, type Tensor, alloc, fromData, showShape, sizeOf } from '../tensor/Tensor.ts'
import type { TrainState } from '../train/step.ts'
import { sha256Hex } from '../tensorfile/sha256.ts'
import { type Path, type Tree, TreeError, isTensor, map as mapTree, showPath, zipWith } from '../tree/Tree.ts'

// model

/**
 * The format version this nn-ts writes and reads. A file with a higher version was written by a newer
 * nn-ts and is refused with a message saying so.
 * @category model
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.FORMAT_VERSION // 1
 */
export const FORMAT_VERSION = 1 as const

/**
 * The `format` field of every checkpoint file: what tells a checkpoint from any other JSON.
 * @category model
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.FORMAT_TAG // 'nn-ts checkpoint'
 */
export const FORMAT_TAG = 'nn-ts checkpoint' as const

/**
 * A training state with the spec of the network it was trained from.
 * @category model
 * @example
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const c: Checkpoint.Checkpoint = { version: 1, spec: { hidden: 3 }, state: Train.initialState(net, Optim.adam(1e-3), 0) }
 */
export interface Checkpoint<P extends Tree = Tree, S extends Tree = Tree, O extends OptState = OptState> {
  readonly version: typeof FORMAT_VERSION
  /** Any JSON value: the network spec the state was trained from, or `null`. */
  readonly spec: unknown
  readonly state: TrainState<P, S, O>
}

/**
 * Why a checkpoint could not be written, read, decoded or restored. `message` is a complete sentence
 * to print as is: it names the file (when there is one), the place inside it, what was expected and
 * what was found.
 * @category model
 * @example
 * import { Checkpoint } from 'nn-ts'
 * const e: Checkpoint.CheckpointError = Checkpoint.checkpointError('step: expected a non-negative integer, found -1', 'step')
 */
export interface CheckpointError {
  readonly _tag: 'CheckpointError'
  /** Where inside the checkpoint, as a JSON/tree path (`params[2].W.data`, `optState[0].count`). */
  readonly path?: string
  /** The file, for errors of `read` and `write`. */
  readonly file?: string
  readonly message: string
}

/**
 * A `CheckpointError` with `message` as is.
 * @category constructors
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.checkpointError('empty file').message // 'empty file'
 */
export const checkpointError = (message: string, path?: string): CheckpointError =>
  path === undefined ? { _tag: 'CheckpointError', message } : { _tag: 'CheckpointError', path, message }

/**
 * A checkpoint of `state`, with the spec it was trained from (`null` if none).
 * @category constructors
 * @example
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const c = Checkpoint.make(Train.initialState(net, Optim.adam(1e-3), 0), { layers: [2, 3, 2] })
 */
export const make = <P extends Tree, S extends Tree, O extends OptState>(state: TrainState<P, S, O>, spec: unknown = null): Checkpoint<P, S, O> => ({
  version: FORMAT_VERSION,
  spec,
  state
})

// JSON values and paths

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const clip = (s: string, n = 40): string => (s.length <= n ? s : `${s.slice(0, n)}…`)

/** A short description of a JSON value for "found …" (never the whole of a large value). */
const describe = (u: unknown): string => {
  if (u === undefined) return 'nothing'
  if (u === null) return 'null'
  if (Array.isArray(u)) return `an array of ${u.length}`
  if (typeof u === 'object') return `an object {${clip(Object.keys(u).join(', '))}}`
  if (typeof u === 'string') return `the string ${clip(JSON.stringify(u))}`
  return `${typeof u} ${String(u)}`
}

// plain numbers

/** JSON cannot hold these four, so they are written as strings. */
const encodeNumber = (x: number): Json => (Object.is(x, -0) ? '-0' : Number.isFinite(x) ? x : String(x))

const specialNumber = (s: string): number | undefined =>
  s === '-0' ? -0 : s === 'NaN' ? Number.NaN : s === 'Infinity' ? Number.POSITIVE_INFINITY : s === '-Infinity' ? Number.NEGATIVE_INFINITY : undefined

// tensor bytes

const BYTES: Readonly<Record<DType, number>> = { float32: 4, float64: 8 }

/** The host's byte order: typed arrays use it, the format is little-endian. */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const littleEndianBytes = (x: Tensor): Uint8Array => {
  // On a little-endian host the typed array's memory is the format: copy the bytes, convert nothing.
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength)
  const out = new Uint8Array(x.data.byteLength)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  x.data.forEach((v, i) => (x.dtype === 'float32' ? view.setFloat32(i * 4, v, true) : view.setFloat64(i * 8, v, true)))
  return out
}

const tensorFromBytes = (shape: ReadonlyArray<number>, dtype: DType, bytes: Uint8Array): Tensor => {
  const n = bytes.length / BYTES[dtype]
  const data = alloc(dtype, n)
  if (LITTLE_ENDIAN_HOST) new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes)
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    for (let i = 0; i < n; i++) data[i] = dtype === 'float32' ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true)
  }
  return fromData(shape, data)
}

// encoding

const encodeTensor = (x: Tensor): Json => ({ dtype: x.dtype, shape: [...x.shape], data: toBase64(littleEndianBytes(x)) })

const encodeTree = (node: OptState): Json => mapTree(node, (leaf) => (isTensor(leaf) ? encodeTensor(leaf) : encodeNumber(leaf))) as Json

/** JSON with no whitespace and sorted object keys: what the checksum is computed over. */
const canonical = (v: unknown): string => {
  if (v === null || typeof v !== 'object') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  const rec = v as { readonly [key: string]: unknown }
  return `{${Object.keys(rec)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(rec[k])}`)
    .join(',')}}`
}

const checksumOf = (body: unknown): string => `sha256:${sha256Hex(new TextEncoder().encode(canonical(body)))}`

/**
 * Whether a JSON object is a tensor: its `dtype` is a string other than the four number escapes. A
 * record's field is a number, an escape string, an array or an object, so a record whose field is
 * named `dtype` is never mistaken for a tensor, and a tensor with a bad dtype is still read as one
 * (and reported as such).
 */
const isTensorJson = (v: unknown): boolean => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const dtype = (v as { readonly dtype?: unknown }).dtype
  return typeof dtype === 'string' && specialNumber(dtype) === undefined
}

const holdsTensor = (v: Json): boolean =>
  v !== null && typeof v === 'object' && (isTensorJson(v) || (Array.isArray(v) ? v : Object.values(v)).some(holdsTensor))

/**
 * Indented JSON for people, except that a tensor and any small value stay on one line, so a file
 * reads as a list of fields and tensors rather than thousands of lines.
 */
const render = (v: Json, indent: string): string => {
  if (v === null || typeof v !== 'object' || isTensorJson(v)) return JSON.stringify(v)
  // Only a value without tensors may fit on a line: no need to stringify the tensors to find out.
  if (!holdsTensor(v)) {
    const flat = JSON.stringify(v)
    if (flat.length <= 72) return flat
  }
  const inner = `${indent}  `
  if (Array.isArray(v)) return `[\n${v.map((x) => inner + render(x, inner)).join(',\n')}\n${indent}]`
  const rec = v as { readonly [key: string]: Json }
  return `{\n${Object.keys(rec)
    .map((k) => `${inner}${JSON.stringify(k)}: ${render(rec[k] as Json, inner)}`)
    .join(',\n')}\n${indent}}`
}

/** The spec as the JSON value it will read back as. */
const specJson = (spec: unknown): Json => {
  const text = JSON.stringify(spec ?? null)
  if (text === undefined) throw new TypeError(`Checkpoint.encode: the spec is not a JSON value (found ${typeof spec})`)
  return JSON.parse(text) as Json
}

/**
 * The checkpoint as JSON text (layout in the module documentation), checksum included.
 *
 * The spec is stored as `JSON.stringify` writes it; a spec that is not JSON at all (a cycle, a
 * BigInt, a function) is a programming error and throws a `TypeError` here — `write` returns it as a
 * `CheckpointError` instead.
 * @category encoding
 * @example
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const text = Checkpoint.encode(Checkpoint.make(Train.initialState(net, Optim.sgd(0.1), 7)))
 * JSON.parse(text).format // 'nn-ts checkpoint'
 */
export const encode = <P extends Tree, S extends Tree, O extends OptState>(c: Checkpoint<P, S, O>): string => {
  const body: { readonly [key: string]: Json } = {
    format: FORMAT_TAG,
    version: FORMAT_VERSION,
    spec: specJson(c.spec),
    step: c.state.step,
    rng: [...c.state.rng.words],
    params: encodeTree(c.state.params),
    layerState: encodeTree(c.state.layerState),
    optState: encodeTree(c.state.optState)
  }
  return `${render({ ...body, checksum: checksumOf(body) }, '')}\n`
}

// decoding

interface TreeFailure {
  readonly at: Path
  readonly message: string
}

const fail = (at: Path, message: string): E.Either<TreeFailure, never> => E.left({ at, message })

const TENSOR_FIELDS = ['dtype', 'shape', 'data'] as const

/**
 * How deep a tree or a spec may nest. JSON.parse accepts any depth, but walking a crafted file nested
 * a million levels deep would overflow the stack, and a real state or spec is a few levels deep.
 */
const MAX_DEPTH = 100

/** Whether a JSON value nests deeper than `limit` (recursing at most `limit` levels). */
const deeperThan = (u: unknown, limit: number): boolean =>
  typeof u === 'object' && u !== null && (limit === 0 || Object.values(u).some((v) => deeperThan(v, limit - 1)))

const isDim = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0

const decodeTensor = (u: { readonly [key: string]: unknown }, at: Path): E.Either<TreeFailure, Tensor> => {
  const extra = Object.keys(u).find((k) => !(TENSOR_FIELDS as ReadonlyArray<string>).includes(k))
  if (extra !== undefined) return fail([...at, extra], `unexpected field in a tensor (a tensor has exactly dtype, shape and data)`)
  const { dtype, shape, data } = u
  if (dtype !== 'float32' && dtype !== 'float64') return fail([...at, 'dtype'], `expected "float32" or "float64", found ${describe(dtype)}`)
  if (!Array.isArray(shape) || !shape.every(isDim)) {
    return fail([...at, 'shape'], `expected an array of non-negative integers, found ${shape === undefined ? 'nothing (the field is missing)' : clip(JSON.stringify(shape))}`)
  }
  if (typeof data !== 'string') return fail([...at, 'data'], `expected a base64 string, found ${describe(data)}`)
  const bytes = fromBase64(data)
  if (bytes === undefined) return fail([...at, 'data'], `not valid base64 (expected standard base64 with padding, found ${describe(data)})`)
  const n = sizeOf(shape)
  const width = BYTES[dtype]
  if (bytes.length !== n * width) {
    const found = bytes.length % width === 0 ? `${bytes.length / width} values (${bytes.length} bytes)` : `${bytes.length} bytes`
    return fail([...at, 'data'], `expected ${n} ${dtype} values (${n * width} bytes) for shape ${showShape(shape)}, found ${found}`)
  }
  return E.right(tensorFromBytes(shape, dtype, bytes))
}

/**
 * A leaf from JSON: a tensor, or (where `numbers`) a number or a number escape; anything else is a
 * failure at its path.
 */
const decodeLeaf = (u: unknown, at: Path, numbers: boolean): E.Either<TreeFailure, Tensor | number> => {
  const what = numbers ? 'a tensor, a number, a tuple or a record' : 'a tensor, a tuple or a record'
  if (typeof u === 'number') return numbers ? E.right(u) : fail(at, `expected ${what}, found number ${u} (params and layer state hold tensors only)`)
  if (typeof u === 'string') {
    const special = numbers ? specialNumber(u) : undefined
    return special !== undefined ? E.right(special) : fail(at, `expected ${what}, found ${describe(u)}`)
  }
  if (isTensorJson(u)) return decodeTensor(u as { readonly [key: string]: unknown }, at)
  return fail(at, `expected ${what}, found ${describe(u)}`)
}

/** In JSON read as a tree, every value but an array or a non-tensor object is a leaf (for `decodeLeaf` to judge). */
const isJsonLeaf = (u: unknown): boolean => !Array.isArray(u) && (typeof u !== 'object' || u === null || isTensorJson(u))

/**
 * A tree from JSON. `numbers` says whether plain numbers may appear (optimizer states) or not
 * (params and layer states hold tensors only). The first failure in `Tree.leaves` order is reported.
 */
const decodeNode = (u: unknown, numbers: boolean): E.Either<TreeFailure, OptState> => {
  let failure: TreeFailure | undefined
  try {
    const tree = mapTree(
      u,
      (leaf, at) => {
        if (failure !== undefined) return 0
        const r = decodeLeaf(leaf, at, numbers)
        if (E.isLeft(r)) failure = r.left
        return E.isLeft(r) ? 0 : r.right
      },
      { isLeaf: isJsonLeaf, maxDepth: MAX_DEPTH }
    )
    return failure === undefined ? E.right(tree) : E.left(failure)
  } catch (e) {
    if (!(e instanceof TreeError)) throw e
    return fail(e.path, e.problem === 'tooDeep' ? `nested deeper than ${MAX_DEPTH} levels (the state of a network is a few levels deep)` : `expected a tree, found ${e.found}`)
  }
}

/** The type of the io-ts context entries that are tuple indices inside a state tree (io-ts keys are strings). */
const TreeIndex = new t.Type<number, number, unknown>('a tuple index', (u): u is number => typeof u === 'number', (u, c) => t.failure(u, c), (a) => a)

/** The path of an io-ts context; a key under a tuple or array, or of a tree index, is an index. */
const contextPath = (c: t.Context): string =>
  showPath(
    c.slice(1).map((entry, i) => {
      const parent = c[i]?.type
      return parent instanceof t.TupleType || parent instanceof t.ArrayType || entry.type === TreeIndex ? Number(entry.key) : entry.key
    })
  )

/** An io-ts type for a state tree; failures carry the full path inside the tree as extra context. */
const treeType = <A extends OptState>(name: string, numbers: boolean): t.Type<A, unknown, unknown> =>
  new t.Type<A, unknown, unknown>(
    name,
    (u): u is A => E.isRight(decodeNode(u, numbers)),
    (u, c) =>
      // A missing field is reported by `report` as such, not as a bad tree.
      u === undefined ? t.failure<A>(u, c) : pipe(
        decodeNode(u, numbers),
        E.fold(
          (f) => t.failure<A>(u, [...c, ...f.at.map((key) => ({ key: String(key), type: typeof key === 'number' ? TreeIndex : t.unknown, actual: undefined }))], f.message),
          (v) => t.success(v as A)
        )
      ),
    (a) => encodeTree(a)
  )

const refined = <A>(name: string, guard: (u: unknown) => u is A): t.Type<A, unknown, unknown> =>
  new t.Type<A, unknown, unknown>(name, guard, (u, c) => (guard(u) ? t.success(u) : t.failure(u, c)), (a) => a)

const StepCodec = refined('a non-negative integer', (u): u is number => isDim(u))
const Word = refined('an unsigned 32-bit integer', (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 0 && u <= 0xffffffff)
const ChecksumCodec = refined('"sha256:" and 64 lowercase hex digits', (u): u is string => typeof u === 'string' && /^sha256:[0-9a-f]{64}$/.test(u))
const Present = refined(`any JSON value nested at most ${MAX_DEPTH} levels (null when there is no spec)`, (u): u is unknown => u !== undefined && !deeperThan(u, MAX_DEPTH))

/** The fields of a version 1 file after its header, as io-ts decodes them. */
const BodyCodec = t.type({
  spec: Present,
  step: StepCodec,
  rng: t.tuple([Word, Word], 'the two words of a PRNG key'),
  params: treeType<Tree>('a tree of tensors', false),
  layerState: treeType<Tree>('a tree of tensors', false),
  optState: treeType<OptState>('a tree of tensors and numbers', true),
  checksum: ChecksumCodec
})

const FIELDS = ['format', 'version', 'spec', 'step', 'rng', 'params', 'layerState', 'optState', 'checksum'] as const

/** The first io-ts error as one sentence: the path, what was expected, what was found. */
const report = (errors: t.Errors): CheckpointError => {
  const first = errors[0]
  if (first === undefined) return checkpointError('invalid checkpoint')
  const path = contextPath(first.context)
  if (first.message !== undefined) return checkpointError(`${path}: ${first.message}`, path)
  const last = first.context[first.context.length - 1]
  const expected = last?.type.name ?? 'a value'
  if (first.value === undefined) return checkpointError(`missing field ${path} (expected ${expected})`, path)
  return checkpointError(`${path}: expected ${expected}, found ${describe(first.value)}`, path)
}

const parseJson = (text: string): E.Either<CheckpointError, unknown> => {
  if (text.trim() === '') return E.left(checkpointError(`empty file (${text.length} bytes): expected an nn-ts checkpoint (JSON)`))
  // An editor may add a byte-order mark; it is not part of the JSON (nor of the checksum).
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  return E.tryCatch(
    () => JSON.parse(json) as unknown,
    (e) => checkpointError(`not valid JSON (${e instanceof Error ? e.message : String(e)}): the file is truncated, corrupted or not a checkpoint`)
  )
}

const checkHeader = (u: unknown): E.Either<CheckpointError, { readonly [key: string]: unknown }> => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) {
    return E.left(checkpointError(`not an nn-ts checkpoint: expected a JSON object with format "${FORMAT_TAG}", found ${describe(u)}`))
  }
  const doc = u as { readonly [key: string]: unknown }
  if (doc.format !== FORMAT_TAG) {
    const found = doc.format === undefined ? 'no format field' : `format ${clip(JSON.stringify(doc.format))}`
    return E.left(checkpointError(`not an nn-ts checkpoint: expected format "${FORMAT_TAG}", found ${found}`, 'format'))
  }
  const v = doc.version
  if (v === undefined) return E.left(checkpointError(`missing field version (expected format version ${FORMAT_VERSION})`, 'version'))
  if (typeof v === 'number' && Number.isInteger(v) && v > FORMAT_VERSION) {
    return E.left(checkpointError(`written by a newer nn-ts: format version ${v}, this reads ${FORMAT_VERSION}`, 'version'))
  }
  if (v !== FORMAT_VERSION) return E.left(checkpointError(`unsupported format version ${clip(JSON.stringify(v))}: this nn-ts reads format version ${FORMAT_VERSION}`, 'version'))
  const extra = Object.keys(doc).find((k) => !(FIELDS as ReadonlyArray<string>).includes(k))
  if (extra !== undefined) {
    return E.left(checkpointError(`unexpected field ${extra} (a version ${FORMAT_VERSION} checkpoint has exactly ${FIELDS.join(', ')})`, extra))
  }
  return E.right(doc)
}

const verifyChecksum = (doc: { readonly [key: string]: unknown }, stored: string): E.Either<CheckpointError, void> => {
  const body = Object.fromEntries(Object.entries(doc).filter(([k]) => k !== 'checksum'))
  const computed = checksumOf(body)
  return computed === stored
    ? E.right(undefined)
    : E.left(checkpointError(`checksum mismatch: the file was edited or corrupted (stored ${clip(stored, 23)}, computed ${clip(computed, 23)})`, 'checksum'))
}

const toKey = (words: readonly [number, number]): Key => ({ _tag: 'Key', words: [words[0], words[1]] })

const decodeText = (text: string): E.Either<CheckpointError, Checkpoint> =>
  pipe(
    parseJson(text),
    E.chain(checkHeader),
    E.chain((doc) =>
      pipe(
        BodyCodec.decode(doc),
        E.mapLeft(report),
        E.chainFirst((body) => verifyChecksum(doc, body.checksum))
      )
    ),
    E.map(
      (body): Checkpoint => ({
        version: FORMAT_VERSION,
        spec: body.spec,
        state: { params: body.params, layerState: body.layerState, optState: body.optState, rng: toKey(body.rng), step: body.step }
      })
    )
  )

/**
 * Reads checkpoint text, validating everything: JSON, format tag, version, structure (io-ts), each
 * tensor's dtype, shape and byte length, and the checksum. Never throws.
 * @category decoding
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const text = Checkpoint.encode(Checkpoint.make(Train.initialState(net, Optim.sgd(0.1), 7)))
 * E.isRight(Checkpoint.decode(text)) // true
 * Checkpoint.decode(text.slice(0, 100)) // Left: not valid JSON (…): the file is truncated, corrupted or not a checkpoint
 */
export const decode = (text: string): E.Either<CheckpointError, Checkpoint> =>
  // Every check above returns a value; this still turns a throw nobody foresaw into an error value,
  // because no input, however crafted, may make decoding throw.
  E.flatten(E.tryCatch(() => decodeText(text), (e) => checkpointError(`cannot decode the checkpoint: ${e instanceof Error ? e.message : String(e)}`)))

// restoring

/**
 * `found`, rebuilt in the order of `template`, if it has the template's structure, dtypes and shapes;
 * else the first place where they differ.
 */
const matchNode = (template: OptState, found: OptState, root: string): E.Either<CheckpointError, OptState> =>
  E.tryCatch(
    () => zipWith([template, found], ([, f]) => f as Tensor | number),
    (e) => {
      if (!(e instanceof TreeError)) throw e
      const path = showPath([root, ...e.path])
      return checkpointError(`${path}: expected ${e.expected}, found ${e.found}`, path)
    }
  )

const forOtherNetwork = (e: CheckpointError): CheckpointError =>
  checkpointError(`${e.message} (the checkpoint was saved from a different network or optimizer)`, e.path)

/**
 * The checkpoint's state typed as `template`'s, after checking it has exactly the template's tree
 * structure, dtypes and shapes in params, layer state and optimizer state. The template is the fresh
 * state of the network and optimizer to resume (`Train.initialState(network, optimizer, seed)`); only
 * its structure is used, every value (and the PRNG key and step) comes from the checkpoint.
 * @category decoding
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const opt = Optim.adam(1e-3)
 * const saved = Checkpoint.encode(Checkpoint.make(Train.initialState(net, opt, 7)))
 * const resumed = pipe(Checkpoint.decode(saved), E.flatMap((c) => Checkpoint.restore(Train.initialState(net, opt, 0), c)))
 * const other = Layers.sequential(Layers.dense(2, 4), Layers.relu(), Layers.dense(4, 2))
 * pipe(Checkpoint.decode(saved), E.flatMap((c) => Checkpoint.restore(Train.initialState(other, opt, 0), c)))
 * // Left: params[0].W: expected float32 [2, 4], found float32 [2, 3] (…)
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
