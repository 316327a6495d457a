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
 * const W = Init.glorotUniform(Random.key(0), [784, 40]) // a [784, 40] float32 tensor
 */
export type Initializer = (key: Random.Key, shape: readonly number[], dtype?: DType) => Tensor

/** Fan-in and fan-out of a weight `[in, out]` (or `[n]`: both `n`). @category utils */
export const fans = (shape: readonly number[]): { fanIn: number; fanOut: number } => {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 }
  if (shape.length === 1) return { fanIn: shape[0] as number, fanOut: shape[0] as number }
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1)
  return { fanIn: (shape[0] as number) * receptive, fanOut: (shape[1] as number) * receptive }
}

/** Every element equal to `value`. @category constructors */
export const constant =
  (value: number): Initializer =>
  (_key, shape, dtype = 'float32') =>
    full(shape, value, dtype)

/** All zeros (the default bias initializer). @category constructors */
export const zeros: Initializer = constant(0)

/** All ones. @category constructors */
export const ones: Initializer = constant(1)

/** `U[min, max]`. @category constructors */
export const uniform = (min: number, max: number): Initializer => {
  if (!(min <= max)) throw new RangeError(`Init.uniform: need min ≤ max, got [${min}, ${max}]`)
  return (key, shape, dtype = 'float32') => Random.uniform(key, shape, min, max, dtype)
}

/** `N(mean, std²)`. @category constructors */
export const normal = (mean: number, std: number): Initializer => {
  if (!(std >= 0)) throw new RangeError(`Init.normal: std must be ≥ 0, got ${std}`)
  return (key, shape, dtype = 'float32') => Random.normal(key, shape, mean, std, dtype)
}

/** @category model */
export interface VarianceScaling {
  readonly scale: number
  readonly mode: 'fanIn' | 'fanOut' | 'fanAvg'
  readonly distribution: 'uniform' | 'normal' | 'truncatedNormal'
}

/**
 * Draws with variance `scale / fan`: uniform on `±√(3·scale/fan)`, or normal with std `√(scale/fan)`
 * (truncated at two std, rescaled by 1/0.8796 to keep the variance).
 * @category constructors
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

/** Xavier/Glorot uniform: `U[±√(6 / (in + out))]`. @category constructors */
export const glorotUniform: Initializer = varianceScaling({ scale: 1, mode: 'fanAvg', distribution: 'uniform' })
/** Xavier/Glorot normal: `N(0, 2 / (in + out))`. @category constructors */
export const glorotNormal: Initializer = varianceScaling({ scale: 1, mode: 'fanAvg', distribution: 'normal' })
/** He/Kaiming uniform: `U[±√(6 / in)]`. @category constructors */
export const heUniform: Initializer = varianceScaling({ scale: 2, mode: 'fanIn', distribution: 'uniform' })
/** He/Kaiming normal: `N(0, 2 / in)`. @category constructors */
export const heNormal: Initializer = varianceScaling({ scale: 2, mode: 'fanIn', distribution: 'normal' })
/** LeCun uniform: `U[±√(3 / in)]`. @category constructors */
export const lecunUniform: Initializer = varianceScaling({ scale: 1, mode: 'fanIn', distribution: 'uniform' })
/** LeCun normal: `N(0, 1 / in)`. @category constructors */
export const lecunNormal: Initializer = varianceScaling({ scale: 1, mode: 'fanIn', distribution: 'normal' })

/** Aliases under the names the seeds use. @category constructors */
export const xavierUniform = glorotUniform
/** Xavier normal, the same as `glorotNormal`. @category constructors */
export const xavierNormal = glorotNormal
