/**
 * The data layer: IDX decoding and labelled datasets (shuffle, split, mini-batches). Reading files,
 * MNIST among them, is `nn-ts/node`'s (`loadMnist`, `loadLabelledIdx`).
 *
 * @example
 * import { Data, Random, Tensor } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * const data = Data.fromLabelled(Tensor.zeros([100, 4]), Array.from({ length: 100 }, (_, i) => i % 3), 3)
 * if (E.isRight(data)) {
 *   const { train, validation } = Data.split(data.right, 20, Random.key(0))
 *   const firstEpoch = Data.epochBatches(train, 16, Random.key(1), 0)
 *   firstEpoch.map(Data.size) // [16, 16, 16, 16, 16]
 * }
 * @since 0.1.0
 */
export * from './errors.ts'
export * from './idx.ts'
export * from './Dataset.ts'
