/**
 * Inverted dropout: in train mode each feature is zeroed with probability `rate` and the survivors are
 * scaled by `1 / (1 − rate)`, so eval mode is the identity. The mask comes from the context's key, so
 * the same key gives the same mask.
 *
 * @since 0.1.0
 */
import * as Random from '../random/Key.ts'
import { kernels as K } from '../tensor/backend.ts'
import { type Empty, type Layer, type Same, gradients } from './Layer.ts'

/**
 * Dropout with probability `rate` in train mode; the identity in eval mode.
 * @category constructors
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(784, 800), Layers.relu(), Layers.dropout(0.5), Layers.dense(800, 10))
 * const drop = Layers.dropout(0.25)
 * const x = Tensor.full([1, 8], 3)
 * const y = drop.apply([], [], x, { mode: 'train', key: Random.key(0) }).y
 * Tensor.toArray(y).every((v) => v === 0 || v === 4) // true: dropped, or kept and scaled by 1/(1 − 0.25)
 * Layers.predict(drop, [], [], x) // [[3, 3, 3, 3, 3, 3, 3, 3]]: eval mode
 */
export const dropout = (rate: number): Layer<Empty, Empty, Same, Same> => {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`)
  const keepScale = 1 / (1 - rate)
  return {
    name: `dropout(${rate})`,
    inWidth: 'same',
    outWidth: 'same',
    node: { op: 'dropout', attrs: { rate } },
    init: () => ({ params: [], state: [] }),
    apply: (_p, state, x, ctx) => {
      if (ctx.mode === 'eval' || rate === 0) return { y: x, state, backward: (dy) => ({ dx: dy, dparams: [] }) }
      // The draws are the mask: each element is kept where its draw is at least `rate`.
      const draws = Random.uniform(ctx.key, x.shape, 0, 1, x.dtype)
      return {
        y: K.dropout(x, draws, rate, keepScale),
        state,
        backward: (dy, options) => gradients(options, () => K.dropout(dy, draws, rate, keepScale), [])
      }
    }
  }
}
