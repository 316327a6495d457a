/**
 * The fused optimizer steps are the composed chains, bit for bit.
 *
 * The optimizer aliases (`sgd`, `momentum`, `nesterov`, `emaMomentum`, `adam`, `adamw`, `rmsprop`) are
 * chains of primitives and carry a fused step (`Optim.FusedStep`): one kernel per parameter leaf that
 * reads the gradient, the param and the moments once. The chain is the semantics; these laws pin the
 * fast path to it exactly (`Tree.equals` with no tolerance: every value the same number, −0 ≠ 0, NaN =
 * NaN), at two levels:
 *
 * - kernels: each fused kernel (`sgdStep`, `momentumStep`, `emaMomentumStep`, `adamStep`,
 *   `rmsPropStep`) equals the composed kernels it replaces (`scale`, `axpby`, `axpbySquare`,
 *   `adaptiveDirection`, then `axpby(1, p, 1, u)`), on each backend (reference and WebAssembly), for
 *   float32 and float64, sizes across the four-lane bodies and the chunks of the WebAssembly
 *   element-wise runner, and inputs holding zeros of both signs, ±∞ and NaN;
 * - optimizers: several steps of `fused.step` equal `update` then `applyUpdates` — params and the
 *   whole optimizer state — on random trees, hyper-parameters (constant or scheduled learning rates,
 *   AdamW masks) and step counts, once with the default backend and once with the modules re-loaded
 *   under `NN_TS_BACKEND=reference`.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it, vi } from 'vitest'
import * as Data from '../src/data/index.ts'
import * as Layers from '../src/layers/index.ts'
import * as Loss from '../src/losses/Loss.ts'
import * as Optim from '../src/optim/index.ts'
import * as Random from '../src/random/Key.ts'
import { type Kernels, type StepResult, reference as R } from '../src/tensor/kernels.ts'
import * as Tensor from '../src/tensor/Tensor.ts'
import * as Train from '../src/train/index.ts'
import * as Tree from '../src/tree/Tree.ts'
import { wasm } from '../src/tensor/wasm/backend.ts'
import { lawParameters } from './lawParameters.ts'

type T = Tensor.Tensor

const W: Kernels = E.getOrElseW((why: string) => {
  throw new Error(`the WebAssembly backend did not load: ${why}`)
})(wasm)

const BACKENDS: ReadonlyArray<readonly [string, Kernels]> = [
  ['reference', R],
  ['wasm', W]
]

const SPECIALS = [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1e-40, -3e-39]

/** Normals times `scale`, with every `every`-th element (from `offset`) replaced by a special value. */
const values = (seed: number, shape: readonly number[], dtype: Tensor.DType, scale: number, every: number): T => {
  const t = Random.normal(Random.key(seed), shape, 0, scale, dtype)
  const data = Array.from(t.data)
  if (every > 0) for (let i = seed % every; i < data.length; i += every) data[i] = SPECIALS[(i + seed) % SPECIALS.length] as number
  return Tensor.fromArray(shape, data, dtype)
}

const same = (what: string, fused: T, composed: T): void => {
  if (!Tree.equals(fused, composed)) {
    const i = fused.data.findIndex((v, j) => !Object.is(v, composed.data[j]))
    throw new Error(`${what}: fused ${fused.data[i]} ≠ composed ${composed.data[i]} at element ${i}`)
  }
}

/** A length across the 4-lane body and tail, and across the 16384-element chunks of the wasm runner. */
const length = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(16383, 16384, 16385, 40000))
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 })
const dtype = fc.constantFrom<Tensor.DType>('float32', 'float64')
const unit = fc.double({ min: 0, max: 1, noNaN: true })
const rate = fc.oneof(fc.double({ min: 1e-6, max: 2, noNaN: true }), fc.constant(0))
// Special values in about one element of `every` (0: none), so most cases stay finite.
const every = fc.constantFrom(0, 0, 3, 17)

describe('fused optimizer kernels equal the composed kernels bit for bit, on each backend', () => {
  it('sgdStep, momentumStep (both forms), emaMomentumStep, adamStep (Adam and AdamW) and rmsPropStep', () => {
    fc.assert(
      fc.property(length, seed, dtype, every, rate, unit, unit, unit, fc.boolean(), (n, s, dt, ev, eta, a, b, wd, nesterov) => {
        const p = values(s, [n], dt, 1, ev)
        const g = values(s + 1, [n], dt, 1e-2, ev)
        const m = values(s + 2, [n], dt, 1e-2, ev)
        const v = R.map(values(s + 3, [n], dt, 1e-4, ev), Math.abs)
        // Adam's hyper-parameters from the draws; corrections as at step 1 + (s mod 5).
        const t = 1 + (s % 5)
        const b1 = Math.min(a, 0.999)
        const b2 = Math.min(b, 0.9999)
        const k = {
          b1, k1: 1 - b1, b2, k2: 1 - b2, c1: 1 / (1 - b1 ** t), c2: 1 / (1 - b2 ** t),
          epsRoot: s % 2 === 0 ? 0 : 1e-12, eps: 1e-8, eta
        }
        for (const [name, K] of BACKENDS) {
          const apply = (u: T): T => K.axpby(1, p, 1, u)
          const sgd = K.sgdStep(p, g, eta)
          same(`${name} sgdStep`, sgd.param, apply(K.scale(g, -eta)))

          const mom = K.momentumStep(p, g, m, eta, a, nesterov)
          const u = K.scale(g, -eta)
          const velocity = K.axpby(a, m, 1, u)
          same(`${name} momentumStep velocity`, mom.first as T, velocity)
          same(`${name} momentumStep param`, mom.param, apply(nesterov ? K.axpby(a, velocity, 1, u) : velocity))

          const ema = K.emaMomentumStep(p, g, m, a, 1 - a, eta)
          const average = K.axpby(a, m, 1 - a, g)
          same(`${name} emaMomentumStep velocity`, ema.first as T, average)
          same(`${name} emaMomentumStep param`, ema.param, apply(K.scale(average, -eta)))

          const mu = K.axpby(k.b1, m, k.k1, g)
          const nu = K.axpbySquare(k.b2, v, k.k2, g)
          const direction = K.adaptiveDirection(mu, nu, k.c1, k.c2, k.epsRoot, k.eps)
          const adam = K.adamStep(p, g, m, v, k)
          same(`${name} adamStep mu`, adam.first as T, mu)
          same(`${name} adamStep nu`, adam.second as T, nu)
          same(`${name} adamStep param`, adam.param, apply(K.scale(direction, -eta)))
          const adamw = K.adamStep(p, g, m, v, { ...k, weightDecay: wd })
          same(`${name} adamStep (AdamW) param`, adamw.param, apply(K.scale(K.axpby(1, direction, wd, p), -eta)))

          const rmsNu = K.axpbySquare(a, v, 1 - a, g)
          const rms = K.rmsPropStep(p, g, v, a, 1 - a, 1e-8, eta)
          same(`${name} rmsPropStep nu`, rms.second as T, rmsNu)
          same(`${name} rmsPropStep param`, rms.param, apply(K.scale(K.adaptiveDirection(g, rmsNu, 1, 1, 0, 1e-8), -eta)))

          // Each kernel's finiteness flag is exactly whether its gradient and its results are finite.
          const flags: ReadonlyArray<readonly [string, StepResult]> = [
            ['sgdStep', sgd], ['momentumStep', mom], ['emaMomentumStep', ema], ['adamStep', adam], ['adamStep (AdamW)', adamw], ['rmsPropStep', rms]
          ]
          for (const [what, r] of flags) {
            const expected = [g, r.param, r.first, r.second].every((t) => t === undefined || Tensor.isFinite(t))
            if (r.finite !== expected) throw new Error(`${name} ${what}: finite ${r.finite}, but the gradient and results ${expected ? 'are' : 'are not'} all finite`)
          }
        }
      }),
      lawParameters(60)
    )
  })

  it('the fused kernels refuse operands of other shapes or dtypes with the reference errors', () => {
    const p = values(1, [3], 'float32', 1, 0)
    const q = values(2, [4], 'float32', 1, 0)
    const k = { b1: 0.9, k1: 0.1, b2: 0.999, k2: 0.001, c1: 10, c2: 1000, epsRoot: 0, eps: 1e-8, eta: 0.1 }
    const message = (f: () => unknown): string => {
      try {
        f()
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`
      }
      return 'no error'
    }
    const cases: ReadonlyArray<[string, (K: Kernels) => unknown]> = [
      ['sgdStep', (K) => K.sgdStep(p, q, 0.1)],
      ['sgdStep dtypes', (K) => K.sgdStep(p, Tensor.cast(p, 'float64'), 0.1)],
      ['momentumStep', (K) => K.momentumStep(p, p, q, 0.1, 0.9, false)],
      ['emaMomentumStep', (K) => K.emaMomentumStep(p, q, p, 0.9, 0.1, 0.1)],
      ['adamStep', (K) => K.adamStep(p, p, p, q, k)],
      ['rmsPropStep', (K) => K.rmsPropStep(p, p, q, 0.9, 0.1, 1e-8, 0.1)]
    ]
    for (const [what, f] of cases) {
      const expected = message(() => f(R))
      expect(expected, what).not.toBe('no error')
      expect(message(() => f(W)), what).toBe(expected)
    }
  })
})

// optimizers

type OptimModule = typeof Optim
type TreeModule = typeof Tree
type Params = { readonly layers: ReadonlyArray<{ readonly W: T; readonly b: T }>; readonly scale: T }

/** The optimizers with a fused step, built from drawn hyper-parameters. */
const optimizers = (O: OptimModule, h: Hyper): ReadonlyArray<readonly [string, Optim.AnyTransformation]> => {
  const lr: Optim.LearningRate = h.scheduled ? O.cosineDecay(h.lr, { steps: 3, alpha: 0.1 }) : h.lr
  const mask = (path: Tree.Path): boolean => path.includes('W') === h.maskWeights
  return [
    ['sgd', O.sgd(lr)],
    ['momentum', O.momentum(lr, h.beta)],
    ['nesterov', O.nesterov(lr, h.beta)],
    ['emaMomentum', O.emaMomentum(lr, h.beta)],
    ['adam', O.adam(lr, { b1: h.b1, b2: h.b2, eps: h.eps, epsRoot: h.epsRoot })],
    ['adamw', O.adamw(lr, { b1: h.b1, b2: h.b2, weightDecay: h.weightDecay })],
    ['adamw masked', O.adamw(lr, { weightDecay: h.weightDecay, mask })],
    ['rmsprop', O.rmsprop(lr, { decay: h.b2, eps: h.eps })]
  ]
}

interface Hyper {
  readonly lr: number
  readonly scheduled: boolean
  readonly beta: number
  readonly b1: number
  readonly b2: number
  readonly eps: number
  readonly epsRoot: number
  readonly weightDecay: number
  readonly maskWeights: boolean
}

const hyper: fc.Arbitrary<Hyper> = fc.record({
  lr: fc.double({ min: 1e-5, max: 1, noNaN: true }),
  scheduled: fc.boolean(),
  beta: fc.double({ min: 0, max: 0.999, noNaN: true }),
  b1: fc.double({ min: 0, max: 0.99, noNaN: true }),
  b2: fc.double({ min: 0, max: 0.9999, noNaN: true }),
  eps: fc.constantFrom(1e-8, 1e-3),
  epsRoot: fc.constantFrom(0, 1e-10),
  weightDecay: fc.double({ min: 0, max: 0.1, noNaN: true }),
  maskWeights: fc.boolean()
})

/** A params tree of 1 to 3 dense layers and one scale vector, drawn widths (odd ones too). */
const shapes = fc.record({
  widths: fc.array(fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(17, 33)), { minLength: 2, maxLength: 4 }),
  seed,
  dtype,
  steps: fc.integer({ min: 1, max: 3 })
})

const treeOf = (widths: readonly number[], s: number, dtype: Tensor.DType, scale: number): Params => ({
  layers: widths.slice(1).map((out, i) => ({
    W: values(s + 2 * i, [widths[i] as number, out], dtype, scale, 0),
    b: values(s + 2 * i + 1, [out], dtype, scale, 0)
  })),
  scale: values(s + 99, [widths[0] as number], dtype, scale, 0)
})

/** Runs `steps` steps both ways from the same start and checks params and state after each. */
interface Shapes {
  readonly widths: readonly number[]
  readonly seed: number
  readonly dtype: Tensor.DType
  readonly steps: number
}

const fusedEqualsComposed = (O: OptimModule, Tr: TreeModule, h: Hyper, sh: Shapes): void => {
  for (const [name, opt] of optimizers(O, h)) {
    const fused = opt.fused
    if (fused === undefined || fused.update !== opt.update) throw new Error(`${name} has no fused step of its own`)
    let params = treeOf(sh.widths, sh.seed, sh.dtype, 1)
    let composedParams = params
    let state = opt.init(params)
    let composedState = state
    for (let t = 0; t < sh.steps; t++) {
      const grads = treeOf(sh.widths, sh.seed + 1000 * (t + 1), sh.dtype, 1e-2)
      const [next, nextState] = fused.step(grads, params)(state)
      const [updates, composedNext] = opt.update(grads, composedParams)(composedState)
      composedParams = O.applyUpdates(composedParams, updates)
      composedState = composedNext
      params = next
      state = nextState
      if (!Tr.equals(params, composedParams)) throw new Error(`${name} step ${t + 1}: params differ`)
      if (!Tr.equals(state, composedState)) throw new Error(`${name} step ${t + 1}: optimizer states differ`)
    }
    // updateAndApply takes the fused path, and a copy with another update does not.
    const [viaUpdateAndApply] = O.updateAndApply(opt)(params, params)(state)
    expect(Tr.equals(viaUpdateAndApply, fused.step(params, params)(state)[0])).toBe(true)
    // The checked step is the same step, and its flag says whether gradients, params and moments are finite.
    const grads = treeOf(sh.widths, sh.seed + 7, sh.dtype, h.scheduled ? Number.POSITIVE_INFINITY : 1)
    const [[checkedParams, finite], checkedState] = fused.stepChecked(grads, params)(state)
    const [plainParams, plainState] = fused.step(grads, params)(state)
    expect(Tr.equals(checkedParams, plainParams) && Tr.equals(checkedState, plainState)).toBe(true)
    const tensors = [grads, checkedParams, checkedState].flatMap((t) => Tr.leaves(t as Tree.Tree<T | number>).map((l) => l.value))
    expect(finite).toBe(tensors.every((v) => (typeof v === 'number' ? true : Tensor.isFinite(v))))
  }
}

describe('each optimizer alias: fused.step equals update then applyUpdates, bit for bit', () => {
  it('with the default backend', () => {
    fc.assert(fc.property(hyper, shapes, (h, sh) => fusedEqualsComposed(Optim, Tree, h, sh)), lawParameters(25))
  })

  it('with the reference backend (modules re-loaded under NN_TS_BACKEND=reference)', async () => {
    vi.resetModules()
    vi.stubEnv('NN_TS_BACKEND', 'reference')
    try {
      const backend = await import('../src/tensor/backend.ts')
      const O = await import('../src/optim/index.ts')
      const Tr = await import('../src/tree/Tree.ts')
      expect(backend.kernels.name).toBe('reference')
      fc.assert(fc.property(hyper, shapes, (h, sh) => fusedEqualsComposed(O, Tr, h, sh)), lawParameters(15))
    } finally {
      vi.unstubAllEnvs()
      vi.resetModules()
    }
  })

  it('updateAndApply never runs a fused step that belongs to another update', () => {
    const params = { w: Tensor.vector([1, 2]) }
    const adam = Optim.adam(0.1)
    const plain = Optim.sgd(0.5)
    // A transformation copied from adam but with sgd's update: the fused Adam step must not run.
    const impostor: Optim.GradientTransformation<Optim.OptState> = { ...adam, init: plain.init, update: plain.update } as never
    const [next] = Optim.updateAndApply(impostor)(params, params)(plain.init(params))
    expect(Tensor.toArray(next.w)).toEqual([0.5, 1])
  })
})

describe('trainStep with a fused step is trainStep with its chain: the same results, errors and states', () => {
  it('finite or not: gradients, params or moments overflowing, a non-finite forward pass', () => {
    // The fused step finds NaN and ±∞ in its own pass, and trainStep reads gradients, params and
    // moments again only when it found some. Against the same optimizer stripped of its fused step
    // (every check done as before), every step must give the same Either — the same error at the same
    // place — and the same state, bit for bit. Scales push each check to fire: huge inputs with a huge
    // loss scale overflow the gradients (xᵀ·dy) while the loss stays finite in float64, a huge rate
    // overflows the params, huge gradients overflow Adam's and RMSProp's second moments (g² past
    // float32) while the params stay finite, and inputs past float32 make the forward pass non-finite.
    const scenario = fc.record({
      seed,
      inputScale: fc.constantFrom(1, 1e12, 1e20, 1e39),
      lossScale: fc.constantFrom(1, 1e30),
      lr: fc.constantFrom(1e-3, 1e30),
      batchNorm: fc.boolean(),
      steps: fc.integer({ min: 1, max: 3 })
    })
    fc.assert(
      fc.property(scenario, ({ seed: s, inputScale, lossScale, lr, batchNorm, steps }) => {
        const network: Layers.AnyLayer = batchNorm
          ? Layers.sequential(Layers.dense(5, 6), Layers.batchNorm(6), Layers.relu(), Layers.dense(6, 3))
          : Layers.sequential(Layers.dropout(0.2), Layers.dense(5, 6), Layers.relu(), Layers.dense(6, 3))
        const loss = Loss.scaled(Loss.softmaxCrossEntropy, lossScale)
        const x = Random.normal(Random.key(s), [4, 5], 0, inputScale)
        // Not fromLabelled, which refuses inputs past float32 (as it should): here they are the point.
        const batch = Data.unsafeFromLabelled(x, [0, 1, 2, 1], 3)
        for (const [name, opt] of optimizers(Optim, { lr, scheduled: false, beta: 0.9, b1: 0.9, b2: 0.999, eps: 1e-8, epsRoot: 0, weightDecay: 1e-2, maskWeights: true })) {
          const chainOnly: Optim.AnyTransformation = { init: opt.init, update: opt.update }
          const fast = Train.trainStep(network, loss, opt)
          const slow = Train.trainStep(network, loss, chainOnly)
          let a = Train.initialState(network, opt, s)
          let b = a
          for (let t = 0; t < steps; t++) {
            const [ra, na] = fast(batch)(a)
            const [rb, nb] = slow(batch)(b)
            expect(ra, `${name} step ${t}`).toEqual(rb)
            if (!Tree.equals(na.params, nb.params) || !Tree.equals(na.optState, nb.optState) || !Tree.equals(na.layerState, nb.layerState)) {
              throw new Error(`${name} step ${t}: states differ`)
            }
            expect(na.step).toBe(nb.step)
            a = na
            b = nb
          }
        }
      }),
      lawParameters(25)
    )
  })
})
