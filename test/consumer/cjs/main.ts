// A CommonJS TypeScript project (its package.json says "type": "commonjs"): the imports below compile
// to require() calls, and Node ≥ 20.19 loads the ES module nn-ts through require.
import * as E from 'fp-ts/lib/Either'
import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'

const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
const optimizer = Optim.sgd(0.5)

/** Accuracy on XOR after 500 steps of full-batch gradient descent, and the kernels that ran. */
export const summary = (): E.Either<string, { readonly accuracy: number; readonly backend: string }> => {
  const labelled = Data.fromLabelled(Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]]), [0, 1, 1, 0], 2)
  if (E.isLeft(labelled)) return E.left(labelled.left.message)
  const xor = labelled.right
  const step = Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer)
  const [result, trained] = Train.traverseSteps(step)(Array.from({ length: 500 }, () => xor))(Train.initialState(network, optimizer, 0))
  if (E.isLeft(result)) return E.left(result.left.message)
  const { error } = Train.evaluate(network, Loss.softmaxCrossEntropy, trained.params, trained.layerState, [xor])
  return E.right({ accuracy: 1 - error, backend: Tensor.backendName() })
}
