/**
 * Looking inside a network: a summary of its layers (name, output width, parameter count, totals, as
 * Keras's `model.summary()` and torchinfo print them) and the output of every layer for a batch.
 *
 * Both walk the network's structure: a chain's `parts`, and the children of a residual block or a
 * concat, rebuilt from their nodes (`fromNode`; a child whose op is not a kind, a custom layer, is
 * shown as part of its parent). Every layer is located by its `path` in the network's params (and
 * layer state): `Tree.at(params, path)` is that layer's params. A residual block shares its path with
 * its inner layer, whose params are its own.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import * as Random from '../random/Key.ts'
import type { Tensor } from '../tensor/Tensor.ts'
import * as Tree from '../tree/Tree.ts'
import { fromNode } from './kinds.ts'
import type { AnyLayer, Context, Layer, Mode, Width } from './Layer.ts'

// model

/**
 * One row of a summary.
 * @since 0.2.0
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const row: Layers.LayerSummary = { path: [0], depth: 0, name: 'dense(784→40)', kind: 'dense', outWidth: 40, params: 31400, state: 0 }
 * Layers.summary(Layers.sequential(Layers.dense(784, 40), Layers.relu())).layers[0] // => row
 */
export interface LayerSummary {
  /** Where its params sit in the network's params: `Tree.at(params, path)`. */
  readonly path: Tree.Path
  /** How deeply it is nested: 0 for the network's own layers, 1 for theirs, … */
  readonly depth: number
  readonly name: string
  /** Its node's op: a `Kind`, or a custom layer's own op. */
  readonly kind: string
  /** The width it outputs; `undefined` when that depends on an input width the network does not fix. */
  readonly outWidth: number | undefined
  /** How many numbers its params hold (its parts' included). */
  readonly params: number
  /** How many numbers its layer state holds (BatchNorm's running statistics; not trained by gradients). */
  readonly state: number
}

/**
 * A network's summary: its layers in order, nested layers after their parent, the totals, and the
 * same as a table to print.
 * @since 0.2.0
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const s: Layers.Summary = Layers.summary(Layers.sequential(Layers.dense(2, 3), Layers.relu()))
 * s.totalParams // 9
 */
export interface Summary {
  readonly name: string
  readonly inWidth: number | undefined
  readonly outWidth: number | undefined
  readonly layers: ReadonlyArray<LayerSummary>
  readonly totalParams: number
  readonly totalState: number
  /** The summary as a table, one layer per line, for `console.log`. */
  readonly table: string
}

/**
 * What a layer outputs for a batch, and what the layers inside it output.
 * @since 0.2.0
 * @category model
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu())
 * const { params, state } = net.init(Random.key(0))
 * const a: Layers.LayerActivations = Layers.activations(net, params, state, Tensor.fromRows([[1, 2]]))
 * a.parts.map((p) => p.name) // ['dense(2→3)', 'relu']
 */
export interface LayerActivations {
  /** Where its params sit in the network's params, as in `LayerSummary`. */
  readonly path: Tree.Path
  readonly name: string
  readonly kind: string
  /** `[batch, width]`: what the layer outputs. */
  readonly output: Tensor
  /** A chain's layers, a residual block's inner layer, a concat's two branches, in order; `[]` for other layers. */
  readonly parts: ReadonlyArray<LayerActivations>
}

/**
 * How `activations` runs the network: in `'eval'` mode by default (running statistics, no dropout),
 * with `key` for dropout in `'train'` mode.
 * @since 0.2.0
 * @category model
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const options: Layers.ActivationsOptions = { mode: 'train', key: Random.key(1) }
 * const net = Layers.sequential(Layers.dropout(0.5))
 * const a = Layers.activations(net, [[]], [[]], Tensor.full([1, 1000], 1), options)
 * Tensor.toArray(a.output).some((v) => v === 0) // true: dropout runs in train mode
 */
export interface ActivationsOptions {
  readonly mode?: Mode
  readonly key?: Random.Key
}

/**
 * Options of `summary`.
 * @since 0.2.0
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * Layers.summary(Layers.sequential(Layers.relu(), Layers.softmax()), { inWidth: 10 }).outWidth // 10
 */
export interface SummaryOptions {
  /** The input width, for a network that takes any width (a chain of element-wise layers). */
  readonly inWidth?: number
}

// walking the structure

/** A layer inside another, with where its params sit and how its input and context come from the parent's. */
interface Part {
  readonly layer: AnyLayer
  readonly path: Tree.Path
  /** The index of its params in its parent's tuple, `undefined` when it shares its parent's (a residual's inner layer). */
  readonly index: number | undefined
}

/**
 * The layers inside `layer`: a chain's parts (each fed by the one before), or a residual block's inner
 * layer or a concat's branches rebuilt from their nodes (each fed the block's input); `undefined` for
 * a layer without any, or whose inner layers cannot be rebuilt (a custom op).
 */
const partsOf = (layer: AnyLayer, path: Tree.Path): { readonly chain: boolean; readonly parts: ReadonlyArray<Part> } | undefined => {
  if (layer.parts !== undefined) return { chain: true, parts: layer.parts.map((l, i) => ({ layer: l, path: [...path, i], index: i })) }
  const node = layer.node
  if (node.op !== 'residual' && node.op !== 'concat') return undefined
  const rebuilt = (node.children ?? []).map((c) => fromNode(c))
  if (!rebuilt.every(E.isRight)) return undefined
  const layers = rebuilt.map((r) => (r as E.Right<AnyLayer>).right)
  return node.op === 'residual'
    ? { chain: false, parts: layers.map((l) => ({ layer: l, path, index: undefined })) }
    : { chain: false, parts: layers.map((l, i) => ({ layer: l, path: [...path, i], index: i })) }
}

const knownWidth = (w: unknown): number | undefined => (typeof w === 'number' && Number.isFinite(w) ? w : undefined)

const subtree = (tree: Tree.Tree, index: number | undefined): Tree.Tree => (index === undefined ? tree : ((tree as ReadonlyArray<Tree.Tree>)[index] as Tree.Tree))

// summary

const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')

const tableOf = (rows: ReadonlyArray<LayerSummary>, totalParams: number, totalState: number): string => {
  // A layer whose parts follow it is named by its kind: the parts' lines say the rest.
  const label = (r: LayerSummary, i: number): string =>
    `${'  '.repeat(r.depth)}${Tree.showPath(r.path)}${r.path.length === 0 ? '' : ' '}${(rows[i + 1]?.depth ?? 0) > r.depth ? r.kind : r.name}`
  const cells = rows.map((r, i) => [label(r, i), r.outWidth === undefined ? '?' : String(r.outWidth), grouped(r.params), grouped(r.state)])
  const header = ['layer', 'output', 'params', 'state']
  const widths = header.map((h, i) => cells.reduce((w, c) => Math.max(w, (c[i] as string).length), h.length))
  const line = (c: ReadonlyArray<string>): string =>
    c.map((text, i) => (i === 0 ? text.padEnd(widths[i] as number) : text.padStart(widths[i] as number))).join('  ').trimEnd()
  const rule = '─'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1))
  return [line(header), rule, ...cells.map(line), rule, `total params: ${grouped(totalParams)}`, `total state: ${grouped(totalState)} (not trained by gradients)`].join('\n')
}

/**
 * A summary of a network: for each layer (nested ones after their parent, indented), its name, the
 * width it outputs, and how many numbers its params and its layer state hold; the totals; and a
 * table of all that to print. The counts come from `network.init` (float32, key 0), so they hold for
 * any layer, custom ones included. The layers of a top-level chain are listed without the chain.
 * @since 0.2.0
 * @category destructors
 * @example
 * import { Layers } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(784, 40), Layers.batchNorm(40), Layers.relu(), Layers.dense(40, 10))
 * const s = Layers.summary(net)
 * s.layers.map((l) => [l.name, l.outWidth, l.params]) // [['dense(784→40)', 40, 31400], ['batchNorm(40)', 40, 80], ['relu', 40, 0], ['dense(40→10)', 10, 410]]
 * s.totalParams // 31890
 * s.totalState // 80
 * console.log(s.table)
 * // layer              output  params  state
 * // ───────────────────────────────────────
 * // [0] dense(784→40)       40  31,400      0
 * // …
 */
export const summary = (network: AnyLayer, options: SummaryOptions = {}): Summary => {
  const { params, state } = network.init(Random.key(0))
  const rows: LayerSummary[] = []
  /** Adds the rows of `layer` (unless `listed` is false) and its parts; returns its output width. */
  const visit = (layer: AnyLayer, path: Tree.Path, p: Tree.Tree, s: Tree.Tree, inWidth: number | undefined, depth: number, listed: boolean): number | undefined => {
    const at = rows.length
    const inner = partsOf(layer, path)
    let partsOut: number | undefined
    if (inner !== undefined) {
      let width = inWidth
      const outs = inner.parts.map((part) => {
        const out = visit(part.layer, part.path, subtree(p, part.index), subtree(s, part.index), inner.chain ? width : inWidth, listed ? depth + 1 : depth, true)
        width = out
        return out
      })
      partsOut = inner.chain ? width : layer.node.op === 'concat' && outs.every((o) => o !== undefined) ? outs.reduce((a: number, o) => a + (o as number), 0) : undefined
    }
    const own = layer.outWidth as Width
    const outWidth = knownWidth(own) ?? partsOut ?? (own === 'same' ? inWidth : undefined)
    if (listed) {
      rows.splice(at, 0, { path, depth, name: layer.name, kind: layer.node.op, outWidth, params: Tree.size(p), state: Tree.size(s) })
    }
    return outWidth
  }
  const inWidth = knownWidth(network.inWidth) ?? options.inWidth
  const outWidth = visit(network, [], params, state, inWidth, 0, network.parts === undefined)
  const totalParams = Tree.size(params)
  const totalState = Tree.size(state)
  return { name: network.name, inWidth, outWidth, layers: rows, totalParams, totalState, table: tableOf(rows, totalParams, totalState) }
}

// activations

/**
 * The output of every layer of a network for a batch `x`, in a tree that mirrors the network: the
 * network's own output at the root, a chain's layers, a residual block's inner layer and a concat's
 * branches as `parts`. Runs in eval mode unless `options.mode` says `'train'` (then dropout draws
 * from `options.key`, as `apply` would, and BatchNorm uses the batch's statistics). Nothing is
 * trained and no state changes.
 * @since 0.2.0
 * @category destructors
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 1))
 * const { params, state } = net.init(Random.key(0))
 * const x = Tensor.fromRows([[1, 2], [3, -4]])
 * const a = Layers.activations(net, params, state, x)
 * const hidden = a.parts[1]?.output // relu's output: [2, 3]
 * hidden?.shape // [2, 3]
 * Tensor.toArray(a.output) // => Tensor.toArray(Layers.predict(net, params, state, x))
 */
export const activations = <P extends Tree.Tree, S extends Tree.Tree>(
  network: Layer<P, S, Width, Width>,
  params: P,
  state: S,
  x: Tensor,
  options: ActivationsOptions = {}
): LayerActivations => {
  const run = (layer: AnyLayer, path: Tree.Path, p: Tree.Tree, s: Tree.Tree, input: Tensor, ctx: Context): LayerActivations => {
    const inner = partsOf(layer, path)
    const name = layer.name
    const kind = layer.node.op
    if (inner === undefined) return { path, name, kind, output: layer.apply(p, s, input, ctx).y, parts: [] }
    if (inner.chain) {
      // A chain feeds each layer the one before's output, with its key folded by the index (as `sequential`).
      const parts: LayerActivations[] = []
      let h = input
      inner.parts.forEach((part, i) => {
        const a = run(part.layer, part.path, subtree(p, part.index), subtree(s, part.index), h, { mode: ctx.mode, key: Random.fold(ctx.key, i) })
        parts.push(a)
        h = a.output
      })
      return { path, name, kind, output: h, parts }
    }
    // A residual block's inner layer sees the block's context; a concat folds the key by branch.
    const parts = inner.parts.map((part) =>
      run(part.layer, part.path, subtree(p, part.index), subtree(s, part.index), input, part.index === undefined ? ctx : { mode: ctx.mode, key: Random.fold(ctx.key, part.index) })
    )
    return { path, name, kind, output: layer.apply(p, s, input, ctx).y, parts }
  }
  return run(network, [], params, state, x, { mode: options.mode ?? 'eval', key: options.key ?? Random.key(0) })
}
