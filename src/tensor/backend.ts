/**
 * The kernels every layer, loss and optimizer uses by default.
 *
 * Chosen once when the module loads and never reassigned, so there is no hidden mutable state.
 *
 * @since 0.1.0
 */
import { type Kernels, reference } from './kernels.ts'

/** The default backend. @category instances */
export const kernels: Kernels = reference
