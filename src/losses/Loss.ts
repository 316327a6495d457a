/**
 * Losses: a value and its gradient with respect to the prediction.
 *
 * Convention: every loss is the **mean over the batch (rows) of a per-row loss**, and a per-row loss
 * sums over features. So gradients already carry the `1/batch` factor HW1 asks for ("averaged across
 * the batch"), and layers never divide by the batch size.
 *
 * Mean squared error, three conventions in the seeds:
 * - `meanSquaredError` (ours, as the OOP notes): `(1/m) Σ_i ‖ŷ_i − y_i‖²`, gradient `(2/m)(ŷ − y)`;
 * - the MLP notes' `1/(2n) Σ`: `scaled(meanSquaredError, 0.5)`, gradient `(1/m)(ŷ − y)`;
 * - PyTorch's mean over every element: `scaled(meanSquaredError, 1 / features)`.
 *
 * @since 0.1.0
 */
import { kernels as K } from '../tensor/backend.ts'
import { type Tensor, ShapeError, showShape } from '../tensor/Tensor.ts'

/**
 * A loss's value and its gradient with respect to the prediction (the shape of the prediction).
 * @category model
 * @example
 * import { Loss, Tensor } from 'nn-ts'
 * const r: Loss.LossResult = Loss.meanSquaredError.apply(Tensor.fromRows([[3]], 'float64'), Tensor.fromRows([[1]], 'float64'))
 * r.value // 4: (3 − 1)²
 * r.grad // [[4]]: 2 · (3 − 1)
 */
export interface LossResult {
  readonly value: number
  readonly grad: Tensor
}

/**
 * @category model
 * @example
 * import { Loss, Tensor } from 'nn-ts'
 * const logits = Tensor.fromRows([[1000, -1000]], 'float64')
 * const { value, grad } = Loss.softmaxCrossEntropy.apply(logits, Tensor.fromRows([[1, 0]], 'float64'))
 * value // 0: no overflow at ±1000
 * grad // [[0, 0]]
 */
export interface Loss {
  readonly name: string
  /** `prediction` and `target` are `[batch, features]` of the same shape. */
  readonly apply: (prediction: Tensor, target: Tensor) => LossResult
}

const checked = (name: string, f: (p: Tensor, t: Tensor, m: number) => LossResult): Loss => ({
  name,
  apply: (p, t) => {
    if (p.shape.length !== 2) throw new ShapeError(`${name} prediction`, '[batch, features]', p.shape)
    if (t.shape.length !== 2 || t.shape[0] !== p.shape[0] || t.shape[1] !== p.shape[1]) {
      throw new ShapeError(`${name} target`, showShape(p.shape), t.shape)
    }
    if (p.dtype !== t.dtype) throw new TypeError(`${name}: prediction is ${p.dtype} but target is ${t.dtype}`)
    return f(p, t, p.shape[0] as number)
  }
})

/**
 * `(1/m) Σ_i ‖ŷ_i − y_i‖²`.
 * @category instances
 * @example
 * import { Loss, Tensor } from 'nn-ts'
 * const prediction = Tensor.fromRows([[1, 2], [0, 0]], 'float64')
 * const { value, grad } = Loss.meanSquaredError.apply(prediction, Tensor.zeros([2, 2], 'float64'))
 * value // 2.5: (1² + 2²) / 2 rows
 * grad // [[1, 2], [0, 0]]: 2 (ŷ − y) / 2 rows
 */
export const meanSquaredError: Loss = checked('meanSquaredError', (p, t, m) => {
  const diff = K.sub(p, t)
  // 2d/m as d/(m/2): the same quotient (m/2 is exact).
  return { value: K.dot(diff, diff) / m, grad: K.divide(diff, m / 2) }
})

/**
 * Binary cross-entropy on probabilities: `−(1/m) Σ [y log ŷ + (1 − y) log(1 − ŷ)]`.
 * @category instances
 * @example
 * import { Loss, Tensor } from 'nn-ts'
 * const { value, grad } = Loss.binaryCrossEntropy.apply(Tensor.fromRows([[0.5]], 'float64'), Tensor.fromRows([[1]], 'float64'))
 * value // => Math.LN2
 * grad // [[-2]]: (ŷ − y) / (ŷ (1 − ŷ))
 */
export const binaryCrossEntropy: Loss = checked('binaryCrossEntropy', (p, t, m) => {
  return { value: K.sum(K.crossEntropyTerms('binary', p, t)) / m, grad: K.crossEntropyGrad('binary', p, t, m) }
})

/**
 * Binary cross-entropy on logits `z`, stable for any `z`: per element `max(z, 0) − z y + log(1 + e^−|z|)`;
 * gradient `(σ(z) − y)/m`.
 * @category instances
 * @example
 * import { Loss, Tensor } from 'nn-ts'
 * const bce = Loss.binaryCrossEntropyWithLogits
 * bce.apply(Tensor.fromRows([[0]], 'float64'), Tensor.fromRows([[1]], 'float64')).value // => Math.LN2
 * bce.apply(Tensor.fromRows([[0]], 'float64'), Tensor.fromRows([[1]], 'float64')).grad // [[-0.5]]: σ(0) − 1
 * bce.apply(Tensor.fromRows([[1000]], 'float64'), Tensor.fromRows([[0]], 'float64')).value // 1000: no overflow
 */
export const binaryCrossEntropyWithLogits: Loss = checked('binaryCrossEntropyWithLogits', (z, t, m) => {
  return { value: K.sum(K.crossEntropyTerms('binaryLogits', z, t)) / m, grad: K.crossEntropyGrad('binaryLogits', z, t, m) }
})

/**
 * Categorical cross-entropy on probabilities (after a softmax layer): `−(1/m) Σ_i Σ_k y_ik log ŷ_ik`.
 * @category instances
 * @example
 * import { Loss, Tensor } from 'nn-ts'
 * const probabilities = Tensor.fromRows([[0.25, 0.75]], 'float64')
 * const { value } = Loss.categoricalCrossEntropy.apply(probabilities, Tensor.fromRows([[0, 1]], 'float64'))
 * value // => -Math.log(0.75)
 */
export const categoricalCrossEntropy: Loss = checked('categoricalCrossEntropy', (p, t, m) => {
  return { value: K.sum(K.crossEntropyTerms('categorical', p, t)) / m, grad: K.crossEntropyGrad('categorical', p, t, m) }
})

/**
 * Softmax cross-entropy on logits (HW1 appendix A and B): per row `Σ_k y_k (logΣexp(z) − z_k)`,
 * computed with the log-sum-exp shift so logits like ±1000 are fine. Gradient
 * `(softmax(z) · Σ_k y_k − y)/m`, which is HW1's `ŷ − y` for one-hot rows.
 * @category instances
 * @example
 * import { Loss, Tensor } from 'nn-ts'
 * const { value, grad } = Loss.softmaxCrossEntropy.apply(Tensor.fromRows([[0, 0]], 'float64'), Tensor.fromRows([[1, 0]], 'float64'))
 * value // => Math.LN2
 * grad // [[-0.5, 0.5]]: softmax(z) − y
 */
export const softmaxCrossEntropy: Loss = checked('softmaxCrossEntropy', (z, t, m) => {
  const mass = K.rowSums(t)
  const value = (K.dot(K.logSumExpRows(z), mass) - K.dot(t, z)) / m
  return { value, grad: K.crossEntropyGrad('softmax', K.scaleRows(K.softmaxRows(z), mass), t, m) }
})

/**
 * Multiplies a loss and its gradient by `c` (e.g. `scaled(meanSquaredError, 0.5)` for the 1/2n form).
 * @category combinators
 * @example
 * import { Loss, Tensor } from 'nn-ts'
 * const half = Loss.scaled(Loss.meanSquaredError, 0.5) // the MLP notes' 1/(2n) form
 * const { value, grad } = half.apply(Tensor.fromRows([[1, 2]], 'float64'), Tensor.zeros([1, 2], 'float64'))
 * value // 2.5
 * grad // [[1, 2]]: ŷ − y
 * half.name // '0.5·meanSquaredError'
 */
export const scaled = (loss: Loss, c: number): Loss => ({
  name: `${c}·${loss.name}`,
  apply: (p, t) => {
    const r = loss.apply(p, t)
    return { value: c * r.value, grad: K.scale(r.grad, c) }
  }
})
