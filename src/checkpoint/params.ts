/**
 * Parameters alone, in a safetensors file: no optimizer state, no layer state, no step, so the file
 * loads into any network with the same parameter structure, whatever optimizer trains it next, and
 * other tools read it (and write files nn-ts reads, through a name mapping).
 *
 * An nn-ts parameters file is a tensor file (`TensorFile`) whose tensors are the params' leaves,
 * named by their tree paths (`Checkpoint.pathName`: `[0].W`, `[0].b`, `[3].W`, …) and held as nn-ts
 * holds them, and whose metadata is `format = "nn-ts params"`, `version = "1"` and `spec` (the
 * network spec as JSON text, `null` when none), plus the tensor file's checksum.
 *
 * **PyTorch.** A dense layer computes `y = x W + b` with `W: [in, out]`; `torch.nn.Linear` computes
 * `y = x Aᵀ + b` with `weight A: [out, in]`. So `W` is the transpose of `weight`, and `b` is `bias`.
 * `torchLinearMapping(template)` maps a `state_dict`'s `<i>.weight` (transposed) and `<i>.bias` onto
 * the `W` and `b` of every dense layer at path `i` (`0.weight` → `[0].W` for
 * `nn.Sequential(nn.Linear(784, 40), nn.ReLU(), nn.Linear(40, 10))` against
 * `sequential(dense(784, 40), relu(), dense(40, 10))`, whose activation layers hold no params on
 * either side, so the indices agree). Other layers are mapped by hand with `NameMapping` entries.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { type Tensor, fromData, gatherRows, showShape } from '../tensor/Tensor.ts'
import * as TensorFiles from '../tensorfile/safetensors.ts'
import type { DecodeOptions, TensorFile } from '../tensorfile/safetensors.ts'
import * as Trees from '../tree/Tree.ts'
import type { Path, Tree } from '../tree/Tree.ts'
import { type CheckpointError, FORMAT_TAG, MAX_DEPTH, checkpointError, clip, fromTensorFileError } from './model.ts'
import { parsePathName, pathName, quoteAscii } from './names.ts'
import { decodeSpec, specText } from './specJson.ts'

// model

/**
 * The `format` metadata entry of an nn-ts parameters file.
 * @category model
 * @since 0.2.0
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.PARAMS_FORMAT_TAG // 'nn-ts params'
 */
export const PARAMS_FORMAT_TAG = 'nn-ts params' as const

/**
 * The version of the parameters file format this nn-ts writes and reads.
 * @category model
 * @since 0.2.0
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.PARAMS_FORMAT_VERSION // 1
 */
export const PARAMS_FORMAT_VERSION = 1 as const

/**
 * A parameters file as read: its named tensors in file order, the spec nn-ts stored with them
 * (`null` if none; always `null` in files of other tools) and the tensor file's metadata (nn-ts's
 * entries, or whatever the other tool wrote). Turn it into params with `restoreParams`.
 * @category model
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint, Tensor } from 'nn-ts'
 * const f: Checkpoint.ParamsFile = { tensors: [['[0].W', Tensor.zeros([2, 3])], ['[0].b', Tensor.zeros([3])]], spec: null, metadata: {} }
 * const read = E.flatMap((bytes: Uint8Array) => Checkpoint.decodeParams(bytes))(Checkpoint.encodeParams([{ W: Tensor.zeros([2, 3]), b: Tensor.zeros([3]) }]))
 * if (E.isRight(read)) read.right.tensors // => f.tensors
 * if (E.isRight(read)) read.right.spec // null
 */
export interface ParamsFile {
  readonly tensors: ReadonlyArray<readonly [string, Tensor]>
  readonly spec: unknown
  readonly metadata: Readonly<Record<string, string>>
}

/**
 * Options of `encodeParams` and `writeParams`.
 * @category model
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint, Tensor } from 'nn-ts'
 * const options: Checkpoint.ParamsOptions = { spec: { layers: [{ type: 'dense', units: 40 }] } }
 * const bytes = Checkpoint.encodeParams([{ W: Tensor.zeros([1, 40]), b: Tensor.zeros([40]) }], options)
 * const read = E.flatMap((b: Uint8Array) => Checkpoint.decodeParams(b))(bytes)
 * if (E.isRight(read)) read.right.spec // => options.spec
 */
export interface ParamsOptions {
  /** The network spec to store with the params (any JSON value; default `null`). */
  readonly spec?: unknown
}

/**
 * One tensor of a file and the leaf of the params it fills: `from` is the tensor's name in the file,
 * `to` the leaf's path in the template, `transpose` (default `false`) transposes a matrix on the way
 * (PyTorch's `nn.Linear.weight` is `[out, in]`, a dense `W` is `[in, out]`).
 * @category model
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint, Layers, Random, Tensor } from 'nn-ts'
 * const firstLayer: ReadonlyArray<Checkpoint.NameMapping> = [
 *   { from: '0.weight', to: [0, 'W'], transpose: true },
 *   { from: '0.bias', to: [0, 'b'] }
 * ]
 * // nn.Linear(3, 2) as PyTorch stores it: weight [out, in].
 * const torch = { tensors: [['0.weight', Tensor.fromRows([[1, 2, 3], [4, 5, 6]])], ['0.bias', Tensor.vector([0.5, -0.5])]] as const }
 * const template = Layers.sequential(Layers.dense(3, 2)).init(Random.key(0)).params
 * const params = Checkpoint.restoreParams(template, torch, { mapping: firstLayer })
 * if (E.isRight(params)) params.right[0].W // [[1, 4], [2, 5], [3, 6]]: W is [in, out]
 */
export interface NameMapping {
  readonly from: string
  readonly to: Path
  readonly transpose?: boolean
}

/**
 * Options of `restoreParams`.
 * @category model
 * @since 0.2.0
 * @example
 * import { Checkpoint, Layers, Random } from 'nn-ts'
 * const { params } = Layers.sequential(Layers.dense(4, 2)).init(Random.key(0))
 * const options: Checkpoint.RestoreParamsOptions = { mapping: Checkpoint.torchLinearMapping(params) }
 * options.mapping // [{ from: '0.weight', to: [0, 'W'], transpose: true }, { from: '0.bias', to: [0, 'b'], … }]
 */
export interface RestoreParamsOptions {
  /**
   * Where each leaf comes from. Without it, each leaf comes from the tensor named by its path
   * (`pathName`), as nn-ts writes parameters files. With it, every leaf needs exactly one entry, and
   * every tensor of the file must be used.
   */
  readonly mapping?: ReadonlyArray<NameMapping>
}

// encoding

/**
 * The params as a tensor file's contents: each leaf under its path's name (`[0].W`), and the
 * metadata of an nn-ts parameters file. The tensors are the params' own, not copies. What
 * `encodeParams` and the streaming `writeParams` write. Refused: a leaf that is not a tensor, a tree
 * nested deeper than 100 levels, a spec that is not JSON.
 * @category encoding
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint, Layers, Random } from 'nn-ts'
 * const { params } = Layers.sequential(Layers.dense(4, 3), Layers.relu(), Layers.dense(3, 2)).init(Random.key(0))
 * const f = Checkpoint.paramsToTensorFile(params)
 * if (E.isRight(f)) f.right.tensors.map(([name]) => name) // ['[0].W', '[0].b', '[2].W', '[2].b']
 * if (E.isRight(f)) f.right.metadata // { format: 'nn-ts params', version: '1', spec: 'null' }
 */
export const paramsToTensorFile = (params: Tree, options: ParamsOptions = {}): E.Either<CheckpointError, TensorFile> =>
  pipe(
    specText(options.spec, 'parameters'),
    E.flatMap((spec) => {
      const leaves = E.tryCatch(
        () => Trees.leaves<unknown>(params, { maxDepth: MAX_DEPTH }),
        (e) => {
          if (!(e instanceof Trees.TreeError)) throw e
          const at = Trees.showPath(e.path)
          return checkpointError(e.problem === 'tooDeep' ? `${at}: nested deeper than ${MAX_DEPTH} levels` : `${at}: expected a tree node, found ${e.found}`, at)
        }
      )
      if (E.isLeft(leaves)) return leaves
      const tensors: Array<readonly [string, Tensor]> = []
      for (const leaf of leaves.right) {
        if (!Trees.isTensor(leaf.value)) {
          const at = Trees.showPath(leaf.path)
          return E.left(checkpointError(`${at}: expected a tensor (params hold tensors only), found ${typeof leaf.value} ${String(leaf.value)}`, at))
        }
        tensors.push([pathName(leaf.path), leaf.value])
      }
      return E.right({ tensors, metadata: { format: PARAMS_FORMAT_TAG, version: String(PARAMS_FORMAT_VERSION), spec } })
    })
  )

/**
 * The params as the bytes of an nn-ts parameters file (a safetensors file; see the module
 * documentation). The whole file is built in memory: `writeParams` streams.
 * @category encoding
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint, Layers, Random } from 'nn-ts'
 * const { params } = Layers.sequential(Layers.dense(4, 2)).init(Random.key(0))
 * const bytes = Checkpoint.encodeParams(params, { spec: { units: 2 } })
 * if (E.isRight(bytes)) bytes.right.length // 336
 */
export const encodeParams = (params: Tree, options: ParamsOptions = {}): E.Either<CheckpointError, Uint8Array> =>
  pipe(
    paramsToTensorFile(params, options),
    E.flatMap((f) => pipe(TensorFiles.encode(f.tensors, f.metadata), E.mapLeft(fromTensorFileError)))
  )

// decoding

const PARAMS_ENTRIES: ReadonlyArray<string> = ['format', 'version', 'spec']

/**
 * A parameters file from a tensor file's contents. An nn-ts parameters file (`format` is
 * `"nn-ts params"`) is validated: its version, its metadata entries, its spec, and that every tensor
 * name is a path name (`pathName`). A checkpoint is refused (its params are its `state.params`). Any
 * other tensor file is a file of another tool: its tensors are taken as they are named, `spec` is
 * `null`.
 * @category decoding
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Checkpoint, Tensor } from 'nn-ts'
 * const torchFile = { tensors: [['0.weight', Tensor.zeros([3, 4])] as const], metadata: { format: 'pt' } }
 * const f = Checkpoint.paramsFromTensorFile(torchFile)
 * if (E.isRight(f)) f.right.spec // null
 */
export const paramsFromTensorFile = (f: TensorFile): E.Either<CheckpointError, ParamsFile> => {
  const { metadata } = f
  if (metadata.format === FORMAT_TAG) {
    return E.left(checkpointError('this is an nn-ts checkpoint, not a parameters file: read it with readCheckpoint (its params are state.params)', 'format'))
  }
  if (metadata.format !== PARAMS_FORMAT_TAG) return E.right({ tensors: f.tensors, spec: null, metadata })
  const version = metadata.version
  if (version !== String(PARAMS_FORMAT_VERSION)) {
    const newer = version !== undefined && /^[1-9][0-9]*$/.test(version) && Number(version) > PARAMS_FORMAT_VERSION
    return E.left(
      checkpointError(
        newer
          ? `written by a newer nn-ts: parameters format version ${version}, this reads version ${PARAMS_FORMAT_VERSION}`
          : `unsupported parameters format version ${version === undefined ? '(no "version" entry)' : clip(quoteAscii(version), 40)}: expected "${PARAMS_FORMAT_VERSION}"`,
        'version'
      )
    )
  }
  const extra = Object.keys(metadata).find((k) => !PARAMS_ENTRIES.includes(k))
  if (extra !== undefined) return E.left(checkpointError(`unexpected metadata entry ${clip(quoteAscii(extra), 60)} (an nn-ts parameters file has exactly ${PARAMS_ENTRIES.join(', ')})`, extra))
  if (metadata.spec === undefined) return E.left(checkpointError('missing metadata entry "spec"', 'spec'))
  for (const [name] of f.tensors) {
    const path = parsePathName(name)
    if (E.isLeft(path)) return E.left(checkpointError(`tensor ${clip(quoteAscii(name), 60)}: not a tree path: ${path.left}`, name))
  }
  return pipe(
    decodeSpec(metadata.spec),
    E.map((spec) => ({ tensors: f.tensors, spec, metadata }))
  )
}

/**
 * A parameters file from its bytes: the tensor file is validated (`TensorFile.decode`: layout,
 * dtypes, shapes, offsets, checksum), then `paramsFromTensorFile`. nn-ts's own files carry a checksum,
 * which is required unless `requireChecksum: false` — how files of other tools (a PyTorch
 * `state_dict` saved as safetensors) are read. Never throws.
 * @category decoding
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Random } from 'nn-ts'
 * const { params } = Layers.sequential(Layers.dense(4, 2)).init(Random.key(0))
 * const back = pipe(Checkpoint.encodeParams(params), E.flatMap((bytes) => Checkpoint.decodeParams(bytes)))
 * if (E.isRight(back)) back.right.tensors.map(([name, t]) => `${name} ${t.shape}`) // ['[0].W 4,2', '[0].b 2']
 */
export const decodeParams = (bytes: Uint8Array, options: DecodeOptions = {}): E.Either<CheckpointError, ParamsFile> =>
  pipe(TensorFiles.decode(bytes, options), E.mapLeft(fromTensorFileError), E.flatMap(paramsFromTensorFile))

// restoring

const describeTensor = (t: Tensor): string => `${t.dtype} ${showShape(t.shape)}`

/** A matrix's transpose: the values gathered in column-major order (copied, never computed with). */
const transpose = (t: Tensor): Tensor => {
  const [rows, cols] = t.shape as [number, number]
  const n = rows * cols
  // Element (i, j) of the [cols, rows] result, at k = i·rows + j, is element (j, i) of t.
  const order = Uint32Array.from({ length: n }, (_, k) => (k % rows) * cols + Math.floor(k / rows))
  return fromData([cols, rows], gatherRows(fromData([n, 1], t.data), order).data)
}

const MAX_LISTED = 20

/**
 * `template` with every leaf replaced by the file's tensor for it, after checking that they fit. A
 * leaf comes from the tensor named by its path (`pathName`, as `encodeParams` writes), or, with
 * `mapping`, from the tensor its entry names (transposed if the entry says so). The tensor must have
 * the leaf's dtype and shape. Everything that does not fit is named in one error: leaves with no
 * tensor (missing), tensors no leaf uses (extra), dtypes or shapes that differ (mismatched), mapping
 * entries that point nowhere. The template is any params of the network to load into
 * (`network.init(key, dtype).params`, `Train.initialState(…).params`): only its structure, dtypes
 * and shapes are used, so the optimizer that trains next does not matter.
 * @category decoding
 * @since 0.2.0
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Random } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(4, 3), Layers.relu(), Layers.dense(3, 2))
 * const saved = pipe(Checkpoint.encodeParams(net.init(Random.key(1)).params), E.flatMap((b) => Checkpoint.decodeParams(b)))
 * const params = pipe(saved, E.flatMap((f) => Checkpoint.restoreParams(net.init(Random.key(2)).params, f)))
 * const wider = Layers.sequential(Layers.dense(4, 5), Layers.relu(), Layers.dense(5, 2))
 * const refused = pipe(saved, E.flatMap((f) => Checkpoint.restoreParams(wider.init(Random.key(2)).params, f)))
 * if (E.isLeft(refused)) refused.left.message // 'the file does not fit the params: 3 problems: [0].W: expected float32 [4, 5], found float32 [4, 3] in "[0].W"; …'
 */
export const restoreParams = <P extends Tree>(template: P, contents: Pick<ParamsFile, 'tensors'>, options: RestoreParamsOptions = {}): E.Either<CheckpointError, P> =>
  E.flatten(
    E.tryCatch(
      () => restoreUnsafe(template, contents, options),
      (e) => checkpointError(`cannot restore the params: ${e instanceof Error ? e.message : String(e)}`)
    )
  )

const restoreUnsafe = <P extends Tree>(template: P, contents: Pick<ParamsFile, 'tensors'>, options: RestoreParamsOptions): E.Either<CheckpointError, P> => {
  const leaves = Trees.leaves(template)
  const byName = new Map(contents.tensors)
  const mapping = options.mapping ?? leaves.map((l) => ({ from: pathName(l.path), to: l.path }))
  const problems: Array<{ readonly path: string; readonly text: string }> = []
  const problem = (path: string, text: string): void => void problems.push({ path, text })
  // Leaves by name: `pathName` is injective, so it keys paths.
  const leafIndex = new Map(leaves.map((l, i) => [pathName(l.path), i]))
  const entryOf = new Map<number, NameMapping>()
  for (const m of mapping) {
    const key = E.tryCatch(
      () => pathName(m.to),
      () => undefined
    )
    const i = E.isRight(key) ? leafIndex.get(key.right) : undefined
    if (i === undefined) {
      const to = Array.isArray(m.to) ? Trees.showPath(m.to) : String(m.to)
      problem(to, `the mapping entry ${quoteAscii(m.from)} → ${to} points nowhere: the params have no tensor at ${to}`)
      continue
    }
    const earlier = entryOf.get(i)
    if (earlier !== undefined) {
      const at = Trees.showPath(m.to)
      problem(at, `${at} is given twice by the mapping (from ${quoteAscii(earlier.from)} and from ${quoteAscii(m.from)})`)
      continue
    }
    entryOf.set(i, m)
  }
  const used = new Set<string>()
  const values: Tensor[] = []
  leaves.forEach((leaf, i) => {
    const at = Trees.showPath(leaf.path)
    const expected = describeTensor(leaf.value)
    const m = entryOf.get(i)
    if (m === undefined) {
      // (Without a mapping every leaf has its entry; a leaf given twice is reported already.)
      if (!problems.some((p) => p.path === at)) problem(at, `${at} (${expected}) is missing: no mapping entry fills it`)
      return
    }
    const found = byName.get(m.from)
    if (found === undefined) {
      const why = options.mapping === undefined ? `no tensor ${quoteAscii(m.from)} in the file` : `the mapping takes it from ${quoteAscii(m.from)}, which is not in the file`
      problem(at, `${at} (${expected}) is missing: ${why}`)
      return
    }
    used.add(m.from)
    if (m.transpose === true && found.shape.length !== 2) {
      problem(at, `${at}: the mapping transposes ${quoteAscii(m.from)}, which is ${describeTensor(found)}, not a matrix`)
      return
    }
    const value = m.transpose === true ? transpose(found) : found
    if (value.dtype !== leaf.value.dtype || showShape(value.shape) !== showShape(leaf.value.shape)) {
      const source = m.transpose === true ? `the transpose of ${quoteAscii(m.from)} (${describeTensor(found)})` : quoteAscii(m.from)
      problem(at, `${at}: expected ${expected}, found ${describeTensor(value)} in ${source}`)
      return
    }
    values.push(value)
  })
  for (const [name, t] of contents.tensors) {
    if (!used.has(name)) problem(name, `${quoteAscii(name)} (${describeTensor(t)}) is extra: no leaf of the params uses it`)
  }
  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_LISTED).map((p) => p.text)
    const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : ''
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
    return E.left(checkpointError(`the file does not fit the params: ${count}: ${listed.join('; ')}${more}`, (problems[0] as { path: string }).path))
  }
  return E.right(Trees.unflatten(template, values))
}

/**
 * The mapping from a PyTorch `state_dict` to `template`'s dense layers: for every record `{ W, b }` of
 * a matrix and a vector at path `p` (a dense layer), `<p>.weight` → `[…p, 'W']` transposed and
 * `<p>.bias` → `[…p, 'b']`, where `<p>` is the path's keys and indices joined by dots — the names
 * `nn.Sequential` gives (`0.weight`, `2.bias`; `1.0.weight` inside a nested one). Leaves of other
 * layers get no entry (add your own), so `restoreParams` names them as missing.
 * @category utils
 * @since 0.2.0
 * @example
 * import { Checkpoint, Layers, Random } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(784, 40), Layers.relu(), Layers.dense(40, 10))
 * const mapping = Checkpoint.torchLinearMapping(net.init(Random.key(0)).params)
 * mapping.map((m) => m.from) // ['0.weight', '0.bias', '2.weight', '2.bias']
 * mapping.map((m) => m.to) // [[0, 'W'], [0, 'b'], [2, 'W'], [2, 'b']]
 * mapping.map((m) => m.transpose === true) // [true, false, true, false]
 */
export const torchLinearMapping = (template: Tree): ReadonlyArray<NameMapping> =>
  Trees.leaves(template).flatMap((leaf) => {
    const prefix = leaf.path.slice(0, -1)
    const layer = Trees.at(template, prefix)
    const isDense =
      Trees.isRecord(layer) &&
      Object.keys(layer).length === 2 &&
      Trees.isTensor(layer.W) &&
      layer.W.shape.length === 2 &&
      Trees.isTensor(layer.b) &&
      layer.b.shape.length === 1
    if (!isDense) return []
    const torch = prefix.join('.')
    const dot = torch === '' ? '' : '.'
    return leaf.path.at(-1) === 'W' ? [{ from: `${torch}${dot}weight`, to: leaf.path, transpose: true }] : [{ from: `${torch}${dot}bias`, to: leaf.path }]
  })
