/**
 * Checkpoints and parameters files.
 *
 * A **checkpoint** is a training state (params, layer state, optimizer state, PRNG key, step) and the
 * network spec it was trained from, in one file that decodes back bit for bit, is written atomically
 * and is validated on reading. Resuming is `readCheckpoint`, then `restore` against the fresh state of
 * the same network and optimizer, then training on: the result equals never having stopped, bit for bit.
 *
 * **Format version 2** (written since nn-ts 0.2) is a tensor file in the safetensors layout (see
 * `TensorFile`: 8-byte little-endian header length, JSON header, raw little-endian data, SHA-256
 * checksum in the metadata), so its size is bounded by the disk, not by a JavaScript string, and any
 * safetensors reader can open it:
 *
 * - every tensor of the three trees is one named tensor, named by its tree path (`pathName`):
 *   `params[0].W`, `params[0].b`, `layerState[1].runningMean`, `optState[0].mu[0].W`, …, in that order
 *   (params, layer state, optimizer state; each in `Tree.leaves` order). The dtype is `F32` or `F64`,
 *   the shape the tensor's, the bytes its row-major values, copied (so −0, subnormals, ±Infinity and NaN
 *   payloads survive);
 * - `__metadata__` holds strings: `format` = `"nn-ts checkpoint"`, `version` = `"2"`, `spec` (the spec
 *   as JSON text, `null` when none), `step` (decimal), `rng` (the PRNG key's two unsigned 32-bit words,
 *   `[a,b]`), `params`, `layerState`, `optState` (the outline of each tree: JSON in which a tuple is an
 *   array, a record an object with the same keys in the same order, a tensor the string of its name,
 *   and a plain number a JSON number in JavaScript's shortest round-trip form, or one of the strings
 *   `"-0"`, `"NaN"`, `"Infinity"`, `"-Infinity"`, which JSON numbers cannot be), and the tensor file's
 *   `checksum`;
 * - record keys appear in outlines as they are, with two exceptions a strict JSON reader needs: U+0000
 *   is written as two U+0000, and a lone surrogate as U+0000 and its four lowercase hex digits.
 *
 * ```
 * params[0].W           F32 [784, 40]      optState[0].mu[0].W   F32 [784, 40]   …
 * __metadata__.params   [{"W":"params[0].W","b":"params[0].b"},[],{"W":"params[2].W","b":"params[2].b"}]
 * __metadata__.optState [{"count":120,"mu":[{"W":"optState[0].mu[0].W",…},[],…],"nu":[…]},{"count":120,"learningRate":0.001}]
 * ```
 *
 * Reading validates the tensor file (header length against the real size, header JSON with no
 * repeated key, dtypes, shapes, byte ranges, checksum), then the format tag, the version (a newer one
 * is refused as such), every metadata entry, and that each outline's tensor names are exactly the
 * file's tensors, each at the place its name says.
 *
 * **Format version 1** (nn-ts 0.1) is JSON text and stays readable: `decode` and `readCheckpoint` tell
 * the two apart by the first 8 bytes (`versionOf`: a version 2 file's header length has zero bytes,
 * JSON text never does). Its layout, for reference:
 *
 * ```json
 * {
 *   "format": "nn-ts checkpoint",
 *   "version": 1,
 *   "spec": { "layers": ["…"] },
 *   "step": 120,
 *   "rng": [2840216151, 91287134],
 *   "params": [{ "W": { "dtype": "float32", "shape": [2, 4], "data": "AACAPwAAAEA…" }, "b": { "…": "…" } }, []],
 *   "layerState": [[], []],
 *   "optState": [{ "count": 120, "mu": ["…"], "nu": ["…"] }, { "count": 120, "learningRate": 0.001 }],
 *   "checksum": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
 * }
 * ```
 *
 * A tensor is `{ dtype, shape, data }` with `data` the standard base64 of the little-endian bytes;
 * numbers use the same escapes as version 2; `checksum` is the SHA-256 of the canonical JSON (no
 * whitespace, keys sorted) of every other field, so re-indenting keeps a file valid.
 *
 * A **parameters file** holds the params alone (`encodeParams`, `writeParams`): tensors named by their
 * paths (`[0].W`), the spec, no optimizer state, so it loads into any network with the same parameter
 * structure whatever optimizer comes next (`restoreParams`), and files of other tools load through a
 * name mapping (`torchLinearMapping` for PyTorch's `nn.Linear`, whose `weight` is `[out, in]`, the
 * transpose of a dense layer's `W: [in, out]`).
 *
 * Files are `nn-ts/node`'s: `writeCheckpoint`, `readCheckpoint`, `writeParams`, `readParams`.
 *
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Optim, Train, Tree } from 'nn-ts'
 * import { readCheckpoint, writeCheckpoint } from 'nn-ts/node'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const opt = Optim.adam(1e-3)
 * const save = writeCheckpoint('checkpoint.safetensors', Checkpoint.make(Train.initialState(net, opt, 7), { hidden: 3 }))
 * const resume = pipe(
 *   readCheckpoint('checkpoint.safetensors'),
 *   TE.flatMapEither((c) => Checkpoint.restore(Train.initialState(net, opt, 0), c))
 * )
 * await save() // => E.right(undefined)
 * const resumed = await resume()
 * if (E.isRight(resumed)) Tree.equals(resumed.right.params, Train.initialState(net, opt, 7).params) // true: seed 7's, bit for bit
 * @since 0.1.0
 */
export {
  type Checkpoint,
  type CheckpointError,
  type Version,
  FORMAT_TAG,
  FORMAT_VERSION,
  checkpointError,
  fromTensorFileError,
  make
} from './model.ts'
export { decode, encode, fromTensorFile, restore, toTensorFile, versionOf } from './codec.ts'
export { parsePathName, pathName, quoteAscii } from './names.ts'
export {
  type NameMapping,
  type ParamsFile,
  type ParamsOptions,
  type RestoreParamsOptions,
  PARAMS_FORMAT_TAG,
  PARAMS_FORMAT_VERSION,
  decodeParams,
  encodeParams,
  paramsFromTensorFile,
  paramsToTensorFile,
  restoreParams,
  torchLinearMapping
} from './params.ts'
