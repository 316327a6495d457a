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
 * @since 0.1.0
 */
import type { Context, Layer, Mode, Width } from '../layers/Layer.ts'
import type { Loss } from '../losses/Loss.ts'
import * as Random from '../random/Key.ts'
import { kernels as K } from '../tensor/backend.ts'
import { type Tensor, cast, withElement } from '../tensor/Tensor.ts'
import * as Tree from '../tree/Tree.ts'

/** @category model */
export interface Tolerance {
  readonly eps: number
  readonly atol: number
  readonly rtol: number
}

/** The law's tolerance (as `torch.autograd.gradcheck`). @category constants */
export const gradcheckTolerance: Tolerance = { eps: 1e-6, atol: 1e-5, rtol: 1e-3 }

/** @category model */
export interface Mismatch {
  /** Tree path of the input, e.g. `x` or `params[2].W`. */
  readonly path: string
  /** Element index, or `direction k` for a random-direction check. */
  readonly at: number | string
  readonly analytic: number
  readonly numeric: number
}

/** @category model */
export interface GradientReport {
  /** How many scalar comparisons were made. */
  readonly checked: number
  readonly mismatches: ReadonlyArray<Mismatch>
}

/** @category model */
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
  const gradLeaves = Tree.leaves(grad)
  const mismatches: Mismatch[] = []
  let checked = 0
  const compare = (path: string, where: number | string, analytic: number, numeric: number): void => {
    checked++
    if (!(Math.abs(analytic - numeric) <= atol + rtol * Math.abs(numeric))) mismatches.push({ path, at: where, analytic, numeric })
  }
  Tree.leaves(at).forEach((leaf, li) => {
    const g = gradLeaves[li]
    if (g === undefined || g.path !== leaf.path) throw new TypeError(`checkScalarGradient: gradient tree lacks '${leaf.path}'`)
    const replace = (t: Tensor): T => Tree.map(at, (x, path) => (path === leaf.path ? t : x))
    const n = leaf.tensor.data.length
    if (n <= fullUpTo) {
      for (let i = 0; i < n; i++) {
        const v = leaf.tensor.data[i] as number
        const numeric = (f(replace(withElement(leaf.tensor, i, v + eps))) - f(replace(withElement(leaf.tensor, i, v - eps)))) / (2 * eps)
        compare(leaf.path, i, g.tensor.data[i] as number, numeric)
      }
    } else {
      for (let d = 0; d < directions; d++) {
        const v = Random.normal(Random.fold(Random.fold(key, li), d), leaf.tensor.shape, 0, 1, 'float64')
        const plus = K.zipWith(leaf.tensor, v, (a, b) => a + eps * b)
        const minus = K.zipWith(leaf.tensor, v, (a, b) => a - eps * b)
        const numeric = (f(replace(plus)) - f(replace(minus))) / (2 * eps)
        compare(leaf.path, `direction ${d}`, K.dot(g.tensor, v), numeric)
      }
    }
  })
  return { checked, mismatches }
}

/** @category model */
export interface LayerCheck<P extends Tree.Tree, S extends Tree.Tree> {
  readonly params: P
  readonly state: S
  readonly x: Tensor
  /** Default `'train'`. */
  readonly mode?: Mode
}

/**
 * The gradient law for a layer: `backward` must return the gradients of a random projection of the
 * output with respect to the input and every parameter.
 * @category laws
 * @example
 * import { Laws, Layers, Random, Tensor } from 'nn-ts'
 * const layer = Layers.dense(3, 2)
 * const { params, state } = layer.init(Random.key(0), 'float64')
 * const x = Tensor.fromRows([[0.1, -0.2, 0.3]], 'float64')
 * Laws.checkLayerGradients(layer, { params, state, x }).mismatches // []
 */
export const checkLayerGradients = <P extends Tree.Tree, S extends Tree.Tree>(
  layer: Layer<P, S, Width, Width>,
  check: LayerCheck<P, S>,
  options: CheckOptions = {}
): GradientReport => {
  const key = options.key ?? Random.key(0)
  const [kProjection, kContext, kDirections] = Random.splitN(key, 3) as [Random.Key, Random.Key, Random.Key]
  const ctx: Context = { mode: check.mode ?? 'train', key: kContext }
  const params = toFloat64(check.params)
  const state = toFloat64(check.state)
  const x = cast(check.x, 'float64')
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
 */
export const checkLossGradients = (loss: Loss, prediction: Tensor, target: Tensor, options: CheckOptions = {}): GradientReport => {
  const p = cast(prediction, 'float64')
  const t = cast(target, 'float64')
  return checkScalarGradient((at: Tensor) => loss.apply(at, t).value, p, loss.apply(p, t).grad, options)
}

/** A readable summary of a failed report, for assertion messages. @category utils */
export const describeReport = (name: string, report: GradientReport): string =>
  report.mismatches.length === 0
    ? `${name}: ${report.checked} gradient checks passed`
    : `${name}: ${report.mismatches.length} of ${report.checked} gradient checks failed:\n` +
      report.mismatches
        .slice(0, 8)
        .map((m) => `  ${m.path}[${m.at}] analytic ${m.analytic} vs numeric ${m.numeric}`)
        .join('\n')
