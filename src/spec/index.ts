/**
 * Declarative network specs: JSON decoded with io-ts into a network, a loss, an optimizer and training
 * settings, with errors that name the JSON path, what was expected and what was found.
 *
 * @example
 * import { Spec } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * const r = Spec.decode({ input: 784, layers: [{ type: 'dense', units: 10 }], loss: 'softmaxCrossEntropy', optimizer: { type: 'adam', learningRate: 0.001 }, training: { epochs: 1, batchSize: 100 } })
 * if (E.isRight(r)) Spec.build(r.right).network.name // 'sequential(dense(784→10))'
 * @since 0.1.0
 */
export * from './errors.ts'
export * from './Spec.ts'
export * from './build.ts'
export * from './fromNetwork.ts'
