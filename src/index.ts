/**
 * nn-ts: a functional neural-network library. Modules are re-exported as namespaces, fp-ts style.
 * This core entry needs only fp-ts and io-ts and runs in Node and in browsers; files, MNIST, progress
 * bars and the second kernel thread are in `nn-ts/node`, pictures in `nn-ts/viz`, ONNX in `nn-ts/onnx`.
 *
 * @example
 * import { Layers, Loss, Random, Tensor } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
 * const { params, state } = net.init(Random.key(0))
 * @since 0.1.0
 */
export * as Tensor from './tensor/index.ts'
export type { Kernels } from './tensor/kernels.ts'
export { kernels } from './tensor/backend.ts'
export * as Tree from './tree/Tree.ts'
export * as Random from './random/Key.ts'
export * as Init from './init/Initializer.ts'
export * as Layers from './layers/index.ts'
export * as Loss from './losses/Loss.ts'
export * as Optim from './optim/index.ts'
export * as Laws from './laws/index.ts'
export * as Data from './data/index.ts'
export * as Train from './train/index.ts'
export * as Models from './models/mlp.ts'
export * as Spec from './spec/index.ts'
export * as Checkpoint from './checkpoint/index.ts'
export * as Special from './math/index.ts'
export * as TensorFile from './tensorfile/index.ts'
export type { Failure } from './errors.ts'
