/**
 * A second thread for the WebAssembly products, started with Node's `worker_threads`.
 *
 * @since 0.2.0
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import * as E from 'fp-ts/lib/Either.js'
import { kernels } from '../tensor/backend.ts'
import { wasm } from '../tensor/wasm/backend.ts'
import type { SpawnWorker } from '../tensor/wasm/threads.ts'

/**
 * Starts the kernels' worker loop in a Node worker thread: `unref`'d (it never keeps a process alive),
 * without the parent's `--import` hooks, its errors swallowed (the control block reports them).
 * @category constructors
 * @example
 * import { spawnNodeWorker } from 'nn-ts/node'
 * typeof spawnNodeWorker // 'function'
 */
export const spawnNodeWorker: SpawnWorker = (loop, data) => {
  try {
    const worker = new Worker(`const { workerData: d } = require('node:worker_threads');\n(${loop})(d.bytes, d.memory, d.control)`, {
      eval: true,
      execArgv: [],
      workerData: data,
      stdout: false,
      stderr: false
    })
    worker.unref()
    // An error event needs a listener, or it would be rethrown on the main thread.
    worker.on('error', () => undefined)
    return true
  } catch {
    return false
  }
}

/**
 * Threads the default kernels use in Node: `NN_TS_THREADS` (1 keeps them on the calling thread), else
 * two when the machine has at least two cores.
 */
const requestedThreads = (): number => {
  const requested = Number(process.env['NN_TS_THREADS'])
  if (Number.isInteger(requested) && requested >= 1) return Math.min(requested, 2)
  return Math.min(2, availableParallelism())
}

/**
 * Gives the default WebAssembly kernels their second thread (what importing `nn-ts/node` does), unless
 * `NN_TS_THREADS=1` or the machine has one core. Returns whether a second thread was started; results
 * are the same either way, bit for bit.
 * @category constructors
 * @example
 * import { availableParallelism } from 'node:os'
 * import { useThreads } from 'nn-ts/node' // importing it has called useThreads() already
 * const env = process.env
 * useThreads() // => availableParallelism() >= 2 && env['NN_TS_THREADS'] !== '1' && env['NN_TS_BACKEND'] !== 'reference'
 */
export const useThreads = (): boolean =>
  requestedThreads() >= 2 && E.isRight(wasm) && kernels === wasm.right && wasm.right.startThreads(spawnNodeWorker)
