/**
 * Bad input, tried as a user would: the CLI on broken specs, data files, checkpoints and flags. Each
 * case must end with one clear `nn-ts: ` message naming the thing at fault, a non-zero exit code, no
 * stack trace, no hang and no output file. Most cases call the CLI's `run` in-process (fast); a few run
 * the real `nn-ts` bin as a subprocess to prove the same holds for the process and its exit code.
 * Cases that would hang or exhaust memory if their guard regressed (FIFOs, devices, decompression
 * bombs) run the CLI from source (`node --import tsx src/cli/main.ts`) as a subprocess with a timeout,
 * and the memory cases measure the child's peak resident memory.
 * Ends with a tiny spec trained end to end, its checkpoint read back by `eval` and `predict`, and a
 * resumed run that equals an uninterrupted one.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import * as E from 'fp-ts/Either'
import { constants, crc32, deflateRawSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../src/cli/run.ts'
import { Data, Tensor, TensorFile, Tree } from '../src/index.ts'
import * as Node from '../src/node/index.ts'
import { memoryLimit } from '../src/io/memoryLimit.ts'
import { NAN_STOP_NAME } from '../src/cli/resume.ts'

const ROOT = resolve(import.meta.dirname, '..')
let dir = ''
const at = (name: string): string => join(dir, name)

interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const cli = async (...argv: string[]): Promise<Outcome> => {
  let stdout = ''
  let stderr = ''
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), progress: false })
  return { code, stdout, stderr }
}

/** The real bin in a child process, with a timeout so a hang fails instead of blocking. */
const subprocess = (...argv: string[]): Outcome => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), ...argv], { cwd: dir, encoding: 'utf8', timeout: 20_000 })
  if (r.error !== undefined) throw r.error
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

const MAIN = join(ROOT, 'src', 'cli', 'main.ts')

/** Prints the process's peak resident memory (kB) as the last line of stderr when it exits. */
const PEAK_MEMORY_REPORTER = `import { writeSync } from 'node:fs'
process.on('exit', () => writeSync(2, '\\nmaxRSS ' + process.resourceUsage().maxRSS + '\\n'))
`

/**
 * The CLI run from source in a child process (`node --import tsx`, from the package folder so tsx
 * resolves; no build needed), with a timeout so a hang fails instead of blocking, and the child's peak
 * resident memory in bytes (the reporter's line is removed from stderr).
 */
const fromSource = (...argv: string[]): Outcome & { readonly peakBytes: number } => {
  const reporter = at('peak-memory.mjs')
  if (!existsSync(reporter)) writeFileSync(reporter, PEAK_MEMORY_REPORTER)
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', reporter, MAIN, ...argv], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  if (r.error !== undefined) throw r.error
  if (r.signal !== null) throw new Error(`nn-ts ${argv.join(' ')} was killed by ${r.signal} (a hang?): ${r.stderr}`)
  const m = /\nmaxRSS (\d+)\n$/.exec(r.stderr)
  if (m === null) throw new Error(`no peak memory reported: ${r.stderr}`)
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.slice(0, m.index + 1), peakBytes: 1024 * Number(m[1]) }
}

/** One `nn-ts: ` message (possibly listing several spec problems) at the end of stderr, no stack trace. */
const expectCleanFailure = (o: Outcome, code: number, ...mentions: Array<string | RegExp>): void => {
  expect(o.code, o.stderr).toBe(code)
  expect(o.stderr.match(/(^|\n)nn-ts: /g) ?? [], o.stderr).toHaveLength(1)
  expect(o.stderr).not.toMatch(/\n\s+at .+:\d+/)
  expect(o.stderr).not.toMatch(/internal error/)
  for (const m of mentions) expect(o.stderr).toMatch(typeof m === 'string' ? new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : m)
}

// fixtures: 4×4 "images" of three classes (a bright row, column or diagonal), small enough to train in milliseconds

const image = (cls: number, k: number): number[] => {
  const px = new Array<number>(16).fill(10 + ((k * 7) % 20))
  for (let i = 0; i < 4; i++) px[cls === 0 ? (k % 4) * 4 + i : cls === 1 ? i * 4 + (k % 4) : i * 5] = 250
  return px
}

const writeSet = (prefix: string, n: number): void => {
  const labels = Array.from({ length: n }, (_, i) => i % 3)
  writeFileSync(at(`${prefix}-images.idx`), Data.encodeIdx({ dtype: 'uint8', shape: [n, 4, 4], data: labels.flatMap((c, i) => image(c, i)) }))
  writeFileSync(at(`${prefix}-labels.idx`), Data.encodeIdx({ dtype: 'uint8', shape: [n], data: labels }))
}

const goodSpec = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'tiny',
  input: 16,
  layers: [{ type: 'dense', units: 8, weightInit: 'heNormal' }, { type: 'relu' }, { type: 'dense', units: 3 }],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.05 },
  training: { epochs: 10, batchSize: 8, seed: 1 },
  data: { type: 'idx', trainImages: 'train-images.idx', trainLabels: 'train-labels.idx', testImages: 'test-images.idx', testLabels: 'test-labels.idx' },
  ...over
})

/** Writes a spec file (JSON value or raw text) and returns its path. */
const spec = (name: string, content: unknown): string => {
  writeFileSync(at(name), typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return at(name)
}

/** A fresh output folder that must stay absent when a command fails before training. */
let outCount = 0
const freshOut = (): string => at(`out-${++outCount}`)

/** Trains a spec with a fresh --out, expecting the failure to leave no output behind. */
const trainFails = async (specFile: string, code: number, ...mentions: Array<string | RegExp>): Promise<void> => {
  const out = freshOut()
  const o = await cli('train', '--spec', specFile, '--out', out, '--no-pictures')
  expectCleanFailure(o, code, ...mentions)
  expect(existsSync(out), `${out} was created by a failing run`).toBe(false)
}

let checkpoint = ''

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nn-ts-bad-input-'))
  writeSet('train', 48)
  writeSet('test', 24)
  const o = await cli('train', '--spec', spec('good.spec.json', goodSpec()), '--out', at('good'), '--no-pictures', '--json')
  if (o.code !== 0) throw new Error(`the good spec does not train: ${o.stderr}`)
  checkpoint = at('good/checkpoint.safetensors')
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('usage', () => {
  it('an unknown command lists the commands', async () => expectCleanFailure(await cli('trian'), 2, "unknown command 'trian'", 'train, eval, predict'))
  it('an unknown flag names it and lists the known ones', async () => expectCleanFailure(await cli('train', '--spek', 'x.json'), 2, 'unknown flag --spek', '--spec'))
  it('a missing required flag', async () => expectCleanFailure(await cli('train'), 2, 'needs --spec'))
  it('a flag without its value', async () => expectCleanFailure(await cli('train', '--spec'), 2, '--spec needs a value'))
  it('predict without --input', async () => expectCleanFailure(await cli('predict', '--checkpoint', 'c.json'), 2, 'needs --input'))
  it('eval with --images but no --labels', async () => expectCleanFailure(await cli('eval', '--checkpoint', checkpoint, '--images', at('test-images.idx')), 2, '--images and --labels go together'))
  it('a positional argument', async () => expectCleanFailure(await cli('eval', 'ckpt.json'), 2, "unexpected argument 'ckpt.json'"))
  it('--help prints the help and exits 0', async () => {
    for (const c of ['train', 'eval', 'predict']) {
      const o = await cli(c, '--help')
      expect(o.code).toBe(0)
      expect(o.stdout).toContain(`usage: nn-ts ${c}`)
      expect(o.stdout).toContain('exit codes')
    }
    expect((await cli('--help')).stdout).toContain('nn-ts <command>')
  })
})

describe('bad specs', () => {
  it('a missing spec file', async () => trainFails(at('nope.spec.json'), 2, 'cannot read the spec', 'nope.spec.json', 'no such file'))
  it('a folder given as the spec', async () => trainFails(dir, 2, 'is a directory, expected a file'))
  it('a JSON syntax error', async () => trainFails(spec('syntax.json', '{ "input": 16, "layers": [ '), 2, 'syntax.json: not valid JSON'))
  it('missing fields', async () => {
    const { training: _t, loss: _l, ...rest } = goodSpec()
    await trainFails(spec('missing.json', rest), 2, 'loss: expected one of', 'training: expected the training settings', 'the field is missing')
  })
  it('a negative size', async () =>
    trainFails(spec('negative.json', goodSpec({ layers: [{ type: 'dense', units: -8 }, { type: 'dense', units: 3 }] })), 2, 'layers[0].units: expected a positive integer, found -8'))
  it('an unknown activation lists the known ones', async () =>
    trainFails(spec('activation.json', goodSpec({ layers: [{ type: 'dense', units: 8 }, { type: 'swish' }, { type: 'dense', units: 3 }] })), 2, 'layers[1].type', 'relu, leakyRelu, elu', '"swish"'))
  it('a wrong type', async () => trainFails(spec('types.json', goodSpec({ input: '16' })), 2, 'input: expected a positive integer, found "16" (a string)'))
  it('inconsistent widths', async () =>
    trainFails(spec('widths.json', goodSpec({ layers: [{ type: 'dense', units: 8 }, { type: 'relu' }, { type: 'dense', in: 7, units: 3 }] })), 2, 'layers[2].in: expected 8', 'found 7'))
  it('an unknown field (a typo)', async () =>
    trainFails(spec('typo.json', goodSpec({ layers: [{ type: 'dense', unit: 8 }, { type: 'dense', units: 3 }] })), 2, 'layers[0].unit', 'did you mean "units"'))
  it('a negative learning rate', async () =>
    trainFails(spec('lr.json', goodSpec({ optimizer: { type: 'sgd', learningRate: -0.1 } })), 2, 'optimizer.learningRate: expected a finite number > 0, found -0.1'))
  it('batch size 0', async () => trainFails(spec('batch.json', goodSpec({ training: { epochs: 1, batchSize: 0 } })), 2, 'training.batchSize', 'found 0'))
  it('dropout 1.5', async () =>
    trainFails(spec('dropout.json', goodSpec({ layers: [{ type: 'dense', units: 8 }, { type: 'dropout', rate: 1.5 }, { type: 'dense', units: 3 }] })), 2, 'layers[1].rate: expected a number in [0, 1), found 1.5'))
  it('epochs 0', async () => trainFails(spec('epochs.json', goodSpec({ training: { epochs: 0, batchSize: 8 } })), 2, 'training.epochs', 'found 0'))
  it('momentum 1', async () =>
    trainFails(spec('momentum.json', goodSpec({ optimizer: { type: 'momentum', learningRate: 0.1, momentum: 1 } })), 2, 'optimizer.momentum: expected a number in [0, 1), found 1'))
  it('a validation set as large as the data', async () =>
    trainFails(spec('validation.json', goodSpec({ training: { epochs: 1, batchSize: 8, validationSize: 48 } })), 2, 'validationSize is 48', 'only 48 examples'))
  it('an output layer narrower than the classes', async () =>
    trainFails(spec('classes.json', goodSpec({ layers: [{ type: 'dense', units: 2 }] })), 2, 'label 2 at index 2 is out of range, expected 0 to 1'))
})

describe('bad output folder', () => {
  it('--out is a file', async () => {
    writeFileSync(at('a-file'), 'keep me')
    expectCleanFailure(await cli('train', '--spec', at('good.spec.json'), '--out', at('a-file'), '--no-pictures'), 2, 'a-file is a file, expected a folder')
    expect(readFileSync(at('a-file'), 'utf8')).toBe('keep me')
  })
})

describe('bad data files', () => {
  const withData = (name: string, files: Record<string, string>): string =>
    spec(name, goodSpec({ data: { type: 'idx', trainImages: 'train-images.idx', trainLabels: 'train-labels.idx', ...files } }))

  it('a truncated IDX file', async () => {
    writeFileSync(at('truncated.idx'), readFileSync(at('train-images.idx')).subarray(0, 100))
    await trainFails(withData('d1.json', { trainImages: 'truncated.idx' }), 2, 'truncated.idx: truncated: expected 784 bytes', 'file has 100')
  })
  it('an empty file', async () => {
    writeFileSync(at('empty.idx'), new Uint8Array(0))
    await trainFails(withData('d2.json', { trainImages: 'empty.idx' }), 2, 'empty.idx: truncated', 'file has 0')
  })
  it('a wrong magic number (labels given as images)', async () =>
    trainFails(withData('d3.json', { trainImages: 'train-labels.idx' }), 2, 'train-labels.idx: wrong magic number 0x00000801'))
  it('not an IDX file at all', async () => {
    writeFileSync(at('text.idx'), 'hello, world')
    await trainFails(withData('d4.json', { trainImages: 'text.idx' }), 2, 'text.idx: not an IDX file')
  })
  it('a corrupt gzip file', async () => {
    writeFileSync(at('corrupt.idx.gz'), gzipSync(readFileSync(at('train-images.idx'))).subarray(0, 40))
    await trainFails(withData('d5.json', { trainImages: 'corrupt.idx.gz' }), 2, 'corrupt.idx.gz: is a truncated gzip file', 'incomplete download')
  })
  it('a gzip file with trailing garbage is not called an incomplete download', async () => {
    const gz = gzipSync(readFileSync(at('train-images.idx')))
    writeFileSync(at('garbage.idx.gz'), Buffer.concat([gz, Buffer.from('<html>not found</html>')]))
    const out = freshOut()
    const o = await cli('train', '--spec', withData('d5b.json', { trainImages: 'garbage.idx.gz' }), '--out', out, '--no-pictures')
    expectCleanFailure(o, 2, `garbage.idx.gz: is a gzip file followed by 22 bytes of trailing garbage at byte ${gz.length}`)
    expect(o.stderr).not.toMatch(/incomplete|truncated/)
  })
  it('a test set of the wrong width names the test file, not the training file', async () => {
    writeFileSync(at('wide-test.idx'), Data.encodeIdx({ dtype: 'uint8', shape: [24, 5, 5], data: new Array<number>(24 * 25).fill(9) }))
    const o = await cli('train', '--spec', withData('d5c.json', { testImages: 'wide-test.idx', testLabels: 'test-labels.idx' }), '--out', freshOut(), '--no-pictures')
    expectCleanFailure(o, 2, "wide-test.idx has 25 features per example, but the network's input is 16")
    expect(o.stderr).not.toContain('train-images')
  })
  it('a float64 value beyond float32 is named with its value, not as Infinity', async () => {
    const values = Array.from({ length: 48 * 16 }, (_, i) => (i % 16) / 16)
    values[7 * 16 + 2] = 1e300
    writeFileSync(at('huge-value.idx'), Data.encodeIdx({ dtype: 'float64', shape: [48, 16], data: values }))
    const o = await cli('train', '--spec', withData('d5d.json', { trainImages: 'huge-value.idx' }), '--out', freshOut(), '--no-pictures')
    expectCleanFailure(o, 2, 'huge-value.idx: inputs[7, 2] is 1e+300, which overflows float32')
    expect(o.stderr).not.toContain('Infinity')
  })
  it('a label out of range (11)', async () => {
    writeFileSync(at('labels11.idx'), Data.encodeIdx({ dtype: 'uint8', shape: [48], data: Array.from({ length: 48 }, (_, i) => (i === 5 ? 11 : i % 3)) }))
    await trainFails(withData('d6.json', { trainLabels: 'labels11.idx' }), 2, 'labels11.idx: label 11 at index 5 is out of range, expected 0 to 2')
  })
  it('as many labels as images, or else', async () => {
    writeFileSync(at('labels40.idx'), Data.encodeIdx({ dtype: 'uint8', shape: [40], data: Array.from({ length: 40 }, (_, i) => i % 3) }))
    await trainFails(withData('d7.json', { trainLabels: 'labels40.idx' }), 2, 'has 40 labels but', 'has 48 images')
  })
  it('NaN and Infinity pixels in a float IDX file', async () => {
    const values = Array.from({ length: 48 * 16 }, (_, i) => (i % 16) / 16)
    values[3 * 16 + 5] = Number.NaN
    writeFileSync(at('nan.idx'), Data.encodeIdx({ dtype: 'float32', shape: [48, 16], data: values }))
    await trainFails(withData('d8.json', { trainImages: 'nan.idx' }), 2, 'nan.idx: inputs[3, 5] is NaN, expected finite numbers')
    values[3 * 16 + 5] = Number.POSITIVE_INFINITY
    writeFileSync(at('inf.idx'), Data.encodeIdx({ dtype: 'float32', shape: [48, 16], data: values }))
    await trainFails(withData('d9.json', { trainImages: 'inf.idx' }), 2, 'inf.idx: inputs[3, 5] is Infinity')
  })
  it('28×28 images for a network with input 100', async () => {
    writeFileSync(at('big-images.idx'), Data.encodeIdx({ dtype: 'uint8', shape: [48, 28, 28], data: new Array<number>(48 * 784).fill(7) }))
    await trainFails(
      spec('d10.json', goodSpec({ input: 100, data: { type: 'idx', trainImages: 'big-images.idx', trainLabels: 'train-labels.idx' } })),
      2,
      'big-images.idx has 784 features per example, but the network\'s input is 100'
    )
  })
  it('a missing data file', async () => trainFails(withData('d11.json', { trainLabels: 'gone.idx' }), 2, 'cannot read', 'gone.idx', 'no such file'))
})

describe('bad checkpoints', () => {
  const evalFails = async (file: string, ...mentions: Array<string | RegExp>): Promise<void> =>
    expectCleanFailure(await cli('eval', '--checkpoint', file, '--json'), 2, file, ...mentions)

  it('a missing checkpoint', async () => evalFails(at('none.json'), 'no such file'))
  it('a truncated checkpoint', async () => {
    const text = readFileSync(checkpoint, 'utf8')
    writeFileSync(at('half.json'), text.slice(0, Math.floor(text.length / 2)))
    await evalFails(at('half.json'))
  })
  it('an edited checkpoint (one weight changed) fails its checksum', async () => {
    // The last byte of the file is the last byte of a tensor's values: still a float, a different one.
    const bytes = Uint8Array.from(readFileSync(checkpoint))
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0x01
    writeFileSync(at('edited.json'), bytes)
    await evalFails(at('edited.json'), /checksum/i)
  })
  it('a checkpoint of a future version', async () => {
    // Re-encoded with a valid checksum: only the version differs.
    const file = TensorFile.decode(readFileSync(checkpoint))
    if (E.isLeft(file)) throw new Error(file.left.message)
    const future = TensorFile.encode(file.right.tensors, { ...file.right.metadata, version: '3' })
    if (E.isLeft(future)) throw new Error(future.left.message)
    writeFileSync(at('v3.json'), future.right)
    await evalFails(at('v3.json'), 'written by a newer nn-ts: format version 3')
  })
  it('not a checkpoint at all', async () => {
    writeFileSync(at('notes.json'), '{"hello": "world"}')
    await evalFails(at('notes.json'))
  })
  it('--resume with the checkpoint of another network', async () => {
    const other = spec('other.json', goodSpec({ layers: [{ type: 'dense', units: 5 }, { type: 'relu' }, { type: 'dense', units: 3 }] }))
    const out = freshOut()
    expectCleanFailure(await cli('train', '--spec', other, '--resume', checkpoint, '--out', out, '--no-pictures'), 2, 'checkpoint.safetensors', /expected .*\[16, 5\]/)
    expect(existsSync(out)).toBe(false)
  })
})

describe('bad inputs to predict and eval', () => {
  it('predict on examples of the wrong width', async () => {
    const o = await cli('predict', '--checkpoint', checkpoint, '--input', at('big-images.idx'))
    expectCleanFailure(o, 2, 'big-images.idx has 784 features per example, but the network', 'takes 16')
  })
  it('predict on a labels file', async () => expectCleanFailure(await cli('predict', '--checkpoint', checkpoint, '--input', at('train-labels.idx')), 2, 'wrong magic number 0x00000801'))
  it('predict on NaN examples', async () => expectCleanFailure(await cli('predict', '--checkpoint', checkpoint, '--input', at('nan.idx')), 2, 'nan.idx: inputs[3, 5] is NaN'))
  it('eval with a label out of range', async () =>
    expectCleanFailure(await cli('eval', '--checkpoint', checkpoint, '--images', at('train-images.idx'), '--labels', at('labels11.idx')), 2, 'label 11 at index 5 is out of range'))
})

// Issue 12: hostile inputs never hang, never blow memory, never give an internal error.

/** A FIFO (named pipe) at `name`, made with mkfifo(1). */
const fifo = (name: string): string => {
  const path = at(name)
  const r = spawnSync('mkfifo', [path])
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${r.stderr}`)
  return path
}

/**
 * A gzip file holding `head` then `chunks` × 64 MiB of zeros in one member, built without compressing
 * gigabytes: deflate segments that end sync-flushed (byte-aligned, no final block) concatenate into
 * one valid stream, each compressed from its own empty window. CRC-32 and length are the real ones.
 */
const gzipBomb = (head: Uint8Array, chunks: number): Buffer => {
  const zeros = Buffer.alloc(64 * 2 ** 20)
  const flushed = { finishFlush: constants.Z_SYNC_FLUSH, level: 9 }
  let crc = crc32(head)
  for (let i = 0; i < chunks; i++) crc = crc32(zeros, crc)
  const trailer = Buffer.alloc(8)
  trailer.writeUInt32LE(crc >>> 0, 0)
  trailer.writeUInt32LE((head.length + chunks * zeros.length) % 2 ** 32, 4)
  const zeroSegment = deflateRawSync(zeros, flushed)
  return Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
    deflateRawSync(head, flushed),
    ...new Array<Buffer>(chunks).fill(zeroSegment),
    deflateRawSync(Buffer.alloc(0)), // the final, empty block
    trailer
  ])
}

const MB = 2 ** 20

describe('input files that would hang or never end are refused at once (subprocesses with a timeout)', () => {
  const dataSpec = (name: string, files: Record<string, string>): string =>
    spec(name, goodSpec({ data: { type: 'idx', trainImages: 'train-images.idx', trainLabels: 'train-labels.idx', ...files } }))

  it('a FIFO as the spec, the images, the labels, the checkpoint, the --resume checkpoint or the examples to predict', () => {
    const pipe = fifo('a-fifo')
    const notRegular = 'is a FIFO (named pipe)'
    expectCleanFailure(fromSource('train', '--spec', pipe, '--out', freshOut()), 2, `the spec ${pipe} ${notRegular}, expected a regular file`)
    expectCleanFailure(fromSource('train', '--spec', dataSpec('fifo-images.json', { trainImages: pipe }), '--out', freshOut()), 2, `${pipe}: ${notRegular}`)
    expectCleanFailure(fromSource('train', '--spec', dataSpec('fifo-labels.json', { trainLabels: pipe }), '--out', freshOut()), 2, `${pipe}: ${notRegular}`)
    expectCleanFailure(fromSource('eval', '--checkpoint', pipe), 2, pipe, notRegular)
    expectCleanFailure(fromSource('train', '--spec', at('good.spec.json'), '--resume', pipe, '--out', freshOut()), 2, pipe, notRegular)
    expectCleanFailure(fromSource('predict', '--checkpoint', checkpoint, '--input', pipe), 2, `${pipe}: ${notRegular}`)
  }, 120_000)

  it('/dev/zero and /dev/urandom as data are refused without reading a byte', () => {
    for (const device of ['/dev/zero', '/dev/urandom']) {
      const o = fromSource('train', '--spec', dataSpec(`device${device.replace(/\//g, '-')}.json`, { trainImages: device }), '--out', freshOut())
      expectCleanFailure(o, 2, `${device}: is a character device, expected a regular file`)
      // Far below the 5.9 GB these reads reached: nothing beyond the CLI's own start-up memory.
      expect(o.peakBytes).toBeLessThan(300 * MB)
    }
    expectCleanFailure(fromSource('predict', '--checkpoint', checkpoint, '--input', '/dev/zero'), 2, '/dev/zero: is a character device')
  }, 120_000)
})

describe('decompression is capped by the IDX header: peak memory stays under 300 MB + twice the data (subprocesses)', () => {
  it('a 1 MB gzip file that inflates to 1 GiB is refused after the 784 bytes its header describes', () => {
    const head = readFileSync(at('train-images.idx')).subarray(0, 16) // [48, 4, 4] uint8: 784 bytes in all
    const bomb = gzipBomb(head, 16)
    expect(bomb.length).toBeLessThan(1.1 * MB)
    writeFileSync(at('bomb.idx.gz'), bomb)
    const o = fromSource('train', '--spec', spec('bomb.json', goodSpec({ data: { type: 'idx', trainImages: 'bomb.idx.gz', trainLabels: 'train-labels.idx' } })), '--out', freshOut())
    expectCleanFailure(o, 2, 'bomb.idx.gz: is gzip-compressed data that inflates to more than the 784 bytes its IDX header describes')
    // The legitimate data is 784 bytes: the bound is the CLI's start-up memory (~100 MB) with room to spare.
    expect(o.peakBytes).toBeLessThan(300 * MB + 2 * 784)
  }, 120_000)

  it('legitimate gzip data of 16 MiB loads within 300 MB + twice its size', () => {
    // 2²⁰ examples of 16 pixels (16 MiB) and their labels (1 MiB), stopped right after loading by a
    // validation set as large as the data.
    const n = 2 ** 20
    const pixels = new Uint8Array(n * 16)
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + (i >> 9)) % 251
    const labels = new Uint8Array(n).map((_, i) => i % 3)
    const idx = (dims: number[], body: Uint8Array): Buffer => {
      const h = Buffer.alloc(4 + 4 * dims.length)
      h.writeUInt32BE(0x800 + dims.length, 0)
      dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i))
      return Buffer.concat([h, body])
    }
    writeFileSync(at('many-images.idx.gz'), gzipSync(idx([n, 4, 4], pixels), { level: 1 }))
    writeFileSync(at('many-labels.idx.gz'), gzipSync(idx([n], labels), { level: 1 }))
    const many = spec('many.json', goodSpec({ training: { epochs: 1, batchSize: 8, validationSize: n }, data: { type: 'idx', trainImages: 'many-images.idx.gz', trainLabels: 'many-labels.idx.gz' } }))
    const o = fromSource('train', '--spec', many, '--out', freshOut())
    expectCleanFailure(o, 2, `training.validationSize is ${n}, but the training data has only ${n} examples`)
    expect(o.peakBytes).toBeLessThan(300 * MB + 2 * 17 * MB)
  }, 120_000)
})

describe('specs that cannot be built or would not fit are refused before anything is allocated', () => {
  const layers = (...ls: Array<Record<string, unknown>>) => goodSpec({ layers: ls })

  it('a layer too wide for one array (units 1e9, 2³¹, 1e8), with the count in the message', async () => {
    await trainFails(spec('u1e9.json', layers({ type: 'dense', units: 1e9 }, { type: 'dense', units: 3 })), 2, 'the weights of layers[0], dense(16→1000000000) would hold 1.60e+10 values, more than the 4294967296 one array can hold')
    await trainFails(spec('u2p31.json', layers({ type: 'dense', units: 2 ** 31 }, { type: 'dense', units: 3 })), 2, 'the weights of layers[0], dense(16→2147483648) would hold 3.44e+10 values')
    await trainFails(spec('u1e8.json', layers({ type: 'dense', units: 1e8 }, { type: 'dense', units: 3 })), 2, 'the activations of layers[0], dense(16→100000000) for an evaluation batch of 1000 rows would hold 1.00e+11 values')
  })

  // 4.03e9 parameters with Adam: 180 GiB estimated. Refused wherever half the memory is less.
  it.skipIf(memoryLimit() > 180 * 2 ** 30)('a network whose training would not fit in memory, with the estimate', async () => {
    await trainFails(
      spec('memory.json', layers({ type: 'dense', units: 2e6 }, { type: 'relu' }, { type: 'dense', units: 2000 }, { type: 'dense', units: 3 })),
      2,
      /training this network needs an estimated 180\.\d GiB — 4\.03e\+9 parameters \(15\.0 GiB\) with the optimizer's 2 copies of them, .* more than the .* nn-ts plans to use; the largest layer is layers\[2\], dense\(2000000→2000\) with 4\.00e\+9 parameters/
    )
  })

  it('a network with no dense layer', async () =>
    trainFails(spec('no-dense.json', layers({ type: 'relu' }, { type: 'softmax' })), 2, 'the network has no dense layer, so it has no parameters to train'))

  it('data.classes smaller (or larger) than the output width', async () => {
    const withClasses = (classes: number) =>
      goodSpec({ data: { type: 'idx', trainImages: 'train-images.idx', trainLabels: 'train-labels.idx', classes } })
    await trainFails(spec('classes2.json', withClasses(2)), 2, 'data.classes is 2, but the network outputs 3 values (one per class)')
    await trainFails(spec('classes5.json', withClasses(5)), 2, 'data.classes is 5, but the network outputs 3 values')
  })

  it('BatchNorm and a last training batch of one row: refused before training, with batch sizes that work', async () => {
    writeSet('train49', 49)
    const bn = (training: Record<string, unknown>) =>
      goodSpec({
        layers: [{ type: 'dense', units: 8 }, { type: 'batchNorm' }, { type: 'relu' }, { type: 'dense', units: 3 }],
        training,
        data: { type: 'idx', trainImages: 'train49-images.idx', trainLabels: 'train49-labels.idx' }
      })
    await trainFails(
      spec('bn49.json', bn({ epochs: 1, batchSize: 8 })),
      2,
      '49 training examples in batches of 8 leave a last batch of one row (49 = 6 × 8 + 1); BatchNorm (layers[1], batchNorm(8))',
      'expected a batch size such as 7 or 9, or one training example fewer (training.validationSize 1)'
    )
    // 49 − 8 validation rows = 41 = 5 × 8 + 1.
    await trainFails(spec('bn41.json', bn({ epochs: 1, batchSize: 8, validationSize: 8 })), 2, '41 training examples in batches of 8', 'training.validationSize 9')
    await trainFails(spec('bn1.json', bn({ epochs: 1, batchSize: 1 })), 2, 'training.batchSize is 1; BatchNorm')
    // Without BatchNorm, a last batch of one row is fine.
    const plain = await cli('train', '--spec', spec('plain49.json', goodSpec({ training: { epochs: 1, batchSize: 8 }, data: { type: 'idx', trainImages: 'train49-images.idx', trainLabels: 'train49-labels.idx' } })), '--out', freshOut(), '--no-pictures')
    expect(plain.code, plain.stderr).toBe(0)
  })

  it('10⁶ layers, 20 000 layers, and nesting 100 deep: no call-stack overflow, a clear refusal', async () => {
    const relus = (n: number) => JSON.stringify(goodSpec({ layers: [...Array.from({ length: n }, () => ({ type: 'relu' })), { type: 'dense', units: 3 }] }))
    await trainFails(spec('million.json', relus(1e6)), 2, /the spec .*million\.json is 1[56]\.\d MiB, more than the 4\.0 MiB nn-ts reads for a spec/)
    await trainFails(spec('twenty-thousand.json', relus(20_000)), 2, 'the network has more than 10000 layers (nested ones included)')
    const deep = `{"input": 16, "layers": ${'['.repeat(100)}${']'.repeat(100)}}`
    await trainFails(spec('deep.json', deep), 2, /deep\.json: not valid JSON at line 1, column \d+ \(in layers(\[0\])+\): objects and arrays nested deeper than 64 levels/)
  })

  it("a checkpoint whose stored spec has any of these is refused by eval, naming the checkpoint", async () => {
    const read = await Node.readCheckpoint(checkpoint)()
    if (E.isLeft(read)) throw new Error(read.left.message)
    const stored = read.right.spec as Record<string, unknown>
    const withSpec = async (name: string, s: unknown): Promise<string> => {
      const w = await Node.writeCheckpoint(at(name), { ...read.right, spec: s })()
      if (E.isLeft(w)) throw new Error(w.left.message)
      return at(name)
    }
    const huge = await withSpec('huge.ckpt', { ...stored, layers: [{ type: 'dense', units: 1e9 }, { type: 'dense', units: 3 }] })
    expectCleanFailure(await cli('eval', '--checkpoint', huge), 2, `${huge}: the weights of layers[0], dense(16→1000000000) would hold 1.60e+10 values`)
    const flat = await withSpec('flat.ckpt', { ...stored, layers: [{ type: 'relu' }] })
    expectCleanFailure(await cli('predict', '--checkpoint', flat, '--input', at('test-images.idx')), 2, `${flat}: the network has no dense layer`)
    const deep = await withSpec('deep.ckpt', { ...stored, layers: [...Array.from({ length: 20_000 }, () => ({ type: 'relu' })), { type: 'dense', units: 3 }] })
    expectCleanFailure(await cli('eval', '--checkpoint', deep), 2, `${deep}: the network has more than 10000 layers`)
  })
})

describe('inputs that were accepted but wrong', () => {
  it('a duplicate key in a spec is refused with its path and position', async () => {
    const text = JSON.stringify(goodSpec(), null, 2)
    const rootDup = text.replace('"input": 16,', '"input": 16,\n  "input": 17,')
    await trainFails(spec('dup-root.json', rootDup), 2, 'dup-root.json: input: duplicate key at line 4, column 3: each key may appear once in a spec')
    const nestedDup = JSON.stringify(goodSpec()).replace('{"type":"relu"}', '{"type":"relu","type":"sigmoid"}')
    await trainFails(spec('dup-nested.json', nestedDup), 2, `dup-nested.json: layers[1].type: duplicate key at line 1, column ${nestedDup.indexOf('"type":"sigmoid"') + 1}`)
  })

  it('a spec with a byte-order mark is read like one without', async () => {
    const o = await cli('train', '--spec', spec('bom.json', `\uFEFF${JSON.stringify(goodSpec({ training: { epochs: 1, batchSize: 8, seed: 1 } }))}`), '--out', freshOut(), '--no-pictures')
    expect(o.code, o.stderr).toBe(0)
  })

  it('NaN or Infinity read from a checkpoint is refused by eval, predict and --resume, with the path and index', async () => {
    const read = await Node.readCheckpoint(checkpoint)()
    if (E.isLeft(read)) throw new Error(read.left.message)
    const c = read.right
    const params = c.state.params as ReadonlyArray<Record<string, Tensor.Tensor>>
    const first = params[0] as Record<string, Tensor.Tensor>
    const W = first['W'] as Tensor.Tensor
    const data = W.data.slice()
    data[11] = Number.NaN
    const nanFile = at('nan.ckpt')
    const written = await Node.writeCheckpoint(nanFile, { ...c, state: { ...c.state, params: [{ ...first, W: Tensor.fromData(W.shape, data) }, ...params.slice(1)] } })()
    if (E.isLeft(written)) throw new Error(written.left.message)
    const where = 'params[0].W holds NaN at index 11 (row 1, column 3 of [16, 8])'
    expectCleanFailure(await cli('eval', '--checkpoint', nanFile), 2, `${nanFile}: ${where}`, 'expected finite values')
    expectCleanFailure(await cli('predict', '--checkpoint', nanFile, '--input', at('test-images.idx')), 2, `${nanFile}: ${where}`)
    const out = freshOut()
    const resumed = await cli('train', '--spec', at('good.spec.json'), '--resume', nanFile, '--out', out, '--no-pictures')
    expectCleanFailure(resumed, 2, `${nanFile}: ${where}`)
    expect(resumed.stderr).not.toMatch(/training stopped/)
  })

  it('control characters in paths and names are escaped in messages, never printed raw', async () => {
    const evil = at('evil\u001b[2J\nname.json')
    const o = await cli('train', '--spec', evil, '--out', freshOut())
    expectCleanFailure(o, 2, 'evil\\x1b[2J\\nname.json', 'no such file')
    expect(o.stderr.trimEnd()).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/)
    expect(o.stderr.trimEnd().split('\n')).toHaveLength(1)
    const command = await cli('tr\u001b]0;owned\u0007ain')
    expect(command.code).toBe(2)
    expect(command.stderr).not.toMatch(/[\u001b\u0007]/)
    expect(command.stderr).toContain("unknown command \"tr\\x1b]0;owned\\x07ain\"")
    const flag = await cli('train', '--sp\u001b[31mec', 'x.json')
    expectCleanFailure(flag, 2, 'unknown flag "--sp\\x1b[31mec" for `nn-ts train`')
    expect(flag.stderr).not.toMatch(/\u001b/)
    const positional = await cli('eval', 'a\rb')
    expectCleanFailure(positional, 2, 'unexpected argument "a\\rb" for `nn-ts eval`')
  })
})

describe('training that diverges', () => {
  it('stops with exit 3, names the step and place, and saves the last good state', async () => {
    const diverging = spec('diverge.json', goodSpec({ optimizer: { type: 'sgd', learningRate: 1e30 }, training: { epochs: 3, batchSize: 8, seed: 1 } }))
    const out = freshOut()
    const o = await cli('train', '--spec', diverging, '--out', out, '--no-pictures', '--json')
    expectCleanFailure(o, 3, /training stopped: NaN or Infinity at step \d+ in forward pass, layer \[\d\] dense/, 'the last good state')
    const last = JSON.parse(o.stdout.trim().split('\n').at(-1) as string)
    expect(last).toMatchObject({ ok: false, exitCode: 3, error: { kind: 'nonFinite' } })
    expect(typeof last.error.step).toBe('number')
    // The last good state goes to its own file, resumable at its step.
    expect(typeof last.error.checkpoint).toBe('string')
    const c = await Node.readCheckpoint(last.error.checkpoint)()
    expect(E.isRight(c) && c.right.state.step).toBe(last.error.lastGoodStep)
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })
})

describe('the real bin, as a subprocess', () => {
  it('usage error, bad spec, bad data, bad checkpoint: exit 2, one message, no stack trace', () => {
    expectCleanFailure(subprocess('trian'), 2, "unknown command 'trian'")
    expectCleanFailure(subprocess('train', '--spec', at('negative.json'), '--out', at('sub-out')), 2, 'layers[0].units')
    expectCleanFailure(subprocess('train', '--spec', at('d1.json'), '--out', at('sub-out')), 2, 'truncated')
    expectCleanFailure(subprocess('eval', '--checkpoint', at('half.json')), 2, 'half.json')
    expect(existsSync(at('sub-out'))).toBe(false)
  })
  it('training that diverges: exit 3', () => {
    expectCleanFailure(subprocess('train', '--spec', at('diverge.json'), '--out', at('sub-diverge'), '--no-pictures'), 3, 'training stopped: NaN or Infinity at step')
    // The last good state goes to its own file (a diverging run never had an epoch checkpoint to keep).
    expect(existsSync(join(at('sub-diverge'), NAN_STOP_NAME))).toBe(true)
  })
  it('a good run exits 0 and its last stdout line is one JSON object', () => {
    const o = subprocess('predict', '--checkpoint', checkpoint, '--input', at('test-images.idx'), '--json')
    expect(o.code, o.stderr).toBe(0)
    expect(JSON.parse(o.stdout.trim().split('\n').at(-1) as string).predictions).toHaveLength(24)
  })
})

describe('end to end on a tiny IDX dataset', () => {
  it('trains, writes a checkpoint that eval and predict read, with the same accuracy', async () => {
    const out = freshOut()
    const t = await cli('train', '--spec', at('good.spec.json'), '--out', out, '--no-pictures', '--json')
    expect(t.code, t.stderr).toBe(0)
    const summary = JSON.parse(t.stdout.trim().split('\n').at(-1) as string)
    expect(summary).toMatchObject({ ok: true, epochs: 10, step: 60, checkpoint: join(out, 'checkpoint.safetensors') })
    expect(summary.testAccuracy).toBeGreaterThan(0.9)
    expect(readdirSync(out)).toEqual(['checkpoint.safetensors'])

    const e = await cli('eval', '--checkpoint', join(out, 'checkpoint.safetensors'), '--json')
    expect(e.code, e.stderr).toBe(0)
    expect(JSON.parse(e.stdout).accuracy).toBe(summary.testAccuracy)

    const p = await cli('predict', '--checkpoint', join(out, 'checkpoint.safetensors'), '--input', at('test-images.idx'))
    expect(p.code, p.stderr).toBe(0)
    const labels = p.stdout.trim().split('\n').map(Number)
    expect(labels).toHaveLength(24)
    const truth = Array.from({ length: 24 }, (_, i) => i % 3)
    expect(labels.filter((l, i) => l === truth[i]).length / 24).toBe(summary.testAccuracy)
  })

  it('two epochs, then --resume to four, equals four epochs straight', async () => {
    const constant = { optimizer: { type: 'momentum', learningRate: 0.05, momentum: 0.9 } }
    const half = spec('half.spec.json', goodSpec({ ...constant, training: { epochs: 2, batchSize: 8, seed: 1 } }))
    const whole = spec('whole.spec.json', goodSpec({ ...constant, training: { epochs: 4, batchSize: 8, seed: 1 } }))
    const [a, b, c] = [freshOut(), freshOut(), freshOut()]
    expect((await cli('train', '--spec', half, '--out', a, '--no-pictures')).code).toBe(0)
    const resumed = await cli('train', '--spec', whole, '--resume', join(a, 'checkpoint.safetensors'), '--out', b, '--no-pictures')
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toContain('resuming at step 12')
    expect((await cli('train', '--spec', whole, '--out', c, '--no-pictures')).code).toBe(0)
    const read = async (f: string) => {
      const r = await Node.readCheckpoint(join(f, 'checkpoint.safetensors'))()
      if (E.isLeft(r)) throw new Error(r.left.message)
      return r.right.state
    }
    const [sb, sc] = [await read(b), await read(c)]
    expect(sb.step).toBe(24)
    expect(Tree.equals(sb.params, sc.params)).toBe(true)
  })
})

