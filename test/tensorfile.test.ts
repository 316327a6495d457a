/**
 * Tensor files, by example: SHA-256 against the FIPS 180-2 / NIST example vectors; each validation rule
 * of the decoder with the message it gives; real files in a temporary directory (round trip, FIFOs and
 * devices refused without hanging, truncation, lying length fields, checksum mismatch, writer failures
 * that leave no temporary file); and independent readers — Python's `struct` + `json`, and PyTorch's
 * `torch.frombuffer` when it is installed — reading what nn-ts wrote, and nn-ts reading what Python wrote.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import * as Tensor from '../src/tensor/Tensor.ts'
import * as TensorFiles from '../src/tensorfile/file.ts'
import * as TensorFile from '../src/tensorfile/index.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dir = mkdtempSync(join(tmpdir(), 'nn-ts-tensorfile-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const utf8 = new TextEncoder()

const errorOf = <A>(r: E.Either<TensorFile.TensorFileError, A>): TensorFile.TensorFileError => {
  if (E.isRight(r)) throw new Error('expected a TensorFileError, got a Right')
  expect(r.left._tag).toBe('TensorFileError')
  return r.left
}

const rightOf = <A>(r: E.Either<TensorFile.TensorFileError, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

const bitsOf = (t: Tensor.Tensor): number[] => Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))

// SHA-256

describe('SHA-256 (FIPS 180-4) against the NIST example vectors', () => {
  const vectors: ReadonlyArray<readonly [string, string]> = [
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'
    ]
  ]
  it.each(vectors)('%j', (message, digest) => {
    expect(TensorFile.sha256Hex(utf8.encode(message))).toBe(digest)
  })

  it("one million 'a', at once and in uneven chunks", () => {
    const million = new Uint8Array(1_000_000).fill(0x61)
    const expected = 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'
    expect(TensorFile.sha256Hex(million)).toBe(expected)
    const h = TensorFile.sha256()
    for (let at = 0, step = 1; at < million.length; at += step, step = (step * 7 + 3) % 1000) h.update(million.subarray(at, at + step))
    expect(h.hex()).toBe(expected)
    expect(h.byteLength()).toBe(1_000_000)
  })
})

// the decoder's rules, one by one

/** A file with this header text (no checksum unless it has one) and data. */
const fileWith = (header: string, data: Uint8Array = new Uint8Array(0), claimedLength?: bigint): Uint8Array => {
  const json = utf8.encode(header)
  const out = new Uint8Array(8 + json.length + data.length)
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(json.length), true)
  out.set(json, 8)
  out.set(data, 8 + json.length)
  return out
}

const f32 = (...values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer)

const foreign = { requireChecksum: false } as const

describe('decode: every rule, with the message it gives', () => {
  const refusals: ReadonlyArray<readonly [string, Uint8Array, RegExp]> = [
    ['an empty file', new Uint8Array(0), /^the file has 0 bytes, fewer than the 8 of the header length/],
    ['a header length field of 2^40', fileWith('{}', new Uint8Array(0), 2n ** 40n), /say the header is 1099511627776 bytes long, more than the 100000000 a tensor-file header may have/],
    ['a header length beyond the file', fileWith('{}', new Uint8Array(0), 50_000_000n), /say the header is 50000000 bytes long, but only 2 bytes follow them: the file is truncated/],
    ['a header that is not an object', fileWith('[1]'), /the header must start with '\{', found byte 0x5b/],
    ['a header that is not UTF-8', (() => {
      const bytes = fileWith('{"a"}')
      bytes[10] = 0xff
      return bytes
    })(), /not valid UTF-8/],
    ['bytes after the JSON object', fileWith('{} x'), /header, file byte 11: unexpected 'x' after the end of the JSON value/],
    ['a raw control character in a string', fileWith('{"a\nb":1}'), /control character U\+000A inside a string/],
    ['a bad escape', fileWith('{"a\\q":1}'), /invalid escape sequence/],
    ['an unpaired surrogate escape', fileWith('{"a\\ud800":1}'), /unpaired surrogate/],
    ['nesting deeper than 8', fileWith(`{"a":${'['.repeat(20)}${']'.repeat(20)}}`), /nested deeper than 8 levels/],
    ['a duplicate tensor name', fileWith('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)), /duplicate key "a"/],
    ['a duplicate field', fileWith('{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)), /duplicate key "dtype"/],
    ['an F16 tensor', fileWith('{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', f32(1)), /tensor "h": dtype "F16" is not supported: nn-ts reads "F32" and "F64" tensors only/],
    ['a missing field', fileWith('{"a":{"dtype":"F32","data_offsets":[0,4]}}', f32(1)), /tensor "a": missing field "shape"/],
    ['an extra field', fileWith('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"strides":[1]}}', f32(1)), /tensor "a": unexpected field "strides"/],
    ['a negative dimension', fileWith('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', f32(1)), /tensor "a": shape\[0\]: expected a non-negative integer below 2\^53, found number -1/],
    ['a dimension of 2^64', fileWith('{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}', f32(1)), /shape\[0\]: expected a non-negative integer below 2\^53/],
    ['a size that disagrees with the offsets', fileWith('{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}', new Uint8Array(20)), /tensor "a": dtype F32 and shape \[2, 3\] need 24 bytes, but data_offsets \[0, 20\] hold 20/],
    ['a shape whose size overflows', fileWith('{"a":{"dtype":"F64","shape":[4503599627370496,4503599627370496,4503599627370496],"data_offsets":[0,8]}}', new Uint8Array(8)), /need more than 2\^53 bytes, but data_offsets \[0, 8\] hold 8/],
    ['begin after end', fileWith('{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}', f32(1)), /data_offsets \[4, 0\]: begin is after end/],
    ['offsets past the end of the data', fileWith('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f32(1)), /tensor "a": data_offsets \[0, 8\] reach past the end of the data section, which has 4 bytes/],
    ['a gap between tensors', fileWith('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', new Uint8Array(12)), /tensor "b": data_offsets \[8, 12\] leaves a gap: the previous tensor's data ends at 4 \(tensor "a"\)/],
    ['a gap at the start', fileWith('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)), /leaves a gap: the previous tensor's data ends at 0 \(the start of the data section\)/],
    ['overlapping tensors', fileWith('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)), /tensor "b": data_offsets \[4, 8\] overlaps the bytes of tensor "a" \(which end at 8\)/],
    ['bytes that belong to no tensor', fileWith('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(6)), /the tensors' data ends at byte 4 of the data section, but the file has 6 bytes after the header: 2 trailing bytes belong to no tensor/],
    ['a metadata value that is not a string', fileWith('{"__metadata__":{"epoch":3}}'), /__metadata__\."epoch": expected a string, found number 3/],
    ['a malformed checksum', fileWith('{"__metadata__":{"checksum":"md5:00"}}'), /__metadata__.checksum: expected "sha256:" and 64 lowercase hex digits/],
    ['metadata that is not an object', fileWith('{"__metadata__":"x"}'), /__metadata__: expected an object of strings, found the string "x"/]
  ]
  it.each(refusals)('refuses %s', (_, bytes, message) => {
    const e = errorOf(TensorFile.decode(bytes, foreign))
    expect(e.message).toMatch(message)
  })

  it('says at which file byte the header goes wrong', () => {
    const header = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{}}'
    const e = errorOf(TensorFile.decode(fileWith(header, f32(1)), foreign))
    expect(e.offset).toBe(8 + header.lastIndexOf('"a"'))
    expect(e.message).toContain(`file byte ${e.offset}`)
    // Offsets count bytes, not UTF-16 units: a two-byte character before the problem moves it by two.
    const e2 = errorOf(TensorFile.decode(fileWith('{"é":1,"é":2}'), foreign))
    expect(e2.offset).toBe(8 + utf8.encode('{"é":1,').length)
  })

  it('a file without a checksum is refused unless told, and then read', () => {
    const bytes = fileWith('{"b":{"dtype":"F64","shape":[],"data_offsets":[4,12]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array([...f32(2), ...new Uint8Array(Float64Array.of(-0.5).buffer)]))
    expect(errorOf(TensorFile.decode(bytes)).message).toMatch(/__metadata__ has no "checksum".*\{ requireChecksum: false \}/)
    const read = rightOf(TensorFile.decode(bytes, foreign))
    // Header order is kept, even where it differs from the order of the data.
    expect(read.tensors.map(([n, t]) => [n, t.dtype, t.shape, Array.from(t.data)])).toEqual([
      ['b', 'float64', [], [-0.5]],
      ['a', 'float32', [1], [2]]
    ])
    expect(read.metadata).toEqual({})
  })

  it('names JSON.parse would reorder keep their order, and "__proto__" stays a name', () => {
    const tensors: ReadonlyArray<readonly [string, Tensor.Tensor]> = [
      ['b', Tensor.vector([1])],
      ['10', Tensor.vector([2])],
      ['2', Tensor.vector([3])],
      ['__proto__', Tensor.vector([4])]
    ]
    const back = rightOf(TensorFile.decode(rightOf(TensorFile.encode(tensors, { __proto__: 'p', z: 'last' } as Record<string, string>))))
    expect(back.tensors.map(([n]) => n)).toEqual(['b', '10', '2', '__proto__'])
    expect(Object.keys(back.metadata).sort()).toEqual(['z'])
  })
})

// files

const tricky = (): ReadonlyArray<readonly [string, Tensor.Tensor]> => {
  const nanWithPayload = new Float32Array(new Uint32Array([0x7fc01234]).buffer)[0] as number
  const bits64 = new Float64Array(new BigUint64Array([0x7ff8dead_beef0001n, 0x0000_0000_0000_0001n]).buffer)
  return [
    ['layer.0.W', Tensor.fromArray([2, 3], [1, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.4e-45, nanWithPayload])],
    ['layer.0.b', Tensor.fromData([2], bits64)],
    ['empty', Tensor.zeros([0, 4])],
    ['scalar', Tensor.scalar(Math.PI)],
    // A view at an offset inside a larger buffer.
    ['view', Tensor.fromData([2], new Float64Array([9, 8, 7, 6]).subarray(1, 3))]
  ]
}

const sameAs = (read: TensorFile.TensorFile, tensors: ReadonlyArray<readonly [string, Tensor.Tensor]>): void => {
  expect(read.tensors.map(([n, t]) => [n, t.dtype, t.shape, bitsOf(t)])).toEqual(tensors.map(([n, t]) => [n, t.dtype, [...t.shape], bitsOf(t)]))
}

const tempFilesIn = (folder: string): string[] => readdirSync(folder).filter((f) => f.endsWith('.tmp'))

describe('files: the streaming writer and the bounded reader', () => {
  it('round-trips bit for bit through a real file, in small chunks, leaving no temporary file', async () => {
    const file = join(dir, 'round.safetensors')
    rightOf(await TensorFiles.write(file, tricky(), { spec: '{"layers":[2,3]}' }, { chunkBytes: 12 })())
    const read = rightOf(await TensorFiles.read(file, { chunkBytes: 8 })())
    sameAs(read, tricky())
    expect(read.metadata).toEqual({ spec: '{"layers":[2,3]}' })
    // The file is exactly what the pure codec encodes.
    expect(Array.from(readFileSync(file))).toEqual(Array.from(rightOf(TensorFile.encode(tricky(), { spec: '{"layers":[2,3]}' }))))
    expect(tempFilesIn(dir)).toEqual([])
  })

  it('replaces an existing file', async () => {
    const file = join(dir, 'replace.safetensors')
    rightOf(await TensorFiles.write(file, [['x', Tensor.vector([1, 2])]])())
    rightOf(await TensorFiles.write(file, [['y', Tensor.vector([3])]])())
    expect(rightOf(await TensorFiles.read(file)()).tensors.map(([n, t]) => [n, Array.from(t.data)])).toEqual([['y', [3]]])
  })

  it('refuses a FIFO without waiting for a writer', async () => {
    const fifo = join(dir, 'pipe.safetensors')
    execFileSync('mkfifo', [fifo])
    const timeout = new Promise<'hung'>((done) => setTimeout(() => done('hung'), 5000).unref())
    const result = await Promise.race([TensorFiles.read(fifo)(), timeout])
    expect(result).not.toBe('hung')
    const e = errorOf(result as E.Either<TensorFile.TensorFileError, TensorFile.TensorFile>)
    expect(e.message).toBe(`${fifo}: is a FIFO (named pipe), expected a regular file holding tensors`)
    expect(e.file).toBe(fifo)
  })

  it('refuses a character device and a directory', async () => {
    expect(errorOf(await TensorFiles.read('/dev/zero')()).message).toBe('/dev/zero: is a character device, expected a regular file holding tensors')
    expect(errorOf(await TensorFiles.read(dir)()).message).toBe(`${dir}: is a directory, expected a regular file holding tensors`)
  })

  it('a missing file', async () => {
    const file = join(dir, 'missing.safetensors')
    expect(errorOf(await TensorFiles.read(file)()).message).toBe(`${file}: cannot open it: no such file`)
  })

  it('a truncated file', async () => {
    const file = join(dir, 'truncated.safetensors')
    rightOf(await TensorFiles.write(file, tricky())())
    const bytes = readFileSync(file)
    writeFileSync(file, bytes.subarray(0, bytes.length - 3))
    expect(errorOf(await TensorFiles.read(file)()).message).toMatch(/truncated\.safetensors: tensor "view": data_offsets \[\d+, \d+\] reach past the end of the data section, which has \d+ bytes: the file is truncated/)
    writeFileSync(file, bytes.subarray(0, 100))
    expect(errorOf(await TensorFiles.read(file)()).message).toMatch(/say the header is \d+ bytes long, but only 92 bytes follow them: the file is truncated or corrupted/)
  })

  it('a header length field claiming a huge size is refused before any allocation', async () => {
    const file = join(dir, 'huge.safetensors')
    const bytes = rightOf(TensorFile.encode(tricky()))
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 62n, true)
    writeFileSync(file, bytes)
    expect(errorOf(await TensorFiles.read(file)()).message).toBe(
      `${file}: bytes 0–7 say the header is 4611686018427387904 bytes long, more than the 100000000 a tensor-file header may have (the file has ${bytes.length} bytes): the file is corrupted or not a safetensors file`
    )
  })

  it('a header claiming tensors bigger than the file', async () => {
    const file = join(dir, 'claims.safetensors')
    writeFileSync(file, fileWith('{"W":{"dtype":"F64","shape":[1000000000,1000],"data_offsets":[0,8000000000000]}}', new Uint8Array(16)))
    expect(errorOf(await TensorFiles.read(file, foreign)()).message).toMatch(/tensor "W": data_offsets \[0, 8000000000000\] reach past the end of the data section, which has 16 bytes/)
  })

  it('a changed data byte is a checksum mismatch', async () => {
    const file = join(dir, 'edited.safetensors')
    rightOf(await TensorFiles.write(file, tricky())())
    const bytes = readFileSync(file)
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1
    writeFileSync(file, bytes)
    expect(errorOf(await TensorFiles.read(file)()).message).toMatch(
      /edited\.safetensors: checksum mismatch: the header says sha256:[0-9a-f]{64}, the contents hash to sha256:[0-9a-f]{64}: the file was edited or corrupted after it was written/
    )
  })

  it('a directory at the target: an error naming the file, the directory untouched, no temporary file', async () => {
    const target = join(dir, 'occupied')
    mkdirSync(join(target, 'inside'), { recursive: true })
    const e = errorOf(await TensorFiles.write(target, tricky())())
    expect(e.file).toBe(target)
    expect(e.message).toBe(`${target}: cannot rename the temporary file over it: it is a directory, expected a file`)
    expect(statSync(target).isDirectory()).toBe(true)
    expect(readdirSync(target)).toEqual(['inside'])
    expect(tempFilesIn(dir)).toEqual([])
  })

  it('a missing directory', async () => {
    const file = join(dir, 'no', 'such', 'net.safetensors')
    expect(errorOf(await TensorFiles.write(file, tricky())()).message).toBe(
      `${file}: cannot create a temporary file next to it: the directory ${join(dir, 'no', 'such')} does not exist`
    )
  })

  it('tensors the codec refuses: an error naming the file, and nothing created', async () => {
    const file = join(dir, 'dup.safetensors')
    const t = Tensor.vector([1])
    expect(errorOf(await TensorFiles.write(file, [['a', t], ['a', t]])()).message).toBe(`${file}: tensor "a" appears twice: names in a file are unique`)
    expect(existsSync(file)).toBe(false)
    expect(tempFilesIn(dir)).toEqual([])
  })

  it('a write that fails half-way (file size limit: EFBIG) removes the temporary file and keeps the old file', () => {
    const folder = mkdtempSync(join(dir, 'efbig-'))
    const file = join(folder, 'net.safetensors')
    const script = join(folder, 'write.mts')
    writeFileSync(
      script,
      [
        `import * as Tensor from ${JSON.stringify(join(ROOT, 'src/tensor/Tensor.ts'))}`,
        `import * as TensorFiles from ${JSON.stringify(join(ROOT, 'src/tensorfile/file.ts'))}`,
        `const file = ${JSON.stringify(file)}`,
        "const small = await TensorFiles.write(file, [['old', Tensor.vector([1, 2, 3])]])()",
        "const big = await TensorFiles.write(file, [['W', Tensor.zeros([1000, 1000])]])()",
        'console.log(JSON.stringify({ small, big }))'
      ].join('\n')
    )
    // `ulimit -f 200`: files may not grow beyond 200 blocks of 512 bytes (≈100 KB), so writing the
    // 4 MB tensor fails part of the way through, as a full disk would.
    const run = spawnSync('bash', ['-c', `ulimit -f 200 && exec ${JSON.stringify(join(ROOT, 'node_modules/.bin/tsx'))} ${JSON.stringify(script)}`], { encoding: 'utf8' })
    expect(run.status, run.stderr).toBe(0)
    const { small, big } = JSON.parse(run.stdout) as { small: E.Either<unknown, unknown>; big: E.Either<TensorFile.TensorFileError, unknown> }
    expect(E.isRight(small)).toBe(true)
    expect(errorOf(big).message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot write the temporary file net\\.safetensors\\.\\d+-[0-9a-f]{8}\\.tmp: EFBIG`))
    expect(readdirSync(folder).sort()).toEqual(['net.safetensors', 'write.mts'])
    expect(readFileSync(file)).toEqual(Buffer.from(rightOf(TensorFile.encode([['old', Tensor.vector([1, 2, 3])]]))))
  })

  it('isTempFileFor recognises the writer\'s temporary files only', () => {
    expect(TensorFiles.isTempFileFor('out/net.safetensors', 'out/net.safetensors.4127-9f0c2a1e.tmp')).toBe(true)
    expect(TensorFiles.isTempFileFor('out/net.safetensors', 'net.safetensors.1-00000000.tmp')).toBe(true)
    expect(TensorFiles.isTempFileFor('out/net.safetensors', 'out/net.safetensors')).toBe(false)
    expect(TensorFiles.isTempFileFor('out/net.safetensors', 'out/net.safetensors.4127-9f0c2a1.tmp')).toBe(false)
    expect(TensorFiles.isTempFileFor('out/net.safetensors', 'out/other.safetensors.4127-9f0c2a1e.tmp')).toBe(false)
  })

  it('42 million parameters (the JSON checkpoint failed with "Invalid string length") write and read back', async () => {
    const file = join(dir, 'big.safetensors')
    const n = 21_000_000
    const W = new Float32Array(n)
    const V = new Float32Array(n)
    for (let i = 0; i < n; i++) {
      W[i] = i
      V[i] = -i / 3
    }
    const tensors = [['W', Tensor.fromData([n / 1000, 1000], W)], ['V', Tensor.fromData([n], V)]] as const
    rightOf(await TensorFiles.write(file, tensors)())
    const prefix = Buffer.alloc(8)
    const fd = openSync(file, 'r')
    readSync(fd, prefix, 0, 8, 0)
    closeSync(fd)
    expect(statSync(file).size).toBe(8 + Number(prefix.readBigUInt64LE(0)) + 2 * 4 * n)
    const read = rightOf(await TensorFiles.read(file)())
    expect(read.tensors.map(([name, t]) => [name, t.dtype, t.shape])).toEqual([['W', 'float32', [21_000, 1000]], ['V', 'float32', [n]]])
    const bytes = (t: Tensor.Tensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)
    read.tensors.forEach(([, t], i) => expect(Buffer.compare(bytes(t), bytes((tensors[i] as readonly [string, Tensor.Tensor])[1]))).toBe(0))
    rmSync(file)
  }, 120_000)
})

// independent readers and writers

const PYTHON = '/usr/bin/python3'
const python = (code: string, ...args: string[]): string => execFileSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8' })
const hasPython = existsSync(PYTHON)
const hasTorch = hasPython && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
const hasSafetensors = hasPython && spawnSync(PYTHON, ['-c', 'import safetensors.numpy'], { stdio: 'ignore' }).status === 0

/** Python's view of a file: the header as it parses it, and each tensor's raw bytes as hex. */
const READ_WITH_STRUCT = `
import json, struct, sys
with open(sys.argv[1], 'rb') as f:
    data = f.read()
(n,) = struct.unpack('<Q', data[:8])
header = json.loads(data[8:8 + n].decode('utf-8'))
start = 8 + n
out = {'header_end': start, 'metadata': header.pop('__metadata__', {}), 'tensors': []}
for name, info in header.items():
    b, e = info['data_offsets']
    raw = data[start + b:start + e]
    fmt = {'F32': 'f', 'F64': 'd'}[info['dtype']]
    count = len(raw) // struct.calcsize(fmt)
    values = struct.unpack('<%d%s' % (count, fmt), raw)
    out['tensors'].append({'name': name, 'dtype': info['dtype'], 'shape': info['shape'], 'hex': raw.hex(),
                           'finite': [v for v in values if v == v and abs(v) != float('inf')]})
print(json.dumps(out))
`

describe.skipIf(!hasPython)('an independent reader: Python struct + json', () => {
  it('reads names, dtypes, shapes, metadata and the exact bytes nn-ts wrote', async () => {
    const file = join(dir, 'for-python.safetensors')
    rightOf(await TensorFiles.write(file, tricky(), { note: 'héllo' })())
    const seen = JSON.parse(python(READ_WITH_STRUCT, file)) as {
      header_end: number
      metadata: Record<string, string>
      tensors: Array<{ name: string; dtype: string; shape: number[]; hex: string; finite: number[] }>
    }
    expect(seen.header_end % 8).toBe(0)
    expect(seen.metadata.note).toBe('héllo')
    expect(seen.metadata.checksum).toMatch(/^sha256:[0-9a-f]{64}$/)
    const hex = (t: Tensor.Tensor): string => bitsOf(t).map((b) => b.toString(16).padStart(2, '0')).join('')
    expect(seen.tensors.map((t) => [t.name, t.dtype, t.shape, t.hex])).toEqual(
      tricky().map(([n, t]) => [n, t.dtype === 'float32' ? 'F32' : 'F64', [...t.shape], hex(t)])
    )
    // Values Python decoded with struct: 1, -0 and the float32 subnormal of the first tensor.
    expect(seen.tensors[0]?.finite).toEqual([1, -0, Math.fround(1.4e-45)])
    expect(seen.tensors[3]?.finite).toEqual([Math.PI])
  })

  it('nn-ts reads a file Python wrote (no checksum: a foreign file), and refuses it by default', () => {
    const file = join(dir, 'from-python.safetensors')
    python(
      `
import json, struct, sys
a = struct.pack('<3f', 1.5, -2.0, 0.25)
b = struct.pack('<2d', 1e-310, -0.0)
header = json.dumps({'b': {'dtype': 'F64', 'shape': [2, 1], 'data_offsets': [12, 28]},
                     '__metadata__': {'format': 'pt'},
                     'a': {'dtype': 'F32', 'shape': [3], 'data_offsets': [0, 12]}}).encode('utf-8')
header += b' ' * (-len(header) % 8)
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<Q', len(header)) + header + a + b)
`,
      file
    )
    const read = rightOf(TensorFile.decode(readFileSync(file), foreign))
    expect(read.metadata).toEqual({ format: 'pt' })
    expect(read.tensors.map(([n, t]) => [n, t.dtype, t.shape, Array.from(t.data)])).toEqual([
      ['b', 'float64', [2, 1], [1e-310, -0]],
      ['a', 'float32', [3], [1.5, -2, 0.25]]
    ])
    expect(errorOf(TensorFile.decode(readFileSync(file))).message).toMatch(/has no "checksum"/)
  })
})

describe.skipIf(!hasPython)('an independent reader: PyTorch', () => {
  it.skipIf(!hasTorch)('torch.frombuffer on the data nn-ts wrote gives the same bits (runs only where /usr/bin/python3 can import torch)', async () => {
    const file = join(dir, 'for-torch.safetensors')
    rightOf(await TensorFiles.write(file, tricky())())
    const seen = JSON.parse(
      python(
        `
import json, struct, sys, torch
data = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', data[:8])
header = json.loads(data[8:8 + n])
header.pop('__metadata__')
out = []
for name, info in header.items():
    b, e = info['data_offsets']
    dtype, bits = {'F32': (torch.float32, torch.int32), 'F64': (torch.float64, torch.int64)}[info['dtype']]
    t = torch.frombuffer(bytearray(data[8 + n + b:8 + n + e]), dtype=dtype) if e > b else torch.empty(0, dtype=dtype)
    t = t.reshape(info['shape'])
    out.append({'name': name, 'shape': list(t.shape), 'bits': [str(x) for x in t.view(bits).flatten().tolist()]})
print(json.dumps(out))
`,
        file
      )
    ) as Array<{ name: string; shape: number[]; bits: string[] }>
    // Bit patterns as signed integers, compared as strings so 64-bit ones stay exact.
    const signedBits = (t: Tensor.Tensor): string[] =>
      t.dtype === 'float32'
        ? Array.from(new Int32Array(t.data.buffer, t.data.byteOffset, t.data.length), String)
        : Array.from(new BigInt64Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)), String)
    expect(seen).toEqual(tricky().map(([name, t]) => ({ name, shape: [...t.shape], bits: signedBits(t) })))
  })
})

describe.skipIf(!hasPython)('the reference implementation: the safetensors package', () => {
  it.skipIf(!hasSafetensors)('reads what nn-ts wrote and writes what nn-ts reads (runs only where /usr/bin/python3 can import safetensors)', async () => {
    const file = join(dir, 'for-reference.safetensors')
    const back = join(dir, 'from-reference.safetensors')
    rightOf(await TensorFiles.write(file, tricky(), { note: 'héllo' })())
    const seen = JSON.parse(
      python(
        `
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file
out = []
with safe_open(sys.argv[1], framework='np') as f:
    meta = f.metadata()
    for name in f.keys():
        t = f.get_tensor(name)
        out.append({'name': name, 'shape': list(t.shape), 'bits': [str(x) for x in t.view(np.int32 if t.dtype == np.float32 else np.int64).flatten().tolist()]})
save_file({'a': np.array([1.5, -2], dtype=np.float32), 'z': np.arange(6, dtype=np.float64).reshape(2, 3)}, sys.argv[2], metadata={'format': 'np'})
print(json.dumps({'meta': meta, 'tensors': sorted(out, key=lambda t: t['name'])}))
`,
        file,
        back
      )
    ) as { meta: Record<string, string>; tensors: Array<{ name: string; shape: number[]; bits: string[] }> }
    const signedBits = (t: Tensor.Tensor): string[] =>
      t.dtype === 'float32'
        ? Array.from(new Int32Array(t.data.buffer, t.data.byteOffset, t.data.length), String)
        : Array.from(new BigInt64Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)), String)
    expect(seen.meta.note).toBe('héllo')
    expect(seen.tensors).toEqual(
      tricky()
        .map(([name, t]) => ({ name, shape: [...t.shape], bits: signedBits(t) }))
        .sort((a, b) => (a.name < b.name ? -1 : 1))
    )
    const read = rightOf(await TensorFiles.read(back, foreign)())
    expect(read.metadata).toEqual({ format: 'np' })
    expect(read.tensors.map(([n, t]) => [n, t.dtype, t.shape, Array.from(t.data)]).sort()).toEqual([
      ['a', 'float32', [2], [1.5, -2]],
      ['z', 'float64', [2, 3], [0, 1, 2, 3, 4, 5]]
    ])
  })
})
