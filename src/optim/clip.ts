/**
 * Gradient clipping by the global norm: one norm over every leaf of the tree, so clipping keeps the
 * direction of the whole update and only shortens it.
 *
 * @since 0.1.0
 */
import { kernels as K } from '../tensor/backend.ts'
import * as Tree from '../tree/Tree.ts'
import type { EmptyState, GradientTransformation } from './Transform.ts'
import { assertFinite } from './internal.ts'

/**
 * `√(Σ over all leaves of Σ x²)`, accumulated in float64.
 * @category utils
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * Optim.globalNorm({ a: Tensor.vector([3]), b: Tensor.vector([4]) }) // 5
 */
export const globalNorm = (tree: Tree.Tree): number => Math.sqrt(Tree.reduce(tree, 0, (acc, t) => acc + K.dot(t, t)))

/**
 * Scales the updates by `maxNorm / ‖u‖` when their global norm `‖u‖` exceeds `maxNorm`, and passes
 * them through untouched (no copy) otherwise.
 * @category constructors
 * @example
 * import { Optim, Tensor } from 'nn-ts'
 * const opt = Optim.chain(Optim.clipByGlobalNorm(1), Optim.sgd(0.1))
 * const p = { w: Tensor.vector([0, 0], 'float64') }
 * opt.update({ w: Tensor.vector([3, 4], 'float64') }, p)(opt.init(p))[0] // { w: [≈ -0.06, ≈ -0.08] }: [3, 4] scaled to norm 1, times −0.1
 */
export const clipByGlobalNorm = (maxNorm: number): GradientTransformation<EmptyState> => {
  assertFinite('clipByGlobalNorm', 'maxNorm', maxNorm)
  if (!(maxNorm > 0)) throw new RangeError(`clipByGlobalNorm: maxNorm must be positive, got ${maxNorm}`)
  return {
    init: () => [],
    update: (grads) => (s) => {
      const norm = globalNorm(grads)
      if (!(norm > maxNorm)) return [grads, s]
      const c = maxNorm / norm
      return [Tree.map(grads, (u) => K.scale(u, c)), s]
    }
  }
}
