/**
 * A grid of the digits a classifier got wrong: each tile is the image upscaled, labelled
 * `true→predicted` (true class in green, prediction in red) with the built-in pixel font, so the PNG
 * needs no font and looks the same on every machine.
 *
 * @since 0.1.0
 */
import type * as PngJs from 'pngjs'
import { requireOptional } from '../io/optionalPackage.ts'
import { type Tensor, ShapeError, showShape } from '../tensor/Tensor.ts'
import { type Canvas, GLYPH_HEIGHT, drawText, textWidth } from './pixelFont.ts'

/**
 * @category model
 * @example
 * import { Tensor } from 'nn-ts'
 * import { type GridOptions, misclassifiedGrid } from 'nn-ts/viz'
 * const small: GridOptions = { side: 8, scale: 2, cols: 4, max: 16 } // images of 8×8 pixels drawn at 16×16
 * const png = misclassifiedGrid(Tensor.zeros([2, 64]), [1, 2], [1, 3], small)
 * png.length > 0 // true
 */
export interface GridOptions {
  /** At most this many tiles, in dataset order (default 64). */
  readonly max?: number
  /** Tiles per row (default 8). */
  readonly cols?: number
  /** Screen pixels per image pixel (default 3: a 28×28 digit becomes 84×84). */
  readonly scale?: number
  /** Side of the square images (default 28, MNIST); each row of `images` holds `side²` values. */
  readonly side?: number
}

const GREEN: readonly [number, number, number] = [0, 120, 40]
const RED: readonly [number, number, number] = [200, 20, 20]
const GREY: readonly [number, number, number] = [110, 110, 110]
const BLACK: readonly [number, number, number] = [0, 0, 0]
const FRAME = 200

const PAD = 6
const LABEL_SCALE = 2
const LABEL_HEIGHT = GLYPH_HEIGHT * LABEL_SCALE
const LINE = LABEL_HEIGHT + 2

/** Greedy word wrap of `text` into lines at most `width` pixels wide at the label scale. */
const wrap = (text: string, width: number): string[] =>
  text.split(' ').reduce<string[]>((lines, word) => {
    const last = lines[lines.length - 1]
    if (last !== undefined && textWidth(`${last} ${word}`, LABEL_SCALE) <= width) return [...lines.slice(0, -1), `${last} ${word}`]
    return [...lines, word]
  }, [])

/**
 * Indices of the samples whose prediction differs from the label, in order.
 * @category utils
 * @example
 * import { misclassifiedIndices } from 'nn-ts/viz'
 * misclassifiedIndices([3, 5, 7], [3, 6, 1]) // [1, 2]
 */
export const misclassifiedIndices = (labels: ReadonlyArray<number>, predictions: ReadonlyArray<number>): number[] =>
  labels.flatMap((l, i) => (predictions[i] !== l ? [i] : []))

const fillRect = (c: Canvas, x: number, y: number, w: number, h: number, grey: number): void => {
  for (let py = Math.max(0, y); py < Math.min(c.height, y + h); py++) {
    for (let px = Math.max(0, x); px < Math.min(c.width, x + w); px++) {
      const o = (py * c.width + px) * 4
      c.data[o] = c.data[o + 1] = c.data[o + 2] = grey
      c.data[o + 3] = 255
    }
  }
}

/**
 * A PNG of up to `max` misclassified images (rows of `images`, values in [0, 1], drawn dark on
 * white), `cols` per row, each labelled `true→predicted`, under a header line with the count.
 * Throws a `ShapeError` when `images`, `labels` and `predictions` do not describe the same samples.
 * @category renderers
 * @example
 * import { Tensor } from 'nn-ts'
 * import { misclassifiedGrid } from 'nn-ts/viz'
 * const images = Tensor.zeros([2, 784])
 * const png = misclassifiedGrid(images, [3, 5], [3, 6], { max: 16, cols: 4 }) // one tile: 5→6
 * png.subarray(1, 4) // Uint8Array [80, 78, 71]: 'PNG'
 */
export const misclassifiedGrid = (
  images: Tensor,
  labels: ReadonlyArray<number>,
  predictions: ReadonlyArray<number>,
  options: GridOptions = {}
): Uint8Array => {
  const side = options.side ?? 28
  const max = options.max ?? 64
  const cols = options.cols ?? 8
  const scale = options.scale ?? 3
  for (const [name, v] of [['max', max], ['cols', cols], ['scale', scale], ['side', side]] as const) {
    if (!Number.isInteger(v) || v < (name === 'max' ? 0 : 1)) throw new RangeError(`misclassifiedGrid: ${name} must be a positive integer, got ${v}`)
  }
  const n = images.shape[0] ?? 0
  if (images.shape.length !== 2 || images.shape[1] !== side * side) throw new ShapeError('misclassifiedGrid images', `[n, ${side * side}]`, images.shape)
  if (labels.length !== n || predictions.length !== n) {
    throw new ShapeError('misclassifiedGrid', `${n} labels and predictions for images ${showShape(images.shape)}`, [labels.length, predictions.length])
  }

  const wrong = misclassifiedIndices(labels, predictions)
  const shown = wrong.slice(0, max)
  const digit = side * scale
  const tileW = digit + 2 * PAD
  const tileH = PAD + LABEL_HEIGHT + PAD + digit + PAD
  const gridCols = Math.max(1, Math.min(cols, shown.length))
  const gridRows = Math.ceil(shown.length / gridCols)
  const header =
    shown.length === 0 ? `no misclassified images (of ${n})` : `${wrong.length} of ${n} misclassified, showing ${shown.length} (true\u2192predicted)`
  // The header may widen the picture up to `cols` tiles; beyond that it wraps.
  const width = Math.max(gridCols * tileW, Math.min(textWidth(header, LABEL_SCALE) + 2 * PAD, cols * tileW))
  const lines = wrap(header, width - 2 * PAD)
  const headerHeight = 2 * PAD + lines.length * LINE - 2
  const height = headerHeight + gridRows * tileH

  // The canvas is created here and only written before it is encoded: the function stays pure.
  const { PNG } = requireOptional<typeof PngJs>('pngjs', 'the misclassified-digits picture')
  const png = new PNG({ width, height })
  const canvas: Canvas = { width, height, data: png.data }
  fillRect(canvas, 0, 0, width, height, 255)
  lines.forEach((line, i) => drawText(canvas, line, PAD, PAD + i * LINE, LABEL_SCALE, BLACK))

  shown.forEach((index, k) => {
    const x0 = (k % gridCols) * tileW
    const y0 = headerHeight + Math.floor(k / gridCols) * tileH
    const truth = String(labels[index])
    const guess = String(predictions[index])
    const label = `${truth}\u2192${guess}`
    let x = x0 + Math.round((tileW - textWidth(label, LABEL_SCALE)) / 2)
    const y = y0 + PAD
    for (const [part, colour] of [[truth, GREEN], ['\u2192', GREY], [guess, RED]] as const) {
      drawText(canvas, part, x, y, LABEL_SCALE, colour)
      x += textWidth(part, LABEL_SCALE) + LABEL_SCALE
    }
    const top = y0 + PAD + LABEL_HEIGHT + PAD
    fillRect(canvas, x0 + PAD - 1, top - 1, digit + 2, digit + 2, FRAME)
    const row = images.data.subarray(index * side * side, (index + 1) * side * side)
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const v = Math.min(1, Math.max(0, Number.isFinite(row[r * side + c] as number) ? (row[r * side + c] as number) : 0))
        fillRect(canvas, x0 + PAD + c * scale, top + r * scale, scale, scale, Math.round(255 * (1 - v)))
      }
    }
  })
  const bytes = PNG.sync.write(png)
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
