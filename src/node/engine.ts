/**
 * Opting in to engine features the core never switches on by itself.
 *
 * @since 0.2.0
 */
import { setFlagsFromString } from 'node:v8'
import * as E from 'fp-ts/lib/Either.js'
import { kernels } from '../tensor/backend.ts'
import { wasm } from '../tensor/wasm/backend.ts'

/**
 * Lets V8 compile relaxed SIMD (Node 20 keeps it behind `--experimental-wasm-relaxed-simd`; Node ≥ 22
 * accepts it anyway) and switches the default kernels' products to fused multiply-adds: `Right` with
 * the new `Tensor.backendName()` (`'wasm-simd-fma'`, `-2t` with the second thread), or `Left` saying
 * why not — the default kernels are not the WebAssembly ones, the CPU or engine does not fuse, or a
 * product has already run (a run never mixes the two variants, so call this first, before training).
 *
 * The FMA variant rounds once per multiply-add instead of twice, so its results differ slightly from
 * plain SIMD's; each variant gives the same results every time, on one thread or two. Whether it is
 * faster depends on the CPU: on one measured with separate multiply and add pipes (AMD EPYC) it gained
 * nothing; on one whose adds and multiplies share the FMA units (Intel Ice Lake) the products gained.
 * @category constructors
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { useRelaxedSimd } from 'nn-ts/node'
 * const variant = useRelaxedSimd() // before any training
 * const name = E.isRight(variant) ? variant.right : 'plain SIMD' // e.g. 'wasm-simd-fma-2t'
 */
export const useRelaxedSimd = (): E.Either<string, string> => {
  if (E.isLeft(wasm)) return E.left(`the WebAssembly kernels are unavailable: ${wasm.left}`)
  if (kernels !== wasm.right) return E.left(`the default kernels are ${kernels.name}, not the WebAssembly ones`)
  setFlagsFromString('--experimental-wasm-relaxed-simd')
  return wasm.right.useFma()
}
