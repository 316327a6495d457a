/**
 * A progress reporter for `Train.fit` on a Node stream: a bar redrawn in place on a terminal, one line
 * per epoch otherwise (a log file or a pipe gets no control characters).
 *
 * @since 0.2.0
 */
import type { Progress } from '../train/fit.ts'

/**
 * The part of a Node writable stream the bar uses.
 * @category model
 * @example
 * import { type ProgressStream, progressBar } from 'nn-ts/node'
 * const log: string[] = []
 * const file: ProgressStream = { write: (text) => log.push(text), isTTY: false } // a log file: no redrawing
 * progressBar(file).epochEnd('epoch 1/1  train loss 0.1')
 * log // ['epoch 1/1  train loss 0.1\n']
 */
export interface ProgressStream {
  readonly write: (text: string) => unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

/** Redraws at most this often (ms): a terminal cannot show more, and writing costs time. */
const REDRAW_MS = 100

/**
 * A `Train.Progress` that draws on `stream` (default `process.stderr`).
 * @category constructors
 * @example
 * import { progressBar } from 'nn-ts/node'
 * const lines: string[] = []
 * const progress = progressBar({ write: (text) => lines.push(text) })
 * progress.epochStart(1, 2, 10, 0)
 * progress.epochEnd('epoch 1/2  train loss 0.5')
 * lines // ['epoch 1/2  train loss 0.5\n'] (not a terminal: one line per epoch)
 */
export const progressBar = (stream: ProgressStream = process.stderr): Progress => {
  const tty = stream.isTTY === true
  // The current epoch's drawing state; reset by every epochStart.
  let title = ''
  let total = 0
  let done = 0
  let lastDraw = 0
  let lastLoss = Number.NaN
  const draw = (): void => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - title.length - 32))
    const filled = total === 0 ? width : Math.round((width * done) / total)
    const loss = Number.isNaN(lastLoss) ? '-' : lastLoss.toFixed(4)
    stream.write(`\r${title} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} loss ${loss}\x1b[K`)
  }
  return {
    epochStart: (epoch, epochs, steps, from) => {
      title = `epoch ${epoch}/${epochs}`
      total = steps
      done = from
      lastDraw = 0
      lastLoss = Number.NaN
      if (tty) draw()
    },
    step: (loss) => {
      done += 1
      lastLoss = loss
      const now = Date.now()
      if (tty && (now - lastDraw >= REDRAW_MS || done === total)) {
        lastDraw = now
        draw()
      }
    },
    epochEnd: (line) => {
      stream.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`)
    }
  }
}
