/**
 * Checkpoint laws: decode(encode(x)) = x bit for bit, for any trees of float32/float64 tensors (any bit
 * pattern: -0, subnormals, ±Infinity, NaN with payloads), any numbers and any record keys (control
 * characters, lone surrogates, `__proto__`), in format version 2 and in version 1 (still read); tensor
 * names are an injective, reversible rendering of tree paths; and resuming from a checkpoint file
 * (write → read → restore) then training m steps equals k + m steps without stopping, bit for bit in
 * params, layer state, optimizer state, PRNG key and step.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { Checkpoint, Data, Layers, Loss, Optim, Random, Tensor, Train, Tree } from '../src/index.ts'
import { encodeV1 } from '../src/checkpoint/v1.ts'
import { seed } from './arbitraries.ts'
import * as Node from '../src/node/index.ts'

// equality, bit for bit

const bytesOf = (t: Tensor.Tensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)

/**
 * What the codec promises beyond `Tree.equals` (same structure, dtypes, shapes, values by `Object.is`):
 * the same key order in every record (the JSON of the tree's skeleton) and the same bytes, NaN
 * payloads included.
 */
const skeleton = (t: Optim.OptState): string => JSON.stringify(Tree.map(t, () => 0))
const sameBits = (a: Optim.OptState, b: Optim.OptState): boolean => {
  const lb = Tree.leaves(b)
  return (
    Tree.equals(a, b) &&
    skeleton(a) === skeleton(b) &&
    Tree.leaves(a).every((l, i) => !Tree.isTensor(l.value) || Buffer.compare(bytesOf(l.value), bytesOf(lb[i]?.value as Tensor.Tensor)) === 0)
  )
}

const sameState = (a: Train.TrainState<Tree.Tree, Tree.Tree, Optim.OptState>, b: Train.TrainState<Tree.Tree, Tree.Tree, Optim.OptState>): boolean =>
  sameBits(a.params, b.params) &&
  sameBits(a.layerState, b.layerState) &&
  sameBits(a.optState, b.optState) &&
  a.rng.words[0] === b.rng.words[0] &&
  a.rng.words[1] === b.rng.words[1] &&
  a.step === b.step

// arbitraries

const shape = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 })

/** A tensor of arbitrary bit patterns: random words reinterpreted as floats. */
const tensor: fc.Arbitrary<Tensor.Tensor> = fc.tuple(shape, fc.constantFrom('float32' as const, 'float64' as const)).chain(([s, dtype]) => {
  const n = s.reduce((a, b) => a * b, 1)
  const words = dtype === 'float32' ? n : 2 * n
  return fc
    .oneof(
      // Uniform bits: NaNs with payloads, subnormals and infinities all appear.
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: words, maxLength: words }).map((ws) => Uint32Array.from(ws).buffer),
      // Values a network holds, with the edge cases JSON numbers get wrong.
      fc.array(fc.oneof(fc.double(), fc.constantFrom(-0, 5e-324, 1e-45, -1.4e-45, 2 ** -126)), { minLength: n, maxLength: n }).map((vs) =>
        (dtype === 'float32' ? Float32Array.from(vs) : Float64Array.from(vs)).buffer
      )
    )
    .map((buffer) => Tensor.fromData(s, dtype === 'float32' ? new Float32Array(buffer) : new Float64Array(buffer)))
})

/**
 * Record keys: any UTF-16 text (lone surrogates, NUL, control characters), keys that look like the
 * formats' own words, names or escapes, and characters of the name grammar.
 */
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ maxLength: 4, unit: 'binary' }),
  fc.string({ maxLength: 4, unit: fc.constantFrom('.', '[', ']', '"', '\\', '/', '\u0000', 'd', '8', '0', '\ud800', '\udc00') }),
  fc.constantFrom('dtype', 'shape', 'data', '__proto__', '0', 'NaN', '-0', 'params[0].W', 'W', '')
)

const record = <A>(value: fc.Arbitrary<A>): fc.Arbitrary<Record<string, A>> =>
  fc.uniqueArray(fc.tuple(key, value), { maxLength: 3, selector: ([k]) => k }).map((entries) => Object.fromEntries(entries))

const trees = (numbers: boolean): fc.Arbitrary<Optim.OptState> =>
  fc.letrec<{ node: Optim.OptState }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', maxDepth: 4 },
      tensor,
      ...(numbers ? [fc.double(), fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.1, 1e-3)] : []),
      fc.array(tie('node'), { maxLength: 3 }),
      record(tie('node'))
    )
  })).node

const rightOf = <A>(r: E.Either<{ readonly message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

const rng = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })).map(([a, b]): Random.Key => ({ _tag: 'Key', words: [a, b] }))

const checkpoint: fc.Arbitrary<Checkpoint.Checkpoint> = fc
  .record({
    spec: fc.oneof(fc.constant(null), fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown)),
    params: trees(false) as fc.Arbitrary<Tree.Tree>,
    layerState: trees(false) as fc.Arbitrary<Tree.Tree>,
    optState: trees(true),
    rng,
    step: fc.nat()
  })
  .map(({ spec, ...state }) => Checkpoint.make(state, spec))

// the training setup of laws/train.law.test.ts: BatchNorm and dropout make the state matter

const task = (s: number, n = 96, features = 6, classes = 3): Data.Dataset => {
  const x = Random.normal(Random.key(s), [n, features])
  const labels = Array.from({ length: n }, (_, i) => i % classes)
  return E.getOrElseW((e: Data.DataError) => {
    throw new Error(e.message)
  })(Data.fromLabelled(x, labels, classes))
}

const network = Layers.sequential(Layers.dense(6, 8), Layers.batchNorm(8), Layers.relu(), Layers.dropout(0.2), Layers.dense(8, 3))
const optimizer = Optim.adam(1e-2)
const run = Train.traverseSteps(Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer))

const dir = mkdtempSync(join(tmpdir(), 'nn-ts-checkpoint-law-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('checkpoint laws', () => {
  it('decode(encode(x)) = x, bit for bit (format version 2)', () => {
    fc.assert(
      fc.property(checkpoint, (c) => {
        const decoded = rightOf(pipe(Checkpoint.encode(c), E.flatMap(Checkpoint.decode)))
        expect(decoded.version).toBe(2)
        expect(decoded.spec).toEqual(c.spec)
        expect(sameState(decoded.state, c.state)).toBe(true)
      }),
      { numRuns: 200 }
    )
  })

  it('version 1 stays readable: decode(encodeV1(x)) = x, bit for bit', () => {
    fc.assert(
      fc.property(checkpoint, (c) => {
        const text = encodeV1(c)
        // The reader refuses text that is not well-formed Unicode (JSON.stringify escapes a lone
        // surrogate as \udXXX): such keys were never written by nn-ts 0.1 and are left out here.
        fc.pre(!/\\ud[89a-f]/.test(text))
        const decoded = rightOf(Checkpoint.decode(text))
        expect(decoded.version).toBe(1)
        expect(decoded.spec).toEqual(c.spec)
        expect(sameState(decoded.state, c.state)).toBe(true)
        // The same through bytes, as a file is read.
        expect(E.isRight(Checkpoint.decode(new TextEncoder().encode(text)))).toBe(true)
      }),
      { numRuns: 100 }
    )
  })

  it('read(write(x)) = x, bit for bit, through a real file', async () => {
    await fc.assert(
      fc.asyncProperty(checkpoint, async (c) => {
        const file = join(dir, 'round-trip.safetensors')
        expect(await Node.writeCheckpoint(file, c)()).toEqual(E.right(undefined))
        const read = rightOf(await Node.readCheckpoint(file)())
        expect(read.spec).toEqual(c.spec)
        expect(sameState(read.state, c.state)).toBe(true)
      }),
      { numRuns: 30 }
    )
  })

  it('encoding is deterministic and re-encoding a decoded checkpoint gives the same bytes', () => {
    fc.assert(
      fc.property(checkpoint, (c) => {
        const bytes = rightOf(Checkpoint.encode(c))
        expect(Buffer.compare(rightOf(Checkpoint.encode(c)), bytes)).toBe(0)
        const again = rightOf(pipe(Checkpoint.decode(bytes), E.flatMap(Checkpoint.encode)))
        expect(Buffer.compare(again, bytes)).toBe(0)
        expect(Checkpoint.versionOf(bytes)).toBe(2)
        expect(Checkpoint.versionOf(new TextEncoder().encode(encodeV1(c)))).toBe(1)
      }),
      { numRuns: 50 }
    )
  })

  it('tensor names: parsePathName(pathName(p)) = p, different paths get different names, every name is printable ASCII', () => {
    const segment = fc.oneof(fc.nat({ max: 1000 }), key)
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), fc.array(segment, { maxLength: 5 }), (p, q) => {
        const name = Checkpoint.pathName(p)
        expect(Checkpoint.parsePathName(name)).toEqual(E.right(p))
        expect(name).toMatch(/^[\x20-\x7e]*$/)
        // Injective: equal names only for equal paths (compared as data, an index never equals a key).
        const same = p.length === q.length && p.every((s, i) => Object.is(s, q[i]))
        expect(Checkpoint.pathName(q) === name).toBe(same)
      }),
      { numRuns: 1000 }
    )
  })

  it('restore against a template of the same structure gives the state back; one leaf of another shape is named', () => {
    const named = fc.constantFrom('W', 'b', 'mu', 'gamma', 'x1')
    const tree: fc.Arbitrary<Tree.Tree> = fc.letrec<{ node: Tree.Tree }>((tie) => ({
      node: fc.oneof({ depthSize: 'small', maxDepth: 3 }, tensor, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(named, tie('node'), { maxKeys: 3 }))
    })).node
    fc.assert(
      fc.property(tree, rng, fc.nat(), (params, key, pick) => {
        const state = { params, layerState: [], optState: [], rng: key, step: 3 }
        const c = { right: rightOf(pipe(Checkpoint.encode(Checkpoint.make(state)), E.flatMap(Checkpoint.decode))) }
        const same = Checkpoint.restore(state, c.right)
        expect(E.isRight(same) && sameState(same.right, state)).toBe(true)
        const leaves = Tree.leaves(params)
        if (leaves.length === 0) return
        const target = leaves[pick % leaves.length] as Tree.Leaf
        const wider = Tree.set(params, target.path, Tensor.zeros([...target.value.shape, 2], target.value.dtype))
        const e = Checkpoint.restore({ ...state, params: wider }, c.right)
        const at = Tree.showPath(['params', ...target.path])
        const shape = `[${target.value.shape.join(', ')}]`
        const widerShape = `[${[...target.value.shape, 2].join(', ')}]`
        expect(E.isLeft(e) && e.left.path).toBe(at)
        expect(E.isLeft(e) && e.left.message).toContain(`${at}: expected ${target.value.dtype} ${widerShape}, found ${target.value.dtype} ${shape}`)
      }),
      { numRuns: 100 }
    )
  })

  it('restore against the state it was saved from gives that state back', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const state = Train.initialState(network, optimizer, s)
        const restored = pipe(
          Checkpoint.encode(Checkpoint.make(state)),
          E.flatMap(Checkpoint.decode),
          E.flatMap((c) => Checkpoint.restore(Train.initialState(network, optimizer, s + 1), c))
        )
        expect(E.isRight(restored) && sameState(restored.right, state)).toBe(true)
      }),
      { numRuns: 10 }
    )
  })

  it('k steps, write, read, restore, m more = k + m steps, bit for bit', async () => {
    await fc.assert(
      fc.asyncProperty(seed, fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), async (s, k, m) => {
        const all = Array.from({ length: 2 }, (_, e) => Data.epochBatches(task(s), 12, Random.key(s), e))
          .flat()
          .slice(0, k + m)
        const s0 = Train.initialState(network, optimizer, s)
        const [straightResult, straight] = run(all)(s0)
        const [, stopped] = run(all.slice(0, k))(s0)
        const file = join(dir, `law-${s}-${k}-${m}.safetensors`)
        const written = await Node.writeCheckpoint(file, Checkpoint.make(stopped, { seed: s }))()
        expect(written).toEqual(E.right(undefined))
        const read = await Node.readCheckpoint(file)()
        // The template comes from another seed: restoring must take nothing but its structure.
        const restored = E.flatMap((c: Checkpoint.Checkpoint) => Checkpoint.restore(Train.initialState(network, optimizer, s + 7), c))(read)
        if (E.isLeft(restored)) throw new Error(restored.left.message)
        const [resumedResult, resumed] = run(all.slice(k))(restored.right)
        expect(E.isRight(straightResult) && E.isRight(resumedResult)).toBe(true)
        expect(sameState(resumed, straight)).toBe(true)
        expect(resumed.step).toBe(k + m)
      }),
      { numRuns: 12 }
    )
  })
})
