/**
 * Parameters files: params alone in a safetensors file, named by tree path, loadable into any network
 * with the same parameter structure whatever its optimizer; one error naming every tensor that does
 * not fit; PyTorch `state_dict`s through a name mapping. Checked with independent programs where
 * Debian's /usr/bin/python3 has PyTorch: Python's `struct`/`json`/`hashlib` and `torch.frombuffer`
 * read what nn-ts wrote (names, shapes, values, checksum, and a torch forward pass with the weights
 * transposed into `nn.Linear`), and nn-ts reads a `state_dict` Python wrote by hand and computes the
 * forward pass torch computed. Also: the best epoch of `fit({ keepBest })` saved with `writeParams`.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { afterAll, describe, expect, it } from 'vitest'
import { Checkpoint, Data, Layers, Loss, Optim, Random, Tensor, TensorFile, Train, Tree, kernels } from '../src/index.ts'
import * as Node from '../src/node/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'nn-ts-params-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const rightOf = <A>(r: E.Either<{ readonly message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

const errorOf = <A>(r: E.Either<Checkpoint.CheckpointError, A>): Checkpoint.CheckpointError => {
  if (E.isRight(r)) throw new Error('expected a CheckpointError, got a Right')
  expect(r.left._tag).toBe('CheckpointError')
  return r.left
}

const mlp = Layers.sequential(Layers.dense(784, 40), Layers.relu(), Layers.dense(40, 10))
const mlpState = mlp.init(Random.key(0)).state
const withNorm = Layers.sequential(Layers.dense(6, 5), Layers.batchNorm(5), Layers.relu(), Layers.dense(5, 3))

const task = (n: number, features: number, classes: number, seed: number): Data.Dataset =>
  rightOf(Data.fromLabelled(Random.normal(Random.key(seed), [n, features]), Array.from({ length: n }, (_, i) => (i * 7 + seed) % classes), classes))

describe('params round-trip through a file', () => {
  it('into a fresh network of the same structure, bit for bit, with the spec; the file is named by tree paths', async () => {
    const params = withNorm.init(Random.key(3)).params
    const file = join(dir, 'params.safetensors')
    const spec = { layers: ['dense 5', 'batchNorm', 'relu', 'dense 3'] }
    expect(await Node.writeParams(file, params, { spec })()).toEqual(E.right(undefined))
    const read = rightOf(await Node.readParams(file)())
    expect(read.spec).toEqual(spec)
    expect(read.tensors.map(([name]) => name)).toEqual(['[0].W', '[0].b', '[1].gamma', '[1].beta', '[3].W', '[3].b'])
    expect(read.metadata).toEqual({ format: 'nn-ts params', version: '1', spec: JSON.stringify(spec) })
    // The template is another initialisation: only its structure is used.
    const restored = rightOf(Checkpoint.restoreParams(withNorm.init(Random.key(99)).params, read))
    expect(Tree.equals(restored, params)).toBe(true)
    // The pure codec writes the same file.
    const bytes = rightOf(Checkpoint.encodeParams(params, { spec }))
    expect(Tree.equals(rightOf(pipe(Checkpoint.decodeParams(bytes), E.flatMap((f) => Checkpoint.restoreParams(params, f)))), params)).toBe(true)
  })

  it('float64 params, and params whose record keys need quoting', () => {
    const params64 = mlp.init(Random.key(1), 'float64').params
    expect(Tree.equals(rightOf(pipe(Checkpoint.encodeParams(params64), E.flatMap((b) => Checkpoint.decodeParams(b)), E.flatMap((f) => Checkpoint.restoreParams(params64, f)))), params64)).toBe(true)
    const odd = { 'layer 1': { W: Tensor.vector([1]) }, 'a.b': Tensor.vector([2]), '0': Tensor.vector([3]), '\ud800': Tensor.vector([4]) }
    const f = rightOf(pipe(Checkpoint.encodeParams(odd), E.flatMap((b) => Checkpoint.decodeParams(b))))
    expect(f.tensors.map(([name]) => name)).toEqual(['["0"]', '["layer 1"].W', '["a.b"]', '["\\ud800"]'])
    expect(Tree.equals(rightOf(Checkpoint.restoreParams(odd, f)), odd)).toBe(true)
  })

  it('independent of the optimizer: params of an Optim.identity() run load into an Adam run, where a checkpoint cannot', async () => {
    const data = task(48, 6, 3, 2)
    const frozen = Train.initialState(withNorm, Optim.identity(), 4)
    const adam = Optim.adam(1e-2)
    const fresh = Train.initialState(withNorm, adam, 0)
    // The checkpoint holds the identity's optimizer state, which is not Adam's.
    const checkpoint = rightOf(pipe(Checkpoint.encode(Checkpoint.make(frozen)), E.flatMap(Checkpoint.decode)))
    expect(errorOf(Checkpoint.restore(fresh, checkpoint)).message).toMatch(/^optState: expected a tuple of 2, found a tuple of 0 \(the checkpoint was saved from a different network or optimizer\)$/)
    const file = join(dir, 'frozen.safetensors')
    await Node.writeParams(file, frozen.params)()
    const params = rightOf(await pipe(Node.readParams(file), TE.flatMapEither((f) => Checkpoint.restoreParams(fresh.params, f)))())
    // Training on from the loaded params is training on from the params themselves, bit for bit.
    const run = Train.traverseSteps(Train.trainStep(withNorm, Loss.softmaxCrossEntropy, adam))
    const start = (p: typeof fresh.params) => ({ ...fresh, params: p, optState: adam.init(p) })
    const [loadedResult, loaded] = run(Data.batches(data, 16))(start(params))
    const [directResult, direct] = run(Data.batches(data, 16))(start(frozen.params))
    expect(E.isRight(loadedResult) && E.isRight(directResult)).toBe(true)
    expect(Tree.equals(loaded.params, direct.params) && Tree.equals(loaded.optState, direct.optState)).toBe(true)
    expect(loaded.step).toBe(3)
  })
})

describe('what does not fit is named, all of it, in one error', () => {
  const params = mlp.init(Random.key(0)).params
  const saved = rightOf(pipe(Checkpoint.encodeParams(params), E.flatMap((b) => Checkpoint.decodeParams(b))))

  it('missing, extra and mismatched tensors against another network', () => {
    const other = Layers.sequential(Layers.dense(784, 32), Layers.relu(), Layers.dense(32, 10), Layers.relu(), Layers.dense(10, 2))
    const e = errorOf(Checkpoint.restoreParams(other.init(Random.key(0)).params, saved))
    expect(e.message).toBe(
      'the file does not fit the params: 5 problems: ' +
        '[0].W: expected float32 [784, 32], found float32 [784, 40] in "[0].W"; ' +
        '[0].b: expected float32 [32], found float32 [40] in "[0].b"; ' +
        '[2].W: expected float32 [32, 10], found float32 [40, 10] in "[2].W"; ' +
        '[4].W (float32 [10, 2]) is missing: no tensor "[4].W" in the file; ' +
        '[4].b (float32 [2]) is missing: no tensor "[4].b" in the file'
    )
  })

  it('a tensor of the file no leaf uses, a float64 template, a file of another network entirely', () => {
    const extra = { ...saved, tensors: [...saved.tensors, ['[9].W', Tensor.zeros([2, 2])] as const] }
    expect(errorOf(Checkpoint.restoreParams(params, extra)).message).toBe('the file does not fit the params: 1 problem: "[9].W" (float32 [2, 2]) is extra: no leaf of the params uses it')
    const e64 = errorOf(Checkpoint.restoreParams(mlp.init(Random.key(0), 'float64').params, saved))
    expect(e64.message).toMatch(/^the file does not fit the params: 4 problems: \[0\]\.W: expected float64 \[784, 40\], found float32 \[784, 40\] in "\[0\]\.W"; /)
    expect(e64.path).toBe('[0].W')
  })

  it('mapping entries that point nowhere, fill one leaf twice, transpose a vector, or name a tensor the file lacks', () => {
    const torchNames = { tensors: [['0.weight', Tensor.zeros([40, 784])], ['0.bias', Tensor.zeros([40])], ['2.weight', Tensor.zeros([10, 40])], ['2.bias', Tensor.zeros([10])]] as const }
    const mapping: ReadonlyArray<Checkpoint.NameMapping> = [
      { from: '0.weight', to: [0, 'W'], transpose: true },
      { from: '0.bias', to: [0, 'b'], transpose: true },
      { from: '2.weight', to: [2, 'W'] },
      { from: '2.bias', to: [2, 'b'] },
      { from: '2.bias', to: [2, 'b'] },
      { from: 'head.weight', to: [5, 'W'] }
    ]
    const e = errorOf(Checkpoint.restoreParams(params, torchNames, { mapping }))
    expect(e.message).toBe(
      'the file does not fit the params: 4 problems: ' +
        '[2].b is given twice by the mapping (from "2.bias" and from "2.bias"); ' +
        'the mapping entry "head.weight" → [5].W points nowhere: the params have no tensor at [5].W; ' +
        '[0].b: the mapping transposes "0.bias", which is float32 [40], not a matrix; ' +
        '[2].W: expected float32 [40, 10], found float32 [10, 40] in "2.weight"'
    )
    const lacking = errorOf(Checkpoint.restoreParams(params, { tensors: torchNames.tensors.slice(0, 3) }, { mapping: Checkpoint.torchLinearMapping(params) }))
    expect(lacking.message).toBe('the file does not fit the params: 1 problem: [2].b (float32 [10]) is missing: the mapping takes it from "2.bias", which is not in the file')
    expect(rightOf(Checkpoint.restoreParams(params, torchNames, { mapping: Checkpoint.torchLinearMapping(params) }))).toHaveLength(3)
  })

  it('more than twenty problems: the first twenty and a count', () => {
    const many = Array.from({ length: 25 }, (_, i) => [`x${i}`, Tensor.zeros([1])] as const)
    const e = errorOf(Checkpoint.restoreParams(params, { tensors: [...saved.tensors, ...many] }))
    expect(e.message).toMatch(/^the file does not fit the params: 25 problems: "x0" \(float32 \[1\]\) is extra: no leaf of the params uses it; .*"x19" .*; and 5 more$/)
  })

  it('files that are not parameters files: a checkpoint, a file of another tool without the option, a newer version, a stray name', async () => {
    const checkpointFile = join(dir, 'a-checkpoint.safetensors')
    await Node.writeCheckpoint(checkpointFile, Checkpoint.make(Train.initialState(mlp, Optim.sgd(0.1), 0)))()
    expect(errorOf(await Node.readParams(checkpointFile)()).message).toBe(
      `${checkpointFile}: this is an nn-ts checkpoint, not a parameters file: read it with readCheckpoint (its params are state.params)`
    )
    const foreign = join(dir, 'foreign.safetensors')
    writeFileSync(foreign, handWritten([['weight', Tensor.zeros([2])]]))
    expect(errorOf(await Node.readParams(foreign)()).message).toMatch(/^.*foreign\.safetensors: __metadata__ has no "checksum": .*\(read files of other tools with \{ requireChecksum: false \}\)$/)
    expect(rightOf(await Node.readParams(foreign, { requireChecksum: false })()).tensors.map(([n]) => n)).toEqual(['weight'])
    const newer = rightOf(TensorFile.encode(saved.tensors, { ...saved.metadata, version: '2' }))
    expect(errorOf(Checkpoint.decodeParams(newer)).message).toBe('written by a newer nn-ts: parameters format version 2, this reads version 1')
    const stray = rightOf(TensorFile.encode([...saved.tensors, ['0.weight', Tensor.zeros([1])]], saved.metadata))
    expect(errorOf(Checkpoint.decodeParams(stray)).message).toBe(
      'tensor "0.weight": not a tree path: at character 0 of "0.weight": expected an identifier or "[" (names are written by Checkpoint.pathName)'
    )
  })

  it('the mapping for PyTorch names every dense layer, nested ones too, and nothing else', () => {
    const nested = Layers.sequential(Layers.dense(4, 8), Layers.sequential(Layers.dense(8, 8), Layers.batchNorm(8), Layers.relu()), Layers.dense(8, 2))
    const mapping = Checkpoint.torchLinearMapping(nested.init(Random.key(0)).params)
    expect(mapping.map((m) => `${m.from} → ${Tree.showPath(m.to)}${m.transpose === true ? ' (transposed)' : ''}`)).toEqual([
      '0.weight → [0].W (transposed)',
      '0.bias → [0].b',
      '1.0.weight → [1][0].W (transposed)',
      '1.0.bias → [1][0].b',
      '2.weight → [2].W (transposed)',
      '2.bias → [2].b'
    ])
  })
})

/** A safetensors file as other tools write it (no nn-ts metadata, no checksum), float64 or float32 by the tensors. */
const handWritten = (tensors: ReadonlyArray<readonly [string, Tensor.Tensor]>): Uint8Array => {
  let offset = 0
  const entries = tensors.map(([name, t]) => {
    const begin = offset
    offset += t.data.byteLength
    return `${JSON.stringify(name)}:{"dtype":"${t.dtype === 'float64' ? 'F64' : 'F32'}","shape":[${t.shape.join(',')}],"data_offsets":[${begin},${offset}]}`
  })
  const header = new TextEncoder().encode(`{${entries.join(',')}}`)
  const out = new Uint8Array(8 + header.length + offset)
  new DataView(out.buffer).setUint32(0, header.length, true)
  out.set(header, 8)
  let at = 8 + header.length
  for (const [, t] of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at)
    at += t.data.byteLength
  }
  return out
}

// independent programs

const PYTHON = '/usr/bin/python3'
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
const python = (code: string, ...args: string[]): string => execFileSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })

/**
 * A bound on |nn-ts − torch| for the output of dense → relu → dense in float64, element by element.
 * Each computes every dot product of length k with error at most γ_k·(|a|·|b|) (Higham, Accuracy and
 * Stability of Numerical Algorithms, §3.1; γ_k = k·u/(1 − k·u), u = 2^−53), whatever its summation
 * order; ReLU is 1-Lipschitz, so layer 1's error reaches the output through |W2|. Each side is within
 * the bound of the exact result, so the two are within twice it. The bound's own float64 arithmetic
 * is off by far less than its 2× margin.
 */
const forwardBound = (x: Tensor.Tensor, params: ReadonlyArray<Tree.Tree>): Tensor.Tensor => {
  const [l1, , l2] = params as [{ W: Tensor.Tensor; b: Tensor.Tensor }, unknown, { W: Tensor.Tensor; b: Tensor.Tensor }]
  const abs = (t: Tensor.Tensor) => kernels.map(t, Math.abs)
  const gamma = (k: number) => (k * 2 ** -53) / (1 - k * 2 ** -53)
  const in1 = l1.W.shape[0] as number
  const in2 = l2.W.shape[0] as number
  const hidden = kernels.relu(kernels.affine(x, l1.W, l1.b))
  const absHidden = kernels.addRowVector(kernels.matmul(abs(x), abs(l1.W)), abs(l1.b))
  const layer1 = kernels.scale(kernels.matmul(absHidden, abs(l2.W)), gamma(in1 + 1))
  const layer2 = kernels.scale(kernels.addRowVector(kernels.matmul(abs(hidden), abs(l2.W)), abs(l2.b)), gamma(in2 + 1))
  return kernels.scale(kernels.add(layer1, layer2), 2)
}

const within = (a: Tensor.Tensor, b: Tensor.Tensor, bound: Tensor.Tensor): { readonly ok: boolean; readonly worst: number } => {
  let ok = true
  let worst = 0
  a.data.forEach((v, i) => {
    const d = Math.abs(v - (b.data[i] as number))
    ok &&= d <= (bound.data[i] as number)
    worst = Math.max(worst, d / Math.max(bound.data[i] as number, Number.MIN_VALUE))
  })
  return { ok, worst }
}

const READ_NNTS_FILE = `
import hashlib, json, struct, sys, torch
data = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
header = json.loads(data[8:8 + n])
meta = header.pop('__metadata__')
body = data[8 + n:]
tensors, loaded = [], {}
for name, info in header.items():
    b, e = info['data_offsets']
    code, dtype = {'F32': ('f', torch.float32), 'F64': ('d', torch.float64)}[info['dtype']]
    values = list(struct.unpack('<%d%s' % ((e - b) // struct.calcsize(code), code), body[b:e]))
    t = torch.frombuffer(bytearray(body[b:e]), dtype=dtype).reshape(info['shape'])
    assert t.flatten().tolist() == values, name
    tensors.append({'name': name, 'dtype': info['dtype'], 'shape': info['shape'], 'values': values})
    loaded[name] = t
# The checksum as the format documents it: the canonical header, then the data section.
canonical = '{"__metadata__":' + json.dumps({k: meta[k] for k in sorted(meta) if k != 'checksum'}, separators=(',', ':'), ensure_ascii=False)
for name, info in header.items():
    canonical += ',%s:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}' % (json.dumps(name, ensure_ascii=False), info['dtype'], ','.join(map(str, info['shape'])), *info['data_offsets'])
canonical += '}'
digest = 'sha256:' + hashlib.sha256(canonical.encode('utf-8') + body).hexdigest()
# PyTorch's nn.Linear holds weight = W transposed ([out, in]); nn-ts's dense holds W ([in, out]).
model = torch.nn.Sequential(torch.nn.Linear(784, 40), torch.nn.ReLU(), torch.nn.Linear(40, 10)).double()
with torch.no_grad():
    for i in (0, 2):
        model[i].weight.copy_(loaded['[%d].W' % i].double().T)
        model[i].bias.copy_(loaded['[%d].b' % i].double())
    x = torch.linspace(-1, 1, 5 * 784, dtype=torch.float64).reshape(5, 784)
    y = model(x)
print(json.dumps({'metadata': meta, 'checksumOk': meta['checksum'] == digest, 'tensors': tensors, 'x': x.flatten().tolist(), 'y': y.flatten().tolist()}))
`

const WRITE_STATE_DICT = `
import json, struct, sys, torch
torch.manual_seed(2024)
model = torch.nn.Sequential(torch.nn.Linear(784, 40), torch.nn.ReLU(), torch.nn.Linear(40, 10)).double()
x = torch.randn(6, 784, dtype=torch.float64)
with torch.no_grad():
    y = model(x)
def write(path, named, metadata):
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, t in named:
        t = t.detach().contiguous()
        blob = struct.pack('<%dd' % t.numel(), *t.flatten().tolist())
        header[name] = {'dtype': 'F64', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-(8 + len(text)) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))
write(sys.argv[1], list(model.state_dict().items()), {'format': 'pt'})
write(sys.argv[2], [('x', x), ('y', y)], {})
print(json.dumps(list(model.state_dict().keys())))
`

describe.skipIf(!hasTorch)(`independent programs: Python struct/json/hashlib and PyTorch${hasTorch ? '' : ' (skipped: /usr/bin/python3 cannot import torch)'}`, () => {
  it('Python reads the params file nn-ts wrote: names, dtypes, shapes, values, checksum; torch computes the same forward pass with weight = Wᵀ', async () => {
    const params = mlp.init(Random.key(11)).params
    const file = join(dir, 'for-python.safetensors')
    await Node.writeParams(file, params, { spec: { hidden: 40 } })()
    const seen = JSON.parse(python(READ_NNTS_FILE, file)) as {
      metadata: Record<string, string>
      checksumOk: boolean
      tensors: Array<{ name: string; dtype: string; shape: number[]; values: number[] }>
      x: number[]
      y: number[]
    }
    expect(seen.checksumOk).toBe(true)
    expect(seen.metadata).toMatchObject({ format: 'nn-ts params', version: '1', spec: '{"hidden":40}' })
    const leaves = Tree.leaves(params)
    expect(seen.tensors.map((t) => `${t.name} ${t.dtype} [${t.shape.join(', ')}]`)).toEqual(['[0].W F32 [784, 40]', '[0].b F32 [40]', '[2].W F32 [40, 10]', '[2].b F32 [10]'])
    seen.tensors.forEach((t, i) => expect(t.values.every((v, j) => Object.is(v, leaves[i]?.value.data[j]))).toBe(true))
    // nn-ts's forward pass in float64 on the same input, against torch's with the transposed weights.
    const params64 = Tree.map(params, (t) => Tensor.cast(t, 'float64'))
    const x = Tensor.fromArray([5, 784], seen.x, 'float64')
    const ours = Layers.predict(mlp, params64, mlpState, x)
    const { ok, worst } = within(ours, Tensor.fromArray([5, 10], seen.y, 'float64'), forwardBound(x, params64 as ReadonlyArray<Tree.Tree>))
    console.info(`nn-ts → torch forward pass: worst difference ${worst.toExponential(2)} of the derived bound`)
    expect(ok).toBe(true)
  })

  it('nn-ts reads a state_dict Python wrote by hand, through torchLinearMapping, and computes the forward pass torch computed', async () => {
    const model = join(dir, 'torch-model.safetensors')
    const io = join(dir, 'torch-io.safetensors')
    expect(JSON.parse(python(WRITE_STATE_DICT, model, io))).toEqual(['0.weight', '0.bias', '2.weight', '2.bias'])
    const template = mlp.init(Random.key(0), 'float64').params
    const mapping = Checkpoint.torchLinearMapping(template)
    const params = rightOf(await pipe(Node.readParams(model, { requireChecksum: false }), TE.flatMapEither((f) => Checkpoint.restoreParams(template, f, { mapping })))())
    const tensors = new Map(rightOf(await Node.TensorFile.read(io, { requireChecksum: false })()).tensors)
    const x = tensors.get('x') as Tensor.Tensor
    const expected = tensors.get('y') as Tensor.Tensor
    const ours = Layers.predict(mlp, params, mlpState, x)
    expect(ours.shape).toEqual([6, 10])
    const { ok, worst } = within(ours, expected, forwardBound(x, params as ReadonlyArray<Tree.Tree>))
    console.info(`torch → nn-ts forward pass: worst difference ${worst.toExponential(2)} of the derived bound`)
    expect(ok).toBe(true)
    // Without the mapping, the PyTorch names fit nothing, and the error says so for each tensor.
    const unmapped = errorOf(await pipe(Node.readParams(model, { requireChecksum: false }), TE.flatMapEither((f) => Checkpoint.restoreParams(template, f)))())
    expect(unmapped.message).toMatch(/^the file does not fit the params: 8 problems: \[0\]\.W \(float64 \[784, 40\]\) is missing: no tensor "\[0\]\.W" in the file; .*"0\.weight" \(float64 \[40, 784\]\) is extra/)
  })
})

describe('early stopping keeps the best weights, and writeParams saves them', () => {
  it('fit({ keepBest }) → writeParams(best.state.params) → readParams → restoreParams: the best epoch\'s network, bit for bit', async () => {
    const network = Layers.sequential(Layers.dense(6, 16), Layers.tanh(), Layers.dense(16, 3))
    const train = task(60, 6, 3, 5)
    const validation = task(30, 6, 3, 6)
    const fitted = rightOf(
      await Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.adam(0.05), train, validation, epochs: 8, batchSize: 10, seed: 1, keepBest: 'valLoss' })()
    )
    const best = fitted.best
    if (best === undefined) throw new Error('fit with keepBest returned no best epoch')
    expect(best.value).toBe(Math.min(...fitted.history.valLoss))
    const file = join(dir, 'best.safetensors')
    expect(await Node.writeParams(file, best.state.params, { spec: { epoch: best.epoch } })()).toEqual(E.right(undefined))
    const loaded = rightOf(await Node.readParams(file)())
    expect(loaded.spec).toEqual({ epoch: best.epoch })
    const params = rightOf(Checkpoint.restoreParams(network.init(Random.key(0)).params, loaded))
    expect(Tree.equals(params, best.state.params)).toBe(true)
    const batches = Data.batches(validation, 30)
    const evaluate = (p: typeof params) => Train.evaluate(network, Loss.softmaxCrossEntropy, p, best.state.layerState, batches)
    expect(evaluate(params)).toEqual(evaluate(best.state.params))
  })
})
