/**
 * Fuzzing the decoders that read what users hand to nn-ts: IDX headers and gzip streams (the data
 * loaders), and spec text (the CLI). Arbitrary bytes, arbitrary JSON and mutations of valid inputs
 * must give an error value, never a throw — and never an attempt at a huge allocation: a header or a
 * spec that claims more than can be held is refused from its numbers. (Allocating what a crafted
 * header claims would throw "Invalid typed array length" beyond 2³² values, or take gigabytes below
 * that, so "never throws, stays fast" on inputs that claim 2³² to 2¹²⁸ values is the observable law.)
 */
import fc from 'fast-check'
import * as E from 'fp-ts/Either'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import * as Data from '../src/data/index.ts'
import { IDX_MAX_HEADER_BYTES, checkIdxSize, decodeIdxHeader } from '../src/data/idx.ts'
import { gunzipBounded, gunzipPrefix } from '../src/io/gunzip.ts'
import { MAX_ARRAY_ELEMENTS, memoryLimit } from '../src/io/memoryLimit.ts'
import { decodeSpecText, parseSpecText } from '../src/cli/load.ts'
import { footprint } from '../src/cli/footprint.ts'
import * as Spec from '../src/spec/index.ts'
import * as Tree from '../src/tree/Tree.ts'
import { lawParameters } from './lawParameters.ts'

const BYTES: Readonly<Record<Data.IdxDType, number>> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 }
const CODES: ReadonlyArray<readonly [Data.IdxDType, number]> = [
  ['uint8', 0x08],
  ['int8', 0x09],
  ['int16', 0x0b],
  ['int32', 0x0c],
  ['float32', 0x0d],
  ['float64', 0x0e]
]

/** Dimensions as a crafted header would claim them: small, at the 2³¹ and 2³² edges, or anything. */
const claimedDim = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1), fc.integer({ min: 0, max: 2 ** 32 - 1 }))

/** An IDX header (magic number, 1 to 4 claimed dimensions) followed by up to 64 arbitrary bytes. */
const craftedIdx = fc
  .record({ code: fc.constantFrom(...CODES), dims: fc.array(claimedDim, { minLength: 1, maxLength: 4 }), body: fc.uint8Array({ maxLength: 64 }) })
  .map(({ code, dims, body }) => {
    const bytes = new Uint8Array(4 + 4 * dims.length + body.length)
    const view = new DataView(bytes.buffer)
    view.setUint32(0, code[1] * 256 + dims.length, false)
    dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false))
    bytes.set(body, 4 + 4 * dims.length)
    return bytes
  })

describe('IDX decoding never throws and never allocates what a header merely claims', () => {
  it('a Right holds exactly the values its bytes carry; anything else is a Left naming the input', () => {
    fc.assert(
      fc.property(fc.oneof(craftedIdx, fc.uint8Array({ maxLength: 96 })), (bytes) => {
        const r = Data.decodeIdx(bytes, 'fuzz')
        if (E.isLeft(r)) {
          expect(r.left.message.startsWith('fuzz: ')).toBe(true)
          return
        }
        // Nothing beyond the input: header + values × their size is the whole input.
        expect(4 + 4 * r.right.shape.length + r.right.data.length * BYTES[r.right.dtype]).toBe(bytes.length)
        expect(r.right.shape.reduce((a, b) => a * b, 1)).toBe(r.right.data.length)
      }),
      lawParameters(400)
    )
  })

  it('the header alone (any prefix) gives the size to expect, which the size check compares without reading', () => {
    fc.assert(
      fc.property(craftedIdx, fc.nat(), (bytes, cut) => {
        const prefix = bytes.subarray(0, Math.min(bytes.length, IDX_MAX_HEADER_BYTES, cut))
        const header = decodeIdxHeader(prefix, 'fuzz')
        if (E.isLeft(header)) return
        const h = header.right
        expect(h.byteLength).toBe(h.offset + h.shape.reduce((a, b) => a * b, 1) * BYTES[h.dtype])
        // The whole input is accepted by the size check exactly when it is as long as the header says.
        const sized = checkIdxSize(h, bytes.length, 'fuzz')
        expect(E.isRight(sized)).toBe(bytes.length === h.byteLength)
        expect(E.isRight(Data.decodeIdx(bytes, 'fuzz'))).toBe(E.isRight(sized))
      }),
      lawParameters(400)
    )
  })

  it('a valid file with one byte changed, cut short or extended decodes to an Either, never a throw', () => {
    const valid = fc
      .record({ code: fc.constantFrom(...CODES), shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }) })
      .map(({ code, shape }) => Data.encodeIdx({ dtype: code[0], shape, data: new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(1) }))
    fc.assert(
      fc.property(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: -8, max: 8 }), (bytes, at, value, resize) => {
        const edited = Uint8Array.from(bytes)
        edited[at % edited.length] = value
        const sized = new Uint8Array(Math.max(0, edited.length + resize))
        sized.set(edited.subarray(0, sized.length))
        const r = Data.decodeIdx(sized, 'fuzz')
        if (E.isRight(r)) expect(4 + 4 * r.right.shape.length + r.right.data.length * BYTES[r.right.dtype]).toBe(sized.length)
      }),
      lawParameters(400)
    )
  })
})

describe('gzip decompression is bounded and tells every failure apart, never throwing', () => {
  const data = fc.uint8Array({ maxLength: 2048 }).chain((d) =>
    // Compressible too: runs of one byte give back-references, not only literals.
    fc.constantFrom(d, d.map((_, i) => (i >> 5) & 3))
  )

  it('gunzipBounded(gzip(d), limit) is d when d fits in limit, else a Left saying it inflates further', () => {
    fc.assert(
      fc.property(data, fc.integer({ min: 0, max: 2100 }), fc.integer({ min: 1, max: 3 }), (d, limit, members) => {
        // The data split into `members` gzip members, concatenated: one gzip stream to every reader.
        const cuts = [0, ...Array.from({ length: members - 1 }, (_, i) => Math.floor(((i + 1) * d.length) / members)), d.length]
        const gz = Buffer.concat(cuts.slice(1).map((end, i) => gzipSync(d.subarray(cuts[i] as number, end))))
        const r = gunzipBounded(gz, limit)
        if (d.length <= limit) expect(E.isRight(r) && Array.from(r.right)).toEqual(Array.from(d))
        else expect(E.isLeft(r) && r.left._tag).toBe('tooLarge')
        // The start of the stream, for a header, from a bounded prefix.
        const want = limit % 64
        const head = gunzipPrefix(gz, want)
        expect(E.isRight(head) && Array.from(head.right)).toEqual(Array.from(d.subarray(0, want)))
      }),
      lawParameters(300)
    )
  })

  it('a changed byte, a cut or appended bytes give a Left or the original data, never a throw or more than the limit', () => {
    fc.assert(
      fc.property(data, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: -16, max: 0 }), fc.uint8Array({ maxLength: 16 }), (d, at, value, cut, tail) => {
        const gz = Uint8Array.from(gzipSync(d))
        gz[at % gz.length] = value
        const bytes = new Uint8Array(gz.length + cut + tail.length)
        bytes.set(gz.subarray(0, gz.length + cut))
        bytes.set(tail, gz.length + cut)
        const r = gunzipBounded(bytes, d.length)
        // A change the checksum cannot see leaves the data as it was (the gzip header's time and OS
        // fields, unused padding bits, trailing zeros); any other is caught by CRC-32 and the length,
        // which a changed byte fools with probability 2⁻³².
        if (E.isRight(r)) expect(Array.from(r.right)).toEqual(Array.from(d))
        const head = gunzipPrefix(bytes, IDX_MAX_HEADER_BYTES)
        if (E.isRight(head)) expect(head.right.length).toBeLessThanOrEqual(IDX_MAX_HEADER_BYTES)
      }),
      lawParameters(400)
    )
  })

  it('arbitrary bytes after the gzip magic number: an Either, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 64 }), (rest, limit) => {
        const bytes = Uint8Array.from([0x1f, 0x8b, 8, ...rest])
        const r = gunzipBounded(bytes, limit)
        if (E.isRight(r)) expect(r.right.length).toBeLessThanOrEqual(limit)
        const head = gunzipPrefix(bytes, limit)
        if (E.isRight(head)) expect(head.right.length).toBeLessThanOrEqual(limit)
      }),
      lawParameters(400)
    )
  })
})

// specs

const validSpec = {
  name: 'fuzzed',
  input: 16,
  layers: [{ type: 'dense', units: 8, weightInit: 'heNormal' }, { type: 'batchNorm' }, { type: 'relu' }, { type: 'dropout', rate: 0.1 }, { type: 'dense', units: 3 }],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.01 },
  training: { epochs: 2, batchSize: 8, seed: 1 },
  data: { type: 'idx', trainImages: 'a.idx', trainLabels: 'b.idx', classes: 3 }
}

/** Numbers a hostile spec would try: zero, negatives, fractions, the 2³¹ and 2⁵³ edges, huge ones. */
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, 0.5, 1, 2, 1e8, 1e9, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, -0),
  fc.integer({ min: -5, max: 5000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true })
)
const hostileValue = fc.oneof(hostileNumber, fc.jsonValue({ maxDepth: 3 }))

type Json = unknown

/** Sets the value at `path` (creating nothing: a path that does not exist leaves the value as it was). */
const setAt = (root: Json, path: ReadonlyArray<string | number>, value: Json): Json => {
  if (path.length === 0) return value
  const [head, ...rest] = path
  if (Array.isArray(root) && typeof head === 'number' && head < root.length) return root.map((x, i) => (i === head ? setAt(x, rest, value) : x))
  if (typeof root === 'object' && root !== null && !Array.isArray(root) && typeof head === 'string') {
    return { ...(root as Record<string, Json>), [head]: setAt((root as Record<string, Json>)[head], rest, value) }
  }
  return root
}

/** Places a mutation can hit: every field of the valid spec, and new fields. */
const places: ReadonlyArray<ReadonlyArray<string | number>> = [
  ['input'],
  ['layers'],
  ['layers', 0],
  ['layers', 0, 'units'],
  ['layers', 1, 'features'],
  ['layers', 3, 'rate'],
  ['layers', 4, 'units'],
  ['layers', 4, 'type'],
  ['training', 'batchSize'],
  ['training', 'epochs'],
  ['training', 'validationSize'],
  ['optimizer', 'learningRate'],
  ['data', 'classes'],
  ['output'],
  ['loss']
]

/** Sizes that decode (positive safe integers) but may not fit: one array holds 2³² values at most. */
const hugeSize = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(1e6, 1e8, 1e9, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53 - 1), fc.integer({ min: 1, max: 2 ** 40 }))
const sizePlaces: ReadonlyArray<ReadonlyArray<string | number>> = [['layers', 0, 'units'], ['layers', 4, 'units'], ['training', 'batchSize'], ['data', 'classes'], ['input']]

const edited = (edits: ReadonlyArray<readonly [ReadonlyArray<string | number>, Json]>): Json => edits.reduce<Json>((spec, [path, value]) => setAt(spec, path, value), validSpec)

/**
 * A valid spec with 1 to 4 edits: anything anywhere (mostly refused by the decoder), or sizes that
 * decode but may not fit (refused by the checks after it: one array, memory, classes, BatchNorm's rows).
 */
const mutatedSpec = fc.oneof(
  fc.array(fc.tuple(fc.constantFrom(...places), hostileValue), { minLength: 1, maxLength: 4 }).map(edited),
  fc.array(fc.tuple(fc.constantFrom(...sizePlaces), hugeSize), { minLength: 1, maxLength: 3 }).map(edited)
)

/** The widths a flat chain of decoded layers receives, with each dense layer's weight count. */
const denseWeights = (spec: Spec.Spec): number[] => {
  const weights: number[] = []
  let width = spec.input
  for (const l of spec.layers as ReadonlyArray<{ readonly type: string; readonly units?: number }>) {
    if (l.type === 'dense' && typeof l.units === 'number') {
      weights.push(width * l.units)
      width = l.units
    }
  }
  return weights
}

describe('spec text never throws, and an accepted spec can be built within the memory nn-ts plans for', () => {
  it('any text (JSON or not, with or without a byte-order mark) gives an Either', () => {
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.json({ maxDepth: 6 }), fc.json({ maxDepth: 4 }).map((t) => `\uFEFF${t}`))
    fc.assert(
      fc.property(text, (t) => {
        const r = decodeSpecText(t, 'fuzz.json')
        if (E.isLeft(r)) expect(r.left.kind).toBe('input')
      }),
      lawParameters(400)
    )
  })

  it('parses JSON as JSON.parse does, whenever no key repeats (with or without a byte-order mark)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.boolean(), (v, bom) => {
        const text = JSON.stringify(v)
        const parsed = parseSpecText(`${bom ? '\uFEFF' : ''}${text}`, 'fuzz.json')
        expect(E.isRight(parsed) && JSON.stringify(parsed.right)).toBe(JSON.stringify(JSON.parse(text)))
      }),
      lawParameters(300)
    )
  })

  it('a repeated key, at any depth, is refused with its path', () => {
    const key = fc.string({ minLength: 1, maxLength: 8 })
    fc.assert(
      fc.property(fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 4 }), fc.nat(), fc.jsonValue({ maxDepth: 1 }), fc.nat({ max: 3 }), (obj, pick, again, depth) => {
        const keys = Object.keys(obj)
        const k = keys[pick % keys.length] as string
        const first = JSON.stringify(obj).slice(0, -1)
        let text = `${first},${JSON.stringify(k)}:${JSON.stringify(again)}}`
        // The repeated key starts after the object's own entries and a comma, plus what each wrapping adds.
        let at = first.length + 1
        const path: Array<string | number> = [k]
        for (let i = 0; i < depth; i++) {
          const open = i % 2 === 0 ? '[' : '{"layers":'
          text = `${open}${text}${i % 2 === 0 ? ']' : '}'}`
          at += open.length
          path.unshift(i % 2 === 0 ? 0 : 'layers')
        }
        const r = parseSpecText(text, 'fuzz.json')
        // JSON text from JSON.stringify has no raw line breaks: everything is on line 1.
        expect(E.isLeft(r) && r.left.message).toBe(
          `fuzz.json: ${Tree.showPath(path)}: duplicate key at line 1, column ${at + 1}: each key may appear once in a spec (JSON readers disagree on which of two values wins)`
        )
      }),
      lawParameters(300)
    )
  })

  it('a valid spec with hostile values anywhere is refused, or builds with every tensor allocatable and the estimate within the limit', () => {
    fc.assert(
      fc.property(mutatedSpec, fc.boolean(), (spec, pretty) => {
        const r = decodeSpecText(JSON.stringify(spec, null, pretty ? 2 : undefined), 'fuzz.json')
        if (E.isLeft(r)) {
          expect(r.left.kind).toBe('input')
          expect(r.left.message.startsWith('fuzz.json: ')).toBe(true)
          return
        }
        // Accepted: building allocates nothing and cannot throw; no weight matrix is beyond one array;
        // the estimate the CLI checked holds.
        const built = Spec.build(r.right)
        for (const w of denseWeights(r.right)) expect(w).toBeLessThanOrEqual(MAX_ARRAY_ELEMENTS)
        const d = r.right.data
        if (d !== undefined && d.type === 'idx' && d.classes !== undefined) expect(d.classes).toBe(built.network.outWidth)
        expect(footprint(built.network.node, r.right.input, r.right.training.batchSize, 2).bytes).toBeLessThanOrEqual(memoryLimit())
      }),
      lawParameters(300)
    )
  })
})
