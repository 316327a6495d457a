/**
 * The HW1 `MLP` constructor as a function returning values: a network, a loss and an optimizer.
 *
 * Layer order per hidden layer is Linear → BatchNorm (for the first `numBatchNorm` linear layers) →
 * Activation, as in HW1 §3.5.2.
 *
 * @since 0.1.0
 */
import type { Initializer } from '../init/Initializer.ts'
import type { Activation } from '../layers/activations.ts'
import { batchNorm } from '../layers/batchNorm.ts'
import { dense } from '../layers/dense.ts'
import { type AnyLayer, type Layer, sequential } from '../layers/Layer.ts'
import type { Loss } from '../losses/Loss.ts'
import { softmaxCrossEntropy } from '../losses/Loss.ts'
import { momentum, sgd } from '../optim/alias.ts'
import type { GradientTransformation, OptState } from '../optim/Transform.ts'
import type { Tree } from '../tree/Tree.ts'

/** @category model */
export interface MlpOptions {
  readonly inputSize: number
  readonly outputSize: number
  /** Units per hidden layer, e.g. `[40, 30, 20]`. */
  readonly hiddens: ReadonlyArray<number>
  /** One activation per linear layer (`hiddens.length + 1`), the last usually `Layers.linear()`. */
  readonly activations: ReadonlyArray<Activation>
  readonly weightInit?: Initializer
  readonly biasInit?: Initializer
  /** Default: softmax cross-entropy on logits. */
  readonly criterion?: Loss
  readonly learningRate: number
  /** HW1's classical momentum `v ← βv − η∇; W ← W + v` (default 0: plain SGD). */
  readonly momentum?: number
  /** How many of the first linear layers are followed by BatchNorm (default 0). */
  readonly numBatchNorm?: number
}

/** @category model */
export interface Mlp {
  readonly network: Layer<ReadonlyArray<Tree>, ReadonlyArray<Tree>, number, number>
  readonly loss: Loss
  readonly optimizer: GradientTransformation<OptState>
}

/**
 * Builds an MLP the way HW1's constructor does, validating the arguments.
 * @category constructors
 * @example
 * import { Init, Layers, Models } from 'nn-ts'
 * const { network, loss, optimizer } = Models.mlp({
 *   inputSize: 784, outputSize: 10, hiddens: [64, 64, 32],
 *   activations: [Layers.sigmoid(), Layers.sigmoid(), Layers.sigmoid(), Layers.linear()],
 *   weightInit: Init.glorotUniform, biasInit: Init.zeros, learningRate: 0.008, momentum: 0.9, numBatchNorm: 0
 * })
 */
export const mlp = (options: MlpOptions): Mlp => {
  const { inputSize, outputSize, hiddens, activations } = options
  const numBatchNorm = options.numBatchNorm ?? 0
  const sizes = [inputSize, ...hiddens, outputSize]
  sizes.forEach((n, i) => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`mlp: layer size ${i} must be a positive integer, got ${n}`)
  })
  if (activations.length !== hiddens.length + 1) {
    throw new RangeError(`mlp: need ${hiddens.length + 1} activations (one per linear layer), got ${activations.length}`)
  }
  if (!Number.isInteger(numBatchNorm) || numBatchNorm < 0 || numBatchNorm > hiddens.length + 1) {
    throw new RangeError(`mlp: numBatchNorm must be an integer in [0, ${hiddens.length + 1}], got ${numBatchNorm}`)
  }
  if (!(options.learningRate >= 0)) throw new RangeError(`mlp: learningRate must be ≥ 0, got ${options.learningRate}`)
  const beta = options.momentum ?? 0
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`mlp: momentum must be in [0, 1), got ${beta}`)
  const layers: AnyLayer[] = []
  for (let i = 0; i + 1 < sizes.length; i++) {
    const out = sizes[i + 1] as number
    layers.push(dense(sizes[i] as number, out, { weightInit: options.weightInit, biasInit: options.biasInit }))
    if (i < numBatchNorm) layers.push(batchNorm(out))
    layers.push(activations[i] as Activation)
  }
  return {
    network: sequential(...layers) as unknown as Mlp['network'],
    loss: options.criterion ?? softmaxCrossEntropy,
    optimizer: (beta === 0 ? sgd(options.learningRate) : momentum(options.learningRate, beta)) as unknown as GradientTransformation<OptState>
  }
}
