/**
 * fast-check arbitraries shared by the laws: small shapes and float64 matrices kept off kinks.
 */
import fc from 'fast-check'
import { Tensor } from '../src/index.ts'

/** A float in [-range, range] at least `margin` away from every point in `kinks`. */
export const offKinks = (range: number, kinks: readonly number[] = [], margin = 1e-3): fc.Arbitrary<number> =>
  fc
    .double({ min: -range, max: range, noNaN: true, noDefaultInfinity: true })
    .filter((v) => kinks.every((k) => Math.abs(v - k) >= margin))

/** A `[rows, cols]` float64 tensor of values from `value`. */
export const matrix = (rows: number, cols: number, value: fc.Arbitrary<number> = offKinks(3)): fc.Arbitrary<Tensor.Tensor> =>
  fc.array(value, { minLength: rows * cols, maxLength: rows * cols }).map((vs) => Tensor.fromArray([rows, cols], vs, 'float64'))

/** Batch size and feature count for small layers. */
export const dims = fc.record({ batch: fc.integer({ min: 1, max: 5 }), features: fc.integer({ min: 1, max: 6 }) })

/** A PRNG seed. */
export const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 })

/** Runs count for property tests: enough to explore shapes, few enough to keep `npm test` quick. */
export const runs = { numRuns: 40 }
