/**
 * fast-check arbitraries shared by the laws: small shapes and float64 matrices kept off kinks.
 */
import fc from 'fast-check'
import { Layers, Tensor } from '../src/index.ts'

/** A float in [-range, range] at least `margin` away from every point in `kinks`. */
export const offKinks = (range: number, kinks: readonly number[] = [], margin = 1e-3): fc.Arbitrary<number> =>
  fc
    .double({ min: -range, max: range, noNaN: true, noDefaultInfinity: true })
    .filter((v) => kinks.every((k) => Math.abs(v - k) >= margin))

/** A `[rows, cols]` float64 tensor of values from `value`. */
export const matrix = (rows: number, cols: number, value: fc.Arbitrary<number> = offKinks(3)): fc.Arbitrary<Tensor.Tensor> =>
  fc.array(value, { minLength: rows * cols, maxLength: rows * cols }).map((vs) => Tensor.fromArray([rows, cols], vs, 'float64'))

/** Batch size and feature count for small layers. */
export const dims = fc.record({ batch: fc.integer({ min: 1, max: 5 }), features: fc.integer({ min: 1, max: 6 }) })

/** A PRNG seed. */
export const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 })

/** Runs count for property tests: enough to explore shapes, few enough to keep `npm test` quick. */
export const runs = { numRuns: 40 }

// layers of every kind

/**
 * A drawn layer: the layer, the width it outputs, and what a gradient law must know to check it
 * alone: its kinks (inputs where it is not differentiable) and whether it needs input columns that
 * vary (BatchNorm divides by each column's spread).
 */
export interface Drawn {
  readonly layer: Layers.AnyLayer
  readonly width: number
  readonly kinks: readonly number[]
  readonly spread: boolean
}

/** What a row draws with. */
export interface Draw {
  /** The width the layer receives. */
  readonly width: number
  /** The width it must output, when its place fixes one (a residual block's layers keep the width). */
  readonly to: number | undefined
  /** Draw only what is differentiable everywhere (an elu's α is then 1). */
  readonly smooth: boolean
  /** Draws a layer to put inside this one. */
  readonly child: (width: number, to: number | undefined) => fc.Arbitrary<Drawn>
}

/** How the laws draw one kind of layer. */
export interface KindArbitrary {
  /** Layers of the kind that receive `width` (and output `to`, when given); `undefined` when the kind cannot. */
  readonly draw: (d: Draw) => fc.Arbitrary<Drawn> | undefined
  /**
   * Whether a gradient law may put it anywhere in a random network of such kinds: differentiable at
   * every input, and well conditioned whatever the layers before it output.
   */
  readonly smooth: boolean
}

/** A small width, for layers whose output width is free. */
const width = fc.integer({ min: 1, max: 5 })

const plain = (width: number, layer: Layers.AnyLayer, kinks: readonly number[] = []): Drawn => ({ layer, width, kinks, spread: false })

/** An element-wise layer: it keeps the width, so it fits only where the width may stay. */
const keepsWidth =
  (make: (d: Draw) => fc.Arbitrary<{ readonly layer: Layers.AnyLayer; readonly kinks?: readonly number[]; readonly spread?: boolean }>) =>
  (d: Draw): fc.Arbitrary<Drawn> | undefined =>
    d.to === undefined || d.to === d.width ? make(d).map(({ layer, kinks = [], spread = false }) => ({ layer, width: d.width, kinks, spread })) : undefined

const fixed = (make: () => Layers.AnyLayer, kinks: readonly number[] = []) => keepsWidth(() => fc.constant(null).map(() => ({ layer: make(), kinks })))

/** `n` layers in a chain, the last one outputting `to` when given. */
const chainOf = (d: Draw, n: number, from: number): fc.Arbitrary<ReadonlyArray<Drawn>> =>
  n === 1
    ? d.child(from, d.to).map((c) => [c])
    : d.child(from, undefined).chain((c) => chainOf(d, n - 1, c.width).map((rest) => [c, ...rest]))

/**
 * One row per kind of layer: the compiler refuses a table that misses one, so a new kind gets its
 * gradient law and its spec round trip as soon as it gets a row.
 */
export const kindArbitraries: { readonly [K in Layers.Kind]: KindArbitrary } = {
  sequential: {
    smooth: true,
    draw: (d) =>
      fc.integer({ min: 1, max: 3 }).chain((n) =>
        chainOf(d, n, d.width).map((parts) => plain((parts[parts.length - 1] as Drawn).width, Layers.sequential(...(parts.map((p) => p.layer) as [Layers.AnyLayer]))))
      )
  },
  residual: {
    smooth: true,
    draw: (d) => (d.to === undefined || d.to === d.width ? d.child(d.width, d.width).map((c) => plain(d.width, Layers.residual(c.layer))) : undefined)
  },
  concat: {
    smooth: true,
    draw: (d) => {
      if (d.to !== undefined && d.to < 2) return undefined
      const split = d.to === undefined ? fc.constant<readonly [number | undefined, number | undefined]>([undefined, undefined]) : fc.integer({ min: 1, max: d.to - 1 }).map((a) => [a, (d.to as number) - a] as const)
      return split.chain(([a, b]) => fc.tuple(d.child(d.width, a), d.child(d.width, b))).map(([f, g]) => plain(f.width + g.width, Layers.concat(f.layer, g.layer)))
    }
  },
  dense: {
    smooth: true,
    draw: (d) => (d.to === undefined ? width : fc.constant(d.to)).map((out) => plain(out, Layers.dense(d.width, out)))
  },
  batchNorm: {
    // Smooth, but it divides by each column's spread, which a random network before it may shrink to
    // almost nothing: checked alone, on inputs whose columns vary.
    smooth: false,
    draw: keepsWidth((d) =>
      fc.record({ keepRunning: fc.double({ min: 0, max: 1, noNaN: true }), eps: fc.double({ min: 1e-8, max: 1e-3, noNaN: true }) }).map((options) => ({
        layer: Layers.batchNorm(d.width, options),
        spread: true
      }))
    )
  },
  dropout: { smooth: true, draw: keepsWidth(() => fc.double({ min: 0, max: 0.9, noNaN: true }).map((rate) => ({ layer: Layers.dropout(rate) }))) },
  identity: { smooth: true, draw: keepsWidth(() => fc.constantFrom(Layers.identity, Layers.linear).map((make) => ({ layer: make() }))) },
  sigmoid: { smooth: true, draw: fixed(Layers.sigmoid) },
  tanh: { smooth: true, draw: fixed(Layers.tanh) },
  relu: { smooth: false, draw: fixed(Layers.relu, [0]) },
  leakyRelu: { smooth: false, draw: keepsWidth(() => fc.double({ min: 0, max: 0.5, noNaN: true }).map((alpha) => ({ layer: Layers.leakyRelu(alpha), kinks: [0] }))) },
  elu: {
    // α = 1 makes the derivative continuous at 0 (1 on both sides); any other α leaves a kink there.
    smooth: true,
    draw: keepsWidth((d) =>
      (d.smooth ? fc.constant(1) : fc.double({ min: 0.1, max: 2, noNaN: true })).map((alpha) => ({ layer: Layers.elu(alpha), kinks: alpha === 1 ? [] : [0] }))
    )
  },
  softplus: { smooth: true, draw: fixed(Layers.softplus) },
  gelu: { smooth: true, draw: keepsWidth(() => fc.constantFrom('none', 'tanh' as const).map((approximate) => ({ layer: Layers.gelu({ approximate }) }))) },
  softmax: { smooth: true, draw: fixed(Layers.softmax) }
}

/**
 * A layer of any kind that receives `width` (and outputs `to`, when given), graphs nested at most
 * `depth` deep; with `smooth`, only the kinds a gradient law can check anywhere. Never empty: a dense
 * layer fits any widths.
 */
export const anyLayer = (width: number, to: number | undefined, depth: number, smooth: boolean): fc.Arbitrary<Drawn> => {
  const child = (w: number, t: number | undefined): fc.Arbitrary<Drawn> => fc.constant(null).chain(() => anyLayer(w, t, depth - 1, smooth))
  // Graphs weigh as much as three layers each, so nested graphs are drawn often, not one time in five.
  const candidates = Layers.kinds
    .filter((k) => (depth > 0 || Layers.arity(k) === 0) && (!smooth || kindArbitraries[k].smooth))
    .flatMap((k) => {
      const arbitrary = kindArbitraries[k].draw({ width, to, smooth, child })
      return arbitrary === undefined ? [] : [{ arbitrary, weight: Layers.arity(k) === 0 ? 1 : 3 }]
    })
  return fc.oneof(...candidates)
}

/** A network a spec can describe: `Layers.sequential` of 1 to 4 layers of any kind, graphs at most `depth` deep. */
export const network = (depth: number, smooth = false): fc.Arbitrary<Drawn & { readonly inWidth: number }> =>
  width.chain((inWidth) =>
    (kindArbitraries.sequential.draw({ width: inWidth, to: undefined, smooth, child: (w, t) => fc.constant(null).chain(() => anyLayer(w, t, depth, smooth)) }) as fc.Arbitrary<Drawn>).map(
      (drawn) => ({ ...drawn, inWidth })
    )
  )
