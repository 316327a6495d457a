/**
 * A second thread for the WebAssembly products: one worker that instantiates the same kernels module
 * over the same shared memory and computes part of a product while the calling thread computes the
 * rest.
 *
 * The calling thread and the worker meet in a small control block of `Int32Array` slots in the shared
 * memory: the caller writes the worker's `gemm` arguments, bumps the job counter and wakes the worker
 * (`Atomics.notify`), does its own part, then sleeps (`Atomics.wait`) until the worker has stored the
 * same counter in the done slot. So a product stays a synchronous call. The worker is `unref`'d (it
 * never keeps a process alive), starts without the parent's `--import` hooks, and until it has
 * signalled that its instance is ready every product runs on the calling thread alone. A worker that
 * throws reports it in the done slot and the pool stops being used; the caller then computes the
 * worker's part itself.
 *
 * The pool holds no state any caller can observe: it only decides which thread computes which columns
 * of a result that is the same either way (each column panel is computed by exactly one thread with
 * the same instructions).
 *
 * @since 0.2.0
 * @internal
 */
import { Worker } from 'node:worker_threads'
import type { WasmMemory } from './module.ts'

/** Bytes the control block takes at the start of the host's region. @internal */
export const CONTROL_BYTES = 128

// Int32 slots of the control block.
const JOB = 0 // jobs posted
const DONE = 1 // jobs finished (or -jobs when the worker failed)
const READY = 2 // 1 once the worker's instance exists
const ARGS = 4 // the 14 arguments of `gemm`

/** What the worker runs: plain CommonJS, evaluated in the worker. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads')
const { bytes, memory, control } = workerData
const I = new Int32Array(memory.buffer, control, ${CONTROL_BYTES / 4})
const X = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports
Atomics.store(I, ${READY}, 1)
let seen = Atomics.load(I, ${JOB})
for (;;) {
  Atomics.wait(I, ${JOB}, seen)
  const job = Atomics.load(I, ${JOB})
  if (job === seen) continue
  seen = job
  let status = job
  try {
    const a = ${ARGS}
    X.gemm(I[a], I[a + 1], I[a + 2], I[a + 3], I[a + 4], I[a + 5], I[a + 6], I[a + 7], I[a + 8], I[a + 9], I[a + 10], I[a + 11], I[a + 12], I[a + 13])
  } catch (e) {
    status = -job
  }
  Atomics.store(I, ${DONE}, status)
  Atomics.notify(I, ${DONE})
}
`

/** The 14 arguments of the kernels module's `gemm`. @internal */
export type GemmArgs = readonly [number, number, number, number, number, number, number, number, number, number, number, number, number, number]

/** One helper thread. @internal */
export interface Pool {
  /**
   * Runs `gemm(...args)` on the worker while `own()` runs on the calling thread, and returns once
   * both are done. Runs both on the calling thread when the worker is not (or no longer) usable.
   */
  readonly gemm2: (args: GemmArgs, own: () => void, onCaller: (args: GemmArgs) => void) => void
  /** Whether the worker is up (products run on one thread until it is). */
  readonly ready: () => boolean
}

/**
 * Starts the worker over `memory` (which must be shared) with the kernels module `bytes`, using the
 * `CONTROL_BYTES` at `control` to talk to it; `undefined` when worker threads are unavailable.
 * @internal
 */
export const startPool = (bytes: Uint8Array, memory: WasmMemory, control: number): Pool | undefined => {
  let worker: Worker
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { bytes, memory, control }, stdout: false, stderr: false })
  } catch {
    return undefined
  }
  worker.unref()
  // An error event needs a listener, or it would be rethrown on the main thread; the control block
  // already tells the caller everything it needs.
  worker.on('error', () => undefined)
  const I = new Int32Array(memory.buffer, control, CONTROL_BYTES / 4)
  let jobs = 0
  let failed = false
  const ready = (): boolean => !failed && Atomics.load(I, READY) === 1
  return {
    ready,
    gemm2: (args, own, onCaller) => {
      if (!ready()) {
        own()
        onCaller(args)
        return
      }
      for (let i = 0; i < args.length; i++) I[ARGS + i] = args[i] as number
      jobs++
      Atomics.store(I, JOB, jobs)
      Atomics.notify(I, JOB)
      own()
      for (;;) {
        const done = Atomics.load(I, DONE)
        if (done === jobs) return
        if (done === -jobs) {
          failed = true
          onCaller(args)
          return
        }
        Atomics.wait(I, DONE, done)
      }
    }
  }
}
