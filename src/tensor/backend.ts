/**
 * The kernels every layer, loss and optimizer uses by default.
 *
 * Chosen once when the module loads and never reassigned, so there is no hidden mutable state: the
 * WebAssembly SIMD backend when its module (`build/nn-kernels.wasm`, built by `npm install`) loads,
 * else the reference TypeScript kernels with one warning on stderr. The environment variable
 * `NN_TS_BACKEND=reference` forces the reference kernels (`NN_TS_BACKEND=wasm` makes a missing module
 * an error instead of a warning).
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { type Kernels, reference } from './kernels.ts'
import { wasm } from './wasm/backend.ts'

/** `NN_TS_BACKEND` as it was when this module loaded. */
const requested: string | undefined = process.env['NN_TS_BACKEND']

const choose = (): Kernels => {
  if (requested === 'reference') return reference
  if (E.isRight(wasm)) return wasm.right
  if (requested === 'wasm') throw new Error(`nn-ts: NN_TS_BACKEND=wasm but the WebAssembly kernels are unavailable: ${wasm.left}`)
  process.stderr.write(`nn-ts: WebAssembly kernels unavailable (${wasm.left}); using the slower reference TypeScript kernels.\n`)
  return reference
}

if (requested !== undefined && requested !== '' && requested !== 'reference' && requested !== 'wasm') {
  process.stderr.write(`nn-ts: ignoring NN_TS_BACKEND=${requested} (expected "reference" or "wasm").\n`)
}

/** The default backend. @category instances */
export const kernels: Kernels = choose()
