/**
 * Composition laws as pure predicates: identity and associativity, forward and backward.
 *
 * Composites nest params differently (`[[pf, pg], ph]` against `[pf, [pg, ph]]`), so behaviour is
 * compared on outputs, input gradients and the *flattened* parameter gradients, bit for bit.
 *
 * @since 0.1.0
 */
import type { AnyLayer, Context } from '../layers/Layer.ts'
import { type Tensor, equals } from '../tensor/Tensor.ts'
import * as Tree from '../tree/Tree.ts'

/**
 * What a layer does on one input: output, input gradient, flattened parameter gradients.
 * @category model
 * @example
 * import { Laws, Layers, Random, Tensor } from 'nn-ts'
 * const f = Layers.dense(2, 3)
 * const { params, state } = f.init(Random.key(0))
 * const x = Tensor.fromRows([[1, 2]])
 * const b: Laws.Behaviour = Laws.behaviour(f, params, state, x, Tensor.fromRows([[1, 0, 0]]), { mode: 'train', key: Random.key(1) })
 * b.y.shape // [1, 3]
 * b.dparams.map((g) => g.shape) // [[2, 3], [3]]: W and b, flattened
 */
export interface Behaviour {
  readonly y: Tensor
  readonly dx: Tensor
  readonly dparams: ReadonlyArray<Tensor>
}

/**
 * Runs `layer` forward on `x` and backward on `dy`.
 * @category laws
 * @example
 * import { Laws, Layers, Random, Tensor } from 'nn-ts'
 * const x = Tensor.fromRows([[-1, 2]])
 * const b = Laws.behaviour(Layers.relu(), [], [], x, Tensor.fromRows([[5, 5]]), { mode: 'eval', key: Random.key(0) })
 * b.y // [[0, 2]]
 * b.dx // [[0, 5]]
 * b.dparams // []
 */
export const behaviour = (layer: AnyLayer, params: Tree.Tree, state: Tree.Tree, x: Tensor, dy: Tensor, ctx: Context): Behaviour => {
  const f = layer.apply(params, state, x, ctx)
  const g = f.backward(dy)
  return { y: f.y, dx: g.dx, dparams: Tree.leaves(g.dparams as Tree.Tree).map((l) => l.value) }
}

/**
 * Bit-for-bit equality of two behaviours.
 * @category laws
 * @example
 * import { Laws, Layers, Random, Tensor } from 'nn-ts'
 * const f = Layers.dense(2, 2)
 * const { params } = f.init(Random.key(0))
 * const x = Tensor.fromRows([[1, 2]]), ctx = { mode: 'train' as const, key: Random.key(1) }
 * const a = Laws.behaviour(Layers.sequential(Layers.identity(), f), [[], params], [[], []], x, x, ctx)
 * Laws.sameBehaviour(a, Laws.behaviour(f, params, [], x, x, ctx)) // true
 */
export const sameBehaviour = (a: Behaviour, b: Behaviour): boolean =>
  equals(a.y, b.y) && equals(a.dx, b.dx) && a.dparams.length === b.dparams.length && a.dparams.every((t, i) => equals(t, b.dparams[i] as Tensor))
