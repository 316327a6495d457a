/**
 * Weight decay as an update: `u + wd·p`. Before the learning rate in a chain it decays the weights
 * by `η·wd·p` per step; after Adam's scaling (not folded into the gradient) it is AdamW's decoupled
 * decay (Loshchilov & Hutter).
 *
 * @since 0.1.0
 */
import { kernels as K } from '../tensor/backend.ts'
import { type Mask, selects } from './masked.ts'
import { type EmptyState, type GradientTransformation, stateless } from './Transform.ts'
import { assertFinite } from './internal.ts'

/**
 * Adds `weightDecay · param` to each update; with a `mask`, only to the selected leaves (biases and
 * BatchNorm scales are often left undecayed).
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * // SGD with L2-style decay of the weight matrices only.
 * const opt = Optim.chain(Optim.addDecayedWeights(1e-4, (_p, leaf) => leaf.shape.length === 2), Optim.sgd(0.1))
 * const params = { W: Tensor.fromRows([[1]], 'float64'), b: Tensor.vector([1], 'float64') }
 * const zero = { W: Tensor.fromRows([[0]], 'float64'), b: Tensor.vector([0], 'float64') }
 * Optim.updateAndApply(opt)(zero, params)(opt.init(params))[0] // { W: [[≈ 0.99999]], b: [1] }
 */
export const addDecayedWeights = (weightDecay: number, mask?: Mask): GradientTransformation<EmptyState> => {
  assertFinite('addDecayedWeights', 'weightDecay', weightDecay)
  const keep = mask === undefined ? () => true : selects(mask)
  return stateless((u, p, path) => (keep(path, p) ? K.axpby(1, u, weightDecay, p) : u))
}
