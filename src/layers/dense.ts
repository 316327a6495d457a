/**
 * The dense (fully connected) layer `y = x W + b`, with `W: [in, out]` and `b: [out]`.
 *
 * @since 0.1.0
 */
import * as Init from '../init/Initializer.ts'
import * as Random from '../random/Key.ts'
import { kernels as K } from '../tensor/backend.ts'
import { type Tensor, ShapeError } from '../tensor/Tensor.ts'
import { type Empty, type Layer, gradients } from './Layer.ts'

/**
 * The weight `W: [in, out]` and bias `b: [out]` of a dense layer.
 * @category model
 * @example
 * import { Layers, Random } from 'nn-ts'
 * const params: Layers.DenseParams = Layers.dense(784, 40).init(Random.key(0)).params
 * params.W.shape // [784, 40]
 * params.b // => Layers.dense(784, 40).init(Random.key(0)).params.b
 */
export type DenseParams = { readonly W: Tensor; readonly b: Tensor }

/**
 * How a dense layer initializes its weights and bias.
 * @category model
 * @example
 * import { Init, Layers, Random } from 'nn-ts'
 * const options: Layers.DenseOptions = { weightInit: Init.heNormal, biasInit: Init.constant(0.1) }
 * Layers.dense(3, 2, options).init(Random.key(0)).params.b // [0.1, 0.1]
 */
export interface DenseOptions {
  /** Weight initializer (default Glorot uniform). */
  readonly weightInit?: Init.Initializer
  /** Bias initializer (default zeros). */
  readonly biasInit?: Init.Initializer
}

/**
 * A dense layer from `inFeatures` to `outFeatures`. Backward gives `dx = dy Wᵀ` (skipped with
 * `needDx: false`), `dW = xᵀ dy`, `db = Σ_rows dy` (the loss already carries the 1/batch factor).
 *
 * @category constructors
 * @example
 * import { Init, Layers, Random, Tensor } from 'nn-ts'
 * const layer = Layers.dense(784, 40, { weightInit: Init.heNormal })
 * layer.name // 'dense(784→40)'
 * const small = Layers.dense(2, 1, { weightInit: Init.ones, biasInit: Init.constant(0.5) })
 * const { params, state } = small.init(Random.key(0))
 * Layers.predict(small, params, state, Tensor.fromRows([[1, 2]])) // [[3.5]]: x W + b
 */
export const dense = <const In extends number, const Out extends number>(
  inFeatures: In,
  outFeatures: Out,
  options: DenseOptions = {}
): Layer<DenseParams, Empty, In, Out> => {
  for (const [what, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`dense: ${what} must be a positive integer, got ${v}`)
  }
  const name = `dense(${inFeatures}→${outFeatures})`
  const weightInit = options.weightInit ?? Init.glorotUniform
  const biasInit = options.biasInit ?? Init.zeros
  return {
    name,
    inWidth: inFeatures,
    outWidth: outFeatures,
    node: { op: 'dense', attrs: { in: inFeatures, out: outFeatures } },
    init: (key, dtype = 'float32') => {
      const [kw, kb] = Random.split(key)
      return { params: { W: weightInit(kw, [inFeatures, outFeatures], dtype), b: biasInit(kb, [outFeatures], dtype) }, state: [] }
    },
    apply: ({ W, b }, state, x) => {
      if (x.shape.length !== 2 || x.shape[1] !== inFeatures) throw new ShapeError(name, `[batch, ${inFeatures}]`, x.shape)
      return {
        y: K.affine(x, W, b),
        state,
        backward: (dy, options) => {
          if (dy.shape.length !== 2 || dy.shape[0] !== x.shape[0] || dy.shape[1] !== outFeatures) {
            throw new ShapeError(`${name} backward`, `[${x.shape[0]}, ${outFeatures}]`, dy.shape)
          }
          // dx = dy·Wᵀ only when the caller needs it (a trainer does not, for the network's input).
          return gradients(options, () => K.matmulTransposeB(dy, W), { W: K.matmulTransposeA(x, dy), b: K.columnSums(dy) })
        }
      }
    }
  }
}
