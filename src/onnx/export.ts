/**
 * Export a network to a standard ONNX model (`.onnx`, a serialized `ModelProto`) for inference in
 * onnxruntime, netron or any other ONNX consumer.
 *
 * The exporter reads the layer's structural `node` description together with its params and state,
 * so it sees exactly what `Layers.predict` computes in eval mode:
 *
 * | layer op                 | ONNX                                                       |
 * | ------------------------ | ---------------------------------------------------------- |
 * | `dense`                  | `Gemm` (`W` stays `[in, out]`, so `transB = 0`)            |
 * | `relu`, `sigmoid`, `tanh`| `Relu`, `Sigmoid`, `Tanh`                                  |
 * | `leakyRelu`, `elu`       | `LeakyRelu`, `Elu` (with `alpha`)                          |
 * | `softplus`, `softmax`    | `Softplus`, `Softmax(axis = 1)`                            |
 * | `gelu` (exact, `none`)   | `Gelu` from opset 20; before, `Mul`/`Erf`/`Add` primitives |
 * | `gelu` (`tanh` form)     | `Mul`/`Add`/`Tanh` primitives, in every opset              |
 * | `identity`, `dropout`    | `Identity` (dropout is the identity in eval mode)          |
 * | `batchNorm`              | `BatchNormalization` with the running statistics, `epsilon`|
 * | `residual`, `concat`     | `Add`, `Concat(axis = 1)`                                  |
 * | `sequential`             | its children, in order                                     |
 *
 * Any other op (a custom `Layers.elementwise`, say) is refused with an error naming the op and where it
 * sits in the network, rather than exporting a model that computes something else.
 *
 * Schema: field numbers and enums follow `onnx/onnx.proto` at IR version 7 (ONNX 1.8, the release that
 * introduced opset 13); only fields that exist unchanged in every later IR version are written, so the
 * `ir_version` stamped on the model is simply the one that goes with the requested opset. Weights are
 * always stored as float32 `raw_data` (little-endian), whatever the params' dtype.
 *
 * @since 0.1.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { type Kind, type KindNode, kinds, readNode } from '../layers/kinds.ts'
import type { Layer, Node, Width } from '../layers/Layer.ts'
import { type Tensor, showShape } from '../tensor/Tensor.ts'
import { type Tree, at, isTensor } from '../tree/Tree.ts'
import * as Pb from './protobuf.ts'

// model

/**
 * Options of `toOnnx`: names of the graph, its input and its output, and the opset.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Layers, Random } from 'nn-ts'
 * import { type OnnxOptions, toOnnx } from 'nn-ts/onnx'
 * const net = Layers.sequential(Layers.dense(4, 2), Layers.softmax())
 * const { params, state } = net.init(Random.key(0))
 * const options: OnnxOptions = { opset: 17, inputName: 'pixels', outputName: 'probabilities' }
 * E.isRight(toOnnx(net, params, state, options)) // true
 */
export interface OnnxOptions {
  /** Name of the graph input (default `input`). */
  readonly inputName?: string
  /** Name of the graph output (default `output`). */
  readonly outputName?: string
  /** ONNX opset of the default domain, 13 to 23 (default 13). */
  readonly opset?: number
  /** Name of the graph (default `nn-ts`). */
  readonly graphName?: string
}

/**
 * Why a network could not be exported. `path` locates the layer, e.g. `sequential[2] > residual`.
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Layers, Random } from 'nn-ts'
 * import { type OnnxExportError, toOnnx } from 'nn-ts/onnx'
 * const net = Layers.dense(4, 2)
 * const { params, state } = net.init(Random.key(0))
 * const r: E.Either<OnnxExportError, Uint8Array> = toOnnx(net, params, state, { opset: 9 })
 * if (E.isLeft(r)) r.left // { _tag: 'InvalidOptions', path: '', message: 'toOnnx: opset must be an integer from 13 to 23, got 9' }
 */
export interface OnnxExportError {
  readonly _tag: 'UnsupportedOp' | 'InvalidParams' | 'InvalidOptions'
  readonly path: string
  readonly message: string
}

/**
 * Opsets this exporter knows the IR version of.
 * @category constants
 * @example
 * import { supportedOpsets } from 'nn-ts/onnx'
 * supportedOpsets // { min: 13, max: 23 }
 */
export const supportedOpsets = { min: 13, max: 23 } as const

/**
 * The layer ops `toOnnx` can translate: every kind of layer (`Layers.kinds`), since the lowering has
 * a row for each.
 * @category constants
 * @example
 * import { supportedOps } from 'nn-ts/onnx'
 * supportedOps.includes('batchNorm') // true
 * supportedOps.includes('dropout') // true: exported as the identity (eval mode)
 */
export const supportedOps: ReadonlyArray<string> = kinds

// IR building (local to one export)

type Attribute =
  | { readonly name: string; readonly kind: 'float'; readonly value: number }
  | { readonly name: string; readonly kind: 'int'; readonly value: number }

interface GraphNode {
  readonly opType: string
  readonly name: string
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly attributes: ReadonlyArray<Attribute>
}

interface Initializer {
  readonly name: string
  readonly dims: ReadonlyArray<number>
  readonly values: ArrayLike<number>
}

/** Thrown inside one export and turned into a `Left` at its boundary; never escapes `toOnnx`. */
class Failure extends Error {
  constructor(readonly error: OnnxExportError) {
    super(error.message)
  }
}

const fail = (_tag: OnnxExportError['_tag'], path: string, message: string): never => {
  throw new Failure({ _tag, path, message: `toOnnx: ${path === '' ? '' : `${path}: `}${message}` })
}

/**
 * Collects nodes and initializers while the network is walked. It is created, filled and read inside a
 * single `toOnnx` call, so the mutation cannot be observed from outside.
 */
class GraphBuilder {
  readonly nodes: GraphNode[] = []
  readonly initializers: Initializer[] = []
  private readonly used = new Set<string>()
  private readonly constants = new Map<number, string>()
  private count = 0

  constructor(
    reserved: ReadonlyArray<string>,
    /** The opset of the default domain being written, for ops that exist only from some opset on. */
    readonly opset: number
  ) {
    for (const r of reserved) this.used.add(r)
  }

  /** A value or node name not used before (the input and output names are reserved). */
  fresh(prefix: string): string {
    let name: string
    do name = `${prefix}_${this.count++}`
    while (this.used.has(name))
    this.used.add(name)
    return name
  }

  node(opType: string, inputs: ReadonlyArray<string>, attributes: ReadonlyArray<Attribute> = []): string {
    const output = this.fresh(opType)
    this.nodes.push({ opType, name: `${output}_node`, inputs, outputs: [output], attributes })
    return output
  }

  tensor(path: string, t: Tensor): string {
    const name = this.used.has(path) ? this.fresh(path) : path
    this.used.add(name)
    this.initializers.push({ name, dims: t.shape, values: t.data })
    return name
  }

  /** A float32 scalar initializer, shared by every node that uses the same value. */
  scalar(value: number): string {
    const known = this.constants.get(value)
    if (known !== undefined) return known
    const name = this.fresh(`const_${value}`)
    this.constants.set(value, name)
    this.initializers.push({ name, dims: [], values: [value] })
    return name
  }
}

// walking the network

const childPath = (path: string, step: string): string => (path === '' ? step : `${path} > ${step}`)

const leaf = (tree: Tree, field: string, path: string, shape: ReadonlyArray<number>): Tensor => {
  const t = at(tree, [field])
  if (!isTensor(t)) return fail('InvalidParams', path, `expected a tensor '${field}' of shape ${showShape([...shape])}`)
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    return fail('InvalidParams', path, `'${field}' has shape ${showShape(t.shape)}, expected ${showShape([...shape])}`)
  }
  return t
}

const tuple = (tree: Tree, length: number, what: string, path: string): ReadonlyArray<Tree> => {
  if (!Array.isArray(tree) || tree.length !== length) return fail('InvalidParams', path, `expected ${what} to be a tuple of ${length}`)
  return tree as ReadonlyArray<Tree>
}

const GELU_C = Math.sqrt(2 / Math.PI)
/** The first opset with a `Gelu` operator. */
const GELU_OPSET = 20

/** Where a node sits: its params and state, the value it reads, and its paths for messages and names. */
interface Site {
  readonly params: Tree
  readonly state: Tree
  /** The name of the value the node reads. */
  readonly x: string
  /** The path of the node's parent, e.g. `sequential[2]`; children's positions are appended to it. */
  readonly parent: string
  /** The node's own path, e.g. `sequential[2] > residual`. */
  readonly here: string
  /** Where its params sit in the params tree, e.g. `[2][0]` (names its initializers). */
  readonly paramPath: string
}

/** How one kind becomes ONNX nodes: emits them into `g` and returns the name of the result. */
type Lowering<K extends Kind> = (g: GraphBuilder, node: KindNode<K>, site: Site) => string

/** Lowers a child node: graph kinds call it for their children. */
const child = (g: GraphBuilder, node: Node, params: Tree, state: Tree, x: string, parent: string, paramPath: string): string =>
  emit(g, node, { params, state, x, parent, here: childPath(parent, node.op), paramPath })

/** `y = x·W + b`: W is stored [in, out], the library's convention, so Gemm needs no transposes. */
const gemm: ReadonlyArray<Attribute> = [
  { name: 'alpha', kind: 'float', value: 1 },
  { name: 'beta', kind: 'float', value: 1 },
  { name: 'transA', kind: 'int', value: 0 },
  { name: 'transB', kind: 'int', value: 0 }
]

/** One row per kind of layer: the compiler refuses a table that misses one. */
const lowerings: { readonly [K in Kind]: Lowering<K> } = {
  sequential: (g, node, { params, state, x, parent, here, paramPath }) => {
    const ps = tuple(params, node.children.length, 'params', here)
    const ss = tuple(state, node.children.length, 'state', here)
    return node.children.reduce((h, c, i) => child(g, c, ps[i] as Tree, ss[i] as Tree, h, childPath(parent, `sequential[${i}]`), `${paramPath}[${i}]`), x)
  },
  residual: (g, node, { params, state, x, here, paramPath }) => g.node('Add', [x, child(g, node.children[0] as Node, params, state, x, here, paramPath)]),
  concat: (g, node, { params, state, x, parent, here, paramPath }) => {
    const ps = tuple(params, 2, 'params', here)
    const ss = tuple(state, 2, 'state', here)
    const branches = node.children.map((c, i) => child(g, c, ps[i] as Tree, ss[i] as Tree, x, childPath(parent, `concat[${i}]`), `${paramPath}[${i}]`))
    return g.node('Concat', branches, [{ name: 'axis', kind: 'int', value: 1 }])
  },
  dense: (g, { attrs }, { params, x, here, paramPath }) => {
    const W = g.tensor(`params${paramPath}.W`, leaf(params, 'W', here, [attrs.in, attrs.out]))
    const b = g.tensor(`params${paramPath}.b`, leaf(params, 'b', here, [attrs.out]))
    return g.node('Gemm', [x, W, b], gemm)
  },
  batchNorm: (g, { attrs }, { params, state, x, here, paramPath }) => {
    const n = attrs.features
    const gamma = g.tensor(`params${paramPath}.gamma`, leaf(params, 'gamma', here, [n]))
    const beta = g.tensor(`params${paramPath}.beta`, leaf(params, 'beta', here, [n]))
    const mean = g.tensor(`state${paramPath}.runningMean`, leaf(state, 'runningMean', here, [n]))
    const variance = g.tensor(`state${paramPath}.runningVar`, leaf(state, 'runningVar', here, [n]))
    // ONNX's momentum is the weight of the old running value, the same quantity as keepRunning. It
    // only matters for training; inference uses the running statistics as given.
    return g.node('BatchNormalization', [x, gamma, beta, mean, variance], [
      { name: 'epsilon', kind: 'float', value: attrs.eps },
      { name: 'momentum', kind: 'float', value: attrs.keepRunning }
    ])
  },
  // An exported model computes eval mode, where dropout is the identity.
  dropout: (g, _, { x }) => g.node('Identity', [x]),
  identity: (g, _, { x }) => g.node('Identity', [x]),
  sigmoid: (g, _, { x }) => g.node('Sigmoid', [x]),
  tanh: (g, _, { x }) => g.node('Tanh', [x]),
  relu: (g, _, { x }) => g.node('Relu', [x]),
  leakyRelu: (g, { attrs }, { x }) => g.node('LeakyRelu', [x], [{ name: 'alpha', kind: 'float', value: attrs.alpha }]),
  elu: (g, { attrs }, { x }) => g.node('Elu', [x], [{ name: 'alpha', kind: 'float', value: attrs.alpha }]),
  softplus: (g, _, { x }) => g.node('Softplus', [x]),
  gelu: (g, { attrs }, { x }) => {
    if (attrs.approximate === 'none') {
      // The exact x·Φ(x). Opset 20 has it as Gelu (whose approximate attribute defaults to "none");
      // before, it is ½·x·(1 + Erf(x/√2)) from primitives (Erf exists since opset 9).
      if (g.opset >= GELU_OPSET) return g.node('Gelu', [x])
      const onePlusErf = g.node('Add', [g.node('Erf', [g.node('Mul', [x, g.scalar(Math.SQRT1_2)])]), g.scalar(1)])
      return g.node('Mul', [g.node('Mul', [x, g.scalar(0.5)]), onePlusErf])
    }
    // ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), from primitives in every opset: the same formula as
    // Layers.gelu({ approximate: 'tanh' }) (opset 20's Gelu with approximate = "tanh" would do too).
    const x3 = g.node('Mul', [g.node('Mul', [x, x]), x])
    const inner = g.node('Mul', [g.node('Add', [x, g.node('Mul', [x3, g.scalar(0.044715)])]), g.scalar(GELU_C)])
    const onePlusTanh = g.node('Add', [g.node('Tanh', [inner]), g.scalar(1)])
    return g.node('Mul', [g.node('Mul', [x, g.scalar(0.5)]), onePlusTanh])
  },
  // Opset 13 changed Softmax to a single axis; rows are samples, so normalize along features.
  softmax: (g, _, { x }) => g.node('Softmax', [x], [{ name: 'axis', kind: 'int', value: 1 }])
}

/**
 * Emits the nodes computing `node` at `site`; returns the name of the result. A node whose op is not
 * a kind (a custom layer) is refused, as is one whose attributes do not fit its kind (a gelu node
 * that does not say its form), rather than exporting a model that computes something else.
 */
const emit = (g: GraphBuilder, node: Node, site: Site): string => {
  const read = readNode(node, site.parent)
  if (E.isLeft(read)) {
    return read.left._tag === 'UnknownKind'
      ? fail('UnsupportedOp', site.here, `layer op '${node.op}' has no ONNX translation (supported: ${supportedOps.join(', ')})`)
      : fail('InvalidParams', site.here, read.left.detail)
  }
  return (lowerings[read.right.op] as Lowering<Kind>)(g, read.right as KindNode<Kind>, site)
}

// encoding (field numbers of onnx.proto, IR version 7)

const FLOAT = 1 // TensorProto.DataType.FLOAT
const ATTR_FLOAT = 1 // AttributeProto.AttributeType.FLOAT
const ATTR_INT = 2 // AttributeProto.AttributeType.INT

/** The IR version released together with an opset (docs/Versioning.md of onnx). */
const irVersionFor = (opset: number): number => (opset <= 14 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : opset <= 22 ? 10 : 11)

const encodeAttribute = (a: Attribute): Pb.Bytes =>
  Pb.message(5, [
    Pb.string(1, a.name),
    a.kind === 'float' ? Pb.float32(2, a.value) : Pb.int(3, a.value),
    Pb.int(20, a.kind === 'float' ? ATTR_FLOAT : ATTR_INT)
  ])

const encodeNode = (n: GraphNode): Pb.Bytes =>
  Pb.message(1, [
    ...n.inputs.map((i) => Pb.string(1, i)),
    ...n.outputs.map((o) => Pb.string(2, o)),
    Pb.string(3, n.name),
    Pb.string(4, n.opType),
    ...n.attributes.map(encodeAttribute)
  ])

const encodeInitializer = (t: Initializer): Pb.Bytes =>
  Pb.message(5, [...t.dims.map((d) => Pb.int(1, d)), Pb.int(2, FLOAT), Pb.string(8, t.name), Pb.bytes(9, Pb.float32LE(t.values))])

/** A float32 `ValueInfoProto` whose dimensions are numbers (fixed) or strings (symbolic). */
const encodeValueInfo = (field: number, name: string, dims: ReadonlyArray<number | string>): Pb.Bytes =>
  Pb.message(field, [
    Pb.string(1, name),
    Pb.message(2, [
      Pb.message(1, [Pb.int(1, FLOAT), Pb.message(2, dims.map((d) => Pb.message(1, [typeof d === 'number' ? Pb.int(1, d) : Pb.string(2, d)])))])
    ])
  ])

const widthDim = (w: Width, symbol: string): number | string => (typeof w === 'number' && Number.isInteger(w) && w > 0 ? w : symbol)

// export

/**
 * Serializes a network with its params and (eval-mode) state as an ONNX `ModelProto`. The input is
 * float32 `[batch, inWidth]` with a symbolic batch dimension named `batch`.
 *
 * @category exporters
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Layers, Random } from 'nn-ts'
 * import { toOnnx } from 'nn-ts/onnx'
 * const net = Layers.sequential(Layers.dense(784, 40), Layers.relu(), Layers.dense(40, 10), Layers.softmax())
 * const { params, state } = net.init(Random.key(0))
 * const model = toOnnx(net, params, state) // Either<OnnxExportError, Uint8Array>: the bytes of a .onnx file
 * if (E.isRight(model)) model.right.length > 4 * (784 * 40 + 40 + 40 * 10 + 10) // true: every weight as a float32
 */
export const toOnnx = <P extends Tree, S extends Tree>(
  network: Layer<P, S, Width, Width>,
  params: P,
  state: S,
  options: OnnxOptions = {}
): E.Either<OnnxExportError, Uint8Array> => {
  const inputName = options.inputName ?? 'input'
  const outputName = options.outputName ?? 'output'
  const opset = options.opset ?? 13
  if (!Number.isInteger(opset) || opset < supportedOpsets.min || opset > supportedOpsets.max) {
    return E.left({ _tag: 'InvalidOptions', path: '', message: `toOnnx: opset must be an integer from ${supportedOpsets.min} to ${supportedOpsets.max}, got ${opset}` })
  }
  if (inputName === '' || outputName === '' || inputName === outputName) {
    return E.left({ _tag: 'InvalidOptions', path: '', message: `toOnnx: input and output names must be distinct and non-empty, got '${inputName}' and '${outputName}'` })
  }
  try {
    const g = new GraphBuilder([inputName, outputName], opset)
    const last = emit(g, network.node, { params, state, x: inputName, parent: '', here: network.node.op, paramPath: '' })
    // Name the final value as the caller asked: rename the node that produces it, or, when the
    // network is empty (the input is the output), add an Identity.
    const nodes =
      last === inputName
        ? [...g.nodes, { opType: 'Identity', name: 'output_node', inputs: [inputName], outputs: [outputName], attributes: [] }]
        : g.nodes.map((n) => ({
            ...n,
            inputs: n.inputs.map((v) => (v === last ? outputName : v)),
            outputs: n.outputs.map((v) => (v === last ? outputName : v))
          }))
    const graph = Pb.message(7, [
      ...nodes.map(encodeNode),
      Pb.string(2, options.graphName ?? 'nn-ts'),
      ...g.initializers.map(encodeInitializer),
      encodeValueInfo(11, inputName, ['batch', widthDim(network.inWidth, 'features')]),
      encodeValueInfo(12, outputName, ['batch', widthDim(network.outWidth, 'outputs')])
    ])
    return E.right(
      Pb.concat([
        Pb.int(1, irVersionFor(opset)),
        Pb.string(2, 'nn-ts'),
        Pb.string(3, '0.1.0'),
        graph,
        Pb.message(8, [Pb.string(1, ''), Pb.int(2, opset)])
      ])
    )
  } catch (e) {
    if (e instanceof Failure) return E.left(e.error)
    throw e
  }
}
