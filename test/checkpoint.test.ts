/**
 * Checkpoints, tried as a user would break them. Version 2 (a tensor file): what the file holds, a
 * 43-million-parameter state with its Adam moments written and read back, and every truncated, edited,
 * misplaced or foreign file giving a `CheckpointError` value whose message names the file, the place,
 * what was expected and what was found — never a throw. Version 1 (JSON, nn-ts 0.1): a file written
 * by nn-ts 0.1 (test/fixtures/checkpoint/v1.ckpt.json) still reads, with the same messages for the
 * same damage. Also: restoring against another network, writing failures, the last good state after
 * a NaN stop.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { Checkpoint, Data, Layers, Loss, Optim, Random, Tensor, TensorFile, Train, Tree } from '../src/index.ts'
import { encodeV1 } from '../src/checkpoint/v1.ts'
import * as Node from '../src/node/index.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const V1_FIXTURE = join(ROOT, 'test', 'fixtures', 'checkpoint', 'v1.ckpt.json')

const network = Layers.sequential(Layers.dense(6, 5), Layers.batchNorm(5), Layers.relu(), Layers.dense(5, 3))
const optimizer = Optim.adam(1e-2)
const spec = { layers: [{ dense: 5 }, 'batchNorm', 'relu', { dense: 3 }], optimizer: { adam: 0.01 } }

const task = (n = 32): Data.Dataset =>
  E.getOrElseW((e: Data.DataError) => {
    throw new Error(e.message)
  })(Data.fromLabelled(Random.normal(Random.key(1), [n, 6]), Array.from({ length: n }, (_, i) => i % 3), 3))

const run = Train.traverseSteps(Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer))
const [, trained] = run(Data.batches(task(), 8))(Train.initialState(network, optimizer, 5))

const rightOf = <A>(r: E.Either<{ readonly message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

const bytes = rightOf(Checkpoint.encode(Checkpoint.make(trained, spec)))

const dir = mkdtempSync(join(tmpdir(), 'nn-ts-checkpoint-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Writes `contents` to a fresh file in the test directory and reads it back as a checkpoint. */
const readContents = async (name: string, contents: string | Uint8Array) => {
  const file = join(dir, name)
  writeFileSync(file, contents)
  return { file, result: await Node.readCheckpoint(file)() }
}

/** The error of a `Left`; fails the test on a `Right`. */
const errorOf = <A>(r: E.Either<Checkpoint.CheckpointError, A>): Checkpoint.CheckpointError => {
  if (E.isRight(r)) throw new Error('expected a CheckpointError, got a checkpoint')
  expect(r.left._tag).toBe('CheckpointError')
  return r.left
}

const readError = async (name: string, contents: string | Uint8Array): Promise<Checkpoint.CheckpointError> => {
  const { file, result } = await readContents(name, contents)
  const e = errorOf(result)
  expect(e.file).toBe(file)
  expect(e.message.startsWith(`${file}: `)).toBe(true)
  return e
}

const sameState = (a: Train.TrainState<Tree.Tree, Tree.Tree, Optim.OptState>, b: Train.TrainState<Tree.Tree, Tree.Tree, Optim.OptState>): boolean =>
  Tree.equals(a.params, b.params) && Tree.equals(a.layerState, b.layerState) && Tree.equals(a.optState, b.optState) && a.rng.words.every((w, i) => w === b.rng.words[i]) && a.step === b.step

/** The tensor file of the good checkpoint, changed by `edit`, re-encoded with a fresh checksum. */
const edited = (edit: (f: TensorFile.TensorFile) => TensorFile.TensorFile): Uint8Array =>
  rightOf(pipe(TensorFile.decode(bytes), E.flatMap((f) => TensorFile.encode(edit(f).tensors, edit(f).metadata))))

const withMetadata = (changes: Readonly<Record<string, string | undefined>>): Uint8Array =>
  edited((f) => ({
    tensors: f.tensors,
    metadata: Object.fromEntries(Object.entries({ ...f.metadata, ...changes }).filter((kv): kv is [string, string] => kv[1] !== undefined))
  }))

const metadataOf = (b: Uint8Array): Readonly<Record<string, string>> => rightOf(TensorFile.decode(b)).metadata

describe('version 2: a tensor file', () => {
  it('reads back what was written, bit for bit, spec included, and leaves no temporary file', async () => {
    const file = join(dir, 'good.safetensors')
    expect(await Node.writeCheckpoint(file, Checkpoint.make(trained, spec))()).toEqual(E.right(undefined))
    const c = rightOf(await Node.readCheckpoint(file)())
    expect(c.version).toBe(2)
    expect(c.spec).toEqual(spec)
    expect(sameState(c.state, trained)).toBe(true)
    expect(c.state.step).toBe(4)
    // The streaming writer and the pure encoder write the same bytes.
    expect(Buffer.compare(readFileSync(file), bytes)).toBe(0)
    expect(readdirSync(dir).filter((n) => Node.isCheckpointTempFile(file, n))).toEqual([])
  })

  it('is a tensor file named by tree paths, with the format, spec, step, key and outlines in its metadata', () => {
    const f = rightOf(TensorFile.decode(bytes))
    expect(f.tensors.map(([name, t]) => `${name} ${t.dtype} [${t.shape.join(', ')}]`)).toEqual([
      'params[0].W float32 [6, 5]',
      'params[0].b float32 [5]',
      'params[1].gamma float32 [5]',
      'params[1].beta float32 [5]',
      'params[3].W float32 [5, 3]',
      'params[3].b float32 [3]',
      'layerState[1].runningMean float32 [5]',
      'layerState[1].runningVar float32 [5]',
      ...['mu', 'nu'].flatMap((m) => [`[0].W float32 [6, 5]`, `[0].b float32 [5]`, `[1].gamma float32 [5]`, `[1].beta float32 [5]`, `[3].W float32 [5, 3]`, `[3].b float32 [3]`].map((s) => `optState[0].${m}${s}`))
    ])
    expect(Object.keys(f.metadata).sort()).toEqual(['format', 'layerState', 'optState', 'params', 'rng', 'spec', 'step', 'version'])
    expect(f.metadata.format).toBe('nn-ts checkpoint')
    expect(f.metadata.version).toBe('2')
    expect(JSON.parse(f.metadata.spec as string)).toEqual(spec)
    expect(f.metadata.step).toBe('4')
    expect(f.metadata.rng).toBe(`[${trained.rng.words[0]},${trained.rng.words[1]}]`)
    expect(f.metadata.params).toBe(
      '[{"W":"params[0].W","b":"params[0].b"},{"gamma":"params[1].gamma","beta":"params[1].beta"},[],{"W":"params[3].W","b":"params[3].b"}]'
    )
    expect(f.metadata.layerState).toBe('[[],{"runningMean":"layerState[1].runningMean","runningVar":"layerState[1].runningVar"},[],[]]')
    expect(f.metadata.optState).toMatch(/^\[\{"count":4,"mu":\[\{"W":"optState\[0\]\.mu\[0\]\.W",.*\},\{"count":4,"learningRate":0\.01\}\]$/)
    expect(Checkpoint.versionOf(bytes)).toBe(2)
  })

  it('plain numbers JSON cannot hold, -0 and every special value round-trip through their escapes', () => {
    const optState = [{ count: -0, scale: Number.NaN, limit: Number.POSITIVE_INFINITY, floor: Number.NEGATIVE_INFINITY, tiny: 5e-324, third: 1 / 3 }]
    const c = rightOf(pipe(Checkpoint.encode(Checkpoint.make({ ...trained, optState })), E.flatMap(Checkpoint.decode)))
    expect(c.state.optState).toEqual(optState)
    expect(Object.is((c.state.optState as typeof optState)[0]?.count, -0)).toBe(true)
  })

  it('a tensor that views part of a larger buffer stores only its own bytes', () => {
    const whole = new Float64Array([1, 2, 3, 4, 5])
    const t = Tensor.fromData([3], whole.subarray(1, 4))
    const c = rightOf(pipe(Checkpoint.encode(Checkpoint.make({ ...trained, params: { t } })), E.flatMap(Checkpoint.decode)))
    expect(Tensor.toArray((c.state.params as { t: Tensor.Tensor }).t)).toEqual([2, 3, 4])
  })

  it('NaN payloads, subnormals and -0 in a tensor survive: bytes are copied, not converted', () => {
    const bits = new Uint32Array([0x7fa00001, 0xffc00123, 0x00000001, 0x80000000])
    const t = Tensor.fromData([4], new Float32Array(bits.buffer))
    const c = rightOf(pipe(Checkpoint.encode(Checkpoint.make({ ...trained, params: { t } })), E.flatMap(Checkpoint.decode)))
    const back = (c.state.params as { t: Tensor.Tensor }).t
    expect(Array.from(new Uint32Array(back.data.buffer, back.data.byteOffset, 4))).toEqual(Array.from(bits))
  })

  it('record keys with dots, brackets, slashes, quotes, control characters, NUL, lone surrogates or __proto__ round-trip', () => {
    const keys = ['a.b', '[0]', 'x/y', '"q"', 'tab\there', '\u0000', '\u0000d800', '\ud800', 'x\udc00y', '__proto__', '0', '', 'café', '😀', 'W']
    const record: Record<string, Tensor.Tensor | number> = {}
    keys.forEach((k, i) => Object.defineProperty(record, k, { value: i % 2 === 0 ? Tensor.vector([i]) : i, enumerable: true }))
    const params: Record<string, Tensor.Tensor> = {}
    keys.forEach((k, i) => Object.defineProperty(params, k, { value: Tensor.vector([i]), enumerable: true }))
    const state = { ...trained, params, optState: [record] }
    const c = rightOf(pipe(Checkpoint.encode(Checkpoint.make(state)), E.flatMap(Checkpoint.decode)))
    expect(Object.keys(c.state.params)).toEqual(Object.keys(params))
    expect(Object.keys((c.state.optState as ReadonlyArray<object>)[0] as object)).toEqual(Object.keys(record))
    expect(sameState(c.state, state)).toBe(true)
    // Every tensor name is printable ASCII, whatever the key.
    for (const [name] of rightOf(TensorFile.decode(rightOf(Checkpoint.encode(Checkpoint.make(state))))).tensors) expect(name).toMatch(/^[\x20-\x7e]+$/)
  })

  it('what cannot be written back as it is read is refused when encoding, as a value', () => {
    const cases: ReadonlyArray<readonly [Checkpoint.Checkpoint, RegExp]> = [
      [Checkpoint.make(trained, { size: 10n }), /^cannot encode the checkpoint: the spec is not a JSON value \(.*BigInt.*\)$/],
      [Checkpoint.make(trained, { name: 'half \ud800' }), /^cannot encode the checkpoint: the spec would not read back \(string with an unpaired surrogate escape/],
      [Checkpoint.make({ ...trained, step: -1 }), /^cannot encode the checkpoint: step must be a non-negative integer, found -1$/],
      [Checkpoint.make({ ...trained, step: 1.5 }), /^cannot encode the checkpoint: step must be a non-negative integer, found 1.5$/],
      [Checkpoint.make({ ...trained, rng: { _tag: 'Key', words: [1, -2] } as unknown as Random.Key }), /^cannot encode the checkpoint: rng must be a PRNG key of two unsigned 32-bit words, found \[1,-2\]$/],
      [Checkpoint.make({ ...trained, params: [{ W: 0.5 }] as unknown as Tree.Tree }), /^params\[0\]\.W: expected a tensor \(params and layer state hold tensors only\), found number 0.5$/],
      [Checkpoint.make({ ...trained, optState: [{ on: true }] as unknown as Optim.OptState }), /^optState\[0\]\.on: expected a tensor or a number, found boolean true$/],
      [Checkpoint.make({ ...trained, layerState: [new Map()] as unknown as Tree.Tree }), /^layerState\[0\]: expected a tree node, found an instance of Map$/]
    ]
    for (const [c, message] of cases) expect(errorOf(Checkpoint.encode(c)).message).toMatch(message)
    let deep: Tree.Tree = Tensor.zeros([1])
    for (let i = 0; i < 101; i++) deep = [deep]
    expect(errorOf(Checkpoint.encode(Checkpoint.make({ ...trained, params: deep }))).message).toMatch(/^params(\[0\]){101}: nested deeper than 100 levels, more than a checkpoint holds$/)
  })

  it('a 43-million-parameter network with its Adam moments (516 MB, past any JSON string) writes and reads back', { timeout: 600_000 }, async () => {
    // dense(1024, 8192), relu, dense(8192, 4096), relu, dense(4096, 256): built from its shapes, not
    // trained, with a distinct value pattern in every tensor so a misplaced byte range cannot pass.
    const shapes: ReadonlyArray<readonly [number, number]> = [
      [1024, 8192],
      [8192, 4096],
      [4096, 256]
    ]
    let seed = 0
    const patterned = (shape: ReadonlyArray<number>): Tensor.Tensor => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1))
      const offset = ++seed
      for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761 + offset) % 1000003) / 1000003 - 0.5
      return Tensor.fromData([...shape], data)
    }
    const layer = ([n, m]: readonly [number, number]) => ({ W: patterned([n, m]), b: patterned([m]) })
    const params = [layer(shapes[0] as [number, number]), [], layer(shapes[1] as [number, number]), [], layer(shapes[2] as [number, number])]
    const count = Tree.size(params)
    expect(count).toBe(43_004_160)
    const adam = Optim.adam(1e-3)
    const optState = Tree.map(adam.init(params), (leaf: Tensor.Tensor | number) => (typeof leaf === 'number' ? 12 : patterned(leaf.shape)), {})
    const state = { params, layerState: [[], [], [], [], []], optState, rng: Random.key(3), step: 12 }
    // As version 1 JSON, the tensors alone would be 4/3 · 516 MB of base64 characters: more than the
    // longest string V8 allows (2^29 − 24 characters), which is how the JSON checkpoint failed.
    expect(((count * 3 * 4) / 3) * 4).toBeGreaterThan(2 ** 29 - 24)
    const file = join(dir, 'big.safetensors')
    const started = performance.now()
    expect(await Node.writeCheckpoint(file, Checkpoint.make(state, { layers: shapes }))()).toEqual(E.right(undefined))
    const wrote = performance.now()
    const back = rightOf(await Node.readCheckpoint(file)())
    const read = performance.now()
    expect(statSync(file).size).toBeGreaterThan(count * 3 * 4)
    expect(sameState(back.state, state)).toBe(true)
    console.info(`43 M parameters + Adam: ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB written in ${((wrote - started) / 1000).toFixed(1)} s, read in ${((read - wrote) / 1000).toFixed(1)} s`)
    rmSync(file)
  })
})

describe('a damaged, foreign or misplaced version 2 file gives a CheckpointError naming the file, the place and the problem', () => {
  it('a missing file, a directory, a FIFO', async () => {
    const file = join(dir, 'nowhere.safetensors')
    expect(errorOf(await Node.readCheckpoint(file)()).message).toBe(`${file}: cannot open it: no such file`)
    mkdirSync(join(dir, 'a-directory'))
    expect(errorOf(await Node.readCheckpoint(join(dir, 'a-directory'))()).message).toBe(`${join(dir, 'a-directory')}: is a directory, expected a checkpoint file`)
    const fifo = join(dir, 'a-fifo')
    execFileSync('mkfifo', [fifo])
    // Refused at once, without waiting for a writer.
    expect(errorOf(await Node.readCheckpoint(fifo)()).message).toBe(`${fifo}: is a FIFO (named pipe), expected a checkpoint file`)
  })

  it('a file shorter than the header length, or truncated anywhere', async () => {
    expect((await readError('short.safetensors', bytes.subarray(0, 7).map((b, i) => (i === 4 ? 0 : b)))).message).toMatch(
      /: the file has 7 bytes, fewer than the 8 of the header length: it is empty, truncated or not a tensor file$/
    )
    const header = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true)
    expect((await readError('header-cut.safetensors', bytes.subarray(0, 100))).message).toMatch(
      new RegExp(`: bytes 0–7 say the header is ${header} bytes long, but only 92 bytes follow them: the file is truncated or corrupted$`)
    )
    expect((await readError('data-cut.safetensors', bytes.subarray(0, bytes.length - 4))).message).toMatch(/: tensor "optState\[0\]\.nu\[3\]\.b": data_offsets \[\d+, \d+\] reach past the end of the data section/)
  })

  it('one byte of data changed: checksum mismatch', async () => {
    const changed = bytes.slice()
    changed[changed.length - 5] = (changed[changed.length - 5] as number) ^ 1
    expect((await readError('flipped.safetensors', changed)).message).toMatch(/: checksum mismatch: the header says sha256:[0-9a-f]{64}, the contents hash to sha256:[0-9a-f]{64}: the file was edited or corrupted after it was written$/)
  })

  it('a safetensors file of another tool, a tensor file that is not a checkpoint, a parameters file', async () => {
    // Written by hand as other tools write it: no __metadata__, so no checksum.
    const header = new TextEncoder().encode('{"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}')
    const foreign = new Uint8Array(8 + header.length + 8)
    new DataView(foreign.buffer).setUint32(0, header.length, true)
    foreign.set(header, 8)
    expect((await readError('foreign.safetensors', foreign)).message).toMatch(
      /: __metadata__ has no "checksum": the file was not written by nn-ts, or its checksum was removed \(read files of other tools with \{ requireChecksum: false \}\)$/
    )
    const untagged = rightOf(TensorFile.encode([['weight', Tensor.zeros([2])]]))
    expect((await readError('untagged.safetensors', untagged)).message).toMatch(/: not an nn-ts checkpoint: expected format "nn-ts checkpoint", found no "format" entry in the metadata$/)
    const params = rightOf(Checkpoint.encodeParams(trained.params))
    expect((await readError('params.safetensors', params)).message).toMatch(
      /: not an nn-ts checkpoint: expected format "nn-ts checkpoint", found format "nn-ts params" \(a parameters file: read it with readParams\)$/
    )
  })

  it('metadata entries: format, version, unexpected or missing entries (files re-encoded with a valid checksum)', () => {
    const cases: ReadonlyArray<readonly [Readonly<Record<string, string | undefined>>, string, string]> = [
      [{ format: 'keras' }, 'not an nn-ts checkpoint: expected format "nn-ts checkpoint", found format "keras"', 'format'],
      [{ version: '3' }, 'written by a newer nn-ts: format version 3, this reads versions 1 to 2', 'version'],
      [{ version: '1' }, 'unsupported format version "1" in a tensor file: expected "2"', 'version'],
      [{ version: 'two' }, 'unsupported format version "two" in a tensor file: expected "2"', 'version'],
      [{ version: undefined }, 'missing metadata entry "version" (expected format version 2)', 'version'],
      [{ epoch: '1' }, 'unexpected metadata entry "epoch" (a version 2 checkpoint has exactly format, version, spec, step, rng, params, layerState, optState)', 'epoch'],
      [{ rng: undefined }, 'missing metadata entry "rng"', 'rng'],
      [{ step: '-4' }, 'step: expected a non-negative integer, found "-4"', 'step'],
      [{ step: '4.0' }, 'step: expected a non-negative integer, found "4.0"', 'step'],
      [{ step: '9007199254740993' }, 'step: expected a non-negative integer, found "9007199254740993"', 'step'],
      [{ rng: '[1,4294967296]' }, 'rng: expected the two words of a PRNG key, unsigned 32-bit integers written as [a,b], found "[1,4294967296]"', 'rng'],
      [{ rng: '[1, 2]' }, 'rng: expected the two words of a PRNG key, unsigned 32-bit integers written as [a,b], found "[1, 2]"', 'rng'],
      [{ spec: '{"a":1,"a":2}' }, 'spec: expected JSON text nested at most 100 levels: duplicate key "a" (each key may appear once) (character 7)', 'spec'],
      [{ spec: `${'['.repeat(101)}${']'.repeat(101)}` }, 'spec: expected JSON text nested at most 100 levels: objects and arrays nested deeper than 100 levels (character 100)', 'spec']
    ]
    for (const [changes, message, path] of cases) {
      const e = errorOf(Checkpoint.decode(withMetadata(changes)))
      expect(e.message).toBe(message)
      expect(e.path).toBe(path)
    }
  })

  it('outlines: numbers where tensors belong, names that are not their place, missing and extra tensors, nesting', () => {
    const { params, optState } = metadataOf(bytes) as { params: string; optState: string }
    const cases: ReadonlyArray<readonly [Readonly<Record<string, string>>, string, string]> = [
      [{ params: params.replace('"params[0].b"', '0.5') }, 'params[0].b: expected a tensor name, a tuple or a record, found number 0.5 (params and layer state hold tensors only)', 'params[0].b'],
      [{ params: params.replace('"params[0].b"', '"-0"') }, 'params[0].b: expected a tensor name, a tuple or a record, found the string "-0" (params and layer state hold tensors only)', 'params[0].b'],
      [{ params: params.replace('"params[0].b"', 'null') }, 'params[0].b: expected a tensor name, a tuple or a record, found null', 'params[0].b'],
      [{ params: params.replace('"params[0].b"', '"params[0].W"') }, 'params[0].b: the outline names the tensor "params[0].W", but the tensor of this place is named "params[0].b"', 'params[0].b'],
      [{ params: params.replace('"W":"params[0].W"', '"V":"params[0].V"') }, 'params[0].V: no tensor named "params[0].V" in the file', 'params[0].V'],
      [{ params: params.replace('{"W":"params[3].W","b":"params[3].b"}', '{"W":"params[3].W"}') }, 'tensor "params[3].b" is in the file but in none of the outlines (params, layerState, optState): 1 tensor(s) belong to no place', 'params[3].b'],
      [{ params: params.replace('"gamma"', '"\\u0000zz"') }, 'params[1]: the record key "\\u0000zz" has a U+0000 that is not followed by U+0000 or the hex digits of a lone surrogate', 'params[1]'],
      [{ params: params.replace('{"W"', '{"W":1,"W"') }, 'params: the outline in the metadata is not valid: duplicate key "W" (each key may appear once) (character 8)', 'params'],
      [{ params: `${'['.repeat(102)}${']'.repeat(102)}` }, 'params: the outline in the metadata is not valid: objects and arrays nested deeper than 101 levels (character 101)', 'params'],
      [{ optState: optState.replace('"count":4', '"count":true') }, 'optState[0].count: expected a tensor name, a number, a tuple or a record, found boolean true', 'optState[0].count']
    ]
    for (const [changes, message, path] of cases) {
      const e = errorOf(Checkpoint.decode(withMetadata(changes)))
      expect(e.message).toBe(message)
      expect(e.path).toBe(path)
    }
    // A tensor of the file under a name in no outline.
    const stray = edited((f) => ({ tensors: [...f.tensors, ['params[9].W', Tensor.zeros([1])] as const], metadata: f.metadata }))
    expect(errorOf(Checkpoint.decode(stray)).message).toBe('tensor "params[9].W" is in the file but in none of the outlines (params, layerState, optState): 1 tensor(s) belong to no place')
  })

  it('binary passed as text, and an empty file', async () => {
    expect(errorOf(Checkpoint.decode(new TextDecoder().decode(bytes))).message).toMatch(/this text holds a zero character near its start, as a version 2 \(binary\) checkpoint does/)
    expect((await readError('empty.safetensors', '')).message).toMatch(/: empty file \(0 bytes\): expected an nn-ts checkpoint$/)
    expect((await readError('blank.safetensors', '\ufeff \n')).message).toMatch(/: empty file \(5 bytes\): expected an nn-ts checkpoint$/)
  })

  it('no change to the bytes makes decode throw: random truncations and byte edits give Left or the same checkpoint', () => {
    const original = rightOf(Checkpoint.decode(bytes))
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.option(fc.integer({ min: 0, max: 255 })), (i, replacement) => {
        const changed = replacement === null ? bytes.subarray(0, i) : bytes.map((b, j) => (j === i ? replacement : b))
        const r = Checkpoint.decode(changed)
        // A change inside the header's padding (or to the same byte) changes nothing that matters.
        if (E.isLeft(r)) expect(r.left.message.length).toBeGreaterThan(10)
        else {
          expect(r.right.spec).toEqual(original.spec)
          expect(sameState(r.right.state, original.state)).toBe(true)
        }
      }),
      { numRuns: 300 }
    )
  })
})

describe('version 1 (JSON, nn-ts 0.1) stays readable', () => {
  // Written by nn-ts 0.1's writer: the state `trained` above (Adam 1e-2, 4 steps, seed 5) with `spec`.
  const text = readFileSync(V1_FIXTURE, 'utf8')

  /** The first tensor's base64 data in the text, and where it starts. */
  const firstData = (): { readonly at: number; readonly data: string } => {
    const m = /"data":"([^"]+)"/.exec(text)
    if (m === null || m[1] === undefined) throw new Error('no tensor data in the checkpoint')
    return { at: m.index + '"data":"'.length, data: m[1] }
  }

  it('the file nn-ts 0.1 wrote reads, restores, trains on, and is the same checkpoint when written again', async () => {
    const c = rightOf(await Node.readCheckpoint(V1_FIXTURE)())
    expect(c.version).toBe(1)
    expect(c.spec).toEqual(spec)
    expect(c.state.step).toBe(4)
    // Nothing lost: the reader's result, written by the version 1 writer, is the file byte for byte.
    expect(encodeV1(c)).toBe(text)
    const restored = rightOf(Checkpoint.restore(Train.initialState(network, optimizer, 0), c))
    const [result, next] = run(Data.batches(task(), 8).slice(0, 2))(restored)
    expect(E.isRight(result) && next.step).toBe(6)
    // Migrating: read version 1, write version 2, read that: the same state, bit for bit.
    const file = join(dir, 'migrated.safetensors')
    expect(await Node.writeCheckpoint(file, c)()).toEqual(E.right(undefined))
    const migrated = rightOf(await Node.readCheckpoint(file)())
    expect(migrated.version).toBe(2)
    expect(sameState(migrated.state, c.state)).toBe(true)
    expect(migrated.spec).toEqual(c.spec)
  })

  it('a re-indented file still reads (the checksum is over a canonical form), and so does one with a byte-order mark', async () => {
    expect(E.isRight((await readContents('reindented.ckpt.json', JSON.stringify(JSON.parse(text), null, 4))).result)).toBe(true)
    expect(E.isRight((await readContents('bom.ckpt.json', `\ufeff${text}`)).result)).toBe(true)
    expect(E.isRight(Checkpoint.decode(`\ufeff${text}`))).toBe(true)
  })

  it('truncated, not JSON, or JSON that is not a checkpoint', async () => {
    expect((await readError('truncated.ckpt.json', text.slice(0, Math.floor(text.length / 2)))).message).toMatch(
      /: not valid JSON \(.+\): the file is truncated, corrupted or not a checkpoint$/
    )
    expect((await readError('not-json.ckpt.json', 'W = [[0.1, 0.2]]\n')).message).toMatch(/not valid JSON/)
    expect((await readError('png.ckpt.json', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00]))).message).toMatch(/not valid JSON/)
    expect((await readError('array.json', '[1, 2]')).message).toMatch(/not an nn-ts checkpoint: expected a JSON object with format "nn-ts checkpoint", found an array of 2$/)
    expect((await readError('spec.json', JSON.stringify(spec))).message).toMatch(/not an nn-ts checkpoint: expected format "nn-ts checkpoint", found no format field$/)
  })

  it('wrong format tag, or a version a JSON checkpoint never has', async () => {
    const e = await readError('tag.ckpt.json', text.replace('"format": "nn-ts checkpoint"', '"format": "keras checkpoint"'))
    expect(e.message).toMatch(/: not an nn-ts checkpoint: expected format "nn-ts checkpoint", found format "keras checkpoint"$/)
    expect(e.path).toBe('format')
    expect((await readError('v2.ckpt.json', text.replace('"version": 1', '"version": 2'))).message).toMatch(
      /: unsupported format version 2 in a JSON checkpoint: JSON checkpoints are version 1; later versions are tensor files$/
    )
    expect((await readError('v0.ckpt.json', text.replace('"version": 1', '"version": 0'))).message).toMatch(/unsupported format version 0: a JSON checkpoint has format version 1$/)
    expect((await readError('vs.ckpt.json', text.replace('"version": 1', '"version": "1"'))).message).toMatch(/unsupported format version "1"/)
    expect((await readError('vm.ckpt.json', text.replace('"version": 1,\n', ''))).message).toMatch(/missing field version \(expected format version 1\)$/)
  })

  it('one base64 character edited, a number edited, the checksum edited or missing', async () => {
    const { at, data } = firstData()
    const i = at + Math.floor(data.length / 2)
    const base64 = await readError('base64.ckpt.json', `${text.slice(0, i)}${text[i] === 'A' ? 'B' : 'A'}${text.slice(i + 1)}`)
    expect(base64.message).toMatch(/: checksum mismatch: the file was edited or corrupted \(stored sha256:[0-9a-f]+…, computed sha256:[0-9a-f]+…\)$/)
    expect((await readError('step.ckpt.json', text.replace('"step": 4', '"step": 5'))).message).toMatch(/checksum mismatch: the file was edited or corrupted/)
    expect((await readError('count.ckpt.json', text.replace('{"count":4,', '{"count":40,'))).message).toMatch(/checksum mismatch/)
    expect((await readError('sum.ckpt.json', text.replace(/"sha256:[0-9a-f]/, '"sha256:_'))).message).toMatch(
      /checksum: expected "sha256:" and 64 lowercase hex digits, found the string "sha256:_/
    )
    expect((await readError('nosum.ckpt.json', text.replace(/,\n {2}"checksum": "[^"]+"/, ''))).message).toMatch(/missing field checksum/)
  })

  it('a repeated key is refused, though JSON.parse would keep the last one and the checksum would pass', async () => {
    const e = await readError('twice.ckpt.json', text.replace('"step": 4,', '"step": 9,\n  "step": 4,'))
    expect(e.message).toMatch(/: character \d+: duplicate key "step" \(each key may appear once\)$/)
  })

  it('missing, unexpected and mistyped fields, and tensors that do not add up', async () => {
    const doc = JSON.parse(text) as Record<string, unknown>
    delete doc.optState
    const missing = await readError('missing.ckpt.json', JSON.stringify(doc))
    expect(missing.message).toMatch(/: missing field optState \(expected a tree of tensors and numbers\)$/)
    expect(missing.path).toBe('optState')
    expect((await readError('extra.ckpt.json', text.replace('"step": 4', '"epoch": 1,\n  "step": 4'))).message).toMatch(
      /: unexpected field epoch \(a version 1 checkpoint has exactly format, version, spec, step, rng, params, layerState, optState, checksum\)$/
    )
    expect((await readError('step-neg.ckpt.json', text.replace('"step": 4', '"step": -4'))).message).toMatch(/: step: expected a non-negative integer, found number -4$/)
    expect((await readError('rng.ckpt.json', text.replace(/"rng": \[\d+,/, '"rng": [1.5,'))).message).toMatch(/: rng\[0\]: expected an unsigned 32-bit integer, found number 1.5$/)
    expect((await readError('num.ckpt.json', text.replace(/"b": \{[^}]+\}/, '"b": 0.5'))).message).toMatch(
      /: params\[0\]\.b: expected a tensor, a tuple or a record, found number 0.5 \(params and layer state hold tensors only\)$/
    )
    const { at } = firstData()
    const notBase64 = await readError('not-base64.ckpt.json', `${text.slice(0, at + 3)}!${text.slice(at + 4)}`)
    expect(notBase64.message).toMatch(/: params\[0\]\.W\.data: not valid base64 \(expected standard base64 with padding, found the string "/)
    expect(notBase64.path).toBe('params[0].W.data')
    expect((await readError('length.ckpt.json', text.replace('"shape":[6,5]', '"shape":[6,6]'))).message).toMatch(
      /: params\[0\]\.W\.data: expected 36 float32 values \(144 bytes\) for shape \[6, 6\], found 30 values \(120 bytes\)$/
    )
    expect((await readError('f16.ckpt.json', text.replace('"dtype":"float32","shape":[6,5]', '"dtype":"float16","shape":[6,5]'))).message).toMatch(
      /: params\[0\]\.W\.dtype: expected "float32" or "float64", found the string "float16"$/
    )
  })

  it('a crafted file nested a hundred thousand levels deep: an error, not a stack overflow', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    const params = errorOf(Checkpoint.decode(text.replace(/"params": \[/, `"params": [${deep},`)))
    expect(params.message).toMatch(/^params(\[0\]){101}: nested deeper than 100 levels \(the state of a network is a few levels deep\)$/)
    const withMarker = JSON.stringify({ ...(JSON.parse(text) as object), spec: 'DEEP' })
    expect(errorOf(Checkpoint.decode(withMarker.replace('"DEEP"', deep))).message).toMatch(/^spec: expected any JSON value nested at most 100 levels/)
  })

  it('no edit makes decode throw: random truncations and edits give Left or the same state', () => {
    const original = rightOf(Checkpoint.decode(text))
    fc.assert(
      fc.property(fc.nat({ max: text.length - 1 }), fc.option(fc.string({ minLength: 1, maxLength: 1 })), (i, replacement) => {
        const changed = replacement === null ? text.slice(0, i) : `${text.slice(0, i)}${replacement}${text.slice(i + 1)}`
        const r = Checkpoint.decode(changed)
        // An edit inside whitespace (or to the same character) changes nothing that matters.
        if (E.isRight(r)) expect(encodeV1(r.right)).toBe(encodeV1(original))
        else expect(r.left.message.length).toBeGreaterThan(10)
      }),
      { numRuns: 300 }
    )
  })
})

describe('restore checks the checkpoint against the network and optimizer it resumes', () => {
  const checkpoint = (): Checkpoint.Checkpoint => rightOf(Checkpoint.decode(bytes))

  it('a network of a different width: names the path and both shapes', () => {
    const wider = Layers.sequential(Layers.dense(6, 5), Layers.batchNorm(5), Layers.relu(), Layers.dense(5, 4))
    const e = errorOf(Checkpoint.restore(Train.initialState(wider, optimizer, 0), checkpoint()))
    expect(e.message).toBe('params[3].W: expected float32 [5, 4], found float32 [5, 3] (the checkpoint was saved from a different network or optimizer)')
    expect(e.path).toBe('params[3].W')
  })

  it('a network with another layer', () => {
    const deeper = Layers.sequential(Layers.dense(6, 5), Layers.batchNorm(5), Layers.relu(), Layers.dense(5, 3), Layers.softmax())
    expect(errorOf(Checkpoint.restore(Train.initialState(deeper, optimizer, 0), checkpoint())).message).toMatch(/^params: expected a tuple of 5, found a tuple of 4 /)
  })

  it('a float64 network', () => {
    const template = Train.initialState(network, optimizer, 0, 'float64')
    expect(errorOf(Checkpoint.restore(template, checkpoint())).message).toMatch(/^params\[0\]\.W: expected float64 \[6, 5\], found float32 \[6, 5\]/)
  })

  it('another optimizer (params alone load into any optimizer: see test/params.test.ts)', () => {
    const sgd = Optim.sgd(0.1)
    expect(errorOf(Checkpoint.restore(Train.initialState(network, sgd, 0), checkpoint())).message).toMatch(/^optState: expected a tuple of 1, found a tuple of 2 /)
    const momentum = Optim.chain(Optim.trace(0.9), Optim.scaleByLearningRate(0.1))
    expect(errorOf(Checkpoint.restore(Train.initialState(network, momentum, 0), checkpoint())).message).toMatch(
      /^optState\[0\]: expected a record \{.*\}, found a record \{count, mu, nu\} /
    )
  })

  it('takes only the structure from the template: values, key and step come from the checkpoint', () => {
    const r = rightOf(Checkpoint.restore(Train.initialState(network, optimizer, 99), checkpoint()))
    expect(sameState(r, trained)).toBe(true)
  })
})

describe('writing', () => {
  it('into a missing directory: an error naming the file, and no file left behind', async () => {
    const file = join(dir, 'no-such-dir', 'x.safetensors')
    const e = errorOf(await Node.writeCheckpoint(file, Checkpoint.make(trained))())
    expect(e.message).toBe(`${file}: cannot create a temporary file next to it: the directory ${join(dir, 'no-such-dir')} does not exist`)
    expect(e.file).toBe(file)
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false)
  })

  it('over a directory: an error naming the file, and the temporary file removed', async () => {
    const target = join(dir, 'a-directory-to-write')
    mkdirSync(target)
    const e = errorOf(await Node.writeCheckpoint(target, Checkpoint.make(trained))())
    expect(e.message).toBe(`${target}: cannot rename the temporary file over it: it is a directory, expected a file`)
    expect(readdirSync(dir).filter((n) => Node.isCheckpointTempFile(target, n))).toEqual([])
  })

  it('a state that cannot be encoded: an error, not a throw, and the old file is kept', async () => {
    const file = join(dir, 'kept.safetensors')
    await Node.writeCheckpoint(file, Checkpoint.make(trained))()
    const before = readFileSync(file)
    const e = errorOf(await Node.writeCheckpoint(file, Checkpoint.make(trained, { size: 10n }))())
    expect(e.message).toMatch(/kept\.safetensors: cannot encode the checkpoint: the spec is not a JSON value/)
    expect(e.path).toBe('spec')
    expect(Buffer.compare(readFileSync(file), before)).toBe(0)
  })

  it('over an existing checkpoint (of either version) replaces it', async () => {
    const file = join(dir, 'replace.ckpt')
    writeFileSync(file, readFileSync(V1_FIXTURE))
    expect(rightOf(await Node.readCheckpoint(file)()).version).toBe(1)
    await Node.writeCheckpoint(file, Checkpoint.make(Train.initialState(network, optimizer, 0)))()
    await Node.writeCheckpoint(file, Checkpoint.make(trained))()
    const c = rightOf(await Node.readCheckpoint(file)())
    expect([c.version, c.state.step]).toEqual([2, 4])
  })

  it('recognises its temporary files by name', () => {
    expect(Node.isCheckpointTempFile('/a/run.safetensors', '/a/run.safetensors.123-0a1b2c3d.tmp')).toBe(true)
    expect(Node.isCheckpointTempFile('/a/run.safetensors', 'run.safetensors.123-0a1b2c3d.tmp')).toBe(true)
    expect(Node.isCheckpointTempFile('/a/run.safetensors', '/a/run.safetensors')).toBe(false)
    expect(Node.isCheckpointTempFile('/a/run.safetensors', '/a/run.safetensors.tmp')).toBe(false)
    expect(Node.isCheckpointTempFile('/a/run.safetensors', '/a/other.safetensors.123-0a1b2c3d.tmp')).toBe(false)
  })
})

describe('after a NaN stop', () => {
  it('the returned last good state can be written, read back and resumed', async () => {
    const batches = Data.batches(task(), 8)
    const poisoned = { ...(batches[2] as Data.Dataset), inputs: Tensor.withElement((batches[2] as Data.Dataset).inputs, 3, Number.NaN) }
    const [result, lastGood] = run([batches[0] as Data.Dataset, batches[1] as Data.Dataset, poisoned])(Train.initialState(network, optimizer, 5))
    expect(E.isLeft(result) && result.left._tag).toBe('NonFinite')
    expect(lastGood.step).toBe(2)
    const file = join(dir, 'nan-stop.safetensors')
    expect(await Node.writeCheckpoint(file, Checkpoint.make(lastGood, spec))()).toEqual(E.right(undefined))
    const c = await Node.readCheckpoint(file)()
    const restored = rightOf(E.flatMap((x: Checkpoint.Checkpoint) => Checkpoint.restore(Train.initialState(network, optimizer, 0), x))(c))
    expect(sameState(restored, lastGood)).toBe(true)
  })
})
