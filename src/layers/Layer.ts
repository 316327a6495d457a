/**
 * Layers as values, and the combinators that compose them.
 *
 * A `Layer<P, S, In, Out>` is two pure functions: `init(key)` gives params `P` and state `S`;
 * `apply(params, state, x, ctx)` gives the output, the next state and a `backward` closure. The closure
 * *is* the cache: whatever backward needs was captured by the forward pass, and nothing is stored on an
 * object. `backward(dy)` returns `dx` and `dparams`, shaped exactly like `params`.
 *
 * `In` and `Out` are feature widths carried in the types: `dense(784, 40)` is a `Layer<…, 784, 40>`, and
 * an element-wise layer is `Layer<…, 'same', 'same'>`. `sequential` refuses, at compile time, a chain
 * whose widths do not fit.
 *
 * @since 0.1.0
 */
import * as Random from '../random/Key.ts'
import { kernels as K } from '../tensor/backend.ts'
import { type DType, type Tensor, ShapeError, isFinite } from '../tensor/Tensor.ts'
import { type Tree, leaves } from '../tree/Tree.ts'

// model

/**
 * Train mode uses batch statistics and dropout; eval mode uses running statistics.
 * @category model
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const mode: Layers.Mode = 'eval'
 * const x = Tensor.fromRows([[1, 2]])
 * Layers.dropout(0.5).apply([], [], x, { mode, key: Random.key(0) }).y // [[1, 2]]: dropout is the identity in eval mode
 */
export type Mode = 'train' | 'eval'

/**
 * What a forward pass may depend on besides params, state and input.
 * @category model
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const training: Layers.Context = { mode: 'train', key: Random.key(3) } // a fresh key for every step
 * const y = Layers.dropout(0.5).apply([], [], Tensor.full([1, 1000], 1), training).y
 * Tensor.toArray(y).every((v) => v === 0 || v === 2) // true: dropped, or scaled by 1/(1 − 0.5)
 */
export interface Context {
  readonly mode: Mode
  /** Randomness for this call (dropout); composites split it among their children. */
  readonly key: Random.Key
}

/**
 * Marks a width that equals the layer's input width (element-wise layers).
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const relu = Layers.relu()
 * relu.inWidth // 'same'
 * Layers.sequential(Layers.dense(4, 3), relu).outWidth // 3: relu keeps the width before it
 */
export type Same = 'same'

/**
 * A feature width: a number (a literal when known statically) or `'same'`.
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const widths: Layers.Width[] = [Layers.dense(784, 40).outWidth, Layers.tanh().outWidth]
 * widths // [40, 'same']
 */
export type Width = number | Same

/**
 * The params and state of a layer without any.
 * @category model
 * @example
 * import { Layers, Random } from 'nn-ts'
 * const { params, state }: { params: Layers.Empty; state: Layers.Empty } = Layers.relu().init(Random.key(0))
 * params // []
 * state // []
 */
export type Empty = readonly []

/**
 * The result of `backward(dy)`: the input gradient `dx` and `dparams`, shaped like the params.
 * @category model
 * @example
 * import { Init, Layers, Random, Tensor } from 'nn-ts'
 * const layer = Layers.dense(2, 1, { weightInit: Init.ones }) // W = [[1], [1]], b = [0]
 * const { params, state } = layer.init(Random.key(0))
 * const forward = layer.apply(params, state, Tensor.fromRows([[1, 2]]), { mode: 'train', key: Random.key(0) })
 * const g: Layers.Gradients<Layers.DenseParams> = forward.backward(Tensor.fromRows([[1]]))
 * g.dx // [[1, 1]]: dy·Wᵀ
 * g.dparams // { W: [[1], [2]], b: [1] }: xᵀ·dy and Σ dy
 */
export interface Gradients<P> {
  readonly dx: Tensor
  readonly dparams: P
}

/**
 * What the caller of `backward` needs besides the parameter gradients.
 * @since 0.2.0
 * @category model
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const paramsOnly: Layers.BackwardOptions = { needDx: false } // what a trainer asks for its network
 * const layer = Layers.dense(2, 3)
 * const { params, state } = layer.init(Random.key(0))
 * const forward = layer.apply(params, state, Tensor.fromRows([[1, 2]]), { mode: 'train', key: Random.key(0) })
 * const dy = Tensor.fromRows([[1, 0, 0]])
 * Tensor.equals(forward.backward(dy, paramsOnly).dparams.W, forward.backward(dy).dparams.W) // true: the same, bit for bit
 */
export interface BackwardOptions {
  /**
   * Whether the caller reads `dx` (default `true`). With `false` no layer computes its input gradient
   * for it: a dense layer skips `dy·Wᵀ`, and a chain does not run the backward of leading layers
   * without params at all (dropout or an activation before the first dense layer), since nothing
   * below them needs a gradient. `dparams` are the same either way, bit for bit. The `dx` of such a
   * call is computed only if it is read after all, so reading it is never wrong, only slower.
   */
  readonly needDx?: boolean
}

/**
 * What `apply` returns: the output, the next state, and the backward closure that computes gradients from the forward pass it closes over.
 * @category model
 * @example
 * import { Init, Layers, Random, Tensor } from 'nn-ts'
 * const layer = Layers.dense(2, 1, { weightInit: Init.ones })
 * const { params, state } = layer.init(Random.key(0))
 * const f: Layers.Forward<Layers.DenseParams, Layers.Empty> = layer.apply(params, state, Tensor.fromRows([[1, 2]]), { mode: 'eval', key: Random.key(0) })
 * f.y // [[3]]: 1·1 + 2·1 + 0
 * f.backward(f.y).dparams.b // [3]: the gradient of ½‖y‖²
 */
export interface Forward<P, S> {
  readonly y: Tensor
  readonly state: S
  /** The gradients for `dy`, the gradient of the output; see `BackwardOptions` to skip `dx`. */
  readonly backward: (dy: Tensor, options?: BackwardOptions) => Gradients<P>
}

/**
 * A description of a layer's structure: for summaries, exporters and spec round-trips.
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const node: Layers.Node = Layers.sequential(Layers.dense(2, 3), Layers.relu()).node
 * node // { op: 'sequential', children: [{ op: 'dense', attrs: { in: 2, out: 3 } }, { op: 'relu', … }] }
 */
export interface Node {
  readonly op: string
  readonly attrs?: { readonly [key: string]: number | string | boolean }
  readonly children?: ReadonlyArray<Node>
}

/**
 * @category model
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const layer = Layers.dense(2, 3)
 * const { params, state } = layer.init(Random.key(0))
 * const ctx = { mode: 'train' as const, key: Random.key(1) }
 * const { y, backward } = layer.apply(params, state, Tensor.fromRows([[1, 2]]), ctx)
 * const { dx, dparams } = backward(y) // gradients of ½‖y‖²
 * dx.shape // [1, 2]: like the input
 * dparams.W.shape // [2, 3]: like the params
 */
export interface Layer<P extends Tree, S extends Tree, In extends Width = number, Out extends Width = number> {
  /** A short human name, used in error messages, e.g. `dense(784→40)`. */
  readonly name: string
  readonly inWidth: In
  readonly outWidth: Out
  readonly node: Node
  readonly init: (key: Random.Key, dtype?: DType) => { readonly params: P; readonly state: S }
  readonly apply: (params: P, state: S, x: Tensor, ctx: Context) => Forward<P, S>
  /** A chain's layers, in order, with params and state at the same tuple index (for diagnostics). */
  readonly parts?: ReadonlyArray<AnyLayer>
}

/**
 * Gradients whose `dx` is computed only when read, at most once. The memo lives in the closure of one
 * backward call and cannot be observed. Layers use it (through `gradients`) for a `dx` their caller
 * said it does not need, so that reading it anyway still gives the right tensor.
 * @category constructors
 * @example
 * import { Layers, Tensor } from 'nn-ts'
 * let products = 0
 * const g = Layers.lazyDx(() => {
 *   products++
 *   return Tensor.vector([1])
 * }, [])
 * products // 0: nothing computed yet
 * g.dx // [1]
 * g.dx // [1]
 * products // 1: computed once, when first read
 */
export const lazyDx = <P>(dx: () => Tensor, dparams: P): Gradients<P> => {
  let memo: Tensor | undefined
  return {
    get dx() {
      memo ??= dx()
      return memo
    },
    dparams
  }
}

/**
 * A layer's gradients as its caller asked for them (`BackwardOptions`): `dx` computed now when it is
 * needed (the default), else only if it is read after all.
 * @since 0.2.0
 * @category constructors
 * @example
 * import { Layers, kernels, Tensor } from 'nn-ts'
 * const W = Tensor.fromRows([[1, 2], [3, 4]])
 * const dy = Tensor.fromRows([[1, 0]])
 * const g = Layers.gradients({ needDx: false }, () => kernels.matmulTransposeB(dy, W), { W: dy })
 * g.dparams // { W: [[1, 0]] }: ready; the product dy·Wᵀ has not run
 * g.dx // [[1, 3]]: computed now, because it is read
 */
export const gradients = <P>(options: BackwardOptions | undefined, dx: () => Tensor, dparams: P): Gradients<P> =>
  options?.needDx === false ? lazyDx(dx, dparams) : { dx: dx(), dparams }

/** Whether a params tree holds any tensor (a layer without params can be skipped by a backward pass). */
const holdsParams = (params: Tree): boolean => leaves(params).length > 0

/**
 * A layer of any params, state and widths.
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const parts: Layers.AnyLayer[] = [Layers.dense(2, 3), Layers.relu(), Layers.dense(3, 1)]
 * parts.map((l) => l.name) // ['dense(2→3)', 'relu', 'dense(3→1)']
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLayer = Layer<any, any, any, any>

/**
 * @category model
 * @example
 * import { Layers, Random } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 3), Layers.relu())
 * const params: Layers.ParamsOf<typeof net> = net.init(Random.key(0)).params // readonly [DenseParams, Empty]
 * params[0].W.shape // [2, 3]
 * params[1] // []
 */
export type ParamsOf<L> = L extends Layer<infer P, infer _S, infer _I, infer _O> ? P : never
/**
 * @category model
 * @example
 * import { Layers, Random } from 'nn-ts'
 * const bn = Layers.batchNorm(3)
 * const state: Layers.StateOf<typeof bn> = bn.init(Random.key(0)).state // BatchNormState
 * state.runningVar // [1, 1, 1]
 */
export type StateOf<L> = L extends Layer<infer _P, infer S, infer _I, infer _O> ? S : never

// type-level widths

/** Whether a layer taking `In` features may follow one producing `Cur`. */
type Fits<Cur extends Width, In extends Width> = In extends Same
  ? true
  : Cur extends Same
    ? true
    : number extends Cur
      ? true
      : number extends In
        ? true
        : [Cur] extends [In]
          ? true
          : false

type Next<Cur extends Width, Out extends Width> = Out extends Same ? Cur : Out

/**
 * The error a mis-wired chain reports at compile time.
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const miswired = () =>
 *   // @ts-expect-error: WidthMismatch<"1", 40, 30> — layer 1 takes 30 features, the layers before it give 40
 *   Layers.sequential(Layers.dense(784, 40), Layers.dense(30, 10))
 * const fixed = Layers.sequential(Layers.dense(784, 40), Layers.dense(40, 10))
 * fixed.outWidth // 10
 */
export interface WidthMismatch<Index extends string, Produced, Expected> {
  readonly 'layer widths do not fit': { readonly at: Index; readonly previousOutputs: Produced; readonly layerTakes: Expected }
}

type Check<Ls extends readonly AnyLayer[], Cur extends Width, Seen extends readonly unknown[]> = Ls extends readonly [
  infer H extends AnyLayer,
  ...infer T extends readonly AnyLayer[]
]
  ? Fits<Cur, H['inWidth']> extends true
    ? Check<T, Next<Cur, H['outWidth']>, [...Seen, H]>
    : WidthMismatch<`${Seen['length']}`, Cur, H['inWidth']>
  : unknown

/**
 * `unknown` when every layer's input width fits the previous output, a `WidthMismatch` otherwise.
 * @example
 * import type { Layers } from 'nn-ts'
 * type Dense<I extends number, O extends number> = Layers.Layer<Layers.DenseParams, Layers.Empty, I, O>
 * const fits: Layers.CheckChain<[Dense<784, 40>, Dense<40, 10>]> = 'anything' // unknown: any value will do
 * fits // 'anything'
 * // @ts-expect-error: a chain that does not fit is a WidthMismatch, which no string is
 * const broken: Layers.CheckChain<[Dense<784, 40>, Dense<30, 10>]> = 'anything'
 */
export type CheckChain<Ls extends readonly AnyLayer[]> = Ls extends readonly [infer H extends AnyLayer, ...infer T extends readonly AnyLayer[]]
  ? Check<T, H['outWidth'], [H]>
  : unknown

type ChainOut<Ls extends readonly AnyLayer[], Cur extends Width> = Ls extends readonly [infer H extends AnyLayer, ...infer T extends readonly AnyLayer[]]
  ? ChainOut<T, Next<Cur, H['outWidth']>>
  : Cur

/** `true` for `any` (an `AnyLayer`'s widths), which the checks below let through. */
type IsAny<T> = 0 extends 1 & T ? true : false

/**
 * A chain's input width: that of its first layer that fixes one. Leading element-wise layers pass
 * their input through, so `sequential(relu(), dense(8, 4))` takes 8 features.
 */
type ChainIn<Ls extends readonly AnyLayer[]> = Ls extends readonly [infer H extends AnyLayer, ...infer T extends readonly AnyLayer[]]
  ? IsAny<H['inWidth']> extends true
    ? H['inWidth']
    : [H['inWidth']] extends [Same]
      ? [H['outWidth']] extends [Same]
        ? ChainIn<T>
        : Same
      : H['inWidth']
  : Same

type ParamsTuple<Ls extends readonly AnyLayer[]> = { readonly [K in keyof Ls]: ParamsOf<Ls[K]> }
type StateTuple<Ls extends readonly AnyLayer[]> = { readonly [K in keyof Ls]: StateOf<Ls[K]> }

// type-level widths through graphs

/*
 * Adding two width literals, for `concat`. Tuple-length arithmetic (`[...A, ...B]['length']`) would
 * build tuples as long as the widths and hits the compiler's limits in the thousands, so the literals
 * are added as decimal strings, column by column with a carry: the recursion is as deep as the number
 * of digits (at most 16 for a safe integer), and only single digits go through tuple lengths.
 */
type Digit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9'

/** `Units[d]` has `d` elements. */
type Units = {
  '0': []
  '1': [0]
  '2': [0, 0]
  '3': [0, 0, 0]
  '4': [0, 0, 0, 0]
  '5': [0, 0, 0, 0, 0]
  '6': [0, 0, 0, 0, 0, 0]
  '7': [0, 0, 0, 0, 0, 0, 0]
  '8': [0, 0, 0, 0, 0, 0, 0, 0]
  '9': [0, 0, 0, 0, 0, 0, 0, 0, 0]
}

/** A column's sum 0‥19 as `[digit, carry]`. */
type Column<N> = N extends number
  ? `${N}` extends `1${infer D extends Digit}`
    ? [D, 1]
    : `${N}` extends `${infer D extends Digit}`
      ? [D, 0]
      : never
  : never

type DigitSum<A extends Digit, B extends Digit, Carry extends 0 | 1> = Column<[...Units[A], ...Units[B], ...(Carry extends 1 ? [0] : [])]['length']>

/** The decimal digits of a string, least significant first; `never` unless every character is a digit. */
type DigitsOf<S extends string, Acc extends readonly Digit[] = []> = S extends ''
  ? Acc
  : S extends `${infer D extends Digit}${infer Rest}`
    ? DigitsOf<Rest, [D, ...Acc]>
    : never

/** Schoolbook addition of two digit lists (least significant first), giving the decimal string. */
type AddDigits<A, B, Carry extends 0 | 1 = 0, Acc extends string = ''> = A extends readonly [infer HA extends Digit, ...infer TA]
  ? B extends readonly [infer HB extends Digit, ...infer TB]
    ? DigitSum<HA, HB, Carry> extends [infer D extends Digit, infer C extends 0 | 1]
      ? AddDigits<TA, TB, C, `${D}${Acc}`>
      : never
    : DigitSum<HA, '0', Carry> extends [infer D extends Digit, infer C extends 0 | 1]
      ? AddDigits<TA, [], C, `${D}${Acc}`>
      : never
  : B extends readonly [Digit, ...unknown[]]
    ? AddDigits<B, [], Carry, Acc>
    : Carry extends 1
      ? `1${Acc}`
      : Acc

type ToNumber<S> = S extends `${infer N extends number}` ? N : number

type AddLiterals<A extends number, B extends number> =
  DigitsOf<`${A}`> extends infer DA
    ? DigitsOf<`${B}`> extends infer DB
      ? [DA] extends [never]
        ? number
        : [DB] extends [never]
          ? number
          : ToNumber<AddDigits<DA, DB>>
      : number
    : number

/**
 * `A + B` for non-negative integer literals (`Sum<800, 784>` is `1584`), `number` when either is not
 * a literal (or is negative, fractional or written with an exponent). Distributes over unions.
 * @since 0.1.0
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const total: Layers.Sum<800, 784> = 1584
 * const width: Layers.Sum<800, 784> = Layers.concat(Layers.dense(10, 800), Layers.dense(10, 784)).outWidth
 * width // 1584
 */
export type Sum<A extends number, B extends number> = number extends A
  ? number
  : number extends B
    ? number
    : A extends number
      ? B extends number
        ? AddLiterals<A, B>
        : never
      : never

/** The input width two branches share: the one that is known, if only one is. */
type JoinIn<I1 extends Width, I2 extends Width> = [I1] extends [Same] ? I2 : number extends I1 ? ([I2] extends [Same] ? I1 : I2) : I1

/** A branch's output width given the input width (a `'same'` branch outputs its input). */
type BranchOut<I extends Width, O extends Width> = [O] extends [Same] ? I : O

/** The literal sum of two branch widths when both are known numbers, `number` otherwise. */
type ConcatWidth<A extends Width, B extends Width> = IsAny<A> extends true
  ? number
  : IsAny<B> extends true
    ? number
    : [A] extends [number]
      ? [B] extends [number]
        ? Sum<A, B>
        : number
      : number

type ConcatOut<I1 extends Width, O1 extends Width, I2 extends Width, O2 extends Width> = ConcatWidth<
  BranchOut<JoinIn<I1, I2>, O1>,
  BranchOut<JoinIn<I1, I2>, O2>
>

/** Whether two widths may be the same one (unknown and `'same'` widths may be). */
type MayEqual<A extends Width, B extends Width> = IsAny<A> extends true ? true : IsAny<B> extends true ? true : Fits<A, B>

/** A residual block's output width: its input width when that is fixed, else its layer's output. */
type ResidualOut<I extends Width, O extends Width> = [I] extends [Same] ? O : I

/**
 * The error `concat` reports at compile time when its branches take different input widths.
 * @since 0.1.0
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const uneven = () =>
 *   // @ts-expect-error: BranchMismatch<8, 9> — both branches must take the same input
 *   Layers.concat(Layers.dense(8, 4), Layers.dense(9, 2))
 * const even = Layers.concat(Layers.dense(8, 4), Layers.dense(8, 2))
 * even.inWidth // 8
 */
export interface BranchMismatch<FirstTakes, SecondTakes> {
  readonly 'concat branches take different input widths': { readonly firstTakes: FirstTakes; readonly secondTakes: SecondTakes }
}

/**
 * The error `residual` reports at compile time when its layer changes the width (`x + f(x)` needs
 * both to have the same width).
 * @since 0.1.0
 * @category model
 * @example
 * import { Layers } from 'nn-ts'
 * const shrinking = () =>
 *   // @ts-expect-error: ResidualMismatch<16, 8> — x + f(x) needs f to keep the width
 *   Layers.residual(Layers.dense(16, 8))
 * const block = Layers.residual(Layers.dense(16, 16))
 * block.outWidth // 16
 */
export interface ResidualMismatch<Takes, Outputs> {
  readonly 'residual layer must output its input width': { readonly takes: Takes; readonly outputs: Outputs }
}

// runtime widths

/** The width after a layer with output `out`, given the width before it. */
const nextWidth = (cur: Width, out: Width): Width => (out === 'same' ? cur : out)

const checkWidths = (where: string, cur: Width, layer: AnyLayer, index: number): void => {
  const want = layer.inWidth as Width
  if (typeof cur === 'number' && typeof want === 'number' && cur !== want && Number.isFinite(cur) && Number.isFinite(want)) {
    throw new ShapeError(`${where}[${index}] ${layer.name}`, `input width ${want}`, [cur])
  }
}

/** A chain's input width, as the type `ChainIn` computes it. */
const chainInWidth = (ls: readonly AnyLayer[]): Width => {
  for (const l of ls) {
    if (l.inWidth !== 'same') return l.inWidth as Width
    if (l.outWidth !== 'same') return 'same'
  }
  return 'same'
}

/** A width that is a known number (not `'same'`, not the `NaN` of an unknown concat width). */
const isKnown = (w: Width): w is number => typeof w === 'number' && Number.isFinite(w)

/** Re-throws a child's error with the child's position in front, so errors name the whole path. */
const within = <A>(where: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    if (e instanceof ShapeError) throw new ShapeError(`${where} > ${e.where}`, e.expected, e.actual)
    throw e
  }
}

// combinators

/**
 * Runs layers one after another; params and state are tuples of the layers'.
 *
 * @category combinators
 * @example
 * import { Layers } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(784, 40), Layers.sigmoid(), Layers.dense(40, 10))
 * net.name // 'sequential(dense(784→40), sigmoid, dense(40→10))'
 * const widths: readonly [784, 10] = [net.inWidth, net.outWidth]
 * // Layers.sequential(Layers.dense(784, 40), Layers.dense(30, 10)) does not compile.
 */
export const sequential = <const Ls extends readonly AnyLayer[]>(
  ...layers: Ls & CheckChain<Ls>
): Layer<ParamsTuple<Ls>, StateTuple<Ls>, ChainIn<Ls>, ChainOut<Ls, ChainIn<Ls>>> => sequentialOf(layers)

/**
 * `sequential` over a list known only at run time (built by a loop, read from a spec): no spreading,
 * so a chain of any length works, and the widths are checked when it is built, not by the compiler.
 *
 * @category combinators
 * @example
 * import { Layers } from 'nn-ts'
 * const hidden = [40, 30, 20]
 * const layers = hidden.flatMap((n, i) => [Layers.dense(i === 0 ? 784 : (hidden[i - 1] as number), n), Layers.relu()])
 * const net = Layers.sequentialOf([...layers, Layers.dense(20, 10)])
 * net.name // 'sequential(dense(784→40), relu, dense(40→30), relu, dense(30→20), relu, dense(20→10))'
 */
export const sequentialOf = (ls: ReadonlyArray<AnyLayer>): AnyLayer => {
  const inWidth = chainInWidth(ls)
  let width: Width = inWidth
  ls.forEach((l, i) => {
    checkWidths('sequential', width, l, i)
    width = nextWidth(width, l.outWidth)
  })
  const name = `sequential(${ls.map((l) => l.name).join(', ')})`
  return {
    name,
    inWidth,
    outWidth: width,
    node: { op: 'sequential', children: ls.map((l) => l.node) },
    parts: ls,
    init: (key, dtype) => {
      const parts = ls.map((l, i) => l.init(Random.fold(key, i), dtype))
      return {
        params: parts.map((p) => p.params),
        state: parts.map((p) => p.state)
      }
    },
    apply: (params, state, x, ctx) => {
      const ps = params as readonly Tree[]
      const ss = state as readonly Tree[]
      const withParams = ps.findIndex(holdsParams)
      const firstWithParams = withParams === -1 ? ls.length : withParams
      const backs: Array<Forward<Tree, Tree>['backward']> = []
      const states: Tree[] = []
      let h = x
      ls.forEach((l, i) => {
        const f = within(`sequential[${i}] ${l.name}`, () => l.apply(ps[i], ss[i], h, { mode: ctx.mode, key: Random.fold(ctx.key, i) }))
        h = f.y
        states.push(f.state)
        backs.push(f.backward)
      })
      return {
        y: h,
        state: states,
        backward: (dy, options) => {
          const needDx = options?.needDx !== false
          // Without dx, nothing below the first layer with params needs a gradient: that layer skips
          // its own dx, and the layers before it (no params, e.g. dropout on the inputs) do not run.
          const lowest = needDx ? 0 : firstWithParams
          const dps: Tree[] = new Array<Tree>(ls.length)
          let g = dy
          let last: Gradients<Tree> | undefined
          for (let i = ls.length - 1; i >= lowest; i--) {
            const r = within(`sequential[${i}] backward`, () => (backs[i] as Forward<Tree, Tree>['backward'])(g, { needDx: needDx || i > lowest }))
            dps[i] = r.dparams
            if (i > lowest) g = r.dx
            last = r
          }
          // A layer without params has an empty params tree, which is also its (empty) gradient.
          for (let i = 0; i < lowest; i++) dps[i] = ps[i] as Tree
          const dparams = dps
          if (needDx) return { dx: last === undefined ? dy : last.dx, dparams }
          // A caller that reads dx after all gets it: through the skipped layers, from their top.
          const top = last
          return lazyDx(() => {
            let h = top === undefined ? dy : top.dx
            for (let i = lowest - 1; i >= 0; i--) h = within(`sequential[${i}] backward`, () => (backs[i] as Forward<Tree, Tree>['backward'])(h)).dx
            return h
          }, dparams)
        }
      }
    }
  }
}

/**
 * `pipe(f, andThen(g))`: `g` after `f`, with params `[pf, pg]` and state `[sf, sg]`.
 * @category combinators
 * @example
 * import { pipe } from 'fp-ts/lib/function.js'
 * import { Layers } from 'nn-ts'
 * const net = pipe(Layers.dense(2, 8), Layers.andThen(Layers.tanh()), Layers.andThen(Layers.dense(8, 1)))
 * net.name // 'sequential(sequential(dense(2→8), tanh), dense(8→1))'
 */
export const andThen =
  <P2 extends Tree, S2 extends Tree, I2 extends Width, O2 extends Width>(g: Layer<P2, S2, I2, O2>) =>
  <P1 extends Tree, S1 extends Tree, I1 extends Width, O1 extends Width>(
    f: Layer<P1, S1, I1, O1> & (Fits<O1, I2> extends true ? unknown : WidthMismatch<'1', O1, I2>)
  ): Layer<readonly [P1, P2], readonly [S1, S2], I1, Next<O1, O2>> =>
    sequential(f as Layer<P1, S1, I1, O1>, g as AnyLayer) as unknown as Layer<readonly [P1, P2], readonly [S1, S2], I1, Next<O1, O2>>

/**
 * The identity layer: `y = x`, `dx = dy`. The unit of composition.
 * @category constructors
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const x = Tensor.fromRows([[1, 2]])
 * Layers.predict(Layers.identity(), [], [], x) // [[1, 2]]
 * const net = Layers.dense(2, 2)
 * const { params, state } = net.init(Random.key(0))
 * const same = Layers.sequential(Layers.identity(), net) // the unit of composition: computes what net does
 * Tensor.equals(Layers.predict(same, [[], params], [[], state], x), Layers.predict(net, params, state, x)) // true
 */
export const identity = (): Layer<Empty, Empty, Same, Same> => ({
  name: 'identity',
  inWidth: 'same',
  outWidth: 'same',
  node: { op: 'identity' },
  init: () => ({ params: [], state: [] }),
  apply: (_p, state, x) => ({ y: x, state, backward: (dy) => ({ dx: dy, dparams: [] }) })
})

/**
 * `y = x + f(x)`: a skip connection around a width-preserving layer. A layer whose output width
 * differs from its input width is refused at compile time when both are literals, and when the
 * block is built when they are only known at run time.
 * @category combinators
 * @example
 * import { Layers } from 'nn-ts'
 * const block = Layers.residual(Layers.sequential(Layers.dense(16, 16), Layers.relu()))
 * block.name // 'residual(sequential(dense(16→16), relu))'
 * // Layers.residual(Layers.dense(16, 8)) does not compile.
 */
export const residual = <P extends Tree, S extends Tree, I extends Width, O extends Width>(
  f: Layer<P, S, I, O> & (MayEqual<O, I> extends true ? unknown : ResidualMismatch<I, O>)
): Layer<P, S, I, ResidualOut<I, O>> => {
  const takes = f.inWidth as Width
  const outputs = f.outWidth as Width
  if (isKnown(takes) && isKnown(outputs) && takes !== outputs) {
    throw new ShapeError(`residual(${f.name})`, `output width ${takes} (its input width)`, [outputs])
  }
  return residualOf(f, (takes === 'same' ? outputs : takes) as ResidualOut<I, O>)
}

const residualOf = <P extends Tree, S extends Tree, I extends Width, O extends Width>(f: Layer<P, S, I, Width>, outWidth: O): Layer<P, S, I, O> => ({
  name: `residual(${f.name})`,
  inWidth: f.inWidth,
  outWidth,
  node: { op: 'residual', children: [f.node] },
  init: f.init,
  apply: (params, state, x, ctx) => {
    const inner = within(`residual ${f.name}`, () => f.apply(params, state, x, ctx))
    if (inner.y.shape[1] !== x.shape[1]) throw new ShapeError(`residual(${f.name})`, `output width ${x.shape[1]}`, inner.y.shape)
    return {
      y: K.add(x, inner.y),
      state: inner.state,
      backward: (dy, options) => {
        const g = inner.backward(dy, options)
        return gradients(options, () => K.add(dy, g.dx), g.dparams)
      }
    }
  }
})

/**
 * Feeds the same input to `f` and `g` and concatenates their outputs feature-wise: `[f(x) | g(x)]`.
 * Params and state are `[pf, pg]`; the input gradient is the sum of both branches'.
 *
 * Both branches must take the same input width (checked at compile time for literals, and when the
 * layer is built otherwise). The output width is the sum of the branches' (a `'same'` branch outputs
 * its input width), as a literal type when both are literals; `number` (and `NaN` at run time) when
 * it cannot be known before the first batch, e.g. `concat(relu(), tanh())`.
 * @category combinators
 * @example
 * import { Layers, Random, Tensor } from 'nn-ts'
 * const wide = Layers.concat(Layers.dense(8, 4), Layers.dense(8, 2)) // takes 8 features, gives 4 + 2
 * const six: 6 = wide.outWidth
 * // Layers.concat(Layers.dense(8, 4), Layers.dense(9, 2)) does not compile.
 * const { params, state } = wide.init(Random.key(0))
 * Layers.predict(wide, params, state, Tensor.zeros([1, 8])).shape // [1, 6]
 */
export const concat = <
  P1 extends Tree,
  S1 extends Tree,
  I1 extends Width,
  O1 extends Width,
  P2 extends Tree,
  S2 extends Tree,
  I2 extends Width,
  O2 extends Width
>(
  f: Layer<P1, S1, I1, O1>,
  g: Layer<P2, S2, I2, O2> & (MayEqual<I1, I2> extends true ? unknown : BranchMismatch<I1, I2>)
): Layer<readonly [P1, P2], readonly [S1, S2], JoinIn<I1, I2>, ConcatOut<I1, O1, I2, O2>> => {
  const firstTakes = f.inWidth as Width
  const secondTakes = g.inWidth as Width
  if (isKnown(firstTakes) && isKnown(secondTakes) && firstTakes !== secondTakes) {
    throw new ShapeError(`concat[1] ${g.name}`, `input width ${firstTakes} (as concat[0] ${f.name} takes)`, [secondTakes])
  }
  const inWidth: Width = firstTakes === 'same' ? secondTakes : firstTakes
  const branchOut = (out: Width): Width => (out === 'same' ? inWidth : out)
  const firstOut = branchOut(f.outWidth as Width)
  const secondOut = branchOut(g.outWidth as Width)
  const outWidth = isKnown(firstOut) && isKnown(secondOut) ? firstOut + secondOut : Number.NaN
  return {
    name: `concat(${f.name}, ${g.name})`,
    inWidth: inWidth as JoinIn<I1, I2>,
    outWidth: outWidth as ConcatOut<I1, O1, I2, O2>,
    node: { op: 'concat', children: [f.node, g.node] },
    init: (key, dtype) => {
      const a = f.init(Random.fold(key, 0), dtype)
      const b = g.init(Random.fold(key, 1), dtype)
      return { params: [a.params, b.params], state: [a.state, b.state] }
    },
    apply: ([pf, pg], [sf, sg], x, ctx) => {
      const a = within(`concat[0] ${f.name}`, () => f.apply(pf, sf, x, { mode: ctx.mode, key: Random.fold(ctx.key, 0) }))
      const b = within(`concat[1] ${g.name}`, () => g.apply(pg, sg, x, { mode: ctx.mode, key: Random.fold(ctx.key, 1) }))
      const split = a.y.shape[1] as number
      const total = split + (b.y.shape[1] as number)
      return {
        y: K.concatColumns(a.y, b.y),
        state: [a.state, b.state],
        backward: (dy, options) => {
          const ga = a.backward(K.sliceColumns(dy, 0, split), options)
          const gb = b.backward(K.sliceColumns(dy, split, total), options)
          return gradients(options, () => K.add(ga.dx, gb.dx), [ga.dparams, gb.dparams])
        }
      }
    }
  }
}

// destructors

/**
 * Runs a layer forward in eval mode and returns only the output (no state change, no gradient).
 * @category destructors
 * @example
 * import { Init, Layers, Random, Tensor } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(2, 1, { weightInit: Init.ones }), Layers.relu())
 * const { params, state } = net.init(Random.key(0))
 * Layers.predict(net, params, state, Tensor.fromRows([[1, 2], [-1, -2]])) // [[3], [0]]
 */
export const predict = <P extends Tree, S extends Tree>(layer: Layer<P, S, Width, Width>, params: P, state: S, x: Tensor): Tensor =>
  layer.apply(params, state, x, { mode: 'eval', key: Random.key(0) }).y

/**
 * Where a forward pass first produces NaN or ±Infinity: the path of the innermost layer whose output
 * is non-finite although its input was finite, e.g. `[2] dense(40→30)`; `undefined` if the output is
 * finite. Walks into chains through `parts`, with the same keys `sequential` gives its parts.
 * @category destructors
 * @example
 * import { Init, Layers, Random, Tensor } from 'nn-ts'
 * const net = Layers.sequential(Layers.dense(1, 1), Layers.dense(1, 1, { weightInit: Init.constant(Infinity) }))
 * const { params, state } = net.init(Random.key(0))
 * const ctx = { mode: 'eval' as const, key: Random.key(0) }
 * Layers.locateNonFinite(net, params, state, Tensor.fromRows([[1]]), ctx) // '[1] dense(1→1)'
 * Layers.locateNonFinite(net, params, state, Tensor.fromRows([[NaN]]), ctx) // 'input'
 */
export const locateNonFinite = (layer: AnyLayer, params: Tree, state: Tree, x: Tensor, ctx: Context): string | undefined => {
  if (!isFinite(x)) return 'input'
  const parts = layer.parts
  if (parts === undefined) return isFinite(layer.apply(params, state, x, ctx).y) ? undefined : layer.name
  let h = x
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as AnyLayer
    const p = (params as readonly Tree[])[i] as Tree
    const s = (state as readonly Tree[])[i] as Tree
    const partCtx = { mode: ctx.mode, key: Random.fold(ctx.key, i) }
    const y = part.apply(p, s, h, partCtx).y
    if (!isFinite(y)) return `[${i}] ${locateNonFinite(part, p, s, h, partCtx) ?? part.name}`
    h = y
  }
  return undefined
}
