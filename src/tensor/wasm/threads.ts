/**
 * A second thread for the WebAssembly products: one worker that instantiates the same kernels module
 * over the same shared memory and computes part of a product while the calling thread computes the
 * rest.
 *
 * The calling thread and the worker meet in a small control block of `Int32Array` slots in the shared
 * memory. For each product the caller writes the `gemm` arguments, opens a job (`STATE = job`) and
 * wakes the worker (`Atomics.notify`). Both threads then claim chunks of column panels from a shared
 * counter (`Atomics.add`) until none are left, so the work divides itself by how much CPU each thread
 * actually gets: on a busy machine where the worker is not scheduled, the caller simply computes every
 * panel. When the caller runs out of panels it tries to close the job (`STATE: job → 0`); if the
 * worker never joined (it joins with `STATE: job → −job`), the caller returns at once, otherwise it
 * sleeps (`Atomics.wait`) until the worker reports the job done. So a product stays a synchronous
 * call. The worker is `unref`'d (it never keeps a process alive), starts without the parent's
 * `--import` hooks, and until it has signalled that its instance is ready every product runs on the
 * calling thread alone. A worker that throws reports it, the pool stops being used, and the caller
 * recomputes the product itself.
 *
 * The pool holds no state any caller can observe: it only decides which thread computes which column
 * panels of a result that is the same either way (each panel is computed by exactly one thread with the
 * same instructions: a job names the products module the caller runs, the kernels module's or the
 * FMA one, and the worker runs the same).
 *
 * @since 0.2.0
 * @internal
 */
import type { WasmMemory } from './module.ts'

/** Bytes the control block takes at the start of the host's region. @internal */
export const CONTROL_BYTES = 128

// Int32 slots of the control block.
const STATE = 0 // job > 0: open; −job: the worker joined it; 0: closed by the caller
const DONE = 1 // job when the worker has finished it (−job when it failed)
const READY = 2 // 1 once the worker's instance exists
const NEXT = 3 // next unclaimed column panel of the open job
const ARGS = 4 // the first 12 arguments of `gemm`, then the panel count and the chunk size
const VARIANT = 18 // 1: the job runs the FMA products module's gemm; 0: the kernels module's
const FMA_AT = 19 // where in the shared memory the FMA products module's bytes are, and their length
const FMA_LENGTH = 20

/**
 * What the worker runs: the source of a plain JavaScript function of the kernels module's bytes, the
 * shared memory and the control block's offset, which never returns.
 */
const WORKER_LOOP = `(bytes, memory, control) => {
const I = new Int32Array(memory.buffer, control, ${CONTROL_BYTES / 4})
const X = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports
let F
const fma = () => {
  if (F === undefined) {
    const code = new Uint8Array(memory.buffer, I[${FMA_AT}], I[${FMA_LENGTH}]).slice()
    F = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { memory } }).exports
  }
  return F
}
Atomics.store(I, ${READY}, 1)
for (;;) {
  const s = Atomics.load(I, ${STATE})
  if (s <= 0) {
    Atomics.wait(I, ${STATE}, s)
    continue
  }
  if (Atomics.compareExchange(I, ${STATE}, s, -s) !== s) continue
  let status = s
  try {
    const a = ${ARGS}
    const panels = I[a + 12], chunk = I[a + 13]
    const G = I[${VARIANT}] === 1 ? fma() : X
    for (let q = Atomics.add(I, ${NEXT}, chunk); q < panels; q = Atomics.add(I, ${NEXT}, chunk)) {
      G.gemm(I[a], I[a + 1], I[a + 2], I[a + 3], I[a + 4], I[a + 5], I[a + 6], I[a + 7], I[a + 8], I[a + 9], I[a + 10], I[a + 11], q, Math.min(q + chunk, panels))
    }
  } catch (e) {
    status = -s
  }
  Atomics.store(I, ${DONE}, status)
  Atomics.notify(I, ${DONE})
}
}`

/** The first 12 arguments of the kernels module's `gemm` (all but the panel range). @internal */
export type GemmArgs = readonly [number, number, number, number, number, number, number, number, number, number, number, number]

/** One helper thread. @internal */
export interface Pool {
  /**
   * Computes column panels `0 .. panels-1` of the product `args` describes, claimed in chunks by the
   * calling thread (through `run(q0, q1)`, with `args` and its own scratch) and the worker (with the
   * scratch in `args`), and returns once every panel is written. The calling thread computes all of
   * them when the worker is not (or no longer) usable or simply does not get to run.
   */
  readonly gemm: (args: GemmArgs, panels: number, run: (q0: number, q1: number) => void, fma: boolean) => void
  /** Whether the worker is up (products run on one thread until it is). */
  readonly ready: () => boolean
  /**
   * Tells the worker where the FMA products module's bytes are in the shared memory (`at`, `length`
   * bytes, kept there by the caller), for jobs run with `fma`: it compiles them on its first such job.
   */
  readonly useFma: (at: number, length: number) => void
}

/** What a worker is started with. @internal */
export interface WorkerData {
  readonly bytes: Uint8Array
  readonly memory: WasmMemory
  readonly control: number
}

/**
 * Starts a background thread that calls the function whose source is `loop` with `data`'s `bytes`,
 * `memory` and `control`; false when it cannot. The thread must never keep its process alive, and its
 * errors must not reach the caller (the control block reports everything the pool needs).
 * @internal
 */
export type SpawnWorker = (loop: string, data: WorkerData) => boolean

/**
 * Starts the worker over `memory` (which must be shared) with the kernels module `bytes`, using the
 * `CONTROL_BYTES` at `control` to talk to it; `undefined` when `spawn` cannot start a thread.
 * @internal
 */
export const startPool = (spawn: SpawnWorker, bytes: Uint8Array, memory: WasmMemory, control: number): Pool | undefined => {
  if (!spawn(WORKER_LOOP, { bytes, memory, control })) return undefined
  const I = new Int32Array(memory.buffer, control, CONTROL_BYTES / 4)
  let jobs = 0
  let failed = false
  const ready = (): boolean => !failed && Atomics.load(I, READY) === 1
  return {
    ready,
    useFma: (at, length) => {
      Atomics.store(I, FMA_AT, at)
      Atomics.store(I, FMA_LENGTH, length)
    },
    gemm: (args, panels, run, fma) => {
      if (!ready()) {
        run(0, panels)
        return
      }
      // Chunks small enough to balance, large enough that claiming costs nothing.
      const chunk = Math.max(1, Math.ceil(panels / 16))
      for (let i = 0; i < args.length; i++) I[ARGS + i] = args[i] as number
      I[ARGS + 12] = panels
      I[ARGS + 13] = chunk
      I[VARIANT] = fma ? 1 : 0
      Atomics.store(I, NEXT, 0)
      const job = ++jobs
      Atomics.store(I, STATE, job)
      Atomics.notify(I, STATE)
      for (let q = Atomics.add(I, NEXT, chunk); q < panels; q = Atomics.add(I, NEXT, chunk)) run(q, Math.min(q + chunk, panels))
      // The worker never joined: nothing to wait for.
      if (Atomics.compareExchange(I, STATE, job, 0) === job) return
      for (;;) {
        const done = Atomics.load(I, DONE)
        if (done === job) return
        if (done === -job) {
          failed = true
          run(0, panels)
          return
        }
        Atomics.wait(I, DONE, done)
      }
    }
  }
}
