/**
 * The digit page: a person draws on a canvas, the drawing is preprocessed like MNIST and a network
 * restored from `checkpoint.safetensors` (next to the page) says which digit it is, with the ten
 * probabilities. `window.nnTs` lets a test classify pixels directly.
 */
import * as E from 'fp-ts/lib/Either.js'
import { Tensor } from 'nn-ts'
import { type Classifier, type Prediction, PIXELS, SIDE, classifierFromCheckpoint, preprocess } from './digits.ts'

/** What the page exposes for scripts and tests. */
export interface NnTsPage {
  /** Resolves when the network is loaded; rejects with the reason when it cannot be. */
  readonly ready: Promise<void>
  /** 784 pixels in [0, 1], row by row, white on black; throws an Error saying what is wrong with them. */
  readonly classify: (pixels: ArrayLike<number>) => Prediction
}

declare global {
  interface Window {
    nnTs: NnTsPage
  }
}

/** Stroke width on the 280-pixel pad: after scaling a full-height digit into MNIST's 20-pixel box it is ~2 pixels, as in MNIST. */
const STROKE = 22

const element = <T extends HTMLElement>(id: string, type: new () => T): T => {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`the page has no #${id} ${type.name}`)
  return found
}

const pad = element('pad', HTMLCanvasElement)
const seen = element('seen', HTMLCanvasElement)
const labelView = element('label', HTMLDivElement)
const statusView = element('status', HTMLDivElement)
const table = element('probabilities', HTMLTableElement)
const about = element('about', HTMLElement)
const padContext = pad.getContext('2d', { willReadFrequently: true })
const seenContext = seen.getContext('2d')
if (padContext === null || seenContext === null) throw new Error('this browser has no 2D canvas')

let classifier: Classifier | undefined
let pending = false

const rows = Array.from({ length: 10 }, (_, digit) => {
  const row = table.insertRow()
  row.insertCell().outerHTML = `<td class="digit">${digit}</td>`
  const barCell = row.insertCell()
  barCell.innerHTML = '<div class="bar"><span></span></div>'
  const value = row.insertCell()
  value.className = 'value'
  return { row, bar: barCell.querySelector('span') as HTMLSpanElement, value }
})

const show = (prediction: Prediction | undefined): void => {
  labelView.textContent = prediction === undefined ? '' : String(prediction.label)
  if (classifier !== undefined) {
    const sure = prediction?.probabilities[prediction.label]
    statusView.textContent = sure === undefined ? 'draw a digit' : `${(100 * sure).toFixed(1)} % sure`
  }
  rows.forEach(({ row, bar, value }, digit) => {
    const p = prediction?.probabilities[digit] ?? 0
    row.classList.toggle('best', prediction?.label === digit)
    bar.style.width = `${(100 * p).toFixed(1)}%`
    value.textContent = prediction === undefined ? '' : `${(100 * p).toFixed(1)} %`
  })
}

const showSeen = (pixels: ReadonlyArray<number> | undefined): void => {
  const image = seenContext.createImageData(SIDE, SIDE)
  for (let i = 0; i < PIXELS; i++) {
    const v = Math.round(255 * (pixels?.[i] ?? 0))
    image.data.set([v, v, v, 255], 4 * i)
  }
  seenContext.putImageData(image, 0, 0)
}

const clear = (): void => {
  padContext.fillStyle = '#000'
  padContext.fillRect(0, 0, pad.width, pad.height)
  showSeen(undefined)
  show(undefined)
}

const classifyDrawing = (): void => {
  pending = false
  if (classifier === undefined) return
  const pixels = preprocess(padContext.getImageData(0, 0, pad.width, pad.height))
  showSeen(pixels)
  if (pixels === undefined) return show(undefined)
  const prediction = classifier.classify(pixels)
  if (E.isRight(prediction)) show(prediction.right)
  else statusView.textContent = prediction.left
}

/** At most one classification per frame, however fast the pointer moves. */
const scheduleClassify = (): void => {
  if (pending) return
  pending = true
  requestAnimationFrame(classifyDrawing)
}

// Drawing: pointer events cover mouse, touch and pen alike.
let last: { readonly x: number; readonly y: number } | undefined
const pointAt = (event: PointerEvent) => {
  const box = pad.getBoundingClientRect()
  return { x: ((event.clientX - box.left) * pad.width) / box.width, y: ((event.clientY - box.top) * pad.height) / box.height }
}
const strokeTo = (to: { readonly x: number; readonly y: number }): void => {
  const from = last ?? to
  padContext.strokeStyle = '#fff'
  padContext.lineWidth = STROKE
  padContext.lineCap = 'round'
  padContext.lineJoin = 'round'
  padContext.beginPath()
  padContext.moveTo(from.x, from.y)
  padContext.lineTo(to.x, to.y)
  padContext.stroke()
  last = to
  scheduleClassify()
}
pad.addEventListener('pointerdown', (event) => {
  event.preventDefault()
  pad.setPointerCapture(event.pointerId)
  last = undefined
  strokeTo(pointAt(event))
})
pad.addEventListener('pointermove', (event) => {
  if (last !== undefined) strokeTo(pointAt(event))
})
const endStroke = (): void => {
  last = undefined
}
pad.addEventListener('pointerup', endStroke)
pad.addEventListener('pointercancel', endStroke)
element('clear', HTMLButtonElement).addEventListener('click', clear)
clear()

const load = async (): Promise<void> => {
  const response = await fetch('checkpoint.safetensors')
  if (!response.ok) throw new Error(`cannot load checkpoint.safetensors: HTTP ${response.status} ${response.statusText}`)
  const loaded = classifierFromCheckpoint(new Uint8Array(await response.arrayBuffer()))
  if (E.isLeft(loaded)) throw new Error(loaded.left)
  classifier = loaded.right
  about.textContent = `Network ${classifier.name}, running on nn-ts's ${Tensor.backendName()} kernels.`
  scheduleClassify()
}

const ready = load().catch((e: unknown) => {
  statusView.textContent = e instanceof Error ? e.message : String(e)
  throw e
})

window.nnTs = {
  ready,
  classify: (pixels) => {
    if (classifier === undefined) throw new Error('the network is not loaded yet: await window.nnTs.ready first')
    const prediction = classifier.classify(pixels)
    if (E.isLeft(prediction)) throw new Error(prediction.left)
    return prediction.right
  }
}
