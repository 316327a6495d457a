/**
 * SVG → PNG with resvg (a Rust SVG renderer, no browser, no canvas).
 *
 * resvg draws text only with fonts it can find, and on a machine without system fonts it drops text
 * silently: axes without numbers. So by default `toPng` first checks, once per process, whether the
 * system fonts can draw a digit; if not, it converts every `<text>` to paths in the built-in pixel font
 * (`PixelFont.textToPaths`) before rendering. Labels then always show, and no font is ever downloaded.
 *
 * @since 0.1.0
 */
import type * as ResvgModule from '@resvg/resvg-js'
import { requireOptional } from '../io/optionalPackage.ts'
import { textToPaths } from './pixelFont.ts'

/**
 * @category model
 * @example
 * import { type PngOptions, toPng } from 'nn-ts/viz'
 * const options: PngOptions = { scale: 2, background: 'black', text: 'pixel' }
 * const png = toPng('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', options)
 * new DataView(png.buffer, png.byteOffset).getUint32(16) // 20: the PNG is 2 × 10 pixels wide
 */
export interface PngOptions {
  /** Pixels per SVG unit (default 1: the PNG has the SVG's width and height). */
  readonly scale?: number
  /** Fill behind the picture (default white; vega draws its own background too). */
  readonly background?: string
  /**
   * How to draw text: `system` fonts, the built-in `pixel` font, or `auto` (default): system fonts
   * when they can draw text on this machine, the pixel font otherwise.
   */
  readonly text?: 'auto' | 'system' | 'pixel'
}

const resvg = (): typeof ResvgModule => requireOptional<typeof ResvgModule>('@resvg/resvg-js', 'PNG rendering')

const PROBE =
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="24"><text x="4" y="20" font-family="sans-serif" font-size="20px" fill="#000">80</text></svg>'

/**
 * Whether resvg finds a system font that draws text: renders "80" and looks for ink. Probed on every
 * call rather than remembered (it takes ~5 ms), so fonts installed later are seen and no module state
 * is kept.
 * @category utils
 * @example
 * import { systemFontsDrawText } from 'nn-ts/viz'
 * const fonts = systemFontsDrawText() // on a machine without fonts, false: toPng then draws text in its pixel font
 * typeof fonts // 'boolean'
 */
export const systemFontsDrawText = (): boolean => {
  const { Resvg } = resvg()
  const pixels = new Resvg(PROBE, { font: { loadSystemFonts: true }, background: 'white' }).render().pixels
  let ink = 0
  for (let i = 0; i < pixels.length; i += 4) if ((pixels[i] as number) < 128) ink++
  return ink > 10
}

/**
 * Renders an SVG document to PNG bytes.
 * @category renderers
 * @example
 * import { toPng } from 'nn-ts/viz'
 * const png = toPng('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle cx="5" cy="5" r="4"/></svg>')
 * png.subarray(0, 8) // Uint8Array [137, 80, 78, 71, 13, 10, 26, 10]: the PNG signature
 */
export const toPng = (svg: string, options: PngOptions = {}): Uint8Array => {
  const scale = options.scale ?? 1
  if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`toPng: scale must be a positive number, got ${scale}`)
  const mode = options.text ?? 'auto'
  const { Resvg } = resvg()
  const pixelText = mode === 'pixel' || (mode === 'auto' && !systemFontsDrawText())
  const source = pixelText ? textToPaths(svg) : svg
  const png = new Resvg(source, {
    font: { loadSystemFonts: !pixelText },
    background: options.background ?? 'white',
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale }
  })
    .render()
    .asPng()
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength)
}
