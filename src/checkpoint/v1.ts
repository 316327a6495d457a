/**
 * Checkpoint format version 1: one JSON document with base64 tensors and a SHA-256 over a canonical
 * form (nn-ts 0.1). nn-ts writes version 2 now; version 1 files stay readable through
 * `Checkpoint.decode` and `readCheckpoint`, which call `decodeV1` for them. The layout is documented
 * in `index.ts`. `encodeV1` stays so the reader keeps a round-trip law over arbitrary states.
 *
 * @since 0.2.0
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { fromBase64, toBase64 } from '../io/base64.ts'
import type { OptState } from '../optim/Transform.ts'
import type { Key } from '../random/Key.ts'
import { type DType, type Tensor, showShape, sizeOf } from '../tensor/Tensor.ts'
import { parseJson as parseStrictJson } from '../tensorfile/json.ts'
import { littleEndianBytes, tensorFromBytes } from '../tensorfile/safetensors.ts'
import { sha256Hex } from '../tensorfile/sha256.ts'
import * as Trees from '../tree/Tree.ts'
import { type Tree, isTensor } from '../tree/Tree.ts'
import { type Checkpoint, type CheckpointError, FORMAT_TAG, MAX_DEPTH, checkpointError, clip, encodeNumber, specialNumber } from './model.ts'

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const VERSION = 1

/** A short description of a JSON value for "found …" (never the whole of a large value). */
const describe = (u: unknown): string => {
  if (u === undefined) return 'nothing'
  if (u === null) return 'null'
  if (Array.isArray(u)) return `an array of ${u.length}`
  if (typeof u === 'object') return `an object {${clip(Object.keys(u).join(', '))}}`
  if (typeof u === 'string') return `the string ${clip(JSON.stringify(u))}`
  return `${typeof u} ${String(u)}`
}

const BYTES: Readonly<Record<DType, number>> = { float32: 4, float64: 8 }

// encoding (kept for the round-trip law and for making fixtures)

const encodeTensor = (x: Tensor): Json => ({ dtype: x.dtype, shape: [...x.shape], data: toBase64(littleEndianBytes(x)) })

const encodeTree = (node: OptState): Json => Trees.map(node, (leaf) => (isTensor(leaf) ? encodeTensor(leaf) : encodeNumber(leaf))) as Json

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

/** Indented JSON for people, except that a tensor and any small value stay on one line. */
const render = (v: Json, indent: string): string => {
  if (v === null || typeof v !== 'object' || isTensorJson(v)) return JSON.stringify(v)
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

/**
 * The checkpoint as version 1 JSON text, as nn-ts 0.1 wrote it. Throws a `TypeError` for a spec
 * that is not JSON. Not part of the public API: nn-ts writes version 2.
 * @internal
 */
export const encodeV1 = <P extends Tree, S extends Tree, O extends OptState>(c: Checkpoint<P, S, O>): string => {
  const specText = JSON.stringify(c.spec ?? null)
  if (specText === undefined) throw new TypeError(`Checkpoint.encodeV1: the spec is not a JSON value (found ${typeof c.spec})`)
  const body: { readonly [key: string]: Json } = {
    format: FORMAT_TAG,
    version: VERSION,
    spec: JSON.parse(specText) as Json,
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
  readonly at: Trees.Path
  readonly message: string
}

const fail = (at: Trees.Path, message: string): E.Either<TreeFailure, never> => E.left({ at, message })

const TENSOR_FIELDS = ['dtype', 'shape', 'data'] as const

/** Whether a JSON value nests deeper than `limit` (recursing at most `limit` levels). */
const deeperThan = (u: unknown, limit: number): boolean =>
  typeof u === 'object' && u !== null && (limit === 0 || Object.values(u).some((v) => deeperThan(v, limit - 1)))

const isDim = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0

const decodeTensor = (u: { readonly [key: string]: unknown }, at: Trees.Path): E.Either<TreeFailure, Tensor> => {
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
  return E.right(tensorFromBytes({ name: '', dtype, shape, begin: 0, end: bytes.length }, bytes))
}

/** A leaf from JSON: a tensor, or (where `numbers`) a number or a number escape. */
const decodeLeaf = (u: unknown, at: Trees.Path, numbers: boolean): E.Either<TreeFailure, Tensor | number> => {
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

/** A tree from JSON; the first failure in `Tree.leaves` order is reported. */
const decodeNode = (u: unknown, numbers: boolean): E.Either<TreeFailure, OptState> => {
  let failure: TreeFailure | undefined
  try {
    const tree = Trees.map(
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
    if (!(e instanceof Trees.TreeError)) throw e
    return fail(e.path, e.problem === 'tooDeep' ? `nested deeper than ${MAX_DEPTH} levels (the state of a network is a few levels deep)` : `expected a tree, found ${e.found}`)
  }
}

/** The type of the io-ts context entries that are tuple indices inside a state tree (io-ts keys are strings). */
const TreeIndex = new t.Type<number, number, unknown>('a tuple index', (u): u is number => typeof u === 'number', (u, c) => t.failure(u, c), (a) => a)

/** The path of an io-ts context; a key under a tuple or array, or of a tree index, is an index. */
const contextPath = (c: t.Context): string =>
  Trees.showPath(
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
      u === undefined
        ? t.failure<A>(u, c)
        : pipe(
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

const parseJson = (json: string): E.Either<CheckpointError, unknown> =>
  E.tryCatch(
    () => JSON.parse(json) as unknown,
    (e) => checkpointError(`not valid JSON (${e instanceof Error ? e.message : String(e)}): the file is truncated, corrupted or not a checkpoint`)
  )

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
  if (v === undefined) return E.left(checkpointError(`missing field version (expected format version ${VERSION})`, 'version'))
  if (typeof v === 'number' && Number.isInteger(v) && v > VERSION) {
    // A JSON checkpoint claiming a later version: version 2 and later are tensor files, never JSON.
    return E.left(checkpointError(`unsupported format version ${v} in a JSON checkpoint: JSON checkpoints are version ${VERSION}; later versions are tensor files`, 'version'))
  }
  if (v !== VERSION) return E.left(checkpointError(`unsupported format version ${clip(JSON.stringify(v))}: a JSON checkpoint has format version ${VERSION}`, 'version'))
  const extra = Object.keys(doc).find((k) => !(FIELDS as ReadonlyArray<string>).includes(k))
  if (extra !== undefined) {
    return E.left(checkpointError(`unexpected field ${extra} (a version ${VERSION} checkpoint has exactly ${FIELDS.join(', ')})`, extra))
  }
  return E.right(doc)
}

/**
 * `JSON.parse` keeps the last of two equal keys, and the checksum is over what it keeps, so a file with
 * a repeated key would pass while meaning two things to two readers. Runs after the structure is known
 * to be shallow (the strict parser recurses).
 */
const refuseDuplicateKeys = (json: string): E.Either<CheckpointError, void> => {
  const strict = parseStrictJson(json, MAX_DEPTH + 3)
  return E.isRight(strict) ? E.right(undefined) : E.left(checkpointError(`character ${strict.left.at}: ${strict.left.reason}`))
}

const verifyChecksum = (doc: { readonly [key: string]: unknown }, stored: string): E.Either<CheckpointError, void> => {
  const body = Object.fromEntries(Object.entries(doc).filter(([k]) => k !== 'checksum'))
  const computed = checksumOf(body)
  return computed === stored
    ? E.right(undefined)
    : E.left(checkpointError(`checksum mismatch: the file was edited or corrupted (stored ${clip(stored, 23)}, computed ${clip(computed, 23)})`, 'checksum'))
}

const toKey = (words: readonly [number, number]): Key => ({ _tag: 'Key', words: [words[0], words[1]] })

/**
 * Reads version 1 checkpoint text (after any byte-order mark), validating everything: JSON, format
 * tag, version, structure (io-ts: every field; each tensor's dtype, shape and byte length), no
 * repeated key, then the checksum. Never throws.
 * @internal
 */
export const decodeV1 = (text: string): E.Either<CheckpointError, Checkpoint> =>
  E.flatten(
    E.tryCatch(
      () =>
        pipe(
          parseJson(text),
          E.chain(checkHeader),
          E.chain((doc) =>
            pipe(
              BodyCodec.decode(doc),
              E.mapLeft(report),
              E.chainFirst(() => refuseDuplicateKeys(text)),
              E.chainFirst((body) => verifyChecksum(doc, body.checksum))
            )
          ),
          E.map(
            (body): Checkpoint => ({
              version: VERSION,
              spec: body.spec,
              state: { params: body.params, layerState: body.layerState, optState: body.optState, rng: toKey(body.rng), step: body.step }
            })
          )
        ),
      (e) => checkpointError(`cannot decode the checkpoint: ${e instanceof Error ? e.message : String(e)}`)
    )
  )
