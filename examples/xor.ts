/**
 * XOR with plain (full-batch) gradient descent: the smallest problem a linear model cannot solve.
 *
 *   npx tsx examples/xor.ts
 */
import * as E from 'fp-ts/Either'
import { pathToFileURL } from 'node:url'
import { Data, Layers, Loss, Optim, Tensor, Train } from '../src/index.ts'

const inputs = Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]])
const xor = E.getOrElseW((e: Data.DataError) => { throw new Error(e.message) })(Data.fromLabelled(inputs, [0, 1, 1, 0], 2))

/** Trains 2-8-2 (tanh) on XOR for `steps` gradient-descent steps; returns the accuracy and final loss. */
export const trainXor = (seed: number, steps = 500): { accuracy: number; loss: number } => {
  const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
  const optimizer = Optim.sgd(0.5)
  const [result, state] = Train.traverseSteps(Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer))(Array.from({ length: steps }, () => xor))(
    Train.initialState(network, optimizer, seed)
  )
  if (E.isLeft(result)) throw new Error(result.left.message)
  const final = Train.evaluate(network, Loss.softmaxCrossEntropy, state.params, state.layerState, [xor])
  return { accuracy: 1 - final.error, loss: final.loss }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { accuracy, loss } = trainXor(0)
  process.stdout.write(`XOR after 500 steps of gradient descent: accuracy ${(100 * accuracy).toFixed(0)} %, loss ${loss.toFixed(5)}\n`)
}
