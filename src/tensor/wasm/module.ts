/**
 * Loading the kernels' WebAssembly module. `npm run build:wasm` compiles `assembly/` and embeds the
 * module's bytes (base64) in `embedded.generated.ts`, so the kernels travel inside the JavaScript and
 * load with no configuration in Node, in browsers and through bundlers.
 *
 * The project's TypeScript settings carry no DOM or WebAssembly typings, so the few pieces of the
 * WebAssembly JS API used here are typed locally, and the module's exports are checked by name when
 * it loads: a stale or foreign `.wasm` file is reported, not called.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { fromBase64 } from '../../io/base64.ts'
import { fmaGemmModule, plainModule } from './embedded.generated.ts'
import { withSharedMemory } from './sharedMemory.ts'

/** A WebAssembly linear memory, as much of it as the backend uses. @internal */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer
  grow(deltaPages: number): number
}

interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>
}

/** The WebAssembly JS API, typed locally (see the module comment). @internal */
export interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => WasmInstance
  readonly Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory
  readonly validate?: (bytes: Uint8Array) => boolean
}

/** `globalThis.WebAssembly`, or `undefined` on a runtime without it. @internal */
export const webAssembly: WasmApi | undefined = (globalThis as { WebAssembly?: WasmApi }).WebAssembly

/** Pointers are byte offsets into linear memory; sizes and strides count float32 elements. */
type Ptr = number

/**
 * The functions `assembly/index.ts` exports. Each reads its inputs from and writes its result to
 * memory the caller laid out; none allocates. The fused optimizer steps return 1 when the gradient and
 * every result are finite, else 0.
 * @internal
 */
export interface KernelExports {
  readonly heapBase: () => Ptr
  readonly gemmScratchBytes: (k: number) => number
  readonly gemm: (
    a: Ptr, ars: number, aps: number,
    b: Ptr, brs: number, bcs: number,
    c: Ptr, m: number, k: number, n: number,
    bias: Ptr, scratch: Ptr, q0: number, q1: number
  ) => void
  readonly transpose: (src: Ptr, rows: number, cols: number, dst: Ptr) => void
  readonly addRowVector: (a: Ptr, v: Ptr, out: Ptr, m: number, n: number) => void
  readonly mulRowVector: (a: Ptr, v: Ptr, out: Ptr, m: number, n: number) => void
  readonly scaleRows: (a: Ptr, v: Ptr, out: Ptr, m: number, n: number) => void
  readonly columnSums: (a: Ptr, out: Ptr, m: number, n: number, acc: Ptr) => void
  readonly rowSums: (a: Ptr, out: Ptr, m: number, n: number) => void
  readonly sum: (a: Ptr, len: number) => number
  readonly dot: (a: Ptr, b: Ptr, len: number) => number
  readonly softmaxRows: (a: Ptr, out: Ptr, m: number, n: number) => void
  readonly softmaxRowsBackward: (y: Ptr, dy: Ptr, out: Ptr, m: number, n: number) => void
  readonly logSumExpRows: (a: Ptr, out: Ptr, m: number, n: number, tmp: Ptr) => void
  readonly scale: (a: Ptr, c: number, out: Ptr, len: number) => void
  readonly axpby: (alpha: number, x: Ptr, beta: number, y: Ptr, out: Ptr, len: number) => void
  readonly axpbySquare: (alpha: number, v: Ptr, beta: number, g: Ptr, out: Ptr, len: number) => void
  readonly adaptiveDirection: (m: Ptr, v: Ptr, c1: number, c2: number, epsRoot: number, eps: number, out: Ptr, len: number) => void
  readonly add: (a: Ptr, b: Ptr, out: Ptr, len: number) => void
  readonly sub: (a: Ptr, b: Ptr, out: Ptr, len: number) => void
  readonly dropout: (x: Ptr, u: Ptr, rate: number, keep: number, out: Ptr, len: number) => void
  readonly mul: (a: Ptr, b: Ptr, out: Ptr, len: number) => void
  readonly relu: (a: Ptr, out: Ptr, len: number) => void
  readonly reluBackward: (dy: Ptr, x: Ptr, out: Ptr, len: number) => void
  readonly sgdStep: (p: Ptr, g: Ptr, negEta: number, out: Ptr, len: number) => number
  readonly momentumStep: (p: Ptr, g: Ptr, v: Ptr, negEta: number, decay: number, nesterov: number, outP: Ptr, outV: Ptr, len: number) => number
  readonly emaMomentumStep: (p: Ptr, g: Ptr, v: Ptr, decay: number, keep: number, negEta: number, outP: Ptr, outV: Ptr, len: number) => number
  readonly adamStep: (
    p: Ptr, g: Ptr, m: Ptr, v: Ptr,
    b1: number, k1: number, b2: number, k2: number, c1: number, c2: number, epsRoot: number, eps: number,
    weightDecay: number, decayed: number, negEta: number,
    outP: Ptr, outM: Ptr, outV: Ptr, len: number
  ) => number
  readonly rmsPropStep: (p: Ptr, g: Ptr, v: Ptr, decay: number, keep: number, eps: number, negEta: number, outP: Ptr, outV: Ptr, len: number) => number
}

const EXPORTS: ReadonlyArray<keyof KernelExports> = [
  'heapBase',
  'gemmScratchBytes',
  'gemm',
  'transpose',
  'addRowVector',
  'mulRowVector',
  'scaleRows',
  'columnSums',
  'rowSums',
  'sum',
  'dot',
  'softmaxRows',
  'softmaxRowsBackward',
  'logSumExpRows',
  'scale',
  'axpby',
  'axpbySquare',
  'adaptiveDirection',
  'add',
  'sub',
  'dropout',
  'mul',
  'relu',
  'reluBackward',
  'sgdStep',
  'momentumStep',
  'emaMomentumStep',
  'adamStep',
  'rmsPropStep'
]

/** WebAssembly pages are 64 KiB. @internal */
export const PAGE = 65536

/**
 * The most linear memory the backend will grow to (pages). A product needing more scratch than this
 * goes to the reference kernels instead: memory never shrinks, and a one-off giant product should not
 * pin gigabytes for the life of the process.
 * @internal
 */
export const MAX_PAGES = 16384 // 1 GiB

/** Which build of the kernels: over a plain memory, or over a shared one (two threads). @internal */
export type ModuleKind = 'plain' | 'shared'

/** The compiled module's bytes (a fresh copy per call). @internal */
export const moduleBytes = (kind: ModuleKind): Uint8Array => {
  const plain = fromBase64(plainModule) ?? new Uint8Array(0)
  return kind === 'plain' ? plain : (withSharedMemory(plain, MAX_PAGES) ?? plain)
}

/**
 * The smallest module using relaxed SIMD: one function computing `f32x4.relaxed_madd` of three
 * `v128.const` zeros and dropping it. It validates exactly where the engine accepts relaxed SIMD.
 */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // types: () → ()
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, 0x3e, 0x01, 0x3c, 0x00, // code: one body of 60 bytes, no locals
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array<number>(16).fill(0)]), // v128.const 0, three times
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd (0xfd 0x105)
  0x1a, 0x0b // drop, end
])

/** Whether the engine accepts relaxed SIMD (Node ≥ 22, Chrome ≥ 114; Node 20 behind a flag). @internal */
export const relaxedSimd = (api: WasmApi): boolean => {
  try {
    return api.validate?.(RELAXED_SIMD_PROBE) === true
  } catch {
    return false
  }
}

/** The products' export of the FMA module (the signature of `KernelExports['gemm']`). @internal */
export interface GemmExports {
  readonly gemm: KernelExports['gemm']
}

/** The FMA products module's bytes, over a plain or a shared memory (a fresh copy per call). @internal */
export const fmaGemmBytes = (kind: ModuleKind): Uint8Array => {
  const plain = fromBase64(fmaGemmModule) ?? new Uint8Array(0)
  return kind === 'plain' ? plain : (withSharedMemory(plain, MAX_PAGES) ?? plain)
}

/** Instantiates the FMA products module over `memory`. @internal */
export const instantiateGemm = (api: WasmApi, bytes: Uint8Array, memory: WasmMemory): E.Either<string, GemmExports> =>
  E.flatMap(
    E.tryCatch(
      () => new api.Instance(new api.Module(bytes), { env: { memory } }).exports,
      (e) => `cannot instantiate the FMA products module: ${e instanceof Error ? e.message : String(e)}`
    ),
    (exports) => (typeof exports['gemm'] === 'function' ? E.right(exports as unknown as GemmExports) : E.left('the FMA products module lacks gemm (stale build? run `npm run build:wasm`)'))
  )

/**
 * Compiles and instantiates the module over `memory` (synchronously: the Kernels API is synchronous,
 * and the module is a few kilobytes) and checks it exports every kernel.
 * @internal
 */
export const instantiate = (api: WasmApi, bytes: Uint8Array, memory: WasmMemory): E.Either<string, KernelExports> =>
  E.flatMap(
    E.tryCatch(
      () => new api.Instance(new api.Module(bytes), { env: { memory } }).exports,
      (e) => `cannot instantiate the kernels module: ${e instanceof Error ? e.message : String(e)}`
    ),
    (exports) => {
      const missing = EXPORTS.filter((name) => typeof exports[name] !== 'function')
      return missing.length === 0
        ? E.right(exports as unknown as KernelExports)
        : E.left(`the kernels module lacks ${missing.join(', ')} (stale build? run \`npm run build:wasm\`)`)
    }
  )
