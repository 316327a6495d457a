/**
 * Immutable row-major tensors, and which kernels compute with them. The public namespace `Tensor`:
 * `alloc` (a mutable typed array for kernels) stays internal.
 *
 * @example
 * import { Tensor } from 'nn-ts'
 * const t = Tensor.fromRows([[1, 2], [3, 4]])
 * Tensor.toRows(t) // [[1, 2], [3, 4]]
 * @since 0.1.0
 */
export {
  type DType,
  type Data,
  type Tensor,
  ShapeError,
  sizeOf,
  fromData,
  fromArray,
  fromRows,
  vector,
  full,
  zeros,
  scalar,
  toArray,
  toRows,
  item,
  matrixDims,
  sameShape,
  reshape,
  cast,
  sliceRows,
  gatherRows,
  withElement,
  equals,
  isFinite,
  showShape,
  fromArrayWith,
  oneHotRows
} from './Tensor.ts'
export { backendName } from './backend.ts'
