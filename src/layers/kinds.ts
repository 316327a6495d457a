/**
 * The kinds of layer nn-ts knows, in one table. A layer describes itself by its `node`
 * (`{ op, attrs, children }`); for each kind the table says what such a node carries (its attributes
 * and how many children) and how to build the layer back from it. `Kind` is the table's keys, so this
 * table *is* the list of kinds: the other concerns (the spec codec in `Spec`, the ONNX lowering in
 * `nn-ts/onnx`, the laws' arbitraries) each keep a `Record<Kind, …>` of their own, and the compiler
 * refuses any of them that misses a kind.
 *
 * Adding a kind means: its constructor (in its own module), a row here, and a row in each of those
 * tables.
 *
 * A custom layer (`Layers.elementwise`, or a hand-written `Layer`) has an op that is not a kind; it
 * works everywhere a layer works, but cannot be rebuilt from its node, written as a spec or exported.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import * as t from 'io-ts'
import { enumeration, finite, fraction, positive, positiveInt, unitInterval } from '../spec/codecs.ts'
import { type InitializerJson, initializer, initializerFromAttr, initializerOf, initializerToAttr } from '../spec/initializers.ts'
import { ShapeError } from '../tensor/Tensor.ts'
import { type GeluApproximation, elu, gelu, leakyRelu, linear, relu, sigmoid, softmax, softplus, tanh } from './activations.ts'
import { batchNorm } from './batchNorm.ts'
import { dense } from './dense.ts'
import { dropout } from './dropout.ts'
import { type AnyLayer, type Node, concat, residual, sequentialOf } from './Layer.ts'

// model

/** How many children a node of a kind has: a fixed number, or any number (a chain). */
type Arity = 'any' | 0 | 1 | 2

type ChildrenOf<C extends Arity> = C extends 0 ? readonly [] : C extends 1 ? readonly [AnyLayer] : C extends 2 ? readonly [AnyLayer, AnyLayer] : ReadonlyArray<AnyLayer>

/** Codecs of a node's attributes: each reads the attribute's value as the layer's constructor takes it. */
type AttrCodecs = { readonly [name: string]: t.Mixed }

type Decoded<A extends AttrCodecs> = { readonly [N in keyof A]: t.TypeOf<A[N]> }

/** One kind: its node's attributes (required and optional), its number of children, and its constructor. */
interface KindRow<A extends AttrCodecs, O extends AttrCodecs, C extends Arity> {
  readonly attrs: A
  readonly optional: O
  readonly children: C
  readonly layer: (attrs: Decoded<A> & Partial<Decoded<O>>, children: ChildrenOf<C>) => AnyLayer
}

/** A row, with the constructor's parameters typed from the row's own attributes and arity. */
const row = <A extends AttrCodecs, O extends AttrCodecs, C extends Arity>(r: KindRow<A, O, C>): KindRow<A, O, C> => r

const leaf = (layer: () => AnyLayer) => row({ attrs: {}, optional: {}, children: 0, layer })

const geluForm = enumeration<GeluApproximation>("'none' or 'tanh'", ['none', 'tanh'])

/** An initializer recorded in a dense node (by the spec builder): its name or JSON text. */
const initializerAttr = new t.Type<InitializerJson, unknown, unknown>(
  'an initializer (a name or JSON text)',
  (u): u is InitializerJson => initializer.is(u),
  (u, c) => E.fold((message: string) => t.failure<InitializerJson>(u, c, message), (v: InitializerJson) => t.success(v))(initializerFromAttr(u)),
  t.identity
)

/** A dense layer whose node also records its initializers, when it was given named ones. */
const denseOf = (attrs: { readonly in: number; readonly out: number; readonly weightInit?: InitializerJson; readonly biasInit?: InitializerJson }): AnyLayer => {
  const { weightInit, biasInit } = attrs
  const layer = dense(attrs.in, attrs.out, {
    ...(weightInit === undefined ? {} : { weightInit: initializerOf(weightInit) }),
    ...(biasInit === undefined ? {} : { biasInit: initializerOf(biasInit) })
  })
  if (weightInit === undefined && biasInit === undefined) return layer
  const recorded = {
    ...(weightInit === undefined ? {} : { weightInit: initializerToAttr(weightInit) }),
    ...(biasInit === undefined ? {} : { biasInit: initializerToAttr(biasInit) })
  }
  return { ...layer, node: { ...layer.node, attrs: { ...layer.node.attrs, ...recorded } } }
}

/**
 * Every kind of layer, with what its node carries and its constructor. The keys are the ops of the
 * nodes the library's constructors make.
 */
const table = {
  sequential: row({ attrs: {}, optional: {}, children: 'any', layer: (_, ls) => sequentialOf(ls) }),
  residual: row({ attrs: {}, optional: {}, children: 1, layer: (_, [f]) => residual(f) }),
  concat: row({ attrs: {}, optional: {}, children: 2, layer: (_, [f, g]) => concat(f, g) }),
  dense: row({
    attrs: { in: positiveInt, out: positiveInt },
    optional: { weightInit: initializerAttr, biasInit: initializerAttr },
    children: 0,
    layer: denseOf
  }),
  batchNorm: row({
    attrs: { features: positiveInt, keepRunning: unitInterval, eps: positive },
    optional: {},
    children: 0,
    layer: (a) => batchNorm(a.features, { keepRunning: a.keepRunning, eps: a.eps })
  }),
  dropout: row({ attrs: { rate: fraction }, optional: {}, children: 0, layer: (a) => dropout(a.rate) }),
  identity: leaf(linear),
  sigmoid: leaf(sigmoid),
  tanh: leaf(tanh),
  relu: leaf(relu),
  leakyRelu: row({ attrs: { alpha: finite }, optional: {}, children: 0, layer: (a) => leakyRelu(a.alpha) }),
  elu: row({ attrs: { alpha: finite }, optional: {}, children: 0, layer: (a) => elu(a.alpha) }),
  softplus: leaf(softplus),
  gelu: row({ attrs: { approximate: geluForm }, optional: {}, children: 0, layer: (a) => gelu({ approximate: a.approximate }) }),
  softmax: leaf(softmax)
}

/**
 * A kind of layer the library knows: the `op` of its node.
 * @since 0.2.0
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const kind: Layers.Kind = 'batchNorm'
 * Layers.kinds.includes(kind) // true
 * Layers.batchNorm(4).node.op // => kind
 */
export type Kind = keyof typeof table

/**
 * The attributes of a node of kind `K`, as its constructor takes them.
 * @since 0.2.0
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const attrs: Layers.KindAttrs<'dense'> = { in: 784, out: 40 }
 * Layers.dense(784, 40).node.attrs // => attrs
 */
export type KindAttrs<K extends Kind> = Decoded<(typeof table)[K]['attrs']> & Partial<Decoded<(typeof table)[K]['optional']>>

/**
 * A node of kind `K` whose attributes have been read: what a table row for `K` receives.
 * @since 0.2.0
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Layers } from 'nn-ts'
 * const node: Layers.KindNode<'gelu'> = { op: 'gelu', attrs: { approximate: 'none' }, children: [] }
 * Layers.readNode(Layers.gelu().node) // => E.right(node)
 */
export interface KindNode<K extends Kind> {
  readonly op: K
  readonly attrs: KindAttrs<K>
  readonly children: ReadonlyArray<Node>
}

/**
 * A node of any known kind; a `switch` on `op` narrows its attributes.
 * @since 0.2.0
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Layers } from 'nn-ts'
 * const width = (node: Layers.KnownNode): number | undefined => (node.op === 'dense' ? node.attrs.out : undefined)
 * const read = Layers.readNode(Layers.dense(784, 40).node)
 * if (E.isRight(read)) width(read.right) // 40
 */
export type KnownNode = { readonly [K in Kind]: KindNode<K> }[Kind]

/**
 * Why a node could not be read or built: its op is not a kind (`UnknownKind`, a custom layer), or it
 * is one but its attributes, children or widths do not fit (`InvalidNode`). `path` locates it, in the
 * form ONNX export errors use: `sequential[2] > residual > dense`.
 * @since 0.2.0
 * @category model
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { Layers } from 'nn-ts'
 * const detail = "layer op 'square' is not a kind of layer nn-ts knows"
 * const problem: Layers.NodeProblem = { _tag: 'UnknownKind', op: 'square', path: 'sequential[1] > square', detail, message: `sequential[1] > square: ${detail}` }
 * const square = Layers.elementwise('square', (x) => x * x, (x) => 2 * x)
 * const r = Layers.fromNode(Layers.sequential(Layers.dense(2, 2), square).node)
 * if (E.isLeft(r)) r.left // { _tag: 'UnknownKind', op: 'square', path: 'sequential[1] > square', detail: "layer op 'square' is not a kind of layer nn-ts knows (…)", message: … }
 */
export interface NodeProblem {
  readonly _tag: 'UnknownKind' | 'InvalidNode'
  readonly op: string
  readonly path: string
  /** What is wrong, without the path. */
  readonly detail: string
  /** `path: detail`. */
  readonly message: string
}

/** A row seen without its kind's types, for the walks below that check attributes at run time. */
type AnyRow = KindRow<AttrCodecs, AttrCodecs, Arity>
const rowOf = (kind: Kind): AnyRow => table[kind] as unknown as AnyRow

// constants

/**
 * Every kind, in the table's order (chains and graphs first, then layers with params, then activations).
 * @since 0.2.0
 * @category constants
 * @example
 * import { Layers } from 'nn-ts'
 * Layers.kinds.includes('dense') // true
 */
export const kinds: ReadonlyArray<Kind> = Object.keys(table) as Kind[]

// refinements

/**
 * Whether `op` names a kind of layer the library knows.
 * @since 0.2.0
 * @category refinements
 * @example
 * import { Layers } from 'nn-ts'
 * Layers.isKind('relu') // true
 * Layers.isKind('square') // false: a custom element-wise layer
 */
export const isKind = (op: string): op is Kind => Object.hasOwn(table, op)

/**
 * How many children a node of a kind has: `'any'` for a chain, else the number.
 * @since 0.2.0
 * @category utils
 * @example
 * import { Layers } from 'nn-ts'
 * Layers.arity('concat') // 2
 * Layers.arity('sequential') // 'any'
 */
export const arity = (kind: Kind): Arity => table[kind].children

// destructors

const describe = (u: unknown): string => (u === undefined ? 'nothing' : typeof u === 'string' ? JSON.stringify(u) : String(u))

/** Where a node sits, in the form ONNX export errors use: `sequential[2] > residual > dense`. */
const at = (prefix: string, op: string): string => (prefix === '' ? op : `${prefix} > ${op}`)

/** The prefix of a node's children: a chain's and a concat's are numbered, a residual's child is not. */
const childPrefix = (prefix: string, op: Kind, i: number): string => (op === 'residual' ? at(prefix, op) : at(prefix, `${op}[${i}]`))

const problem = (_tag: NodeProblem['_tag'], op: string, path: string, detail: string): NodeProblem => ({
  _tag,
  op,
  path,
  detail,
  message: `${path}: ${detail}`
})

/**
 * Reads a node as a node of a known kind: its op must be a kind, each attribute must be what the
 * kind's constructor takes, and it must have the kind's number of children. Unknown attributes are
 * ignored (a layer may record more than its kind needs). `prefix` is where the node sits, for messages.
 * @since 0.2.0
 * @category destructors
 * @example
 * import { Layers } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * Layers.readNode(Layers.dense(784, 40).node) // => E.right({ op: 'dense', attrs: { in: 784, out: 40 }, children: [] })
 * const r = Layers.readNode(Layers.gelu().node)
 * if (E.isRight(r) && r.right.op === 'gelu') r.right.attrs.approximate // 'none'
 * const bad = Layers.readNode({ op: 'gelu' })
 * if (E.isLeft(bad)) bad.left.message // 'gelu: attribute … found nothing'
 */
export const readNode = (node: Node, prefix = ''): E.Either<NodeProblem, KnownNode> => {
  const op = node.op
  const path = at(prefix, op)
  if (!isKind(op)) return E.left(problem('UnknownKind', op, path, `layer op '${op}' is not a kind of layer nn-ts knows (${kinds.join(', ')})`))
  const r = rowOf(op)
  const given = node.attrs ?? {}
  const attrs: Record<string, unknown> = {}
  const fields = [...Object.entries(r.attrs), ...Object.entries(r.optional).filter(([name]) => Object.hasOwn(given, name))]
  for (const [name, codec] of fields) {
    const v = Object.hasOwn(given, name) ? given[name] : undefined
    const decoded = codec.decode(v)
    if (E.isLeft(decoded)) return E.left(problem('InvalidNode', op, path, `attribute '${name}': expected ${codec.name}, found ${describe(v)}`))
    attrs[name] = decoded.right
  }
  const children = node.children ?? []
  if (r.children !== 'any' && children.length !== r.children) {
    return E.left(problem('InvalidNode', op, path, `expected ${r.children} ${r.children === 1 ? 'child' : 'children'}, found ${children.length}`))
  }
  return E.right({ op, attrs, children } as unknown as KnownNode)
}

/**
 * Builds a layer from its node: the same layer as the one that made the node, for every known kind
 * (a dense layer's initializers come back only when its node records them, as a spec-built one's
 * does; otherwise the defaults). A node whose op is not a kind, or that does not fit its kind, is a
 * `NodeProblem` naming where it sits.
 * @since 0.2.0
 * @category constructors
 * @example
 * import { Layers } from 'nn-ts'
 * import * as E from 'fp-ts/lib/Either.js'
 * const net = Layers.sequential(Layers.dense(4, 8), Layers.relu(), Layers.residual(Layers.dense(8, 8)))
 * const again = Layers.fromNode(net.node)
 * if (E.isRight(again)) again.right.name // 'sequential(dense(4→8), relu, residual(dense(8→8)))'
 */
export const fromNode = (node: Node, prefix = ''): E.Either<NodeProblem, AnyLayer> => {
  const read = readNode(node, prefix)
  if (E.isLeft(read)) return read
  const known = read.right
  const children: AnyLayer[] = []
  for (const [i, child] of known.children.entries()) {
    const built = fromNode(child, childPrefix(prefix, known.op, i))
    if (E.isLeft(built)) return built
    children.push(built.right)
  }
  const r = rowOf(known.op)
  try {
    return E.right(r.layer(known.attrs, children as never))
  } catch (e) {
    // Children whose widths do not fit their residual block or concat: the constructor says which.
    if (e instanceof ShapeError) return E.left(problem('InvalidNode', known.op, at(prefix, known.op), `${e.where}: expected ${e.expected}, found ${e.actual.join(', ')}`))
    throw e
  }
}
