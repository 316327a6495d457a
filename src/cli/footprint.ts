/**
 * What a network will cost before anything is allocated: the number of layers a spec asks for, and
 * an estimate of the memory training it takes, from its layers' descriptions (`Layer.node`) alone —
 * building a layer allocates nothing, initialising it does. The CLI refuses a spec whose estimate
 * exceeds the memory it plans for, or one of whose tensors could not be allocated at all, with the
 * estimate in the message, instead of failing (or swapping the machine to a halt) half-way.
 *
 * @internal
 */
import type { Node } from '../layers/Layer.ts'
import { MAX_ARRAY_ELEMENTS } from '../io/memoryLimit.ts'

/**
 * The most layers a spec may hold, nested ones included. Far beyond any network written by hand (a
 * thousand-layer residual network has a few thousand), and low enough that building, walking and
 * naming the network stays cheap.
 * @internal
 */
export const MAX_LAYERS = 10_000

/**
 * The number of layers in a spec's `layers` (parsed JSON, any shape): every object with a `type`
 * field, nested graphs' layers included, initializer objects (`weightInit`, `biasInit`) not. A loop
 * over an explicit stack, so a spec of any size or depth costs no call stack; it stops counting past
 * `stopAfter`.
 * @internal
 */
export const countLayers = (layers: unknown, stopAfter = MAX_LAYERS): number => {
  let count = 0
  const stack: unknown[] = [layers]
  while (stack.length > 0 && count <= stopAfter) {
    const v = stack.pop()
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x)
    } else if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>
      if (typeof o['type'] === 'string') count++
      for (const [k, x] of Object.entries(o)) if (k !== 'weightInit' && k !== 'biasInit') stack.push(x)
    }
  }
  return count
}

/**
 * The rows a batch may have while a command runs: the training batch, or the evaluation batch of 1000
 * rows that `eval`, `predict` and the end-of-training score use (`EVAL_BATCH` in commands.ts), if larger.
 * @internal
 */
export const EVAL_ROWS = 1000

/** A tensor of a network, for the "one array cannot hold it" refusal. */
export interface TensorSize {
  /** What it is, in words: `the weights of layers[0], dense(16→1000000000)`. */
  readonly what: string
  readonly values: number
}

/**
 * The estimate: counts of float32 values, and the bytes they take together.
 * @internal
 */
export interface Footprint {
  /** Trainable parameters. */
  readonly params: number
  /** Layer state (BatchNorm's running statistics). */
  readonly layerState: number
  /**
   * Activation values held at once: in training, each layer's output, its gradient and the gradient
   * it passes back for a batch (`3 · batchSize` rows per unit of width); in evaluation, each layer's
   * output for an evaluation batch (`EVAL_ROWS` rows); whichever is more.
   */
  readonly activations: number
  /** Copies of the parameters the optimizer keeps (Adam 2, momentum 1, SGD 0). */
  readonly optimizerCopies: number
  /** The most rows one activation tensor has: the training or the evaluation batch. */
  readonly rows: number
  /**
   * 4 bytes per value of: the parameters and the optimizer's copies, held all along; the gradients,
   * the updates, the next parameters and the next optimizer state, made during a step; the previous
   * step's parameters and optimizer state, which the garbage collector may not have reclaimed yet;
   * layer state and its next value; the activations. `(5 + 3k)·P + 2·S + A` values for `k` optimizer
   * copies. Measured on a 16-million-parameter network (the runtime's own ~100 MB aside): SGD peaked
   * at 483 MB against 386 MB + 100 MB estimated, Adam at 854 MB against 772 MB + 100 MB.
   */
  readonly bytes: number
  /** The largest weight matrix. */
  readonly largestWeights: TensorSize
  /** The largest batch of activations (inputs included). */
  readonly largestActivations: TensorSize
  /** The layer with the most parameters, when there are any. */
  readonly largestLayer?: { readonly where: string; readonly params: number }
  /** Where the first BatchNorm layer is, if any (it needs batches of at least two rows to train). */
  readonly batchNormAt?: string
  /** Whether any layer has parameters (a network of activations alone has nothing to train). */
  readonly hasDense: boolean
}

/** A node's short name: `dense(16→8)`, `batchNorm(8)`, `relu`. */
const nameOf = (node: Node): string => {
  const a = node.attrs ?? {}
  if (node.op === 'dense') return `dense(${String(a['in'])}→${String(a['out'])})`
  if (node.op === 'batchNorm') return `batchNorm(${String(a['features'])})`
  return node.op
}

const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback)

interface Totals {
  params: number
  layerState: number
  /** The output widths of every layer, summed (the input's included). */
  widths: number
  largestWeights: TensorSize
  largestActivations: TensorSize
  largestLayer: { where: string; params: number } | undefined
  batchNormAt: string | undefined
  hasDense: boolean
  /** `a batch of 100 rows`, `an evaluation batch of 1000 rows`. */
  batchWords: string
}

/**
 * Walks `node` receiving `width` features and returns the width it outputs, adding its costs to `t`.
 * Recursive over nesting only (a chain's layers are a loop): as deep as the network was built, which
 * for a spec is bounded by its JSON depth limit.
 */
const walk = (node: Node, width: number, rows: number, where: string, t: Totals): number => {
  const here = `${where}, ${nameOf(node)}`
  const activation = (w: number): void => {
    t.widths += w
    if (rows * w > t.largestActivations.values) t.largestActivations = { what: `the activations of ${here} for ${t.batchWords}`, values: rows * w }
  }
  const children = node.children ?? []
  switch (node.op) {
    case 'dense': {
      const out = num(node.attrs?.['out'], width)
      const weights = width * out
      const params = weights + out
      t.params += params
      t.hasDense = true
      if (weights > t.largestWeights.values) t.largestWeights = { what: `the weights of ${here}`, values: weights }
      if (t.largestLayer === undefined || params > t.largestLayer.params) t.largestLayer = { where: here, params }
      activation(out)
      return out
    }
    case 'batchNorm': {
      t.params += 2 * width
      t.layerState += 2 * width
      t.batchNormAt ??= here
      activation(width)
      return width
    }
    case 'sequential': {
      let w = width
      children.forEach((c, i) => {
        w = walk(c, w, rows, `${where}[${i}]`, t)
      })
      return w
    }
    case 'residual': {
      for (const c of children) walk(c, width, rows, `${where} > residual`, t)
      activation(width)
      return width
    }
    case 'concat': {
      let out = 0
      children.forEach((c, i) => {
        out += walk(c, width, rows, `${where} > concat branch ${i}`, t)
      })
      activation(out)
      return out
    }
    default: {
      // Activations, dropout, and any other width-keeping layer; a custom op with children is
      // treated as a chain of them.
      let w = width
      for (const c of children) w = walk(c, w, rows, `${where} > ${node.op}`, t)
      activation(w)
      return w
    }
  }
}

/**
 * The memory estimate of training the network described by `node` on `inputWidth` features with
 * batches of `batchSize` rows (evaluation batches of `EVAL_ROWS` counted when larger) and an optimizer
 * that keeps `optimizerCopies` copies of the parameters. A top-level chain's layers are named
 * `layers[i]`, as in the spec.
 * @internal
 */
export const footprint = (node: Node, inputWidth: number, batchSize: number, optimizerCopies: number): Footprint => {
  const rows = Math.max(batchSize, EVAL_ROWS)
  const batchWords = batchSize >= EVAL_ROWS ? `a batch of ${rows} rows` : `an evaluation batch of ${rows} rows`
  const t: Totals = {
    batchWords,
    params: 0,
    layerState: 0,
    widths: inputWidth,
    largestWeights: { what: 'no weights', values: 0 },
    largestActivations: { what: `the inputs of ${batchWords}`, values: rows * inputWidth },
    largestLayer: undefined,
    batchNormAt: undefined,
    hasDense: false
  }
  if (node.op === 'sequential') {
    let w = inputWidth
    ;(node.children ?? []).forEach((c, i) => {
      w = walk(c, w, rows, `layers[${i}]`, t)
    })
  } else walk(node, inputWidth, rows, 'layers', t)
  const activations = Math.max(3 * batchSize, EVAL_ROWS) * t.widths
  const values = (5 + 3 * optimizerCopies) * t.params + 2 * t.layerState + activations
  return {
    params: t.params,
    layerState: t.layerState,
    activations,
    optimizerCopies,
    rows,
    bytes: 4 * values,
    largestWeights: t.largestWeights,
    largestActivations: t.largestActivations,
    ...(t.largestLayer === undefined ? {} : { largestLayer: t.largestLayer }),
    ...(t.batchNormAt === undefined ? {} : { batchNormAt: t.batchNormAt }),
    hasDense: t.hasDense
  }
}

/**
 * A tensor of the network beyond what one typed array can hold, if any: the weights first (fewer
 * units is then the only fix), then the activations. @internal
 */
export const tooLargeForOneArray = (f: Footprint): TensorSize | undefined =>
  [f.largestWeights, f.largestActivations].find((t) => t.values > MAX_ARRAY_ELEMENTS)
