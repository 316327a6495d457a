/**
 * The kernels every layer, loss and optimizer uses by default.
 *
 * Chosen once when the module loads and never reassigned: the WebAssembly SIMD backend (its module is
 * embedded in the package) when the runtime has WebAssembly SIMD, else the reference TypeScript
 * kernels with one warning. In Node, the environment variable `NN_TS_BACKEND=reference` forces the
 * reference kernels (`NN_TS_BACKEND=wasm` makes unavailable WebAssembly an error instead of a
 * warning); in a browser nothing is read. A second thread for large products is started by
 * `nn-ts/node` (Node's worker threads); elsewhere the kernels run on the calling thread.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { type Kernels, reference } from './kernels.ts'
import { wasm } from './wasm/backend.ts'

/** An environment variable where the runtime has `process.env` (Node), without touching it elsewhere. */
const environment = (name: string): string | undefined =>
  (globalThis as { process?: { env?: Readonly<Record<string, string | undefined>> } }).process?.env?.[name]

const choose = (): Kernels => {
  const requested = environment('NN_TS_BACKEND')
  if (requested !== undefined && requested !== '' && requested !== 'reference' && requested !== 'wasm') {
    console.warn(`nn-ts: ignoring NN_TS_BACKEND=${requested} (expected "reference" or "wasm").`)
  }
  if (requested === 'reference') return reference
  if (E.isRight(wasm)) return wasm.right
  if (requested === 'wasm') throw new Error(`nn-ts: NN_TS_BACKEND=wasm but the WebAssembly kernels are unavailable: ${wasm.left}`)
  console.warn(`nn-ts: WebAssembly kernels unavailable (${wasm.left}); using the slower reference TypeScript kernels.`)
  return reference
}

/**
 * The default backend.
 * @category instances
 * @example
 * import { Tensor, kernels } from 'nn-ts'
 * const x = Tensor.fromRows([[1, 2]])
 * const W = Tensor.fromRows([[1, 0], [0, 1]])
 * kernels.affine(x, W, Tensor.vector([0.5, -0.5])) // [[1.5, 1.5]]: x W + b
 * kernels.softmaxRows(Tensor.fromRows([[0, 0]])) // [[0.5, 0.5]]
 * kernels.name // => Tensor.backendName()
 */
export const kernels: Kernels = choose()

/**
 * Which kernels run: `'wasm-simd'` (WebAssembly SIMD, one thread), `'wasm-simd-2t'` (with a second
 * thread for large products), `'wasm-simd-fma'` / `'wasm-simd-fma-2t'` (products with relaxed-SIMD
 * fused multiply-adds, where the runtime accepts them: Node ≥ 22, Chrome ≥ 114, or Node 20 after
 * `useRelaxedSimd()` from `nn-ts/node`) or `'reference'` (the TypeScript kernels).
 * @category destructors
 * @example
 * import { Tensor } from 'nn-ts'
 * // One thread here (nn-ts/node, which starts the second, is not imported):
 * Tensor.backendName() // => process.env['NN_TS_BACKEND'] === 'reference' ? 'reference' : 'wasm-simd'
 */
export const backendName = (): string => kernels.name
