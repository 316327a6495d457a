/**
 * Makes `examples/web/fixture-checkpoint.safetensors`: the weights the digit page uses when `npm start` has
 * not written `out/mnist/checkpoint.safetensors`, and the ones its test uses. A small spec-built MLP
 * (784-64-10) trained on MNIST for a few epochs; the checkpoint keeps the spec, the params and no
 * optimizer state (the page only predicts), so the file stays under 300 KB.
 *
 *   npx tsx examples/web/make-fixture.ts     # ~30 s; prints the test accuracy
 */
import * as E from 'fp-ts/lib/Either.js'
import { writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Checkpoint, Data, Optim, Spec, Train } from 'nn-ts'
import * as Node from 'nn-ts/node'
import { classifierFromCheckpoint } from './digits.ts'

const out = join(dirname(fileURLToPath(import.meta.url)), 'fixture-checkpoint.safetensors')

const fail = (message: string): never => {
  process.stderr.write(`make-fixture: ${message}\n`)
  process.exit(1)
}

const orFail = <L, A>(result: E.Either<L, A>, message: (left: L) => string): A => (E.isLeft(result) ? fail(message(result.left)) : result.right)

/** The network, loss, optimizer and training of the fixture, as the spec the checkpoint carries. */
const specJson = {
  name: 'digit page fixture',
  description: 'A small MLP for the digit page (examples/web): 784-64-10 ReLU, Adam with a cosine schedule, 4 epochs on MNIST.',
  input: 784,
  layers: [
    { type: 'dense', units: 64, weightInit: 'heNormal' },
    { type: 'relu' },
    { type: 'dense', units: 10 }
  ],
  output: 10,
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'adam', learningRate: 0.002, schedule: { type: 'cosine', alpha: 0.05 } },
  training: { epochs: 4, batchSize: 64, seed: 0 },
  data: { type: 'mnist' }
}

const spec = orFail(Spec.decode(specJson), (e) => `the fixture's spec does not decode: ${e.message}`)
const mnist = orFail(Node.loadMnist()(), (e) => `${e.file}: ${e.message}`)
const built = Spec.build(spec, { trainSize: Data.size(mnist.train) })
const { epochs, batchSize, seed } = built.training

const trained = await Train.fit({ network: built.network, loss: built.loss, optimizer: built.optimizer, train: mnist.train, epochs, batchSize, seed, progress: Node.progressBar() })()
const { state } = orFail(trained, (e) => e.message)

// Params and layer state only: the Adam moments would triple the file and the page never trains.
const bytes = orFail(Checkpoint.encode(Checkpoint.make({ ...state, optState: Optim.identity().init(state.params) }, specJson)), (e) => e.message)
const classifier = orFail(classifierFromCheckpoint(bytes), (message) => `the written checkpoint does not load: ${message}`)
const test = mnist.test
// Measured on the network as the page rebuilds it from the file, not on the one in memory.
const predicted = classifier.labels(test.inputs)
const accuracy = predicted.filter((label, i) => label === test.labels[i]).length / Data.size(test)
if (accuracy < 0.95) fail(`test accuracy ${(100 * accuracy).toFixed(2)} % is under the 95 % the page needs; the fixture was not written`)
writeFileSync(out, bytes)
process.stdout.write(
  `make-fixture: ${relative(process.cwd(), out)} (${(bytes.length / 1024).toFixed(0)} KB): ${classifier.name}, ` +
    `MNIST test accuracy ${(100 * accuracy).toFixed(2)} %\n`
)
