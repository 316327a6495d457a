/**
 * Every failure the core returns as a value, as one union a caller can switch on by `_tag` (the
 * compiler checks the switch is exhaustive). `nn-ts/onnx` adds `OnnxExportError`. Exceptions are left
 * for programming errors (a kernel called with shapes that do not fit, an invalid option).
 *
 * @since 0.2.0
 */
import type { CallbackError, FitFailure, FitOptionsError } from './train/fit.ts'
import type { BatchShapeError, NonFiniteError } from './train/step.ts'
import type { CheckpointError } from './checkpoint/model.ts'
import type { DataError } from './data/errors.ts'
import type { OptState } from './optim/Transform.ts'
import type { SpecError } from './spec/errors.ts'
import type { TensorFileError } from './tensorfile/safetensors.ts'
import type { Tree } from './tree/Tree.ts'

/**
 * @category model
 * @example
 * import type { Failure } from 'nn-ts'
 * const explain = (f: Failure): string => {
 *   switch (f._tag) {
 *     case 'DataError': return `data: ${f.message}`
 *     case 'SpecError': return `spec: ${f.message}`
 *     case 'CheckpointError': return `checkpoint: ${f.message}`
 *     case 'TensorFileError': return `file: ${f.message}`
 *     case 'NonFinite': return `NaN at step ${f.step} in ${f.where}`
 *     case 'BatchShapeError': return `batch: ${f.message}`
 *     case 'FitOptionsError': return `options: ${f.message}`
 *     case 'CallbackError': return `${f.callback}: ${f.message}`
 *     case 'FitFailure': return `training stopped at step ${f.state.step}: ${f.message}`
 *   }
 * }
 * explain({ _tag: 'BatchShapeError', step: 3, message: 'inputs of shape [4, 2], expected [4, 3]' }) // 'batch: inputs of shape [4, 2], expected [4, 3]'
 */
export type Failure =
  | DataError
  | SpecError
  | CheckpointError
  | TensorFileError
  | NonFiniteError
  | BatchShapeError
  | FitOptionsError
  | CallbackError
  | FitFailure<Tree, Tree, OptState>
