/**
 * Checkpoints: a training state (params, layer state, optimizer state, PRNG key, step) and the network
 * spec it was trained from, in one JSON file that decodes back bit for bit, is written atomically and
 * is validated on reading. Resuming is `read`, then `restore` against the fresh state of the same
 * network and optimizer, then training on: the result equals never having stopped, bit for bit.
 *
 * File layout, format version 1 (a JSON object; key order and whitespace do not matter):
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
 * - `spec`: any JSON value (the network spec, or `null`), stored as `JSON.stringify` writes it.
 * - A tensor is `{ dtype, shape, data }`: `dtype` is `"float32"` or `"float64"`, `shape` an array of
 *   non-negative integers, `data` the standard base64 (RFC 4648, padded) of the row-major values as
 *   little-endian IEEE 754 bytes, 4 or 8 per value. Bytes are copied, never converted, so every value
 *   round-trips exactly: -0, subnormals, ±Infinity and NaN, NaN payloads included (on little-endian
 *   hosts, i.e. every platform Node ships for; a big-endian host converts through `DataView`, which
 *   may canonicalize NaN payloads).
 * - Tuples are JSON arrays and records JSON objects, in the order of the tree. A JSON object whose
 *   `dtype` is a string other than the number escapes below is a tensor; any other object a record.
 *   `params` and `layerState` hold tensors only; `optState` may also hold plain numbers.
 * - A plain number (`count`, `learningRate`, …) is a JSON number in JavaScript's shortest round-trip
 *   form, which reads back to the same double. JSON has no -0, NaN or ±Infinity, so those are written
 *   as the strings `"-0"`, `"NaN"`, `"Infinity"` and `"-Infinity"` (optimizers keep their numbers
 *   finite, so only the escape for -0 could appear in practice).
 * - `rng`: the PRNG key's two unsigned 32-bit words. `step`: the number of steps taken.
 * - `checksum`: `"sha256:"` and the lowercase hex SHA-256 of the canonical serialisation of every other
 *   field: JSON without whitespace, object keys sorted by UTF-16 code units, numbers and strings as
 *   `JSON.stringify` writes them. Re-indenting the file keeps it valid; changing any value does not.
 *
 * Reading validates, in order: JSON, the format tag, the version (a newer one is refused as such), the
 * structure (io-ts: every field; every tensor's dtype, shape and byte length), then the checksum. Each
 * failure is a `CheckpointError` naming the file, the JSON path, what was expected and what was found.
 *
 * Files are `nn-ts/node`'s: `writeCheckpoint` writes `<file>.<pid>-<8 hex digits>.tmp` in the same directory, fsyncs it, renames it over
 * `<file>` and fsyncs the directory: after a crash or SIGKILL at any moment, `<file>` is the previous
 * or the new checkpoint, whole. A kill before the rename can leave the temporary file behind; it is
 * never read as the checkpoint, `isCheckpointTempFile` recognises it, and it can be deleted whenever no
 * writer is running.
 *
 * @example
 * import * as TE from 'fp-ts/lib/TaskEither.js'
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Checkpoint, Layers, Optim, Train } from 'nn-ts'
 * import { readCheckpoint, writeCheckpoint } from 'nn-ts/node'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 2))
 * const opt = Optim.adam(1e-3)
 * const save = writeCheckpoint('run.ckpt.json', Checkpoint.make(Train.initialState(net, opt, 7), { hidden: 3 }))
 * const resume = pipe(
 *   readCheckpoint('run.ckpt.json'),
 *   TE.flatMapEither((c) => Checkpoint.restore(Train.initialState(net, opt, 0), c))
 * )
 * @since 0.1.0
 */
export * from './codec.ts'
