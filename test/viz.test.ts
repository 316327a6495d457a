/**
 * Pictures: the SVGs carry the series and labels, the PNGs decode at the expected size and have ink
 * where text and digits should be, with system fonts and with the built-in pixel font.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import { PNG } from 'pngjs'
import { afterAll, describe, expect, it } from 'vitest'
import * as Data from '../src/data/index.ts'
import { Tensor } from '../src/index.ts'
import type { History } from '../src/train/fit.ts'
import * as Viz from '../src/viz/index.ts'
import * as PixelFont from '../src/viz/pixelFont.ts'
import * as Node from '../src/node/index.ts'

const run = async <A>(task: TE.TaskEither<Error, A>): Promise<A> => {
  const result = await task()
  if (E.isLeft(result)) throw result.left
  return result.right
}

const decode = (png: Uint8Array): PNG => PNG.sync.read(Buffer.from(png))

/** Pixels (of an RGBA image) darker than mid-grey inside a rectangle. */
const inkIn = (img: PNG, x0: number, y0: number, w: number, h: number): number => {
  let ink = 0
  for (let y = y0; y < Math.min(img.height, y0 + h); y++) {
    for (let x = x0; x < Math.min(img.width, x0 + w); x++) {
      const o = (y * img.width + x) * 4
      if ((img.data[o] as number) + (img.data[o + 1] as number) + (img.data[o + 2] as number) < 3 * 128) ink++
    }
  }
  return ink
}

const svgSize = (svg: string): { width: number; height: number } => {
  const m = /<svg[^>]*\swidth="(\d+(?:\.\d+)?)"[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(svg)
  if (m === null) throw new Error('no svg size')
  return { width: Number(m[1]), height: Number(m[2]) }
}

const history: History = {
  trainLoss: [2.1, 1.2, 0.8, 0.6, 0.5],
  trainError: [0.6, 0.3, 0.2, 0.15, 0.12],
  valLoss: [2.0, 1.3, 0.9, 0.75, 0.7],
  valError: [0.58, 0.32, 0.22, 0.18, 0.17],
  seconds: [1.5, 1.4, 1.4, 1.5, 1.4]
}

const mnistTest = Node.loadMnist()()
if (mnistTest._tag === 'Left') throw new Error(mnistTest.left.message)

/** The first `n` MNIST test images and labels. */
const mnist = (n: number): { images: Tensor.Tensor; labels: ReadonlyArray<number> } => {
  const d = Data.take(mnistTest.right.test, n)
  return { images: d.inputs, labels: d.labels }
}

describe('learningCurves', () => {
  it('draws loss and error panels with a train and a validation series, every epoch a point', async () => {
    const { svg } = await run(Viz.learningCurves(history))
    expect(svg.startsWith('<svg')).toBe(true)
    for (const text of ['Learning curves', 'Loss per epoch', 'Error per epoch', '>epoch<', '>loss<', 'train', 'validation']) expect(svg).toContain(text)
    // Four lines: train and validation in each panel.
    expect(svg.match(/class="mark-line role-mark/g)?.length).toBe(4)
    // Every recorded value is a point (Vega labels each point for screen readers).
    expect(svg).toContain('aria-label="epoch: 1; loss: 2.1; split: train"')
    expect(svg).toContain('aria-label="epoch: 5; loss: 0.7; split: validation"')
    expect(svg).toContain('aria-label="epoch: 5; error (% misclassified): 17.0%; split: validation"')
    expect(new Set(svg.match(/aria-label="epoch: \d+;[^"]*"/g)).size).toBe(20)
  })

  it('leaves out non-finite values and missing validation instead of failing', async () => {
    const points = Viz.curvePoints({ ...history, trainLoss: [1, Number.NaN, 0.5], valLoss: [], valError: [] })
    expect(points.filter((p) => p.metric === 'loss').map((p) => p.epoch)).toEqual([1, 3])
    const { svg } = await run(Viz.learningCurves({ trainLoss: [], trainError: [], valLoss: [], valError: [], seconds: [] }))
    expect(svg).toContain('Learning curves')
  })
})

describe('toPng', () => {
  it('decodes at the SVG size times the scale, and draws the labels with system fonts or the pixel font', async () => {
    const { svg } = await run(Viz.learningCurves(history))
    const { width, height } = svgSize(svg)
    for (const text of ['auto', 'pixel'] as const) {
      const img = decode(Viz.toPng(svg, { text }))
      expect([img.width, img.height]).toEqual([width, height])
      // The title "Learning curves" is centred at the top: there is ink there.
      expect(inkIn(img, Math.round(width / 2) - 50, 0, 100, 28)).toBeGreaterThan(30)
      const big = decode(Viz.toPng(svg, { scale: 2, text }))
      expect([big.width, big.height]).toEqual([2 * width, 2 * height])
    }
  })

  it('the pixel-font fallback replaces every text element and keeps its placement', () => {
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="80" height="30"><text/><text text-anchor="end" transform="translate(70,20)" font-size="10px" fill="#123">&lt;4.5&gt;</text></svg>'
    const out = PixelFont.textToPaths(svg)
    expect(out).not.toContain('<text')
    expect(out).toMatch(/<path transform="translate\(70,20\)" fill="#123" d="M/)
    const img = decode(Viz.toPng(out, { text: 'system' }))
    // Right-aligned at x = 70, cap height 7 above the baseline at y = 20.
    expect(inkIn(img, 40, 12, 31, 9)).toBeGreaterThan(10)
    expect(inkIn(img, 0, 0, 38, 30) + inkIn(img, 72, 0, 8, 30)).toBe(0)
  })

  it('the pixel font has every glyph vega uses for numbers and axis titles', () => {
    for (const ch of '0123456789.,-−+%:()→ abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ') expect(PixelFont.hasGlyph(ch)).toBe(true)
    expect(PixelFont.textWidth('10', 2)).toBe(22)
  })
})

describe('confusionMatrix', () => {
  it('counts true × predicted and writes every count in its cell', async () => {
    const labels = [0, 0, 1, 1, 1, 2, 2, 2, 2]
    const predictions = [0, 1, 1, 1, 2, 2, 2, 2, 0]
    const { counts, svg } = await run(Viz.confusionMatrix(labels, predictions, 3))
    expect(counts).toEqual([
      [1, 1, 0],
      [0, 2, 1],
      [1, 0, 3]
    ])
    for (const text of ['Confusion matrix', '6 of 9 correct', 'predicted class', 'true class', '>3<', '>2<']) expect(svg).toContain(text)
    expect(svg.match(/class="mark-rect role-mark/g)?.length).toBe(1)
    const { width, height } = svgSize(svg)
    const img = decode(Viz.toPng(svg))
    expect([img.width, img.height]).toEqual([width, height])
  })

  it('names classes when asked, and refuses labels outside the classes', async () => {
    const { svg } = await run(Viz.confusionMatrix([0, 1], [1, 1], 2, ['cat', 'dog']))
    expect(svg).toContain('>cat<')
    const bad = await Viz.confusionMatrix([0, 3], [0, 1], 2)()
    expect(bad).toEqual(E.left(new RangeError('confusionMatrix: labels[1] = 3 is not a class in [0, 2)')))
    expect(E.isLeft(await Viz.confusionMatrix([0], [0, 1], 2)())).toBe(true)
  })
})

describe('misclassifiedGrid', () => {
  const { images, labels } = mnist(200)
  // A stand-in classifier that is wrong on every 9th sample.
  const predictions = labels.map((l, i) => (i % 9 === 0 ? (l + 3) % 10 : l))
  const wrong = Viz.misclassifiedIndices(labels, predictions)

  it('has one 96×118 tile per misclassified digit (3× upscaled, labelled), under a header', () => {
    expect(wrong.length).toBe(23)
    const img = decode(Viz.misclassifiedGrid(images, labels, predictions, { max: 20, cols: 5 }))
    // The header wraps to two lines (2 × 18 px + padding) rather than widen the picture past 5 tiles.
    const header = 12 + 2 * 18 - 2
    expect([img.width, img.height]).toEqual([5 * 96, header + 4 * 118])
    // The first tile's digit (a 7, the first test image) has ink, drawn dark on white.
    expect(inkIn(img, 6, header + 28, 84, 84)).toBeGreaterThan(300)
    // Its label strip has the true class in green and the prediction in red.
    const colours = new Set<string>()
    for (let y = header + 6; y < header + 22; y++) {
      for (let x = 0; x < 96; x++) {
        const o = (y * img.width + x) * 4
        colours.add(`${img.data[o]},${img.data[o + 1]},${img.data[o + 2]}`)
      }
    }
    expect(colours).toContain('0,120,40')
    expect(colours).toContain('200,20,20')
  })

  it('defaults to at most 64 tiles in 8 columns, and still makes a picture when nothing is wrong', () => {
    const img = decode(Viz.misclassifiedGrid(images, labels, predictions))
    expect([img.width, img.height]).toEqual([8 * 96, 28 + 3 * 118])
    const none = decode(Viz.misclassifiedGrid(images, labels, labels))
    expect(none.height).toBe(28)
    expect(inkIn(none, 0, 0, none.width, none.height)).toBeGreaterThan(50)
  })

  it('refuses images and labels that do not describe the same samples', () => {
    expect(() => Viz.misclassifiedGrid(images, labels.slice(1), predictions)).toThrow(/misclassifiedGrid/)
    expect(() => Viz.misclassifiedGrid(Tensor.zeros([2, 10]), [0, 1], [1, 0])).toThrow(/\[n, 784\]/)
  })
})

describe('writeReport', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('writes the five files, each one readable', async () => {
    const base = await mkdtemp(join(tmpdir(), 'nn-ts-report-'))
    dirs.push(base)
    const dir = join(base, 'nested', 'report')
    const { images, labels } = mnist(100)
    const predictions = labels.map((l, i) => (i % 10 === 3 ? (l + 1) % 10 : l))
    const { files } = await run(Viz.writeReport(dir, { history, labels, predictions, images }))
    expect(files).toEqual(Viz.reportFiles.map((f) => join(dir, f)))
    for (const f of files) expect(existsSync(f)).toBe(true)
    expect(readFileSync(join(dir, 'learning-curves.svg'), 'utf8')).toContain('Loss per epoch')
    expect(readFileSync(join(dir, 'confusion-matrix.svg'), 'utf8')).toContain('90 of 100 correct')
    const curves = decode(readFileSync(join(dir, 'learning-curves.png')))
    expect(curves.width).toBe(2 * svgSize(readFileSync(join(dir, 'learning-curves.svg'), 'utf8')).width)
    expect(decode(readFileSync(join(dir, 'misclassified.png'))).width).toBe(8 * 96)
  })

  it('fails as a Left, writing nothing, when the inputs do not fit', async () => {
    const base = await mkdtemp(join(tmpdir(), 'nn-ts-report-'))
    dirs.push(base)
    const dir = join(base, 'bad')
    const result = await Viz.writeReport(dir, { history, labels: [0, 1], predictions: [0], images: Tensor.zeros([2, 784]) })()
    expect(E.isLeft(result)).toBe(true)
    expect(existsSync(dir)).toBe(false)
  })
})
