/**
 * Tensor-file laws: decode(encode(x)) = x bit for bit for any named float32/float64 tensors (any bit
 * pattern, empty shapes, views into larger buffers) and metadata; streaming the checksum in any chunks
 * equals decoding at once; SHA-256 equals node:crypto's for any bytes split any way; and no input —
 * arbitrary bytes, a valid file with one byte changed, truncated, or with its header edited — makes
 * decoding throw or return anything but an error value (or, for whitespace in the padding, the very
 * same content).
 */
import { createHash } from 'node:crypto'
import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as Tensor from '../src/tensor/Tensor.ts'
import { type Json, isJsonObject, parseJson } from '../src/tensorfile/json.ts'
import * as TensorFile from '../src/tensorfile/index.ts'

// equality, bit for bit

const bytesOf = (t: Tensor.Tensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** Same names in the same order, same dtypes, shapes and bytes; same metadata entries. */
const sameFile = (a: TensorFile.TensorFile, b: TensorFile.TensorFile): boolean =>
  a.tensors.length === b.tensors.length &&
  a.tensors.every(([name, x], i) => {
    const [otherName, y] = b.tensors[i] as readonly [string, Tensor.Tensor]
    return name === otherName && x.dtype === y.dtype && x.shape.join() === y.shape.join() && sameBytes(bytesOf(x), bytesOf(y))
  }) &&
  Object.keys(a.metadata).length === Object.keys(b.metadata).length &&
  Object.keys(a.metadata).every((k) => Object.hasOwn(b.metadata, k) && a.metadata[k] === b.metadata[k])

const rightOf = <A>(r: E.Either<TensorFile.TensorFileError, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

// arbitraries

const shape = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 })

/**
 * A tensor of arbitrary bit patterns (uniform words: NaNs with payloads, subnormals, infinities) or of
 * the values JSON gets wrong, sometimes as a view at an offset inside a larger buffer.
 */
const tensor: fc.Arbitrary<Tensor.Tensor> = fc
  .tuple(shape, fc.constantFrom('float32' as const, 'float64' as const), fc.nat({ max: 3 }))
  .chain(([s, dtype, pad]) => {
    const n = s.reduce((a, b) => a * b, 1)
    const words = (dtype === 'float32' ? 1 : 2) * n
    return fc
      .oneof(
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: words, maxLength: words }).map((ws) => new Uint8Array(Uint32Array.from(ws).buffer)),
        fc
          .array(fc.oneof(fc.double(), fc.constantFrom(-0, 5e-324, 1e-45, -1.4e-45, 2 ** -126, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY)), {
            minLength: n,
            maxLength: n
          })
          .map((vs) => new Uint8Array((dtype === 'float32' ? Float32Array.from(vs) : Float64Array.from(vs)).buffer))
      )
      .map((bytes) => {
        // `pad` values before and after: the tensor's data is then a view with a byteOffset.
        const item = dtype === 'float32' ? 4 : 8
        const buffer = new ArrayBuffer(bytes.length + 2 * pad * item)
        new Uint8Array(buffer).set(bytes, pad * item)
        return Tensor.fromData(s, dtype === 'float32' ? new Float32Array(buffer, pad * 4, n) : new Float64Array(buffer, pad * 8, n))
      })
  })

/** Names and keys: any well-formed Unicode, and ones that look like the format's own words or JS's. */
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('', '__proto__', 'constructor', '0', '10', 'dtype', 'checksum', 'data_offsets', 'a"b\\c', '\u0000\n', '😀', '__metadata__ ')
)

const names = fc.uniqueArray(
  text.filter((s) => s !== '__metadata__'),
  { maxLength: 6 }
)

const metadata: fc.Arbitrary<Record<string, string>> = fc
  .uniqueArray(fc.tuple(text.filter((k) => k !== TensorFile.CHECKSUM_KEY), fc.string({ unit: 'binary', maxLength: 12 })), {
    maxLength: 4,
    selector: ([k]) => k
  })
  // fromEntries defines own properties, so a key named "__proto__" stays data.
  .map((entries) => Object.fromEntries(entries))

const file: fc.Arbitrary<TensorFile.TensorFile> = names.chain((ns) =>
  fc.record({
    tensors: fc.tuple(...ns.map((n) => tensor.map((t) => [n, t] as const))),
    metadata
  })
)

const encoded = (f: TensorFile.TensorFile): Uint8Array => rightOf(TensorFile.encode(f.tensors, f.metadata))

const runs = { numRuns: 150 }

// round trip

describe('decode ∘ encode = id, bit for bit', () => {
  it('for any named tensors and metadata', () => {
    fc.assert(fc.property(file, (f) => sameFile(rightOf(TensorFile.decode(encoded(f))), f)), runs)
  })

  it('for many tensors', () => {
    const many = fc.integer({ min: 50, max: 300 }).chain((n) =>
      fc.record({
        tensors: fc.array(tensor, { minLength: n, maxLength: n }).map((ts) => ts.map((t, i) => [`layer.${i}.W`, t] as const)),
        metadata
      })
    )
    fc.assert(fc.property(many, (f) => sameFile(rightOf(TensorFile.decode(encoded(f))), f)), { numRuns: 10 })
  })

  it('encode is layout concatenated, and the data starts at a multiple of 8 bytes', () => {
    fc.assert(
      fc.property(file, (f) => {
        const l = rightOf(TensorFile.layout(f.tensors, f.metadata))
        const whole = encoded(f)
        const joined = new Uint8Array(l.byteLength)
        let at = 0
        for (const p of [l.header, ...l.parts]) {
          joined.set(p, at)
          at += p.length
        }
        return at === whole.length && sameBytes(joined, whole) && l.header.length % 8 === 0
      }),
      runs
    )
  })

  it('streaming: decodeHeader, then the checksum fed in any chunks, then tensorFromBytes, equals decode', () => {
    fc.assert(
      fc.property(file, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }), (f, steps) => {
        const bytes = encoded(f)
        const header = rightOf(TensorFile.decodeHeader(bytes.subarray(0, rightOf(TensorFile.headerSize(bytes.subarray(0, 8), bytes.length))), bytes.length))
        const hasher = TensorFile.startChecksum(header)
        let at = header.dataStart
        for (let i = 0; at < bytes.length; i++) {
          const step = steps[i % steps.length] as number
          hasher.update(bytes.subarray(at, at + step))
          at += step
        }
        rightOf(TensorFile.verifyChecksum(header, hasher))
        const tensors = header.tensors.map((e) => [e.name, TensorFile.tensorFromBytes(e, bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end))] as const)
        return sameFile({ tensors, metadata: header.metadata }, f)
      }),
      runs
    )
  })

  it('re-padding and re-indenting the header keeps the file valid and its content', () => {
    fc.assert(
      fc.property(file, fc.constantFrom(' ', '\n', '\t', '\r\n  '), fc.nat({ max: 20 }), (f, space, extra) => {
        const bytes = encoded(f)
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true))
        const parsed = parseJson(new TextDecoder().decode(bytes.subarray(8, 8 + n)), 8)
        if (E.isLeft(parsed)) return false
        const edited = withHeader(bytes, `${show(parsed.right, space)}${' '.repeat(extra)}`)
        const back = TensorFile.decode(edited)
        return E.isRight(back) && sameFile(back.right, f)
      }),
      runs
    )
  })
})

describe('encode refuses what could not round-trip, as a value', () => {
  it('duplicate names, the name __metadata__, the metadata key checksum, unpaired surrogates', () => {
    const t = Tensor.zeros([2])
    const bad: ReadonlyArray<readonly [ReadonlyArray<readonly [string, Tensor.Tensor]>, Record<string, string>, RegExp]> = [
      [[['a', t], ['a', t]], {}, /tensor "a" appears twice/],
      [[['__metadata__', t]], {}, /reserved for the metadata/],
      [[['a', t]], { checksum: 'x' }, /"checksum" is reserved/],
      [[['a\uD800', t]], {}, /unpaired surrogate/],
      [[['a', t]], { k: '\uDC00' }, /unpaired surrogate/],
      [[['a', { shape: [3], dtype: 'float32', data: new Float32Array(2) }]], {}, /shape \[3\] holds 3 values, but the data has 2/],
      [[['a', { shape: [2], dtype: 'float64', data: new Float32Array(2) }]], {}, /dtype float64 does not match its data, a Float32Array/]
    ]
    for (const [tensors, meta, message] of bad) {
      const r = TensorFile.encode(tensors, meta)
      expect(E.isLeft(r) && r.left._tag === 'TensorFileError' && message.test(r.left.message), `${JSON.stringify(meta)}: ${E.isLeft(r) ? r.left.message : 'Right'}`).toBe(true)
    }
  })
})

// SHA-256

describe('SHA-256', () => {
  it('equals node:crypto for any bytes, fed in any chunks, and digest does not end the hash', () => {
    const chunks = fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 })
    fc.assert(
      fc.property(chunks, (parts) => {
        const ours = TensorFile.sha256()
        const theirs = createHash('sha256')
        const whole = createHash('sha256')
        for (const p of parts) {
          ours.update(p)
          theirs.update(p)
          whole.update(p)
          // A digest on the way is the hash of the prefix, and leaves the running hash as it was.
          if (ours.hex() !== theirs.copy().digest('hex')) return false
        }
        const concatenated = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
        parts.reduce((at, p) => (concatenated.set(p, at), at + p.length), 0)
        return ours.hex() === whole.digest('hex') && TensorFile.sha256Hex(concatenated) === ours.hex() && ours.byteLength() === concatenated.length
      }),
      { numRuns: 300 }
    )
  })

  it('equals node:crypto at every length around the block and padding boundaries', () => {
    // 55/56 bytes: the last length that fits the padding in one block; 64·k: whole blocks.
    const bytes = Uint8Array.from({ length: 1100 }, (_, i) => (i * 151 + 7) & 255)
    for (let n = 0; n <= 1100; n++) {
      const data = bytes.subarray(0, n)
      expect(TensorFile.sha256Hex(data), `length ${n}`).toBe(createHash('sha256').update(data).digest('hex'))
    }
  })
})

// adversarial inputs

/** The file with its header replaced by `header` (length prefix recomputed), data unchanged. */
const withHeader = (bytes: Uint8Array, header: string): Uint8Array => {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))
  const json = new TextEncoder().encode(header)
  const out = new Uint8Array(8 + json.length + bytes.length - 8 - n)
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
  out.set(json, 8)
  out.set(bytes.subarray(8 + n), 8 + json.length)
  return out
}

/** JSON text of a parsed value, key order kept, with `space` between tokens. */
const show = (v: Json, space = ''): string => {
  if (Array.isArray(v)) return `[${space}${v.map((x) => show(x, space)).join(`,${space}`)}${space}]`
  if (isJsonObject(v)) return `{${space}${v.entries.map(([k, x]) => `${JSON.stringify(k)}${space}:${space}${show(x, space)}`).join(`,${space}`)}${space}}`
  return JSON.stringify(v)
}

/** Decodes without letting a throw escape the property: a throw fails the law with its message. */
const decodeSafely = (bytes: Uint8Array, options?: TensorFile.DecodeOptions): E.Either<TensorFile.TensorFileError, TensorFile.TensorFile> => {
  let r: E.Either<TensorFile.TensorFileError, TensorFile.TensorFile>
  try {
    r = TensorFile.decode(bytes, options)
  } catch (e) {
    throw new Error(`decode threw: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (E.isLeft(r) && (r.left._tag !== 'TensorFileError' || r.left.message.length === 0)) throw new Error(`malformed error value ${JSON.stringify(r.left)}`)
  return r
}

const isJsonWhitespace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d

describe('no input makes decoding throw; every damaged file is an error value', () => {
  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, requireChecksum) => {
        decodeSafely(bytes, { requireChecksum })
      }),
      { numRuns: 500 }
    )
  })

  it('arbitrary JSON as the header of arbitrary data', () => {
    fc.assert(
      fc.property(fc.json(), fc.uint8Array({ maxLength: 64 }), (json, data) => {
        const header = new TextEncoder().encode(json)
        const bytes = new Uint8Array(8 + header.length + data.length)
        new DataView(bytes.buffer).setUint32(0, header.length, true)
        bytes.set(header, 8)
        bytes.set(data, 8 + header.length)
        const r = decodeSafely(bytes, { requireChecksum: false })
        // Whatever is accepted holds exactly the data section, no more.
        return E.isLeft(r) || r.right.tensors.reduce((n, [, t]) => n + t.data.byteLength, 0) === data.length
      }),
      { numRuns: 300 }
    )
  })

  it('a valid file with any one byte changed: an error, or (whitespace in the padding) the same content', () => {
    fc.assert(
      fc.property(file, fc.nat(), fc.integer({ min: 1, max: 255 }), (f, where, delta) => {
        const bytes = encoded(f)
        const at = where % bytes.length
        const damaged = bytes.slice()
        damaged[at] = ((bytes[at] as number) + delta) & 255
        const r = decodeSafely(damaged)
        if (E.isLeft(r)) return true
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true))
        const inPadding = at >= 8 && at < 8 + n && bytes[at] === 0x20 && new TextDecoder().decode(bytes.subarray(at, 8 + n)).trim() === ''
        return inPadding && isJsonWhitespace(damaged[at] as number) && sameFile(r.right, f)
      }),
      { numRuns: 500 }
    )
  })

  it('a valid file truncated anywhere', () => {
    fc.assert(
      fc.property(file, fc.nat(), (f, where) => {
        const bytes = encoded(f)
        return E.isLeft(decodeSafely(bytes.subarray(0, where % bytes.length)))
      }),
      runs
    )
  })

  it('a valid file with a header length field claiming any other size', () => {
    fc.assert(
      fc.property(file, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (f, claimed) => {
        const bytes = encoded(f)
        const damaged = bytes.slice()
        const view = new DataView(damaged.buffer)
        fc.pre(claimed !== view.getBigUint64(0, true))
        view.setBigUint64(0, claimed, true)
        return E.isLeft(decodeSafely(damaged))
      }),
      runs
    )
  })

  /** Edits of a parsed header (entries in order), each guaranteed to change it. */
  type Edit = (root: ReadonlyArray<readonly [string, Json]>, pick: number, k: number) => ReadonlyArray<readonly [string, Json]> | undefined

  const obj = (entries: ReadonlyArray<readonly [string, Json]>): Json => ({ entries })
  const fields = (v: Json): ReadonlyArray<readonly [string, Json]> => (isJsonObject(v) ? v.entries : [])
  const setField = (v: Json, key: string, value: Json | undefined): Json =>
    obj(value === undefined ? fields(v).filter(([k]) => k !== key) : fields(v).some(([k]) => k === key) ? fields(v).map(([k, x]) => [k, k === key ? value : x] as const) : [...fields(v), [key, value] as const])
  const field = (v: Json, key: string): Json | undefined => fields(v).find(([k]) => k === key)?.[1]
  const tensorIndices = (root: ReadonlyArray<readonly [string, Json]>): number[] => root.flatMap(([k], i) => (k === '__metadata__' ? [] : [i]))
  const onTensor =
    (edit: (entry: Json, k: number) => Json): Edit =>
    (root, pick, k) => {
      const ts = tensorIndices(root)
      if (ts.length === 0) return undefined
      const i = ts[pick % ts.length] as number
      return root.map(([name, v], j) => [name, j === i ? edit(v, k) : v] as const)
    }
  const onMetadata =
    (edit: (meta: Json, k: number) => Json): Edit =>
    (root, _pick, k) =>
      root.map(([name, v]) => [name, name === '__metadata__' ? edit(v, k) : v] as const)

  const edits: Record<string, Edit> = {
    'dtype changed': onTensor((e, k) => setField(e, 'dtype', field(e, 'dtype') === 'F32' ? ['F64', 'F16', 'BF16', 'I32', '', 'f32'][k % 6] ?? 'F64' : 'F32')),
    'dtype a number': onTensor((e) => setField(e, 'dtype', 4)),
    'a dimension grown': onTensor((e, k) => {
      const s = field(e, 'shape') as number[]
      return setField(e, 'shape', s.length === 0 ? [k + 2] : s.map((d, i) => (i === k % s.length ? d + 1 + k : d)))
    }),
    'a dimension of 1 appended (same size)': onTensor((e) => setField(e, 'shape', [...(field(e, 'shape') as number[]), 1])),
    'a negative dimension': onTensor((e) => setField(e, 'shape', [-1, ...(field(e, 'shape') as number[])])),
    'a fractional dimension': onTensor((e) => setField(e, 'shape', [0.5, ...(field(e, 'shape') as number[])])),
    'end moved': onTensor((e, k) => {
      const [b, en] = field(e, 'data_offsets') as [number, number]
      return setField(e, 'data_offsets', [b, k % 2 === 0 || en === 0 ? en + 1 + k : en - 1])
    }),
    'both offsets shifted': onTensor((e, k) => setField(e, 'data_offsets', (field(e, 'data_offsets') as number[]).map((x) => x + 1 + k))),
    'three offsets': onTensor((e) => setField(e, 'data_offsets', [...(field(e, 'data_offsets') as number[]), 0])),
    'offsets huge': onTensor((e) => setField(e, 'data_offsets', [0, 2 ** 60])),
    'shape removed': onTensor((e) => setField(e, 'shape', undefined)),
    'an extra field': onTensor((e) => setField(e, 'strides', [1])),
    'entry not an object': onTensor(() => [1, 2]),
    'a tensor removed': (root, pick) => {
      const ts = tensorIndices(root)
      return ts.length === 0 ? undefined : root.filter((_, j) => j !== ts[pick % ts.length])
    },
    'a tensor renamed': (root, pick, k) => {
      const ts = tensorIndices(root)
      if (ts.length === 0) return undefined
      const i = ts[pick % ts.length] as number
      const taken = new Set(root.map(([n]) => n))
      let name = `renamed${k}`
      while (taken.has(name)) name += '_'
      return root.map(([n, v], j) => [j === i ? name : n, v] as const)
    },
    'two tensors swapped in the header': (root, pick) => {
      const ts = tensorIndices(root)
      if (ts.length < 2) return undefined
      const i = ts[pick % ts.length] as number
      const j = ts[(pick + 1) % ts.length] as number
      return root.map((entry, x) => (x === i ? (root[j] as readonly [string, Json]) : x === j ? (root[i] as readonly [string, Json]) : entry))
    },
    'a metadata value changed': onMetadata((m) => setField(m, 'note', `${String(field(m, 'note') ?? '')}x`)),
    'a metadata value a number': onMetadata((m) => setField(m, 'epoch', 3)),
    'the checksum removed': onMetadata((m) => setField(m, 'checksum', undefined)),
    'the checksum malformed': onMetadata((m) => setField(m, 'checksum', `${String(field(m, 'checksum'))}0`)),
    'metadata not an object': onMetadata(() => 'none')
  }

  it('a valid file with its header edited (every edit changes something)', () => {
    const editNames = Object.keys(edits)
    fc.assert(
      fc.property(file, fc.constantFrom(...editNames), fc.nat(), fc.nat({ max: 5 }), (f, editName, pick, k) => {
        const bytes = encoded(f)
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true))
        const root = parseJson(new TextDecoder().decode(bytes.subarray(8, 8 + n)), 8)
        if (E.isLeft(root) || !isJsonObject(root.right)) return false
        const edited = (edits[editName] as Edit)(root.right.entries, pick, k)
        if (edited === undefined) return true // needs tensors the file does not have
        const text = show(obj(edited))
        expect(text, editName).not.toBe(show(root.right))
        const r = decodeSafely(withHeader(bytes, text))
        return E.isLeft(r)
      }),
      { numRuns: 400 }
    )
  })

  it('a duplicated key anywhere in the header is refused by name, even with the same value', () => {
    fc.assert(
      fc.property(file, fc.nat(), (f, pick) => {
        const bytes = encoded(f)
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true))
        const root = parseJson(new TextDecoder().decode(bytes.subarray(8, 8 + n)), 8)
        if (E.isLeft(root) || !isJsonObject(root.right)) return false
        const entries = root.right.entries
        const [key] = entries[pick % entries.length] as readonly [string, Json]
        // The same entry twice, textually: JSON.parse would quietly keep one of them.
        const dup = show(obj([...entries, entries[pick % entries.length] as readonly [string, Json]]))
        const r = decodeSafely(withHeader(bytes, dup))
        return E.isLeft(r) && r.left.message.includes(`duplicate key ${JSON.stringify(key)}`)
      }),
      runs
    )
  })

  it('a duplicated field inside a tensor entry is refused too', () => {
    fc.assert(
      fc.property(file, fc.nat(), fc.constantFrom('dtype', 'shape', 'data_offsets'), (f, pick, key) => {
        const bytes = encoded(f)
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true))
        const root = parseJson(new TextDecoder().decode(bytes.subarray(8, 8 + n)), 8)
        if (E.isLeft(root) || !isJsonObject(root.right)) return false
        const ts = tensorIndices(root.right.entries)
        if (ts.length === 0) return true
        const i = ts[pick % ts.length] as number
        const edited = root.right.entries.map(([name, v], j) =>
          [name, j === i ? obj([...fields(v), [key, field(v, key) as Json] as const]) : v] as const
        )
        const r = decodeSafely(withHeader(bytes, show(obj(edited))))
        return E.isLeft(r) && r.left.message.includes(`duplicate key ${JSON.stringify(key)}`)
      }),
      runs
    )
  })
})
