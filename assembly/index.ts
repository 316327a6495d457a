/**
 * nn-ts WebAssembly kernels: the module the `wasm` backend (src/tensor/wasm/) instantiates.
 *
 * Built with `--runtime stub` and no managed objects: the host lays out every buffer in linear
 * memory past `heapBase()`, so the module owns no allocator state and several instances (one per
 * thread) can share one memory.
 */
export { gemm, gemmScratchBytes, transpose } from './gemm'
export {
  addRowVector, mulRowVector, scaleRows, columnSums, rowSums, sum, dot,
  softmaxRows, softmaxRowsBackward, logSumExpRows
} from './rows'

/** First byte the host may use, 64-byte aligned (past the static data of the math library). */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63)
}
export { scale, axpby, axpbySquare, adaptiveDirection, add, sub, mul, relu, reluBackward, dropout } from './elementwise'
export { sgdStep, momentumStep, emaMomentumStep, adamStep, rmsPropStep } from './optimizers'
