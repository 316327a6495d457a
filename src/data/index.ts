/**
 * The data layer: IDX files, labelled datasets (shuffle, split, mini-batches) and MNIST.
 *
 * @example
 * import { Data, Random } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * const mnist = Data.loadMnist()()
 * if (E.isRight(mnist)) {
 *   const { train, validation } = Data.split(mnist.right.train, 10000, Random.key(0))
 *   const firstEpoch = Data.epochBatches(train, 64, Random.key(1), 0)
 * }
 * @since 0.1.0
 */
export * from './errors.ts'
export * from './idx.ts'
export * from './Dataset.ts'
export * from './mnist.ts'
