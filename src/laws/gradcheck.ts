/**
 * The gradient law, as a public kit: check any layer or loss against central differences.
 *
 * Everything is cast to float64. A layer's output is reduced to a scalar by a random projection
 * `L = ⟨r, y⟩`, so `backward(r)` must be the gradient of `L`. Small leaves are checked element by
 * element (the full Jacobian row of `L`); large leaves along random directions `v`, comparing
 * `⟨∇L, v⟩` with `(L(θ + εv) − L(θ − εv)) / 2ε` (JAX's `check_vjp` idea: two forward passes, any size).
 * Tolerances are `torch.autograd.gradcheck`'s: ε = 1e-6, |analytic − numeric| ≤ 1e-5 + 1e-3·|numeric|.
 * They are part of the law: keep inputs off kinks instead of loosening them.
 *
 * A drawn input has 2 to 5 rows (and a given one should have two or more): with a single row, a
 * gradient that should be summed over the batch (a bias's `Σ_rows dy`) equals the first row's, so a
 * layer that forgets the sum would pass. Layer state (BatchNorm's running statistics) has its own
 * law, `checkLayerState`.
 *
 * @since 0.1.0
 */
import type { Context, Layer, Mode, Width } from '../layers/Layer.ts'
import type { Loss } from '../losses/Loss.ts'
import * as Random from '../random/Key.ts'
import { kernels as K } from '../tensor/backend.ts'
import { type Tensor, cast, fromArray, sameShape, showShape, withElement } from '../tensor/Tensor.ts'
import * as Tree from '../tree/Tree.ts'

/**
 * A gradient check's step `eps` and how far analytic and numeric may differ: `|analytic − numeric| ≤ atol + rtol·|numeric|`.
 * @category model
 * @example
 * import { Laws, Tensor, kernels } from 'nn-ts'
 * // f(x) = ⟨c, x⟩ is linear, so central differences are exact up to rounding: |f|·2⁻⁵³/ε ≈ 1e-9 here, under atol.
 * const strict: Laws.Tolerance = { eps: 1e-6, atol: 1e-8, rtol: 0 }
 * const c = Tensor.vector([2, 3], 'float64')
 * const report = Laws.checkScalarGradient((x: Tensor.Tensor) => kernels.dot(c, x), Tensor.vector([1, 2], 'float64'), c, { tolerance: strict })
 * report.mismatches // []
 */
export interface Tolerance {
  readonly eps: number
  readonly atol: number
  readonly rtol: number
}

/**
 * The law's tolerance (as `torch.autograd.gradcheck`).
 * @category constants
 * @example
 * import { Laws } from 'nn-ts'
 * Laws.gradcheckTolerance // { eps: 1e-6, atol: 1e-5, rtol: 1e-3 }
 */
export const gradcheckTolerance: Tolerance = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 }

/**
 * One comparison that failed.
 * @category model
 * @example
 * import { Laws } from 'nn-ts'
 * const m: Laws.Mismatch = { path: ['params', 2, 'W'], at: 5, analytic: 0.25, numeric: 0.5 }
 * Laws.describeReport('net', { checked: 40, mismatches: [m] }) // 'net: 1 of 40 gradient checks failed:\n  params[2].W element 5: analytic 0.25 vs numeric 0.5'
 */
export interface Mismatch {
  /** Tree path of the input, e.g. `['x']` or `['params', 2, 'W']` (`Tree.showPath` prints `params[2].W`). */
  readonly path: Tree.Path
  /** Element index, or `direction k` for a random-direction check. */
  readonly at: number | string
  readonly analytic: number
  readonly numeric: number
}

/**
 * How many scalar comparisons a gradient check made, and those that failed.
 * @category model
 * @example
 * import { Laws, Layers } from 'nn-ts'
 * const report: Laws.GradientReport = Laws.checkLayerGradients(Layers.dense(3, 2), { rows: 4 })
 * report.checked // 20: x has 4 × 3 elements, W 3 × 2, b 2
 * report.mismatches // []
 */
export interface GradientReport {
  /** How many scalar comparisons were made. */
  readonly checked: number
  readonly mismatches: ReadonlyArray<Mismatch>
}

/**
 * How a gradient check compares: which leaves element by element, how many random directions for the others, the key and the tolerance.
 * @category model
 * @example
 * import { Laws, Layers } from 'nn-ts'
 * const options: Laws.CheckOptions = { fullUpTo: 0, directions: 5 } // every leaf along 5 random directions
 * Laws.checkLayerGradients(Layers.dense(3, 2), {}, options).checked // 15: 5 for each of x, W and b
 */
export interface CheckOptions {
  /** Leaves with at most this many elements are checked element by element (default 48). */
  readonly fullUpTo?: number
  /** Random directions for larger leaves (default 3). */
  readonly directions?: number
  /** Key for projections and directions (default `Random.key(0)`). */
  readonly key?: Random.Key
  readonly tolerance?: Tolerance
}

const toFloat64 = <T extends Tree.Tree>(t: T): T => Tree.map(t, (x) => cast(x, 'float64'))

/**
 * Checks `grad` against central differences of the scalar function `f` at `at` (both trees of the
 * same structure).
 * @category laws
 * @example
 * import { Laws, Tensor, kernels } from 'nn-ts'
 * const x = Tensor.vector([1, 2, 3], 'float64')
 * const f = (t: Tensor.Tensor) => kernels.dot(t, t)
 * Laws.checkScalarGradient(f, x, kernels.map(x, (v) => 2 * v)).mismatches // []
 */
export const checkScalarGradient = <T extends Tree.Tree>(f: (at: T) => number, at: T, grad: T, options: CheckOptions = {}): GradientReport => {
  const { eps, atol, rtol } = options.tolerance ?? gradcheckTolerance
  const fullUpTo = options.fullUpTo ?? 48
  const directions = options.directions ?? 3
  const key = options.key ?? Random.key(0)
  // Pairs every leaf of `at` with its gradient, checking that the two trees have one structure.
  const pairs = Tree.leaves(Tree.zipWith([at, grad], ([x]) => x)).map((l) => ({ path: l.path, x: l.value, g: Tree.at(grad, l.path) as Tensor }))
  const mismatches: Mismatch[] = []
  let checked = 0
  const compare = (path: Tree.Path, where: number | string, analytic: number, numeric: number): void => {
    checked++
    if (!(Math.abs(analytic - numeric) <= atol + rtol * Math.abs(numeric))) mismatches.push({ path, at: where, analytic, numeric })
  }
  pairs.forEach(({ path, x, g }, li) => {
    const replace = (t: Tensor): T => Tree.set(at, path, t)
    const n = x.data.length
    if (n <= fullUpTo) {
      for (let i = 0; i < n; i++) {
        const v = x.data[i] as number
        const numeric = (f(replace(withElement(x, i, v + eps))) - f(replace(withElement(x, i, v - eps)))) / (2 * eps)
        compare(path, i, g.data[i] as number, numeric)
      }
    } else {
      for (let d = 0; d < directions; d++) {
        const v = Random.normal(Random.fold(Random.fold(key, li), d), x.shape, 0, 1, 'float64')
        const plus = K.zipWith(x, v, (a, b) => a + eps * b)
        const minus = K.zipWith(x, v, (a, b) => a - eps * b)
        const numeric = (f(replace(plus)) - f(replace(minus))) / (2 * eps)
        compare(path, `direction ${d}`, K.dot(g, v), numeric)
      }
    }
  })
  return { checked, mismatches }
}

/**
 * Where a layer law runs: params, state and input, each drawn from the law's key when omitted.
 * @category model
 * @example
 * import { Laws, Layers } from 'nn-ts'
 * const at: Laws.LayerCheck<Layers.DenseParams, Layers.Empty> = { rows: 4, mode: 'eval' }
 * Laws.checkLayerGradients(Layers.dense(3, 2), at).mismatches // []
 */
export interface LayerCheck<P extends Tree.Tree, S extends Tree.Tree> {
  /** Default: `layer.init` with the law's key, in float64. */
  readonly params?: P
  /** Default: `layer.init` with the law's key, in float64. */
  readonly state?: S
  /**
   * Default: standard normal `[rows, features]`. Give at least two rows: see the module comment for
   * what a single row cannot show.
   */
  readonly x?: Tensor
  /** Rows of the drawn input (default 2 to 5, chosen by the key, so laws over many keys see many batch sizes). */
  readonly rows?: number
  /** Columns of the drawn input (default the layer's input width; 3 for element-wise layers). */
  readonly features?: number
  /** Default `'train'`. */
  readonly mode?: Mode
}

/** The fewest and most rows of a drawn input. */
const drawnRows = { min: 2, max: 5 } as const

/** The columns of a drawn input when the layer accepts any width. */
const drawnFeaturesForAnyWidth = 3

/** A check's params, state and input in float64, drawing the omitted ones from `key`. */
const resolveCheck = <P extends Tree.Tree, S extends Tree.Tree>(
  layer: Layer<P, S, Width, Width>,
  check: LayerCheck<P, S>,
  key: Random.Key
): { readonly params: P; readonly state: S; readonly x: Tensor } => {
  const [kInit, kRows, kInput] = Random.splitN(key, 3) as [Random.Key, Random.Key, Random.Key]
  const initial = check.params === undefined || check.state === undefined ? layer.init(kInit, 'float64') : undefined
  const u = Random.uniforms(kRows, 1)[0] as number
  const rows = check.rows ?? drawnRows.min + Math.floor(u * (drawnRows.max - drawnRows.min + 1))
  const features = check.features ?? (typeof layer.inWidth === 'number' ? layer.inWidth : drawnFeaturesForAnyWidth)
  return {
    params: toFloat64(check.params ?? (initial?.params as P)),
    state: toFloat64(check.state ?? (initial?.state as S)),
    x: cast(check.x ?? Random.normal(kInput, [rows, features], 0, 1, 'float64'), 'float64')
  }
}

/**
 * The gradient law for a layer: `backward` must return the gradients of a random projection of the
 * output with respect to the input and every parameter. Whatever the check omits is drawn from the
 * key: params and state from `layer.init`, an input of 2 to 5 rows.
 * @category laws
 * @example
 * import { Laws, Layers, Tensor } from 'nn-ts'
 * Laws.checkLayerGradients(Layers.dense(3, 2)).mismatches // []
 * // or at a given point
 * const x = Tensor.fromRows([[0.1, -0.2, 0.3], [0.5, 0, -1]], 'float64')
 * Laws.checkLayerGradients(Layers.tanh(), { params: [], state: [], x }).mismatches // []
 */
export const checkLayerGradients = <P extends Tree.Tree, S extends Tree.Tree>(
  layer: Layer<P, S, Width, Width>,
  check: LayerCheck<P, S> = {},
  options: CheckOptions = {}
): GradientReport => {
  const key = options.key ?? Random.key(0)
  const [kProjection, kContext, kDirections, kCheck] = Random.splitN(key, 4) as [Random.Key, Random.Key, Random.Key, Random.Key]
  const ctx: Context = { mode: check.mode ?? 'train', key: kContext }
  const { params, state, x } = resolveCheck(layer, check, kCheck)
  const forward = layer.apply(params, state, x, ctx)
  const r = Random.normal(kProjection, forward.y.shape, 0, 1, 'float64')
  const { dx, dparams } = forward.backward(r)
  type Inputs = { readonly x: Tensor; readonly params: P }
  const f = (at: Inputs): number => K.dot(r, layer.apply(at.params, state, at.x, ctx).y)
  return checkScalarGradient<Inputs>(f, { x, params }, { x: dx, params: dparams }, { ...options, key: kDirections })
}

/**
 * The gradient law for a loss: `grad` must be the derivative of `value` with respect to the prediction.
 * @category laws
 * @example
 * import { Laws, Loss, Tensor } from 'nn-ts'
 * const logits = Tensor.fromRows([[1, 2, 3], [0, 0, 1]])
 * const targets = Tensor.fromRows([[0, 0, 1], [1, 0, 0]])
 * Laws.checkLossGradients(Loss.softmaxCrossEntropy, logits, targets).mismatches // []
 */
export const checkLossGradients = (loss: Loss, prediction: Tensor, target: Tensor, options: CheckOptions = {}): GradientReport => {
  const p = cast(prediction, 'float64')
  const t = cast(target, 'float64')
  return checkScalarGradient((at: Tensor) => loss.apply(at, t).value, p, loss.apply(p, t).grad, options)
}

// the state law

/**
 * The laws `checkLayerState` checks:
 * - `eval keeps the state`: eval mode returns the state it was given, bit for bit;
 * - `train keeps the state's structure`: train mode returns a state of the same paths, shapes and dtypes;
 * - `train is deterministic`: two train passes on the same params, state, input and key agree bit for bit;
 * - `apply leaves its inputs unchanged`: no pass writes into the params, state or input it was given;
 * - `train matches the reference`: train mode's new state equals the caller's `expected` (within tolerance).
 * @category model
 * @example
 * import { Laws, Layers, Tensor } from 'nn-ts'
 * // A layer that counts its calls even in eval mode breaks one law.
 * const counter: Layers.Layer<Layers.Empty, Tensor.Tensor, 'same', 'same'> = {
 *   name: 'counter',
 *   inWidth: 'same',
 *   outWidth: 'same',
 *   node: { op: 'counter' },
 *   init: () => ({ params: [], state: Tensor.vector([0], 'float64') }),
 *   apply: (_p, state, x) => ({ y: x, state: Tensor.vector([Tensor.item(state) + 1], 'float64'), backward: (dy) => ({ dx: dy, dparams: [] }) })
 * }
 * const broken: ReadonlyArray<Laws.StateLaw> = Laws.checkLayerState(counter).violations.map((v) => v.law)
 * broken // ['eval keeps the state']
 */
export type StateLaw =
  | 'eval keeps the state'
  | "train keeps the state's structure"
  | 'train is deterministic'
  | 'apply leaves its inputs unchanged'
  | 'train matches the reference'

/**
 * One state law that failed, and where.
 * @category model
 * @example
 * import { Laws } from 'nn-ts'
 * const v: Laws.StateViolation = { law: 'eval keeps the state', path: ['runningMean'], detail: 'element 0 is 1, was 0' }
 * Laws.describeStateReport('bn', { checked: 6, violations: [v] }) // 'bn: 1 of 6 state checks failed:\n  eval keeps the state: runningMean: element 0 is 1, was 0'
 */
export interface StateViolation {
  readonly law: StateLaw
  /** Tree path of the offending leaf, e.g. `['runningMean']`, or `['state', 'runningVar']` for an input. */
  readonly path: Tree.Path
  readonly detail: string
}

/**
 * How many leaf comparisons the state law made, and the laws that failed.
 * @category model
 * @example
 * import { Laws, Layers } from 'nn-ts'
 * const report: Laws.StateReport = Laws.checkLayerState(Layers.batchNorm(3))
 * report.violations // []
 * report.checked > 0 // true
 */
export interface StateReport {
  /** How many leaf comparisons were made. */
  readonly checked: number
  readonly violations: ReadonlyArray<StateViolation>
}

/**
 * Where the state law runs, and optionally what train mode must produce.
 * @category model
 * @example
 * import { Laws, Layers } from 'nn-ts'
 * const check: Laws.StateCheck<Layers.BatchNormParams, Layers.BatchNormState> = {
 *   rows: 8,
 *   // In eval mode nothing changes; as a reference for train mode, a layer that keeps its state fails it.
 *   expected: (state) => state
 * }
 * Laws.checkLayerState(Layers.batchNorm(3), check).violations.map((v) => v.law)[0] // 'train matches the reference'
 */
export interface StateCheck<P extends Tree.Tree, S extends Tree.Tree> extends Omit<LayerCheck<P, S>, 'mode'> {
  /**
   * A reference for train mode's update: the state one train pass must return, given the state, input
   * and params it was run on (all float64 copies). Omit to check only the other laws.
   */
  readonly expected?: (state: S, x: Tensor, params: P) => S
}

/**
 * The key a state check draws from, and its tolerance for the reference comparison.
 * @category model
 * @example
 * import { Laws, Layers, Random } from 'nn-ts'
 * const options: Laws.StateCheckOptions = { key: Random.key(7), tolerance: Laws.stateTolerance }
 * Laws.checkLayerState(Layers.batchNorm(3), {}, options).violations // []
 */
export interface StateCheckOptions {
  /** Key for the drawn params, state and input and for the pass's context (default `Random.key(0)`). */
  readonly key?: Random.Key
  /** How close train mode's state must be to `expected`: `|got − expected| ≤ atol + rtol·|expected|`. */
  readonly tolerance?: { readonly atol: number; readonly rtol: number }
}

/**
 * The default tolerance of `train matches the reference`. A reference computes the same float64 sums
 * in its own order; two orders of an n-term sum differ by at most about 2n·2⁻⁵³·Σ|terms| (Higham,
 * *Accuracy and Stability of Numerical Algorithms*, §4.2), so a batch mean or variance (a sum over n
 * rows divided by n) by about 2n·1.1e-16·max|term|. For inputs like the drawn one (a few rows, squared
 * deviations below 10²) that is ~1e-13: atol 1e-12 holds it with margin. The update itself
 * (`α·E + (1 − α)·μ`) rounds a few times, ~1e-16·|E|, well inside rtol 1e-12. Batches of thousands of
 * rows or values far from 1 need a tolerance scaled by the same bound.
 * @category constants
 * @example
 * import { Laws } from 'nn-ts'
 * Laws.stateTolerance // { atol: 1e-12, rtol: 1e-12 }
 */
export const stateTolerance: { readonly atol: number; readonly rtol: number } = { atol: 1e-12, rtol: 1e-12 }

const copyTree = <T extends Tree.Tree>(t: T): T => Tree.map(t, (leaf) => fromArray(leaf.shape, leaf.data, leaf.dtype))

/** The first element where `a` and `b` differ bit for bit, described; `undefined` if none does. */
const bitwiseDifference = (a: Tensor, b: Tensor): string | undefined => {
  const i = a.data.findIndex((v, j) => !Object.is(v, b.data[j]))
  return i < 0 ? undefined : `element ${i} is ${a.data[i]}, was ${b.data[i]}`
}

/**
 * The state law for a layer with state (BatchNorm's running statistics, a counter, …): eval mode keeps
 * the state; train mode's new state is shaped like the old one and is a deterministic function of
 * params, state, input and key; no pass writes into its inputs; and, given `expected`, train mode's
 * update equals the caller's reference. Everything the check omits is drawn from the key, as for
 * `checkLayerGradients` (an input of 2 to 5 rows).
 * @category laws
 * @example
 * import { Laws, Layers, Tensor } from 'nn-ts'
 * Laws.checkLayerState(Layers.batchNorm(4)).violations // []
 * // With a reference for train mode: each running statistic moves 10% of the way to the batch's
 * const towards = (old: Tensor.Tensor, batch: number[]) =>
 *   Tensor.vector(Tensor.toArray(old).map((e, j) => 0.9 * e + 0.1 * (batch[j] as number)), 'float64')
 * const report = Laws.checkLayerState(Layers.batchNorm(2), {
 *   expected: (state, x) => {
 *     const rows = Tensor.toRows(x)
 *     const column = (j: number) => rows.map((r) => r[j] as number)
 *     const mean = [0, 1].map((j) => column(j).reduce((s, v) => s + v, 0) / rows.length)
 *     const variance = [0, 1].map((j) => column(j).reduce((s, v) => s + (v - (mean[j] as number)) ** 2, 0) / rows.length)
 *     return { runningMean: towards(state.runningMean, mean), runningVar: towards(state.runningVar, variance) }
 *   }
 * })
 * report.violations // []
 */
export const checkLayerState = <P extends Tree.Tree, S extends Tree.Tree>(
  layer: Layer<P, S, Width, Width>,
  check: StateCheck<P, S> = {},
  options: StateCheckOptions = {}
): StateReport => {
  const key = options.key ?? Random.key(0)
  const { atol, rtol } = options.tolerance ?? stateTolerance
  const [kContext, kCheck] = Random.splitN(key, 2) as [Random.Key, Random.Key]
  const { params, state, x } = resolveCheck(layer, check, kCheck)
  const before = { params: copyTree(params), state: copyTree(state), x: copyTree(x) }
  const pass = (mode: Mode): S => layer.apply(params, state, x, { mode, key: kContext }).state
  const evalState = pass('eval')
  const trainState = pass('train')
  const trainAgain = pass('train')

  const violations: StateViolation[] = []
  let checked = 0
  /** Compares two trees leaf by leaf: structure, shapes and dtypes, then values with `differ`. */
  const compare = (law: StateLaw, prefix: Tree.Path, got: Tree.Tree, want: Tree.Tree, differ: (a: Tensor, b: Tensor) => string | undefined): void => {
    for (const { path, value } of Tree.leaves(got)) {
      checked++
      const w = Tree.at(want, path)
      const at = [...prefix, ...path]
      if (!Tree.isTensor(w)) violations.push({ law, path: at, detail: 'a leaf the state did not have' })
      else if (w.dtype !== value.dtype || !sameShape(w.shape, value.shape)) {
        violations.push({ law, path: at, detail: `${value.dtype} ${showShape(value.shape)}, was ${w.dtype} ${showShape(w.shape)}` })
      } else {
        const d = differ(value, w)
        if (d !== undefined) violations.push({ law, path: at, detail: d })
      }
    }
    for (const { path } of Tree.leaves(want)) if (!Tree.isTensor(Tree.at(got, path))) violations.push({ law, path: [...prefix, ...path], detail: 'missing' })
  }
  const withinTolerance = (a: Tensor, b: Tensor): string | undefined => {
    const i = a.data.findIndex((v, j) => {
      const e = b.data[j] as number
      return !(Math.abs(v - e) <= atol + rtol * Math.abs(e))
    })
    return i < 0 ? undefined : `element ${i} is ${a.data[i]}, expected ${b.data[i]}`
  }

  compare('eval keeps the state', [], evalState, state, bitwiseDifference)
  compare("train keeps the state's structure", [], trainState, state, () => undefined)
  compare('train is deterministic', [], trainAgain, trainState, bitwiseDifference)
  compare('apply leaves its inputs unchanged', ['params'], params, before.params, bitwiseDifference)
  compare('apply leaves its inputs unchanged', ['state'], state, before.state, bitwiseDifference)
  compare('apply leaves its inputs unchanged', ['x'], x, before.x, bitwiseDifference)
  if (check.expected !== undefined) {
    const reference = toFloat64(check.expected(copyTree(before.state), copyTree(before.x), copyTree(before.params)))
    compare('train matches the reference', [], trainState, reference, withinTolerance)
  }
  return { checked, violations }
}

/**
 * A readable summary of a state report, for assertion messages.
 * @category utils
 * @example
 * import { Laws, Layers } from 'nn-ts'
 * Laws.describeStateReport('batchNorm(3)', Laws.checkLayerState(Layers.batchNorm(3))) // 'batchNorm(3): … state checks passed'
 * const failed = { checked: 2, violations: [{ law: 'eval keeps the state' as const, path: ['runningMean'], detail: 'element 0 is 1, was 0' }] }
 * Laws.describeStateReport('bn', failed) // 'bn: 1 of 2 state checks failed:\n  eval keeps the state: runningMean: element 0 is 1, was 0'
 */
export const describeStateReport = (name: string, report: StateReport): string =>
  report.violations.length === 0
    ? `${name}: ${report.checked} state checks passed`
    : `${name}: ${report.violations.length} of ${report.checked} state checks failed:\n` +
      report.violations
        .slice(0, 8)
        .map((v) => `  ${v.law}: ${v.path.length === 0 ? '<state>' : Tree.showPath(v.path)}: ${v.detail}`)
        .join('\n')

/**
 * A readable summary of a failed report, for assertion messages.
 * @category utils
 * @example
 * import { Laws, Layers } from 'nn-ts'
 * Laws.describeReport('dense', Laws.checkLayerGradients(Layers.dense(3, 2), { rows: 4 })) // 'dense: 20 gradient checks passed'
 * const failed = { checked: 18, mismatches: [{ path: ['x'], at: 0, analytic: 0.0338, numeric: 0.0169 }] }
 * Laws.describeReport('scaleShift', failed) // 'scaleShift: 1 of 18 gradient checks failed:\n  x element 0: analytic 0.0338 vs numeric 0.0169'
 */
export const describeReport = (name: string, report: GradientReport): string =>
  report.mismatches.length === 0
    ? `${name}: ${report.checked} gradient checks passed`
    : `${name}: ${report.mismatches.length} of ${report.checked} gradient checks failed:\n` +
      report.mismatches
        .slice(0, 8)
        .map((m) => `  ${m.path.length === 0 ? '<input>' : Tree.showPath(m.path)} ${typeof m.at === 'number' ? `element ${m.at}` : m.at}: analytic ${m.analytic} vs numeric ${m.numeric}`)
        .join('\n')
