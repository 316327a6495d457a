/**
 * A tiny built-in 5×7 bitmap font (with one descender row), so pictures can carry numbers and labels
 * without any font file: the misclassified-digit grid draws its labels with it, and `toPng` uses it to
 * turn SVG `<text>` into paths on machines that have no system fonts (a bare CI container), where
 * resvg would otherwise drop every label silently.
 *
 * Glyphs were drawn for this module. Each is 8 rows of 5 columns; row 6 sits on the baseline and row 7
 * is the descender. Characters without a glyph are drawn as a hollow box, never skipped, so a missing
 * glyph is visible.
 *
 * @since 0.1.0
 */

/** Columns of a glyph; the advance is one more (a blank column between characters). @category constants */
export const GLYPH_WIDTH = 5
/** Rows of a glyph, the descender row included. @category constants */
export const GLYPH_HEIGHT = 8
/** Rows above and on the baseline (the cap height). @category constants */
export const CAP_HEIGHT = 7

const rows = (spec: string): ReadonlyArray<string> => {
  const r = spec.trim().split(/\s+/)
  return r.length === GLYPH_HEIGHT ? r : [...r, ...Array.from({ length: GLYPH_HEIGHT - r.length }, () => '.....')]
}

const UPPER: Record<string, string> = {
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####'
}

const LOWER: Record<string, string> = {
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #...# #...#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .#### #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####'
}

const DIGITS: Record<string, string> = {
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..'
}

const MINUS = '..... ..... ..... ##### ..... ..... .....'

const PUNCTUATION: Record<string, string> = {
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... ..... .##.. .##.. .#...',
  '-': MINUS,
  '\u2212': MINUS, // d3-format writes negative numbers with the minus sign U+2212
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. .##.. .#...',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '[': '.###. .#... .#... .#... .#... .#... .###.',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '_': '..... ..... ..... ..... ..... ..... #####',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#.',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  "'": '..#.. ..#.. ..... ..... ..... ..... .....',
  '"': '.#.#. .#.#. ..... ..... ..... ..... .....',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  '*': '..... #.#.# .###. ##### .###. #.#.# .....',
  '\u00b7': '..... ..... ..... ..#.. ..... ..... .....', // middle dot
  '\u00d7': '..... #...# .#.#. ..#.. .#.#. #...# .....', // multiplication sign
  '\u2192': '..... ..#.. ...#. ##### ...#. ..#.. .....', // rightwards arrow
  '\u2026': '..... ..... ..... ..... ..... ..... #.#.#' // ellipsis (vega truncates long labels with it)
}

const MISSING = rows('##### #...# #...# #...# #...# #...# #####')

const TABLE: ReadonlyMap<string, ReadonlyArray<string>> = new Map(
  Object.entries({ ...UPPER, ...LOWER, ...DIGITS, ...PUNCTUATION }).map(([c, spec]) => [c, rows(spec)])
)

/**
 * The 8 × 5 bitmap of a character (row-major, `true` = ink); a hollow box when there is no glyph.
 * @category destructors
 * @example
 * import { glyph } from './pixelFont.ts' // internal: the module nn-ts/viz draws its labels with
 * glyph('7')[0] // [true, true, true, true, true]
 */
export const glyph = (ch: string): ReadonlyArray<ReadonlyArray<boolean>> =>
  (TABLE.get(ch) ?? MISSING).map((r) => Array.from(r, (c) => c === '#'))

/** Whether the font has a glyph for `ch`. @category utils */
export const hasGlyph = (ch: string): boolean => TABLE.has(ch)

/** Width in pixels of `text` drawn at `scale` pixels per font pixel. @category utils */
export const textWidth = (text: string, scale = 1): number => {
  const n = Array.from(text).length
  return n === 0 ? 0 : (n * (GLYPH_WIDTH + 1) - 1) * scale
}

/**
 * Calls `plot(x, y)` for the top-left corner of every ink pixel of `text` whose top-left corner is at
 * `(0, 0)`, one font pixel = 1 unit. The renderers below scale and place it.
 */
const forEachInk = (text: string, plot: (x: number, y: number) => void): void => {
  Array.from(text).forEach((ch, i) => {
    glyph(ch).forEach((row, y) =>
      row.forEach((on, x) => {
        if (on) plot(i * (GLYPH_WIDTH + 1) + x, y)
      })
    )
  })
}

/** Horizontal alignment of a text run relative to its anchor point. @category model */
export type Anchor = 'start' | 'middle' | 'end'

const fmt = (v: number): string => String(Math.round(v * 1000) / 1000)

/**
 * SVG path data drawing `text` with its baseline at `y` and its anchor at `x`; `size` is the CSS font
 * size (the cap height is 0.7 of it, like a typical sans-serif).
 * @category renderers
 * @example
 * import { textPath } from './pixelFont.ts'
 * const d = textPath('0.25', { x: 10, y: 20, size: 10 })
 * const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30"><path d="${d}"/></svg>`
 * d.startsWith('M') // true: one path of squares, no font needed
 */
export const textPath = (text: string, at: { readonly x: number; readonly y: number; readonly size: number; readonly anchor?: Anchor }): string => {
  const s = (0.7 * at.size) / CAP_HEIGHT
  const width = textWidth(text, s)
  const left = at.x - (at.anchor === 'middle' ? width / 2 : at.anchor === 'end' ? width : 0)
  const top = at.y - CAP_HEIGHT * s
  const parts: string[] = []
  forEachInk(text, (x, y) => parts.push(`M${fmt(left + x * s)} ${fmt(top + y * s)}h${fmt(s)}v${fmt(s)}h${fmt(-s)}z`))
  return parts.join('')
}

/** An RGBA image being drawn: `data` holds `width × height × 4` bytes, row-major. @category model */
export interface Canvas {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
}

/**
 * Draws `text` into `canvas` with its top-left corner at `(x, y)`, each font pixel a `scale × scale`
 * block of colour `rgb`. Ink outside the canvas is clipped. Only for canvases the caller created and
 * has not shared yet (it writes into `canvas.data`).
 * @category renderers
 */
export const drawText = (canvas: Canvas, text: string, x: number, y: number, scale: number, rgb: readonly [number, number, number]): void => {
  forEachInk(text, (gx, gy) => {
    for (let dy = 0; dy < scale; dy++) {
      for (let dx = 0; dx < scale; dx++) {
        const px = x + gx * scale + dx
        const py = y + gy * scale + dy
        if (px < 0 || py < 0 || px >= canvas.width || py >= canvas.height) continue
        const o = (py * canvas.width + px) * 4
        canvas.data[o] = rgb[0]
        canvas.data[o + 1] = rgb[1]
        canvas.data[o + 2] = rgb[2]
        canvas.data[o + 3] = 255
      }
    }
  })
}

// SVG text → paths

const decodeEntities = (s: string): string =>
  s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, e: string) => {
    const lower = e.toLowerCase()
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16))
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10))
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[lower] ?? ''
  })

const attr = (attrs: string, name: string): string | undefined => new RegExp(`(?:^|\\s)${name}="([^"]*)"`).exec(attrs)?.[1]

/** A length attribute in user units; `em` lengths are relative to the font size. */
const lengthAttr = (attrs: string, name: string, fontSize: number): number => {
  const v = attr(attrs, name)
  const n = v === undefined ? 0 : parseFloat(v)
  if (!Number.isFinite(n)) return 0
  return v !== undefined && v.trim().endsWith('em') ? n * fontSize : n
}

/**
 * Replaces every `<text>` element of an SVG (as vega writes them: one run of text, placed by
 * `transform`, `x`/`y`/`dx`/`dy` and `text-anchor`) by a `<path>` in the pixel font, keeping the
 * transform, fill and opacity. The picture then needs no font at all.
 * @category renderers
 * @example
 * import { textToPaths } from './pixelFont.ts'
 * const svg = textToPaths('<svg xmlns="http://www.w3.org/2000/svg"><text x="5" y="20">42</text></svg>')
 * svg.includes('<text') // false: the text is a path now
 */
export const textToPaths = (svg: string): string =>
  svg.replace(/<text\b([^>]*?)(?:\/>|>([\s\S]*?)<\/text>)/g, (_m, attrs: string, body: string | undefined) => {
    // An empty `<text/>` (vega writes them for hidden labels) draws nothing.
    if (body === undefined) return ''
    // Nested tspans (multi-line labels) are flattened to their text; vega's single-line labels have none.
    const text = decodeEntities(body.replace(/<[^>]*>/g, ''))
    const size = parseFloat(attr(attrs, 'font-size') ?? '') || 12
    const anchorAttr = attr(attrs, 'text-anchor')
    const anchor: Anchor = anchorAttr === 'middle' || anchorAttr === 'end' ? anchorAttr : 'start'
    const d = textPath(text, {
      x: lengthAttr(attrs, 'x', size) + lengthAttr(attrs, 'dx', size),
      y: lengthAttr(attrs, 'y', size) + lengthAttr(attrs, 'dy', size),
      size,
      anchor
    })
    const keep = ['transform', 'fill', 'opacity', 'fill-opacity']
      .map((name) => [name, attr(attrs, name)] as const)
      .filter(([, v]) => v !== undefined)
      .map(([name, v]) => ` ${name}="${v}"`)
      .join('')
    const fill = attr(attrs, 'fill') === undefined ? ' fill="#000"' : ''
    return `<path${keep}${fill} d="${d}"/>`
  })
