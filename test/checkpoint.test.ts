/**
 * Checkpoints, tried as a user would break them: every truncated, edited, wrong-version or misplaced
 * file gives a `CheckpointError` value whose message names the file, the place, what was expected and
 * what was found — never a throw. Also: a checkpoint of the last good state after a NaN stop.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { Checkpoint, Data, Layers, Loss, Optim, Random, Tensor, Train, Tree } from '../src/index.ts'
import * as Node from '../src/node/index.ts'

const network = Layers.sequential(Layers.dense(6, 5), Layers.batchNorm(5), Layers.relu(), Layers.dense(5, 3))
const optimizer = Optim.adam(1e-2)
const spec = { layers: [{ dense: 5 }, 'batchNorm', 'relu', { dense: 3 }], optimizer: { adam: 0.01 } }

const task = (n = 32): Data.Dataset =>
  E.getOrElseW((e: Data.DataError) => {
    throw new Error(e.message)
  })(Data.fromLabelled(Random.normal(Random.key(1), [n, 6]), Array.from({ length: n }, (_, i) => i % 3), 3))

const run = Train.traverseSteps(Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer))
const [, trained] = run(Data.batches(task(), 8))(Train.initialState(network, optimizer, 5))
const text = Checkpoint.encode(Checkpoint.make(trained, spec))

const dir = mkdtempSync(join(tmpdir(), 'nn-ts-checkpoint-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Writes `contents` to a fresh file in the test directory and reads it back as a checkpoint. */
const readText = async (name: string, contents: string | Buffer) => {
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

const readError = async (name: string, contents: string | Buffer): Promise<Checkpoint.CheckpointError> => {
  const { file, result } = await readText(name, contents)
  const e = errorOf(result)
  expect(e.file).toBe(file)
  expect(e.message.startsWith(`${file}: `)).toBe(true)
  return e
}

/** The first tensor's base64 data in the text, and where it starts. */
const firstData = (): { readonly at: number; readonly data: string } => {
  const m = /"data":"([^"]+)"/.exec(text)
  if (m === null || m[1] === undefined) throw new Error('no tensor data in the checkpoint')
  return { at: m.index + '"data":"'.length, data: m[1] }
}

describe('reading a good checkpoint', () => {
  it('reads back what was written, spec included', async () => {
    const file = join(dir, 'good.ckpt.json')
    expect(await Node.writeCheckpoint(file, Checkpoint.make(trained, spec))()).toEqual(E.right(undefined))
    const c = await Node.readCheckpoint(file)()
    if (E.isLeft(c)) throw new Error(c.left.message)
    expect(c.right.spec).toEqual(spec)
    expect(c.right.version).toBe(Checkpoint.FORMAT_VERSION)
    expect(Tree.equals(c.right.state.params, trained.params)).toBe(true)
    expect(c.right.state.step).toBe(4)
    // A successful write leaves no temporary file behind.
    expect(readdirSync(dir).filter((n) => Node.isCheckpointTempFile(file, n))).toEqual([])
  })

  it('a re-indented file still reads: the checksum is over a canonical form', async () => {
    const { result } = await readText('reindented.ckpt.json', JSON.stringify(JSON.parse(text), null, 4))
    expect(E.isRight(result)).toBe(true)
  })

  it('a byte-order mark an editor added is ignored', async () => {
    const { result } = await readText('bom.ckpt.json', `\ufeff${text}`)
    expect(E.isRight(result)).toBe(true)
  })

  it('writes readable JSON: one line per field or tensor', () => {
    const doc = JSON.parse(text) as Record<string, unknown>
    expect(Object.keys(doc)).toEqual(['format', 'version', 'spec', 'step', 'rng', 'params', 'layerState', 'optState', 'checksum'])
    expect(doc.format).toBe('nn-ts checkpoint')
    expect(text).toMatch(/\n {6}"W": \{"dtype":"float32","shape":\[6,5\],"data":"[A-Za-z0-9+/=]+"\},\n/)
    expect(doc.checksum).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('a plain number that JSON cannot hold round-trips through its escape', () => {
    const state = { ...trained, optState: [{ count: -0, scale: Number.NaN, limit: Number.POSITIVE_INFINITY }] as Optim.OptState }
    const c = Checkpoint.decode(Checkpoint.encode(Checkpoint.make(state)))
    if (E.isLeft(c)) throw new Error(c.left.message)
    expect(c.right.state.optState).toEqual([{ count: -0, scale: Number.NaN, limit: Number.POSITIVE_INFINITY }])
    expect(Object.is((c.right.state.optState as [{ count: number }])[0].count, -0)).toBe(true)
  })

  it('a tensor that views part of a larger buffer encodes only its own bytes', () => {
    const whole = new Float64Array([1, 2, 3, 4, 5])
    const t = Tensor.fromData([3], whole.subarray(1, 4))
    const c = Checkpoint.decode(Checkpoint.encode(Checkpoint.make({ ...trained, params: { t } })))
    if (E.isLeft(c)) throw new Error(c.left.message)
    expect(Tensor.toArray((c.right.state.params as { t: Tensor.Tensor }).t)).toEqual([2, 3, 4])
  })

  it('a NaN payload in a tensor survives: bytes are copied, not converted', () => {
    const bits = new Uint32Array([0x7fa00001, 0xffc00123, 0x00000001, 0x80000000])
    const t = Tensor.fromData([4], new Float32Array(bits.buffer))
    const c = Checkpoint.decode(Checkpoint.encode(Checkpoint.make({ ...trained, params: { t } })))
    if (E.isLeft(c)) throw new Error(c.left.message)
    const back = (c.right.state.params as { t: Tensor.Tensor }).t
    expect(Array.from(new Uint32Array(back.data.buffer))).toEqual(Array.from(bits))
  })
})

describe('a corrupt or wrong file gives a CheckpointError naming the file, the place and the problem', () => {
  it('missing file', async () => {
    const file = join(dir, 'nowhere.ckpt.json')
    const e = errorOf(await Node.readCheckpoint(file)())
    expect(e.message).toBe(`${file}: no such file or directory (read the checkpoint)`)
  })

  it('a directory', async () => {
    mkdirSync(join(dir, 'a-directory'))
    const e = errorOf(await Node.readCheckpoint(join(dir, 'a-directory'))())
    expect(e.message).toMatch(/a-directory: is a directory, expected a checkpoint file/)
  })

  it('empty file', async () => {
    const e = await readError('empty.ckpt.json', '')
    expect(e.message).toMatch(/: empty file \(0 bytes\): expected an nn-ts checkpoint \(JSON\)$/)
  })

  it('truncated file', async () => {
    const e = await readError('truncated.ckpt.json', text.slice(0, Math.floor(text.length / 2)))
    expect(e.message).toMatch(/: not valid JSON \(.+\): the file is truncated, corrupted or not a checkpoint$/)
  })

  it('not JSON', async () => {
    const e = await readError('not-json.ckpt.json', 'W = [[0.1, 0.2]]\n')
    expect(e.message).toMatch(/not valid JSON/)
  })

  it('binary garbage', async () => {
    const e = await readError('garbage.ckpt.json', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x13]))
    expect(e.message).toMatch(/not valid JSON/)
  })

  it('JSON that is not a checkpoint', async () => {
    expect((await readError('array.json', '[1, 2]')).message).toMatch(/not an nn-ts checkpoint: expected a JSON object with format "nn-ts checkpoint", found an array of 2$/)
    expect((await readError('spec.json', JSON.stringify(spec))).message).toMatch(/not an nn-ts checkpoint: expected format "nn-ts checkpoint", found no format field$/)
  })

  it('wrong format tag', async () => {
    const e = await readError('tag.ckpt.json', text.replace('"format": "nn-ts checkpoint"', '"format": "keras checkpoint"'))
    expect(e.message).toMatch(/: not an nn-ts checkpoint: expected format "nn-ts checkpoint", found format "keras checkpoint"$/)
    expect(e.path).toBe('format')
  })

  it('a newer format version', async () => {
    const e = await readError('v2.ckpt.json', text.replace('"version": 1', '"version": 2'))
    expect(e.message).toMatch(/: written by a newer nn-ts: format version 2, this reads 1$/)
  })

  it('a version that never existed', async () => {
    expect((await readError('v0.ckpt.json', text.replace('"version": 1', '"version": 0'))).message).toMatch(/unsupported format version 0: this nn-ts reads format version 1$/)
    expect((await readError('vs.ckpt.json', text.replace('"version": 1', '"version": "1"'))).message).toMatch(/unsupported format version "1"/)
    expect((await readError('vm.ckpt.json', text.replace('"version": 1,\n', ''))).message).toMatch(/missing field version \(expected format version 1\)$/)
  })

  it('one base64 character edited', async () => {
    const { at, data } = firstData()
    const i = at + Math.floor(data.length / 2)
    const edited = `${text.slice(0, i)}${text[i] === 'A' ? 'B' : 'A'}${text.slice(i + 1)}`
    const e = await readError('base64.ckpt.json', edited)
    expect(e.message).toMatch(/: checksum mismatch: the file was edited or corrupted \(stored sha256:[0-9a-f]+…, computed sha256:[0-9a-f]+…\)$/)
  })

  it('a character that is not base64', async () => {
    const { at } = firstData()
    const e = await readError('not-base64.ckpt.json', `${text.slice(0, at + 3)}!${text.slice(at + 4)}`)
    expect(e.message).toMatch(/: params\[0\]\.W\.data: not valid base64 \(expected standard base64 with padding, found the string "/)
    expect(e.path).toBe('params[0].W.data')
  })

  it('a number edited', async () => {
    const e = await readError('step.ckpt.json', text.replace('"step": 4', '"step": 5'))
    expect(e.message).toMatch(/checksum mismatch: the file was edited or corrupted/)
    const count = await readError('count.ckpt.json', text.replace('"count":4', '"count":40'))
    expect(count.message).toMatch(/checksum mismatch/)
  })

  it('the checksum itself edited or missing', async () => {
    expect((await readError('sum.ckpt.json', text.replace(/"sha256:[0-9a-f]/, '"sha256:_'))).message).toMatch(
      /checksum: expected "sha256:" and 64 lowercase hex digits, found the string "sha256:_/
    )
    expect((await readError('nosum.ckpt.json', text.replace(/,\n {2}"checksum": "[^"]+"/, ''))).message).toMatch(/missing field checksum/)
  })

  it('a missing field', async () => {
    const doc = JSON.parse(text) as Record<string, unknown>
    delete doc.optState
    const e = await readError('missing.ckpt.json', JSON.stringify(doc))
    expect(e.message).toMatch(/: missing field optState \(expected a tree of tensors and numbers\)$/)
    expect(e.path).toBe('optState')
  })

  it('an unexpected field', async () => {
    const e = await readError('extra.ckpt.json', text.replace('"step": 4', '"epoch": 1,\n  "step": 4'))
    expect(e.message).toMatch(/: unexpected field epoch \(a version 1 checkpoint has exactly format, version, spec, step, rng, params, layerState, optState, checksum\)$/)
  })

  it('a field of the wrong type', async () => {
    expect((await readError('step-neg.ckpt.json', text.replace('"step": 4', '"step": -4'))).message).toMatch(/: step: expected a non-negative integer, found number -4$/)
    expect((await readError('step-str.ckpt.json', text.replace('"step": 4', '"step": "4"'))).message).toMatch(/: step: expected a non-negative integer, found the string "4"$/)
    const rng = await readError('rng.ckpt.json', text.replace(/"rng": \[\d+,/, '"rng": [1.5,'))
    expect(rng.message).toMatch(/: rng\[0\]: expected an unsigned 32-bit integer, found number 1.5$/)
    const numberInParams = await readError('num.ckpt.json', text.replace(/"b": \{[^}]+\}/, '"b": 0.5'))
    expect(numberInParams.message).toMatch(/: params\[0\]\.b: expected a tensor, a tuple or a record, found number 0.5 \(params and layer state hold tensors only\)$/)
  })

  it('tensor data whose length does not match the shape', async () => {
    const e = await readError('length.ckpt.json', text.replace('"shape":[6,5]', '"shape":[6,6]'))
    expect(e.message).toMatch(/: params\[0\]\.W\.data: expected 36 float32 values \(144 bytes\) for shape \[6, 6\], found 30 values \(120 bytes\)$/)
    const dtype = await readError('dtype.ckpt.json', text.replace('"dtype":"float32","shape":[6,5]', '"dtype":"float64","shape":[6,5]'))
    expect(dtype.message).toMatch(/: params\[0\]\.W\.data: expected 30 float64 values \(240 bytes\) for shape \[6, 5\], found 15 values \(120 bytes\)$/)
    const bad = await readError('f16.ckpt.json', text.replace('"dtype":"float32","shape":[6,5]', '"dtype":"float16","shape":[6,5]'))
    expect(bad.message).toMatch(/: params\[0\]\.W\.dtype: expected "float32" or "float64", found the string "float16"$/)
    const shape = await readError('shape.ckpt.json', text.replace('"shape":[6,5]', '"shape":[6,-5]'))
    expect(shape.message).toMatch(/: params\[0\]\.W\.shape: expected an array of non-negative integers, found \[6,-5\]$/)
  })

  it('a crafted file nested a hundred thousand levels deep: an error, not a stack overflow', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    const params = errorOf(Checkpoint.decode(text.replace(/"params": \[/, `"params": [${deep},`)))
    expect(params.message).toMatch(/^params(\[0\]){101}: nested deeper than 100 levels \(the state of a network is a few levels deep\)$/)
    const withMarker = JSON.stringify({ ...(JSON.parse(text) as object), spec: 'DEEP' })
    const inSpec = errorOf(Checkpoint.decode(withMarker.replace('"DEEP"', deep)))
    expect(inSpec.message).toMatch(/^spec: expected any JSON value nested at most 100 levels/)
  })

  it('no input whatsoever makes decode throw: random truncations and edits give Left or the same state', () => {
    const original = Checkpoint.decode(text)
    fc.assert(
      fc.property(fc.nat({ max: text.length - 1 }), fc.option(fc.string({ minLength: 1, maxLength: 1 })), (i, replacement) => {
        const edited = replacement === null ? text.slice(0, i) : `${text.slice(0, i)}${replacement}${text.slice(i + 1)}`
        const r = Checkpoint.decode(edited)
        // An edit inside whitespace (or to the same character) changes nothing that matters.
        if (E.isRight(r)) expect(E.isRight(original) && Checkpoint.encode(r.right) === Checkpoint.encode(original.right)).toBe(true)
        else expect(r.left.message.length).toBeGreaterThan(10)
      }),
      { numRuns: 300 }
    )
  })
})

describe('restore checks the checkpoint against the network and optimizer it resumes', () => {
  const decoded = Checkpoint.decode(text)
  const checkpoint = (): Checkpoint.Checkpoint => {
    if (E.isLeft(decoded)) throw new Error(decoded.left.message)
    return decoded.right
  }

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
    const f64 = Tree.map(Train.initialState(network, optimizer, 0).params, (t) => Tensor.cast(t, 'float64'))
    const template = { ...Train.initialState(network, optimizer, 0), params: f64 }
    expect(errorOf(Checkpoint.restore(template, checkpoint())).message).toMatch(/^params\[0\]\.W: expected float64 \[6, 5\], found float32 \[6, 5\]/)
  })

  it('another optimizer', () => {
    const sgd = Optim.sgd(0.1)
    const e = errorOf(Checkpoint.restore(Train.initialState(network, sgd, 0), checkpoint()))
    expect(e.message).toMatch(/^optState: expected a tuple of 1, found a tuple of 2 /)
    const momentum = Optim.chain(Optim.trace(0.9), Optim.scaleByLearningRate(0.1))
    expect(errorOf(Checkpoint.restore(Train.initialState(network, momentum, 0), checkpoint())).message).toMatch(
      /^optState\[0\]: expected a record \{.*\}, found a record \{count, mu, nu\} /
    )
  })

  it('takes only the structure from the template: values, key and step come from the checkpoint', () => {
    const r = Checkpoint.restore(Train.initialState(network, optimizer, 99), checkpoint())
    if (E.isLeft(r)) throw new Error(r.left.message)
    expect(Tree.equals(r.right.params, trained.params)).toBe(true)
    expect(Tree.equals(r.right.layerState, trained.layerState)).toBe(true)
    expect(Tree.equals(r.right.optState, trained.optState)).toBe(true)
    expect(r.right.rng).toEqual(trained.rng)
    expect(r.right.step).toBe(trained.step)
  })
})

describe('writing', () => {
  it('into a missing directory: an error naming the file, and no file left behind', async () => {
    const file = join(dir, 'no-such-dir', 'x.ckpt.json')
    const e = errorOf(await Node.writeCheckpoint(file, Checkpoint.make(trained))())
    expect(e.message).toBe(`${file}: no such file or directory (create a temporary file next to it)`)
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false)
  })

  it('over a directory: an error naming the file, and the temporary file removed', async () => {
    const target = join(dir, 'a-directory-to-write')
    mkdirSync(target)
    const e = errorOf(await Node.writeCheckpoint(target, Checkpoint.make(trained))())
    expect(e.message).toBe(`${target}: is a directory, expected a checkpoint file (rename the temporary file over it)`)
    expect(readdirSync(dir).filter((n) => Node.isCheckpointTempFile(target, n))).toEqual([])
  })

  it('a spec that is not JSON: an error, not a throw, and the old file is kept', async () => {
    const file = join(dir, 'kept.ckpt.json')
    await Node.writeCheckpoint(file, Checkpoint.make(trained))()
    const before = readFileSync(file, 'utf8')
    const e = errorOf(await Node.writeCheckpoint(file, Checkpoint.make(trained, { size: 10n }))())
    expect(e.message).toMatch(/kept\.ckpt\.json: cannot encode the checkpoint: /)
    expect(readFileSync(file, 'utf8')).toBe(before)
  })

  it('over an existing checkpoint replaces it', async () => {
    const file = join(dir, 'replace.ckpt.json')
    await Node.writeCheckpoint(file, Checkpoint.make(Train.initialState(network, optimizer, 0)))()
    await Node.writeCheckpoint(file, Checkpoint.make(trained))()
    const c = await Node.readCheckpoint(file)()
    expect(E.isRight(c) && c.right.state.step).toBe(4)
  })

  it('recognises its temporary files by name', () => {
    expect(Node.isCheckpointTempFile('/a/run.json', '/a/run.json.123-0a1b2c3d.tmp')).toBe(true)
    expect(Node.isCheckpointTempFile('/a/run.json', 'run.json.123-0a1b2c3d.tmp')).toBe(true)
    expect(Node.isCheckpointTempFile('/a/run.json', '/a/run.json')).toBe(false)
    expect(Node.isCheckpointTempFile('/a/run.json', '/a/run.json.tmp')).toBe(false)
    expect(Node.isCheckpointTempFile('/a/run.json', '/a/other.json.123-0a1b2c3d.tmp')).toBe(false)
  })
})

describe('after a NaN stop', () => {
  it('the returned last good state can be written, read back and resumed', async () => {
    const batches = Data.batches(task(), 8)
    const poisoned = { ...(batches[2] as Data.Dataset), inputs: Tensor.withElement((batches[2] as Data.Dataset).inputs, 3, Number.NaN) }
    const [result, lastGood] = run([batches[0] as Data.Dataset, batches[1] as Data.Dataset, poisoned])(Train.initialState(network, optimizer, 5))
    expect(E.isLeft(result) && result.left._tag).toBe('NonFinite')
    expect(lastGood.step).toBe(2)
    const file = join(dir, 'nan-stop.ckpt.json')
    expect(await Node.writeCheckpoint(file, Checkpoint.make(lastGood, spec))()).toEqual(E.right(undefined))
    const c = await Node.readCheckpoint(file)()
    const restored = E.flatMap((x: Checkpoint.Checkpoint) => Checkpoint.restore(Train.initialState(network, optimizer, 0), x))(c)
    if (E.isLeft(restored)) throw new Error(restored.left.message)
    expect(Tree.equals(restored.right.params, lastGood.params)).toBe(true)
    expect(Tree.equals(restored.right.layerState, lastGood.layerState)).toBe(true)
    expect(Tree.equals(restored.right.optState, lastGood.optState)).toBe(true)
    expect(restored.right.rng).toEqual(lastGood.rng)
    expect(restored.right.step).toBe(2)
  })
})
