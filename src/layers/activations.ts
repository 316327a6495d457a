/**
 * Activation layers: element-wise ones built from a function and its derivative, and softmax with its
 * true Jacobian-vector product.
 *
 * @since 0.1.0
 */
import { kernels as K } from '../tensor/backend.ts'
import type { Tensor } from '../tensor/Tensor.ts'
import { normalCdf, normalPdf } from '../math/normal.ts'
import type { Empty, Layer, Same } from './Layer.ts'

/**
 * A width-preserving layer without params or state.
 * @category model
 * @example
 * import { Layers, Random } from 'nn-ts'
 * const act: Layers.Activation = Layers.tanh()
 * act.outWidth // 'same': the width of what comes before
 * act.init(Random.key(0)) // { params: [], state: [] }
 */
export type Activation = Layer<Empty, Empty, Same, Same>

/**
 * An element-wise activation from `f` and its derivative `df(x, y)` (given the input and the output,
 * so derivatives like σ' = y(1 − y) reuse the forward result). `kinks` lists inputs where `f` is not
 * differentiable, so gradient checks can keep away from them.
 *
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * const square = Layers.elementwise('square', (x) => x * x, (x) => 2 * x)
 * Layers.predict(square, [], [], Tensor.fromRows([[3, -2]])) // [[9, 4]]
 */
export const elementwise = (
  name: string,
  f: (x: number) => number,
  df: (x: number, y: number) => number,
  attrs: { readonly [key: string]: number } = {},
  kinks: readonly number[] = []
): Activation & { readonly kinks: readonly number[] } => ({
  name,
  inWidth: 'same',
  outWidth: 'same',
  kinks,
  node: { op: name, attrs },
  init: () => ({ params: [], state: [] }),
  apply: (_p, state, x) => {
    const y = K.map(x, f)
    return { y, state, backward: (dy: Tensor) => ({ dx: K.zipWith3(dy, x, y, (d, xi, yi) => d * df(xi, yi)), dparams: [] }) }
  }
})

const logistic = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))

/**
 * `σ(x) = 1 / (1 + e^−x)`, computed without overflow; `σ' = y(1 − y)`.
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * const x = Tensor.fromRows([[-1000, 0, 1000]], 'float64')
 * Layers.predict(Layers.sigmoid(), [], [], x) // [[0, 0.5, 1]]: no overflow
 */
export const sigmoid = (): Activation => elementwise('sigmoid', logistic, (_x, y) => y * (1 - y))

/**
 * `tanh(x)`; `tanh' = 1 − y²`.
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * const x = Tensor.fromRows([[0, 1]], 'float64')
 * Tensor.toRows(Layers.predict(Layers.tanh(), [], [], x)) // => [[0, Math.tanh(1)]]
 */
export const tanh = (): Activation => elementwise('tanh', Math.tanh, (_x, y) => 1 - y * y)

/**
 * `max(0, x)` (NaN stays NaN, so failures are not hidden); derivative 1 for x > 0 and 0 otherwise (HW1 at 0).
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * Layers.predict(Layers.relu(), [], [], Tensor.fromRows([[-1, 0, 2, NaN]])) // [[0, 0, 2, NaN]]
 */
export const relu = (): Activation => {
  const layer = elementwise('relu', (x) => Math.max(x, 0), (x) => (x > 0 ? 1 : 0), {}, [0])
  // The same function and derivative through dedicated kernels instead of a closure per element.
  return {
    ...layer,
    apply: (_p, state, x) => ({ y: K.relu(x), state, backward: (dy: Tensor) => ({ dx: K.reluBackward(dy, x), dparams: [] }) })
  }
}

/**
 * `x` for x > 0, `αx` otherwise (α = 0.01 by default).
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * Layers.predict(Layers.leakyRelu(0.1), [], [], Tensor.fromRows([[-2, 3]], 'float64')) // [[-0.2, 3]]
 */
export const leakyRelu = (alpha = 0.01): Activation =>
  elementwise('leakyRelu', (x) => (x > 0 ? x : alpha * x), (x) => (x > 0 ? 1 : alpha), { alpha }, [0])

/**
 * `x` for x > 0, `α(eˣ − 1)` otherwise (α = 1 by default); derivative `y + α` below 0.
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * const y = Layers.predict(Layers.elu(), [], [], Tensor.fromRows([[-1, 2]], 'float64'))
 * Tensor.toRows(y) // => [[Math.expm1(-1), 2]]
 */
export const elu = (alpha = 1): Activation =>
  elementwise('elu', (x) => (x > 0 ? x : alpha * Math.expm1(x)), (x, y) => (x > 0 ? 1 : y + alpha), { alpha }, alpha === 1 ? [] : [0])

/**
 * `log(1 + eˣ)`, computed stably as `max(x, 0) + log1p(e^−|x|)`; derivative `σ(x)`.
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * const y = Layers.predict(Layers.softplus(), [], [], Tensor.fromRows([[-1000, 0, 1000]], 'float64'))
 * Tensor.toRows(y) // => [[0, Math.LN2, 1000]]
 */
export const softplus = (): Activation =>
  elementwise('softplus', (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), (x) => logistic(x))

/**
 * Which GELU: `'none'` is the exact `x·Φ(x)`, `'tanh'` the tanh approximation (PyTorch's names for
 * the `approximate` argument of `torch.nn.GELU`).
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const form: Layers.GeluApproximation = 'tanh'
 * Layers.gelu({ approximate: form }).name // 'gelu(tanh)'
 */
export type GeluApproximation = 'none' | 'tanh'

/**
 * Options of `gelu`.
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const options: Layers.GeluOptions = { approximate: 'none' }
 * Layers.gelu(options).name // 'gelu'
 */
export interface GeluOptions {
  /** `'none'` (the default, as in PyTorch) for the exact form, `'tanh'` for the approximation. */
  readonly approximate?: GeluApproximation
}

/** `√(2/π)` and the cubic coefficient of the tanh form (Hendrycks & Gimpel 2016). */
const GELU_C = Math.sqrt(2 / Math.PI)
const GELU_CUBIC = 0.044715

const geluExact = (): Activation & { readonly kinks: readonly number[] } =>
  elementwise('gelu', (x) => x * normalCdf(x), (x) => normalCdf(x) + x * normalPdf(x))

const geluTanh = (): Activation & { readonly kinks: readonly number[] } =>
  elementwise(
    'gelu(tanh)',
    (x) => 0.5 * x * (1 + Math.tanh(GELU_C * (x + GELU_CUBIC * x * x * x))),
    (x) => {
      const t = Math.tanh(GELU_C * (x + GELU_CUBIC * x * x * x))
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * GELU_CUBIC * x * x)
    }
  )

/**
 * GELU, the Gaussian error linear unit (Hendrycks & Gimpel 2016), as PyTorch's `torch.nn.GELU`:
 *
 * - `approximate: 'none'` (the default): the exact `x·Φ(x) = ½x(1 + erf(x/√2))`, `Φ` the standard
 *   normal distribution; derivative `Φ(x) + x·φ(x)`. Both are accurate to a few ulps in float64
 *   relative to their own value, tails included (`gelu(−10) ≈ −7.62e-23`, where
 *   `½x(1 + erf(x/√2))` evaluated as written, as PyTorch does, gives −0).
 * - `approximate: 'tanh'`: `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`, computed as written (as PyTorch
 *   does). It differs from the exact form by up to 4.7e-4 in value (near x = −2.7) and 8.7e-4 in the
 *   derivative (near x = −2.0).
 *
 * The layer is named `gelu` or `gelu(tanh)`; its `node` is `{ op: 'gelu', attrs: { approximate } }`.
 * Earlier versions had only the tanh form, as `gelu()`; a spec layer `{ "type": "gelu" }` without
 * `approximate` keeps that meaning (see `Spec.codec`).
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * const exact = Layers.gelu()
 * exact.node // { op: 'gelu', attrs: { approximate: 'none' } }
 * const fast = Layers.gelu({ approximate: 'tanh' })
 * fast.name // 'gelu(tanh)'
 * const x = Tensor.fromRows([[-1, 0, 1]], 'float64')
 * Tensor.toArray(Layers.predict(exact, [], [], x)) // [-0.15865525393145707, 0, 0.8413447460685429]
 */
export const gelu = (options: GeluOptions = {}): Activation => {
  const approximate = options.approximate ?? 'none'
  if (approximate !== 'none' && approximate !== 'tanh') {
    throw new RangeError(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`)
  }
  const layer = approximate === 'none' ? geluExact() : geluTanh()
  return { ...layer, node: { op: 'gelu', attrs: { approximate } } }
}

/**
 * The identity as an activation (HW1's `Identity()`), for the output layer of a classifier.
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * const out = Layers.linear()
 * out.name // 'identity'
 * Layers.predict(out, [], [], Tensor.fromRows([[-1, 5]])) // [[-1, 5]]
 */
export const linear = (): Activation => elementwise('identity', (x) => x, () => 1)

/**
 * Row-wise softmax. Backward is the full Jacobian-vector product `dx = y ⊙ (dy − ⟨dy, y⟩_row)`,
 * not the diagonal. For training a classifier prefer `Loss.softmaxCrossEntropy` on logits.
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * Layers.predict(Layers.softmax(), [], [], Tensor.fromRows([[1000, 1000], [0, 0]], 'float64')) // [[0.5, 0.5], [0.5, 0.5]]
 */
export const softmax = (): Activation => ({
  name: 'softmax',
  inWidth: 'same',
  outWidth: 'same',
  node: { op: 'softmax' },
  init: () => ({ params: [], state: [] }),
  apply: (_p, state, x) => {
    const y = K.softmaxRows(x)
    return { y, state, backward: (dy) => ({ dx: K.softmaxRowsBackward(y, dy), dparams: [] }) }
  }
})
