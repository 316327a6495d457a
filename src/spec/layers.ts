/**
 * The layers of a spec, one row per kind of layer: the JSON codec of the kind, how a decoded layer
 * becomes a node (given the width it receives, with the width checks `decode` reports), and how a
 * node is written back as JSON. `Layers.fromNode` builds the layers from the nodes, so the spec and
 * the layers share one description, and `Spec.network ∘ Spec.fromNetwork` keeps a network's structure.
 *
 * Lists of layers: the spec's `layers`, a residual block's `layers`, a `sequential` layer's `layers` and
 * a concat branch written as an array are `sequential` chains; a residual block's `layer` and a concat
 * branch written as an object are that one layer.
 *
 * @internal
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import * as t from 'io-ts'
import { type GeluApproximation, elu, gelu, leakyRelu, linear, relu, sigmoid, softmax, softplus, tanh } from '../layers/activations.ts'
import { batchNorm } from '../layers/batchNorm.ts'
import { dense } from '../layers/dense.ts'
import { dropout } from '../layers/dropout.ts'
import type { Node } from '../layers/Layer.ts'
import { type Kind, type KindNode, kinds, readNode } from '../layers/kinds.ts'
import { closed, enumeration, finite, fraction, oneOf, positive, positiveInt, tagged, unitInterval } from './codecs.ts'
import { type SpecIssue, describeValue } from './errors.ts'
import { initializer, initializerProblem, initializerToAttr } from './initializers.ts'
import type { BranchSpec, InitializerSpec, LayerSpec, LayerSpecs } from './Spec.ts'

// model

/** Where a layer sits in the spec and what it receives: its JSON path, the width, and where that width comes from. @internal */
export interface Place {
  readonly path: string
  readonly width: number
  /** In words, for messages: `input`, `layers[0], dense with 8 units`. */
  readonly from: string
}

/** A layer turned into a node: the node, the width it outputs and where that comes from, and the problems found on the way. @internal */
export interface Placed {
  readonly node: Node
  readonly width: number
  readonly from: string
  readonly issues: ReadonlyArray<SpecIssue>
}

type Written<A> = E.Either<ReadonlyArray<SpecIssue>, A>

/** The codecs of lists and branches, for the rows of the graph kinds. */
interface SubCodecs {
  readonly layer: t.Type<LayerSpec, unknown, unknown>
  readonly chain: t.Type<ReadonlyArray<LayerSpec>, unknown, unknown>
  readonly branch: t.Type<BranchSpec, unknown, unknown>
}

/** How a row reads its kind: the JSON `type`s, its codec, and the conversions to and from its node. */
interface SpecRow<K extends Kind> {
  /** The `type` a spec writes the kind with, then any aliases (`linear` for `identity`). */
  readonly types: readonly [LayerSpecs[K]['type'], ...ReadonlyArray<LayerSpecs[K]['type']>]
  /** How the message for an unknown `type` groups it. */
  readonly role: 'graph' | 'layer' | 'activation'
  readonly codec: (sub: SubCodecs) => t.Type<LayerSpecs[K], unknown, unknown>
  readonly toNode: (spec: LayerSpecs[K], at: Place) => Placed
  readonly fromNode: (node: KindNode<K>, path: string) => Written<LayerSpecs[K]>
}

// rows

const issue = (path: string, expected: string, found: string): SpecIssue => ({ path, expected, found })

/** A layer that keeps the width it receives. */
const sameWidth = (node: Node, at: Place, issues: ReadonlyArray<SpecIssue> = []): Placed => ({ node, width: at.width, from: at.from, issues })

/** A declared width (`in`, `features`) against the width the layer receives. */
const declared = (at: Place, field: string, value: number | undefined): SpecIssue[] =>
  value === undefined || value === at.width ? [] : [issue(`${at.path}.${field}`, `${at.width} (the width of ${at.from})`, describeValue(value))]

const initIssues = (path: string, init: InitializerSpec | undefined): SpecIssue[] => {
  const p = init === undefined ? undefined : initializerProblem(init)
  return p === undefined ? [] : [issue(`${path}.${p[0]}`, p[1], describeValue(p[2]))]
}

const plain = <const N extends 'sigmoid' | 'tanh' | 'relu' | 'softplus' | 'softmax'>(type: N, make: () => { readonly node: Node }): SpecRow<N> => ({
  types: [type] as unknown as SpecRow<N>['types'],
  role: 'activation',
  codec: () => closed(`a ${type} layer`, { type: t.literal(type) }, {}) as unknown as t.Type<LayerSpecs[N], unknown, unknown>,
  toNode: (_, at) => sameWidth(make().node, at),
  fromNode: () => E.right({ type } as LayerSpecs[N])
})

/** Exactly one of a residual block's `layers` (a chain) and `layer` (one layer). */
const residualCodec = (sub: SubCodecs): t.Type<LayerSpecs['residual'], unknown, unknown> => {
  const fields = closed('a residual block', { type: t.literal('residual') }, { layers: sub.chain, layer: sub.layer })
  const oneOfTheTwo = (r: object): boolean => 'layers' in r !== 'layer' in r
  return new t.Type<LayerSpecs['residual'], unknown, unknown>(
    'a residual block',
    (u): u is LayerSpecs['residual'] => fields.is(u) && oneOfTheTwo(u),
    (u, c) =>
      pipe(
        fields.validate(u, c),
        E.chain((r) => {
          if (oneOfTheTwo(r)) return t.success(r as LayerSpecs['residual'])
          const both = 'layers' in r
          return t.failure(
            both ? r.layer : undefined,
            t.appendContext(c, both ? 'layer' : 'layers', sub.layer, both ? r.layer : undefined),
            both
              ? 'nothing here: a residual block takes "layers" (a chain) or "layer" (one layer), not both'
              : 'the layers of the block: "layers" (a non-empty array of layers) or "layer" (one layer)'
          )
        })
      ),
    t.identity
  )
}

/** A concat's `branches`: exactly two, each a layer or a chain. */
const branchPair = (sub: SubCodecs): t.Type<readonly [BranchSpec, BranchSpec], unknown, unknown> =>
  new t.Type<readonly [BranchSpec, BranchSpec], unknown, unknown>(
    'two branches',
    (u): u is readonly [BranchSpec, BranchSpec] => Array.isArray(u) && u.length === 2 && u.every(sub.branch.is),
    (u, c) => {
      if (!Array.isArray(u) || u.length !== 2) {
        return t.failure(u, c, 'two branches, each a layer or a non-empty array of layers (concat joins two: nest a concat in a branch for more)')
      }
      const errors: t.ValidationError[] = []
      u.forEach((b, i) => {
        const r = sub.branch.validate(b, t.appendContext(c, String(i), sub.branch, b))
        if (E.isLeft(r)) for (const e of r.left) errors.push(e)
      })
      return errors.length === 0 ? t.success(u as unknown as readonly [BranchSpec, BranchSpec]) : t.failures(errors)
    },
    t.identity
  )

/** The forms a gelu layer's `approximate` names (PyTorch's names). @internal */
export const geluForms: ReadonlyArray<GeluApproximation> = ['none', 'tanh']

/** A gelu layer as written: `approximate` may be missing (a spec from before the field existed). */
const geluAsWritten = closed('a gelu layer', { type: t.literal('gelu') }, { approximate: enumeration('a GELU form', geluForms) })

/**
 * What a `gelu` layer without `approximate` means: `'tanh'`, the only form before the field existed.
 * @internal
 */
export const legacyGelu = 'tanh' as const

/** Decodes a missing `approximate` as the legacy tanh form, so a decoded (and re-written) spec says it. */
const geluCodec = new t.Type<LayerSpecs['gelu'], unknown, unknown>(
  'a gelu layer',
  (u): u is LayerSpecs['gelu'] => geluAsWritten.is(u) && u.approximate !== undefined,
  (u, c) => pipe(geluAsWritten.validate(u, c), E.map((l): LayerSpecs['gelu'] => ({ type: 'gelu', approximate: l.approximate ?? legacyGelu }))),
  t.identity
)

/**
 * One row per kind: the compiler refuses a table that misses one.
 * @internal
 */
export const specRows: { readonly [K in Kind]: SpecRow<K> } = {
  sequential: {
    types: ['sequential'],
    role: 'graph',
    codec: (sub) => closed('a sequential chain', { type: t.literal('sequential'), layers: sub.chain }, {}),
    toNode: (spec, at) => chainToNode(spec.layers, { ...at, path: `${at.path}.layers` }),
    fromNode: (node, path) => E.map((layers: ReadonlyArray<LayerSpec>) => ({ type: 'sequential' as const, layers }))(writeChain(node.children, `${path}.layers`))
  },
  residual: {
    types: ['residual'],
    role: 'graph',
    codec: residualCodec,
    toNode: (spec, at) => {
      const field = 'layers' in spec ? 'layers' : 'layer'
      const inner = 'layers' in spec ? chainToNode(spec.layers, { ...at, path: `${at.path}.layers` }) : layerToNode(spec.layer, { ...at, path: `${at.path}.layer` })
      const fits =
        inner.width === at.width
          ? []
          : [issue(`${at.path}.${field}`, `layers that output ${at.width} features (the width of ${at.from}), which the block adds to their output`, `${inner.width} features (the width of ${inner.from})`)]
      return { node: { op: 'residual', children: [inner.node] }, width: at.width, from: `${at.path}, a residual block`, issues: [...inner.issues, ...fits] }
    },
    fromNode: (node, path) => {
      const child = node.children[0] as Node
      return child.op === 'sequential' && (child.children ?? []).length > 0
        ? E.map((layers: ReadonlyArray<LayerSpec>) => ({ type: 'residual' as const, layers }))(writeChain(child.children ?? [], `${path}.layers`))
        : E.map((layer: LayerSpec) => ({ type: 'residual' as const, layer }))(writeLayer(child, `${path}.layer`))
    }
  },
  concat: {
    types: ['concat'],
    role: 'graph',
    codec: (sub) => closed('a concat', { type: t.literal('concat'), branches: branchPair(sub) }, {}),
    toNode: (spec, at) => {
      const [a, b] = spec.branches.map((branch, i) => branchToNode(branch, { ...at, path: `${at.path}.branches[${i}]` })) as [Placed, Placed]
      return {
        node: { op: 'concat', children: [a.node, b.node] },
        width: a.width + b.width,
        from: `${at.path}, a concat of ${a.width} + ${b.width} features`,
        issues: [...a.issues, ...b.issues]
      }
    },
    fromNode: (node, path) =>
      pipe(
        collect(node.children.map((child, i) => writeBranch(child, `${path}.branches[${i}]`))),
        E.map((branches) => ({ type: 'concat' as const, branches: branches as unknown as readonly [BranchSpec, BranchSpec] }))
      )
  },
  dense: {
    types: ['dense'],
    role: 'layer',
    codec: () => closed('a dense layer', { type: t.literal('dense'), units: positiveInt }, { in: positiveInt, weightInit: initializer, biasInit: initializer }),
    toNode: (spec, at) => {
      const base = dense(at.width, spec.units).node
      // The initializers go into the node as text, so the layer built from it uses them and a network
      // written back as a spec still names them.
      const inits = {
        ...(spec.weightInit === undefined ? {} : { weightInit: initializerToAttr(spec.weightInit) }),
        ...(spec.biasInit === undefined ? {} : { biasInit: initializerToAttr(spec.biasInit) })
      }
      return {
        node: { ...base, attrs: { ...base.attrs, ...inits } },
        width: spec.units,
        from: `${at.path}, dense with ${spec.units} units`,
        issues: [...declared(at, 'in', spec.in), ...initIssues(`${at.path}.weightInit`, spec.weightInit), ...initIssues(`${at.path}.biasInit`, spec.biasInit)]
      }
    },
    fromNode: ({ attrs }) =>
      E.right({
        type: 'dense',
        units: attrs.out,
        in: attrs.in,
        ...(attrs.weightInit === undefined ? {} : { weightInit: attrs.weightInit }),
        ...(attrs.biasInit === undefined ? {} : { biasInit: attrs.biasInit })
      })
  },
  batchNorm: {
    types: ['batchNorm'],
    role: 'layer',
    codec: () => closed('a batchNorm layer', { type: t.literal('batchNorm') }, { features: positiveInt, keepRunning: unitInterval, eps: positive }),
    toNode: (spec, at) =>
      sameWidth(
        batchNorm(at.width, { ...(spec.keepRunning === undefined ? {} : { keepRunning: spec.keepRunning }), ...(spec.eps === undefined ? {} : { eps: spec.eps }) }).node,
        at,
        declared(at, 'features', spec.features)
      ),
    fromNode: ({ attrs }) => E.right({ type: 'batchNorm', features: attrs.features, keepRunning: attrs.keepRunning, eps: attrs.eps })
  },
  dropout: {
    types: ['dropout'],
    role: 'layer',
    codec: () => closed('a dropout layer', { type: t.literal('dropout'), rate: fraction }, {}),
    toNode: (spec, at) => sameWidth(dropout(spec.rate).node, at),
    fromNode: ({ attrs }) => E.right({ type: 'dropout', rate: attrs.rate })
  },
  identity: {
    types: ['identity', 'linear'],
    role: 'activation',
    codec: () => tagged('an identity layer', { identity: closed('an identity layer', { type: t.literal('identity') }, {}), linear: closed('a linear layer', { type: t.literal('linear') }, {}) }),
    toNode: (_, at) => sameWidth(linear().node, at),
    fromNode: () => E.right({ type: 'identity' })
  },
  sigmoid: plain('sigmoid', sigmoid),
  tanh: plain('tanh', tanh),
  relu: plain('relu', relu),
  leakyRelu: {
    types: ['leakyRelu'],
    role: 'activation',
    codec: () => closed('a leakyRelu layer', { type: t.literal('leakyRelu') }, { alpha: finite }),
    toNode: (spec, at) => sameWidth((spec.alpha === undefined ? leakyRelu() : leakyRelu(spec.alpha)).node, at),
    fromNode: ({ attrs }) => E.right({ type: 'leakyRelu', alpha: attrs.alpha })
  },
  elu: {
    types: ['elu'],
    role: 'activation',
    codec: () => closed('an elu layer', { type: t.literal('elu') }, { alpha: positive }),
    toNode: (spec, at) => sameWidth((spec.alpha === undefined ? elu() : elu(spec.alpha)).node, at),
    fromNode: ({ attrs }) => E.right({ type: 'elu', alpha: attrs.alpha })
  },
  softplus: plain('softplus', softplus),
  gelu: {
    types: ['gelu'],
    role: 'activation',
    codec: () => geluCodec,
    toNode: (spec, at) => sameWidth(gelu({ approximate: spec.approximate }).node, at),
    fromNode: ({ attrs }) => E.right({ type: 'gelu', approximate: attrs.approximate })
  },
  softmax: plain('softmax', softmax)
}

// codecs

type AnyRow = SpecRow<Kind>
const rowOf = (kind: Kind): AnyRow => specRows[kind] as unknown as AnyRow

/** The `type`s of the rows with a role, in the table's order. @internal */
export const typesOf = (role: AnyRow['role']): ReadonlyArray<LayerSpec['type']> => kinds.flatMap((k) => (rowOf(k).role === role ? rowOf(k).types : []))

const unknownType = (found: unknown): string => {
  const all = kinds.flatMap((k) => rowOf(k).types)
  const hint = / \(did you mean .*\)$/.exec(oneOf(all, found))?.[0] ?? ''
  return `a layer type: one of ${typesOf('layer').join(', ')}, a graph: ${typesOf('graph').join(', ')}, or an activation: ${typesOf('activation').join(', ')}${hint}`
}

/** The codec of one layer, of any kind (graphs contain layers, hence the recursion). @internal */
export const layerCodec: t.Type<LayerSpec, unknown, unknown> = t.recursion<LayerSpec, unknown, unknown, t.Type<LayerSpec, unknown, unknown>>('a layer', (self) => {
  const sub: SubCodecs = { layer: self, chain: chainOf(self), branch: branchOf(self) }
  const members: Record<string, t.Mixed> = {}
  for (const k of kinds) {
    const codec = rowOf(k).codec(sub)
    for (const type of rowOf(k).types) members[type] = codec
  }
  return tagged('a layer', members, unknownType) as t.Type<LayerSpec, unknown, unknown>
})

function chainOf(layer: t.Type<LayerSpec, unknown, unknown>): t.Type<ReadonlyArray<LayerSpec>, unknown, unknown> {
  return new t.Type<ReadonlyArray<LayerSpec>, unknown, unknown>(
    'a non-empty array of layers',
    (u): u is ReadonlyArray<LayerSpec> => Array.isArray(u) && u.length > 0 && u.every(layer.is),
    (u, c) => (Array.isArray(u) && u.length > 0 ? t.array(layer).validate(u, c) : t.failure(u, c)),
    t.identity
  )
}

function branchOf(layer: t.Type<LayerSpec, unknown, unknown>): t.Type<BranchSpec, unknown, unknown> {
  const chain = chainOf(layer)
  return new t.Type<BranchSpec, unknown, unknown>(
    'a branch: a layer, or a non-empty array of layers',
    (u): u is BranchSpec => (Array.isArray(u) ? chain.is(u) : layer.is(u)),
    (u, c) =>
      Array.isArray(u)
        ? chain.validate(u, c)
        : typeof u === 'object' && u !== null
          ? layer.validate(u, c)
          : t.failure(u, c, 'a branch: a layer (an object with a "type" field) or a non-empty array of layers'),
    t.identity
  )
}

/** The codec of a spec's `layers`: a non-empty chain. @internal */
export const chainCodec = chainOf(layerCodec)

// spec → node

/** A layer as a node, given what it receives. @internal */
export const layerToNode = (spec: LayerSpec, at: Place): Placed => {
  const kind = kinds.find((k) => (rowOf(k).types as ReadonlyArray<string>).includes(spec.type)) as Kind
  return rowOf(kind).toNode(spec, at)
}

/** A chain of layers as a `sequential` node: each receives the width the one before it outputs. @internal */
export const chainToNode = (specs: ReadonlyArray<LayerSpec>, at: Place): Placed => {
  const children: Node[] = []
  const issues: SpecIssue[] = []
  let here: Place = at
  specs.forEach((spec, i) => {
    const placed = layerToNode(spec, { ...here, path: `${at.path}[${i}]` })
    children.push(placed.node)
    for (const issue of placed.issues) issues.push(issue)
    here = { path: at.path, width: placed.width, from: placed.from }
  })
  return { node: { op: 'sequential', children }, width: here.width, from: here.from, issues }
}

const branchToNode = (branch: BranchSpec, at: Place): Placed => (isChain(branch) ? chainToNode(branch, at) : layerToNode(branch, at))

const isChain = (b: BranchSpec): b is ReadonlyArray<LayerSpec> => Array.isArray(b)

// node → spec

const collect = <A>(results: ReadonlyArray<Written<A>>): Written<ReadonlyArray<A>> => {
  const issues = results.flatMap((r) => (E.isLeft(r) ? r.left : []))
  return issues.length > 0 ? E.left(issues) : E.right(results.map((r) => (r as E.Right<A>).right))
}

/** A node as a spec layer at JSON path `path`; a node the spec cannot describe is an issue there. @internal */
export const writeLayer = (node: Node, path: string): Written<LayerSpec> => {
  const read = readNode(node)
  if (E.isLeft(read)) {
    const problem = read.left
    return E.left([
      problem._tag === 'UnknownKind'
        ? issue(path, `a layer a spec can describe (${kinds.join(', ')})`, `a custom layer with op ${JSON.stringify(problem.op)}`)
        : issue(path, `a ${problem.op} layer as nn-ts makes it`, problem.message)
    ])
  }
  const known = read.right
  return rowOf(known.op).fromNode(known as KindNode<Kind>, path)
}

/** A chain's nodes as the spec's array of layers at `path`; an empty chain is an issue (a spec's chains are non-empty). @internal */
export const writeChain = (nodes: ReadonlyArray<Node>, path: string): Written<ReadonlyArray<LayerSpec>> =>
  nodes.length === 0
    ? E.left([issue(path, 'a non-empty chain of layers (a spec cannot write Layers.sequential() with no layers)', 'an empty chain')])
    : collect(nodes.map((n, i) => writeLayer(n, `${path}[${i}]`)))

/** A concat branch: a non-empty chain as an array, anything else as one layer. */
const writeBranch = (node: Node, path: string): Written<BranchSpec> =>
  node.op === 'sequential' && (node.children ?? []).length > 0 ? writeChain(node.children ?? [], path) : writeLayer(node, path)
