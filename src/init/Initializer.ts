/**
 * Parameter initializers: pure functions of a key, a shape and a dtype.
 *
 * The seeded families (Xavier/Glorot, He, LeCun) are all instances of one variance-scaling core:
 * `Var[w] = scale / fan`, where `fan` is fan-in, fan-out or their average. A weight `[in, out]` has
 * fan-in `in` and fan-out `out`; a vector `[n]` has both equal to `n`.
 *
 * About the MLP notes: their Xavier formulas match these. Their "He uniform" bound `√(3 / n_in)`
 * has variance `1 / n_in`, which is LeCun uniform; He (Kaiming) uniform is `√(6 / n_in)`, variance
 * `2 / n_in`, consistent with the notes' He normal `N(0, √(2 / n))`. We follow He et al.
 *
 * @since 0.1.0
 */
import * as Random from '../random/Key.ts'
import { type DType, type Tensor, full } from '../tensor/Tensor.ts'

/**
 * @category model
 * @example
 * import { Init, Random } from 'nn-ts'
 * const init: Init.Initializer = Init.glorotUniform
 * const W = init(Random.key(0), [784, 40])
 * W.shape // [784, 40]
 * W.dtype // 'float32'
 */
export type Initializer = (key: Random.Key, shape: readonly number[], dtype?: DType) => Tensor

/**
 * Fan-in and fan-out of a weight `[in, out]` (or `[n]`: both `n`).
 * @category utils
 * @example
 * import { Init } from 'nn-ts'
 * Init.fans([784, 40]) // { fanIn: 784, fanOut: 40 }
 * Init.fans([10]) // { fanIn: 10, fanOut: 10 }
 */
export const fans = (shape: readonly number[]): { fanIn: number; fanOut: number } => {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 }
  if (shape.length === 1) return { fanIn: shape[0] as number, fanOut: shape[0] as number }
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1)
  return { fanIn: (shape[0] as number) * receptive, fanOut: (shape[1] as number) * receptive }
}

/**
 * Every element equal to `value`.
 * @category constructors
 * @example
 * import { Init, Random } from 'nn-ts'
 * Init.constant(0.1)(Random.key(0), [2]) // [0.1, 0.1]
 */
export const constant =
  (value: number): Initializer =>
  (_key, shape, dtype = 'float32') =>
    full(shape, value, dtype)

/**
 * All zeros (the default bias initializer).
 * @category constructors
 * @example
 * import { Init, Layers, Random } from 'nn-ts'
 * Init.zeros(Random.key(0), [3]) // [0, 0, 0]
 * const layer = Layers.dense(2, 3, { biasInit: Init.zeros }) // what dense does by default
 */
export const zeros: Initializer = constant(0)

/**
 * All ones.
 * @category constructors
 * @example
 * import { Init, Random } from 'nn-ts'
 * Init.ones(Random.key(0), [2], 'float64') // [1, 1]
 */
export const ones: Initializer = constant(1)

/**
 * `U[min, max]`.
 * @category constructors
 * @example
 * import { Init, Random, Tensor } from 'nn-ts'
 * const w = Init.uniform(-0.1, 0.1)(Random.key(0), [1000])
 * Tensor.toArray(w).every((v) => v >= -0.1 && v <= 0.1) // true
 */
export const uniform = (min: number, max: number): Initializer => {
  if (!(min <= max)) throw new RangeError(`Init.uniform: need min ≤ max, got [${min}, ${max}]`)
  return (key, shape, dtype = 'float32') => Random.uniform(key, shape, min, max, dtype)
}

/**
 * `N(mean, std²)`.
 * @category constructors
 * @example
 * import { Init, Random, kernels } from 'nn-ts'
 * const w = Init.normal(0, 0.01)(Random.key(0), [1000], 'float64')
 * Math.sqrt(kernels.dot(w, w) / 1000) // ≈ 0.0100 (the root mean square of 1000 draws)
 */
export const normal = (mean: number, std: number): Initializer => {
  if (!(std >= 0)) throw new RangeError(`Init.normal: std must be ≥ 0, got ${std}`)
  return (key, shape, dtype = 'float32') => Random.normal(key, shape, mean, std, dtype)
}

/**
 * How `varianceScaling` draws: `Var[w] = scale / fan`, from a uniform, a normal or a truncated normal.
 * @category model
 * @example
 * import { Init, Random, Tensor } from 'nn-ts'
 * const he: Init.VarianceScaling = { scale: 2, mode: 'fanIn', distribution: 'normal' }
 * const heNormal = Init.varianceScaling(he) // the same draws as Init.heNormal
 * Tensor.equals(heNormal(Random.key(1), [4, 2]), Init.heNormal(Random.key(1), [4, 2])) // true
 */
export interface VarianceScaling {
  readonly scale: number
  readonly mode: 'fanIn' | 'fanOut' | 'fanAvg'
  readonly distribution: 'uniform' | 'normal' | 'truncatedNormal'
}

/**
 * Draws with variance `scale / fan`: uniform on `±√(3·scale/fan)`, or normal with std `√(scale/fan)`
 * (truncated at two std, rescaled by 1/0.8796 to keep the variance).
 * @category constructors
 * @example
 * import { Init, Random, kernels } from 'nn-ts'
 * const init = Init.varianceScaling({ scale: 2, mode: 'fanIn', distribution: 'truncatedNormal' })
 * const W = init(Random.key(0), [784, 40], 'float64')
 * Math.sqrt(kernels.dot(W, W) / (784 * 40)) // ≈ 0.0505: √(2 / 784) = 0.05051, kept by the truncated normal's rescaling
 */
export const varianceScaling =
  ({ scale, mode, distribution }: VarianceScaling): Initializer =>
  (key, shape, dtype = 'float32') => {
    const { fanIn, fanOut } = fans(shape)
    const fan = mode === 'fanIn' ? fanIn : mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2
    const variance = scale / Math.max(1, fan)
    switch (distribution) {
      case 'uniform': {
        const limit = Math.sqrt(3 * variance)
        return Random.uniform(key, shape, -limit, limit, dtype)
      }
      case 'normal':
        return Random.normal(key, shape, 0, Math.sqrt(variance), dtype)
      case 'truncatedNormal':
        // 0.8796… is the std of a standard normal truncated to [-2, 2].
        return Random.truncatedNormal(key, shape, 0, Math.sqrt(variance) / 0.87962566103423978, dtype)
    }
  }

/**
 * Xavier/Glorot uniform: `U[±√(6 / (in + out))]`.
 * @category constructors
 * @example
 * import { Init, Random, Tensor } from 'nn-ts'
 * const W = Init.glorotUniform(Random.key(0), [784, 40])
 * const bound = Math.sqrt(6 / (784 + 40)) // 0.08533…
 * Tensor.toArray(W).every((w) => Math.abs(w) <= bound) // true
 */
export const glorotUniform: Initializer = varianceScaling({ scale: 1, mode: 'fanAvg', distribution: 'uniform' })
/**
 * Xavier/Glorot normal: `N(0, 2 / (in + out))`.
 * @category constructors
 * @example
 * import { Init, Random, kernels } from 'nn-ts'
 * const W = Init.glorotNormal(Random.key(0), [784, 40], 'float64')
 * Math.sqrt(kernels.dot(W, W) / (784 * 40)) // ≈ 0.0492: √(2 / (784 + 40)) = 0.04927
 */
export const glorotNormal: Initializer = varianceScaling({ scale: 1, mode: 'fanAvg', distribution: 'normal' })
/**
 * He/Kaiming uniform: `U[±√(6 / in)]`.
 * @category constructors
 * @example
 * import { Init, Random, Tensor } from 'nn-ts'
 * const W = Init.heUniform(Random.key(0), [784, 40])
 * const bound = Math.sqrt(6 / 784) // 0.08748…
 * Tensor.toArray(W).every((w) => Math.abs(w) <= bound) // true
 */
export const heUniform: Initializer = varianceScaling({ scale: 2, mode: 'fanIn', distribution: 'uniform' })
/**
 * He/Kaiming normal: `N(0, 2 / in)`.
 * @category constructors
 * @example
 * import { Init, Random, kernels } from 'nn-ts'
 * const W = Init.heNormal(Random.key(0), [784, 40], 'float64')
 * Math.sqrt(kernels.dot(W, W) / (784 * 40)) // ≈ 0.0505: √(2 / 784) = 0.05051
 */
export const heNormal: Initializer = varianceScaling({ scale: 2, mode: 'fanIn', distribution: 'normal' })
/**
 * LeCun uniform: `U[±√(3 / in)]`.
 * @category constructors
 * @example
 * import { Init, Random, Tensor } from 'nn-ts'
 * const W = Init.lecunUniform(Random.key(0), [784, 40])
 * const bound = Math.sqrt(3 / 784) // 0.06185…: the MLP notes' "He uniform"
 * Tensor.toArray(W).every((w) => Math.abs(w) <= bound) // true
 */
export const lecunUniform: Initializer = varianceScaling({ scale: 1, mode: 'fanIn', distribution: 'uniform' })
/**
 * LeCun normal: `N(0, 1 / in)`.
 * @category constructors
 * @example
 * import { Init, Random, kernels } from 'nn-ts'
 * const W = Init.lecunNormal(Random.key(0), [784, 40], 'float64')
 * Math.sqrt(kernels.dot(W, W) / (784 * 40)) // ≈ 0.0357: √(1 / 784) = 0.03571
 */
export const lecunNormal: Initializer = varianceScaling({ scale: 1, mode: 'fanIn', distribution: 'normal' })

/**
 * Aliases under the names the seeds use.
 * @category constructors
 * @example
 * import { Init, Random, Tensor } from 'nn-ts'
 * Tensor.equals(Init.xavierUniform(Random.key(3), [4, 2]), Init.glorotUniform(Random.key(3), [4, 2])) // true
 */
export const xavierUniform = glorotUniform
/**
 * Xavier normal, the same as `glorotNormal`.
 * @category constructors
 * @example
 * import { Init, Random, Tensor } from 'nn-ts'
 * Tensor.equals(Init.xavierNormal(Random.key(3), [4, 2]), Init.glorotNormal(Random.key(3), [4, 2])) // true
 */
export const xavierNormal = glorotNormal
