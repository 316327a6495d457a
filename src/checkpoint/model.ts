/**
 * What a checkpoint is and how it fails: the model shared by both file formats (version 2, a tensor
 * file, and version 1, JSON) and by parameter files.
 *
 * @since 0.1.0
 */
import type { OptState } from '../optim/Transform.ts'
import type { TrainState } from '../train/step.ts'
import type { TensorFileError } from '../tensorfile/safetensors.ts'
import type { Tree } from '../tree/Tree.ts'

/**
 * The format version this nn-ts writes. It reads this one and every older one (version 1, JSON); a
 * file with a higher version was written by a newer nn-ts and is refused with a message saying so.
 * @category model
 * @since 0.1.0
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.FORMAT_VERSION // 2
 */
export const FORMAT_VERSION = 2 as const

/**
 * The versions of the checkpoint format: 1 is JSON text (nn-ts 0.1, read only), 2 a tensor file.
 * @category model
 * @since 0.2.0
 * @example
 * import { Checkpoint } from 'nn-ts'
 * const old: Checkpoint.Version = 1 // JSON text: still read, never written
 * Checkpoint.FORMAT_VERSION // 2: what make and encode write
 */
export type Version = 1 | typeof FORMAT_VERSION

/**
 * The format tag of every checkpoint (the `format` field of a version 1 file, the `format` metadata
 * entry of a version 2 file): what tells a checkpoint from any other file.
 * @category model
 * @since 0.1.0
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.FORMAT_TAG // 'nn-ts checkpoint'
 */
export const FORMAT_TAG = 'nn-ts checkpoint' as const

/**
 * A training state with the spec of the network it was trained from, and the format version of the
 * file it was read from (`make` gives `FORMAT_VERSION`).
 * @category model
 * @since 0.1.0
 * @example
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const c: Checkpoint.Checkpoint = { version: 2, spec: { hidden: 3 }, state: Train.initialState(net, Optim.adam(1e-3), 0) }
 * Checkpoint.make(c.state, { hidden: 3 }) // => c
 */
export interface Checkpoint<P extends Tree = Tree, S extends Tree = Tree, O extends OptState = OptState> {
  readonly version: Version
  /** Any JSON value: the network spec the state was trained from, or `null`. */
  readonly spec: unknown
  readonly state: TrainState<P, S, O>
}

/**
 * Why a checkpoint or a parameters file could not be written, read, decoded or restored. `message`
 * is a complete sentence to print as is: it names the file (when there is one), the place inside it,
 * what was expected and what was found.
 * @category model
 * @since 0.1.0
 * @example
 * import { Checkpoint } from 'nn-ts'
 * const e: Checkpoint.CheckpointError = Checkpoint.checkpointError('step: expected a non-negative integer, found -1', 'step')
 * e // { _tag: 'CheckpointError', path: 'step', message: 'step: expected a non-negative integer, found -1' }
 */
export interface CheckpointError {
  readonly _tag: 'CheckpointError'
  /** Where inside the checkpoint, as a tree path or field (`params[2].W`, `optState[0].count`, `step`). */
  readonly path?: string
  /** The file, for errors of reading and writing files. */
  readonly file?: string
  readonly message: string
}

/**
 * A `CheckpointError` with `message` as is.
 * @category constructors
 * @since 0.1.0
 * @example
 * import { Checkpoint } from 'nn-ts'
 * Checkpoint.checkpointError('empty file').message // 'empty file'
 */
export const checkpointError = (message: string, path?: string): CheckpointError =>
  path === undefined ? { _tag: 'CheckpointError', message } : { _tag: 'CheckpointError', path, message }

/**
 * A tensor-file error as a `CheckpointError`: the same message and file; the tensor it is about (a
 * tree path, in nn-ts's files) becomes the path.
 * @category constructors
 * @since 0.2.0
 * @example
 * import { Checkpoint, TensorFile } from 'nn-ts'
 * const e = Checkpoint.fromTensorFileError(TensorFile.tensorFileError('checksum mismatch', { tensor: 'params[0].W' }))
 * e.path // 'params[0].W'
 */
export const fromTensorFileError = (e: TensorFileError): CheckpointError => ({
  _tag: 'CheckpointError',
  message: e.message,
  ...(e.file === undefined ? {} : { file: e.file }),
  ...(e.tensor === undefined ? {} : { path: e.tensor })
})

/**
 * A checkpoint of `state`, with the spec it was trained from (`null` if none), in the current format.
 * @category constructors
 * @since 0.1.0
 * @example
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const c = Checkpoint.make(Train.initialState(net, Optim.adam(1e-3), 0), { layers: [2, 3, 2] })
 * c.version // 2
 */
export const make = <P extends Tree, S extends Tree, O extends OptState>(state: TrainState<P, S, O>, spec: unknown = null): Checkpoint<P, S, O> => ({
  version: FORMAT_VERSION,
  spec,
  state
})

// shared by the formats

/**
 * How deep a tree or a spec may nest. A real state or spec is a few levels deep; a crafted file nested
 * a million levels deep must not overflow a stack.
 * @internal
 */
export const MAX_DEPTH = 100

/** The four numbers JSON cannot hold are written as these strings. @internal */
export const encodeNumber = (x: number): number | string => (Object.is(x, -0) ? '-0' : Number.isFinite(x) ? x : String(x))

/** The number an escape string stands for, if it is one. @internal */
export const specialNumber = (s: string): number | undefined =>
  s === '-0' ? -0 : s === 'NaN' ? Number.NaN : s === 'Infinity' ? Number.POSITIVE_INFINITY : s === '-Infinity' ? Number.NEGATIVE_INFINITY : undefined

/** At most `n` characters of `s`. @internal */
export const clip = (s: string, n = 40): string => (s.length <= n ? s : `${s.slice(0, n)}…`)
