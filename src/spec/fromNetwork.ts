/**
 * From a network back to its spec: the inverse of `Spec.network` on every network a spec can describe.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import type { AnyLayer } from '../layers/Layer.ts'
import { type SpecError, type SpecIssue, specError } from './errors.ts'
import { chainToNode, writeChain } from './layers.ts'
import { type DataSpec, type NetworkSpec, type OptimizerSpec, type Spec, decode, decodeNetwork } from './Spec.ts'

// model

/**
 * What a spec says besides the network, for `fromNetwork`: a name, a description, and the input width
 * when the network does not fix it (a chain that starts with element-wise layers only).
 * @since 0.2.0
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Layers, Spec } from 'nn-ts'
 * const extras: Spec.NetworkExtras = { name: 'digits', description: 'the MLP of examples/mnist.ts' }
 * const spec = Spec.fromNetwork(Layers.sequential(Layers.dense(784, 10)), extras)
 * if (E.isRight(spec)) spec.right.name // 'digits'
 */
export interface NetworkExtras {
  readonly input?: number
  readonly name?: string
  readonly description?: string
}

/**
 * `NetworkExtras` with what training needs, so `fromNetwork` writes a full `Spec` that `decode` and
 * `build` take.
 * @since 0.2.0
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Layers, Spec } from 'nn-ts'
 * const extras: Spec.TrainingExtras = {
 *   loss: 'softmaxCrossEntropy',
 *   optimizer: { type: 'adam', learningRate: 2e-3, schedule: { type: 'cosine', alpha: 0.02 } },
 *   training: { epochs: 15, batchSize: 100, seed: 0, validationSize: 5000 },
 *   data: { type: 'mnist' }
 * }
 * const spec = Spec.fromNetwork(Layers.sequential(Layers.dense(784, 10)), extras) // a full spec: decode and build take it
 * if (E.isRight(spec)) Spec.build(spec.right).training.validationSize // 5000
 */
export interface TrainingExtras extends NetworkExtras {
  readonly loss: Spec['loss']
  readonly optimizer: OptimizerSpec
  readonly training: Spec['training']
  readonly data?: DataSpec
}

// constructors

const inputIssue = (network: AnyLayer, given: number | undefined): ReadonlyArray<SpecIssue> | number => {
  const own = network.inWidth as unknown
  const known = typeof own === 'number' && Number.isFinite(own) ? own : undefined
  if (known !== undefined && given !== undefined && given !== known) {
    return [{ path: 'input', expected: `${known} (the input width of ${network.name})`, found: String(given) }]
  }
  const input = known ?? given
  if (input === undefined) {
    return [{ path: 'input', expected: 'an input width: the network does not fix one, so give it as extras.input', found: `${network.name}, which takes any width` }]
  }
  return input
}

const write = (network: AnyLayer, extras: NetworkExtras): E.Either<SpecError, Record<string, unknown>> => {
  const root = network.node
  if (root.op !== 'sequential') {
    return E.left(
      specError([{ path: 'layers', expected: 'a Layers.sequential network (Spec.network always builds one: wrap the layer in Layers.sequential)', found: network.name }])
    )
  }
  const layers = writeChain(root.children ?? [], 'layers')
  const input = inputIssue(network, extras.input)
  const issues = [...(E.isLeft(layers) ? layers.left : []), ...(typeof input === 'number' ? [] : input)]
  if (issues.length > 0 || E.isLeft(layers) || typeof input !== 'number') return E.left(specError(issues))
  const { input: _given, ...rest } = extras
  return E.right({ ...rest, input, layers: layers.right })
}

/** The written spec with its output width, which the layers determine. */
const withOutput = <A extends NetworkSpec>(spec: A): A => ({ ...spec, output: chainToNode(spec.layers, { path: 'layers', width: spec.input, from: 'input' }).width })

/**
 * Writes a network as a spec: every layer with everything its node knows (a dense layer's `in` and
 * `units`, a BatchNorm layer's `features`, `keepRunning` and `eps`, each activation's parameters, a
 * gelu layer's form), the input and output widths, and whatever `extras` add. With `TrainingExtras`
 * (loss, optimizer, training settings) the result is a full `Spec`; without, a `NetworkSpec` for
 * `decodeNetwork`, enough to rebuild the network from a checkpoint.
 *
 * `Spec.network` of the result is the same network: the same structure and names, the same parameter
 * tree (same paths and shapes), the same outputs for the same params and state. A dense layer's
 * initializers are written when its node records them (a layer built from a spec does); one built by
 * hand with `Layers.dense` does not say how it was initialized, so its spec gets the defaults —
 * which only matters before training.
 *
 * The result is decoded before it is returned, so it is a spec `decode` accepts. A network a spec
 * cannot describe is a `SpecError` whose issues name where, as JSON paths of the spec being written: a
 * root that is not `Layers.sequential`, a custom layer (`Layers.elementwise`, a hand-written `Layer`),
 * an empty chain, a parameter outside what specs accept (e.g. `elu` with α ≤ 0).
 * @since 0.2.0
 * @category constructors
 * @example
 * import { Layers, Spec } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * const net = Layers.sequential(Layers.dense(4, 8), Layers.relu(), Layers.residual(Layers.dense(8, 8)), Layers.dense(8, 2))
 * const spec = Spec.fromNetwork(net)
 * const layers = [
 *   { type: 'dense', units: 8, in: 4 }, { type: 'relu' },
 *   { type: 'residual', layer: { type: 'dense', units: 8, in: 8 } }, { type: 'dense', units: 2, in: 8 }
 * ]
 * spec // => E.right({ input: 4, layers, output: 2 })
 * if (E.isRight(spec)) Spec.network(spec.right).name === net.name // true
 * const full = Spec.fromNetwork(net, { loss: 'softmaxCrossEntropy', optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 1, batchSize: 2 } })
 * if (E.isRight(full)) Spec.build(full.right).training.epochs // 1
 */
export const fromNetwork: {
  (network: AnyLayer, extras: TrainingExtras): E.Either<SpecError, Spec>
  (network: AnyLayer, extras?: NetworkExtras): E.Either<SpecError, NetworkSpec>
} = (network: AnyLayer, extras: NetworkExtras = {}): E.Either<SpecError, never> =>
  pipe(
    write(network, extras),
    E.chain((json) => ('loss' in extras || 'optimizer' in extras || 'training' in extras ? decode(json) : decodeNetwork(json))),
    E.map(withOutput)
  ) as E.Either<SpecError, never>
