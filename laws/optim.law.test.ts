/**
 * Optimizer laws: a zero learning rate is the identity, momentum 0 is SGD, `chain` is associative
 * with `identity` as unit, updates keep the state's structure, the learning rate and step count read
 * from the state follow the schedule, clipping bounds the norm, frozen leaves stay put, and every
 * optimizer converges on a random quadratic bowl with step sizes taken from theory.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Laws, Optim, Tensor, Tree } from '../src/index.ts'
import { runs } from './arbitraries.ts'

type Layer = { readonly W: Tensor.Tensor; readonly b: Tensor.Tensor }
/** A two-layer network's params: a tuple of records, as `sequential(dense, dense)` has. */
type Params = readonly [Layer, Layer]

const STEPS = 4

const finite = (min: number, max: number): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true, noDefaultInfinity: true })

const tensor = (shape: readonly number[], value: fc.Arbitrary<number>): fc.Arbitrary<Tensor.Tensor> => {
  const n = Tensor.sizeOf(shape)
  return fc.array(value, { minLength: n, maxLength: n }).map((vs) => Tensor.fromArray(shape, vs, 'float64'))
}

type Dims = { readonly i: number; readonly h: number; readonly o: number }
const dims: fc.Arbitrary<Dims> = fc.record({ i: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 3 }), o: fc.integer({ min: 1, max: 3 }) })

const paramsOf = ({ i, h, o }: Dims, value: fc.Arbitrary<number> = finite(-3, 3)): fc.Arbitrary<Params> =>
  fc
    .tuple(tensor([i, h], value), tensor([h], value), tensor([h, o], value), tensor([o], value))
    .map(([W1, b1, W2, b2]): Params => [{ W: W1, b: b1 }, { W: W2, b: b2 }])

/** Params and a gradient for each of `STEPS` updates, all the same shape. */
const problem = dims.chain((d) => fc.record({ params: paramsOf(d), grads: fc.array(paramsOf(d), { minLength: STEPS, maxLength: STEPS }) }))

const fixed =
  (grads: ReadonlyArray<Params>): Laws.GradientOf<Params> =>
  (_params, step) =>
    grads[step] as Params

const hyper = fc.record({
  lr: finite(1e-4, 1),
  beta: finite(0, 0.99),
  wd: finite(0, 0.1),
  maxNorm: finite(0.05, 20)
})
type Hyper = typeof hyper extends fc.Arbitrary<infer H> ? H : never

/** Every optimizer in the library, at learning rate `lr`. */
const optimizers = (lr: Optim.LearningRate, h: Hyper): Record<string, Optim.AnyTransformation> => ({
  sgd: Optim.sgd(lr),
  momentum: Optim.momentum(lr, h.beta),
  emaMomentum: Optim.emaMomentum(lr, h.beta),
  nesterov: Optim.nesterov(lr, h.beta),
  adam: Optim.adam(lr),
  adamw: Optim.adamw(lr, { weightDecay: h.wd }),
  adamwMasked: Optim.adamw(lr, { weightDecay: h.wd, mask: (_path, leaf) => leaf.shape.length === 2 }),
  rmsprop: Optim.rmsprop(lr),
  clippedAdam: Optim.chain(Optim.clipByGlobalNorm(h.maxNorm), Optim.adam(lr)),
  decayedSgd: Optim.chain(Optim.addDecayedWeights(h.wd), Optim.sgd(lr)),
  partitioned: Optim.partition((path) => (path.at(-1) === 'b' ? 'biases' : 'weights'), { weights: Optim.adamw(lr), biases: Optim.nesterov(lr, h.beta) })
})

/** A random mask over `Params`, sometimes a whole layer at once. */
const maskTree: fc.Arbitrary<Optim.MaskTree> = fc.tuple(
  fc.oneof(fc.boolean(), fc.record({ W: fc.boolean(), b: fc.boolean() })),
  fc.oneof(fc.boolean(), fc.record({ W: fc.boolean(), b: fc.boolean() }))
)

/** A primitive with random hyper-parameters, for the chain laws. */
const primitive: fc.Arbitrary<Optim.AnyTransformation> = fc.oneof(
  finite(0.05, 20).map((m) => Optim.clipByGlobalNorm(m)),
  finite(-2, 2).map((c) => Optim.scale(c)),
  finite(1e-4, 1).map((lr) => Optim.scaleByLearningRate(lr)),
  finite(0, 0.99).map((b) => Optim.trace(b)),
  finite(0, 0.99).map((b) => Optim.trace(b, { nesterov: true })),
  fc.tuple(finite(0, 0.99), fc.boolean()).map(([m, debias]) => Optim.ema(m, { debias })),
  fc.constant(null).map(() => Optim.scaleByAdam()),
  fc.constant(null).map(() => Optim.scaleByRms()),
  finite(0, 0.1).map((wd) => Optim.addDecayedWeights(wd)),
  maskTree.map((m) => Optim.masked(m, Optim.scaleByAdam())),
  maskTree.map((m) => Optim.freeze(m))
)

describe('optimizer laws', () => {
  it('a learning rate of 0 leaves the params unchanged, for every optimizer', () => {
    fc.assert(
      fc.property(problem, hyper, ({ params, grads }, h) => {
        for (const [name, opt] of [...Object.entries(optimizers(0, h)), ['adam cosine', Optim.adam(Optim.cosineDecay(0, { steps: 2 }))] as const]) {
          expect(Laws.leavesParamsUnchanged(opt, params, fixed(grads), STEPS), name).toBe(true)
        }
      }),
      runs
    )
  })

  it('momentum 0 is SGD, in all three momentum forms, with constant and scheduled rates', () => {
    fc.assert(
      fc.property(problem, finite(1e-4, 1), ({ params, grads }, lr) => {
        const scheduled = Optim.stepDecay(lr, { every: 2, factor: 0.5 })
        for (const rate of [lr, scheduled]) {
          const sgd = Optim.sgd(rate)
          expect(Laws.sameUpdates(Optim.momentum(rate, 0), sgd, params, fixed(grads), STEPS)).toBe(true)
          expect(Laws.sameUpdates(Optim.nesterov(rate, 0), sgd, params, fixed(grads), STEPS)).toBe(true)
          expect(Laws.sameUpdates(Optim.emaMomentum(rate, 0), sgd, params, fixed(grads), STEPS)).toBe(true)
        }
      }),
      runs
    )
  })

  it('chain is associative and identity is its unit (updates equal exactly)', () => {
    fc.assert(
      fc.property(problem, primitive, primitive, primitive, ({ params, grads }, a, b, c) => {
        const g = fixed(grads)
        expect(Laws.sameUpdates(Optim.chain(a, Optim.chain(b, c)), Optim.chain(Optim.chain(a, b), c), params, g, STEPS)).toBe(true)
        expect(Laws.sameUpdates(Optim.chain(a, b, c), Optim.chain(Optim.chain(a, b), c), params, g, STEPS)).toBe(true)
        expect(Laws.sameUpdates(Optim.chain(Optim.identity(), a), a, params, g, STEPS)).toBe(true)
        expect(Laws.sameUpdates(Optim.chain(a, Optim.identity()), a, params, g, STEPS)).toBe(true)
        expect(Laws.sameUpdates(Optim.chain(), Optim.identity(), params, g, STEPS)).toBe(true)
      }),
      runs
    )
  })

  it('update keeps the structure of the state init built, and the state is plain data', () => {
    fc.assert(
      fc.property(problem, hyper, maskTree, ({ params, grads }, h, mask) => {
        const all = {
          ...optimizers(h.lr, h),
          scheduled: Optim.adam(Optim.warmup(Optim.cosineDecay(h.lr, { steps: 3 }), { steps: 2 })),
          masked: Optim.chain(Optim.masked(mask, Optim.scaleByAdam()), Optim.scaleByLearningRate(h.lr)),
          frozen: Optim.chain(Optim.rmsprop(h.lr), Optim.freeze(mask))
        }
        for (const [name, opt] of Object.entries(all)) {
          expect(Laws.keepsStateStructure(opt, params, fixed(grads), STEPS), name).toBe(true)
        }
      }),
      runs
    )
  })

  it('the learning rate and step count read from the state follow the schedule', () => {
    const schedules = fc.oneof(
      fc.tuple(finite(1e-4, 1), fc.integer({ min: 1, max: 3 }), finite(0.1, 1)).map(([lr, every, factor]) => Optim.stepDecay(lr, { every, factor })),
      fc.tuple(finite(1e-4, 1), finite(0.5, 1)).map(([lr, rate]) => Optim.exponentialDecay(lr, { rate })),
      fc.tuple(finite(1e-4, 1), fc.integer({ min: 1, max: 5 }), finite(0, 1)).map(([lr, steps, alpha]) => Optim.cosineDecay(lr, { steps, alpha })),
      finite(1e-4, 1).map((lr) => Optim.constant(lr))
    )
    fc.assert(
      fc.property(problem, hyper, schedules, ({ params, grads }, h, schedule) => {
        for (const [name, opt] of Object.entries(optimizers(schedule, h))) {
          expect(Laws.followsSchedule(opt, schedule, params, fixed(grads), STEPS), name).toBe(true)
        }
      }),
      runs
    )
  })

  it('clipByGlobalNorm bounds the global norm of float32 updates too (their rounding is part of the law)', () => {
    const leaf = fc.array(fc.float({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }).map((xs) => Tensor.vector(xs, 'float32'))
    fc.assert(
      fc.property(fc.array(leaf, { minLength: 1, maxLength: 4 }), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (leaves, maxNorm) => {
        expect(Laws.boundsGlobalNorm(Optim.clipByGlobalNorm(maxNorm), maxNorm, leaves)).toBe(true)
      }),
      runs
    )
  })

  it('clipByGlobalNorm bounds the global norm, keeps the direction, and passes short updates through', () => {
    fc.assert(
      fc.property(problem, finite(0.05, 20), ({ grads }, maxNorm) => {
        const g = grads[0] as Params
        const clip = Optim.clipByGlobalNorm(maxNorm)
        expect(Laws.boundsGlobalNorm(clip, maxNorm, g)).toBe(true)
        const [u] = clip.update(g, g)(clip.init(g))
        const norm = Optim.globalNorm(g)
        if (norm <= maxNorm) expect(u).toBe(g)
        else expect(Tree.equals(u, Tree.map(g, (t) => Tensor.fromArray(t.shape, Array.from(t.data, (x) => (x * maxNorm) / norm), 'float64')), { rtol: 1e-12, atol: 1e-15 })).toBe(true)
      }),
      runs
    )
  })

  it('masked and partitioned transformations leave frozen leaves unchanged', () => {
    fc.assert(
      fc.property(problem, hyper, maskTree, ({ params, grads }, h, mask) => {
        const frozen = Optim.selects(mask)
        const isFrozen = (path: Tree.Path): boolean => frozen(path, Tensor.scalar(0))
        const viaFreeze = Optim.chain(Optim.adamw(h.lr, { weightDecay: 0.1 }), Optim.freeze(mask))
        const viaPartition = Optim.partition((path, leaf) => (frozen(path, leaf) ? 'frozen' : 'train'), {
          frozen: Optim.setToZero(),
          train: Optim.momentum(h.lr, h.beta)
        })
        expect(Laws.keepsFrozen(viaFreeze, isFrozen, params, fixed(grads), STEPS)).toBe(true)
        expect(Laws.keepsFrozen(viaPartition, isFrozen, params, fixed(grads), STEPS)).toBe(true)
      }),
      runs
    )
  })

  it('masked runs its transformation on the selected leaves only; partition gives each group its own', () => {
    fc.assert(
      fc.property(problem, hyper, maskTree, ({ params, grads }, h, mask) => {
        const selected = Optim.selects(mask)
        const g = fixed(grads)
        // Adam and momentum act leaf by leaf, so on a group they must do what they do on the whole tree.
        const adam = Laws.runOptimizer(Optim.scaleByAdam(), params, g, STEPS).steps
        const masked = Laws.runOptimizer(Optim.masked(mask, Optim.scaleByAdam()), params, g, STEPS).steps
        const sgd = Laws.runOptimizer(Optim.momentum(h.lr, h.beta), params, g, STEPS).steps
        const both = Laws.runOptimizer(
          Optim.partition((path, leaf) => (selected(path, leaf) ? 'a' : 'b'), { a: Optim.adam(h.lr), b: Optim.momentum(h.lr, h.beta) }),
          params,
          g,
          STEPS
        ).steps
        const adamLr = Laws.runOptimizer(Optim.adam(h.lr), params, g, STEPS).steps
        masked.forEach((step, k) => {
          const expected = Tree.zipWith([(adam[k] as (typeof adam)[number]).updates, step.grads], ([a, grad], path) => (selected(path, a) ? a : grad))
          expect(Tree.equals(step.updates, expected, Laws.asNumbers)).toBe(true)
        })
        both.forEach((step, k) => {
          const expected = Tree.zipWith([(adamLr[k] as (typeof adamLr)[number]).updates, (sgd[k] as (typeof sgd)[number]).updates], ([a, m], path) =>
            selected(path, a) ? a : m
          )
          expect(Tree.equals(step.updates, expected, Laws.asNumbers)).toBe(true)
        })
      }),
      runs
    )
  })
})

describe('convergence on a quadratic bowl f(w) = ½ Σ aᵢ (wᵢ − cᵢ)²', () => {
  // Curvatures in [μ, L] bound the Hessian's eigenvalues; centres and starts in [−2, 2] bound the
  // starting distance by D = 4·√24 (at most 24 coordinates). Step sizes come from the textbook
  // analyses of each method for μ-strongly convex, L-smooth quadratics, never from trial runs.
  const MU = 0.5
  const L = 4
  const KAPPA = L / MU
  const D = 4 * Math.sqrt(24)
  const TOL = 1e-3
  /**
   * Steps for a method contracting by `q` per step: log(D/TOL) / log(1/q), doubled to cover the
   * (1 + t) factor of the repeated eigenvalues two-step methods have at the ends of the spectrum.
   */
  const stepsAt = (q: number): number => Math.ceil((2 * Math.log(D / TOL)) / Math.log(1 / q))

  const bowlProblem = dims.chain((d) =>
    fc.record({
      bowl: fc.record({ curvature: paramsOf(d, finite(MU, L)), center: paramsOf(d, finite(-2, 2)) }),
      start: paramsOf(d, finite(-2, 2))
    })
  )

  const sk = Math.sqrt(KAPPA)
  // Gradient descent: η = 2/(μ + L) contracts by (κ − 1)/(κ + 1).
  const sgd = { opt: Optim.sgd(2 / (MU + L)), steps: stepsAt((KAPPA - 1) / (KAPPA + 1)) }
  // Polyak's heavy ball (HW1 form): η = 4/(√L + √μ)², β = ((√κ − 1)/(√κ + 1))², contracting by √β.
  const hbBeta = ((sk - 1) / (sk + 1)) ** 2
  const hbLr = 4 / (Math.sqrt(L) + Math.sqrt(MU)) ** 2
  const momentum = { opt: Optim.momentum(hbLr, hbBeta), steps: stepsAt(Math.sqrt(hbBeta)) }
  // The EMA form with m = β and η/(1 − m) is the same heavy ball.
  const emaMomentum = { opt: Optim.emaMomentum(hbLr / (1 - hbBeta), hbBeta), steps: stepsAt(Math.sqrt(hbBeta)) }
  // Nesterov: η = 1/L, β = (√κ − 1)/(√κ + 1), contracting by 1 − 1/√κ.
  const nesterov = { opt: Optim.nesterov(1 / L, (sk - 1) / (sk + 1)), steps: stepsAt(1 - 1 / sk) }
  // Adam and RMSProp move each coordinate about one learning rate per step whatever its curvature,
  // and hover within about one learning rate of the minimum, so the rate must decay (a start near
  // the minimum is the hard case: gradients below eps make the first steps jump out).
  // RMSProp forgets in ~10 steps, so exponential decay suits it: a total travel η₀/(1 − r) = 20, five
  // times the largest coordinate distance 4, and a final rate η₀·r^N ≤ 1e-4, a tenth of the tolerance.
  const rmsRate = { lr: 0.2, rate: 0.99 }
  const rmsprop = {
    opt: Optim.rmsprop(Optim.exponentialDecay(rmsRate.lr, { rate: rmsRate.rate })),
    steps: Math.ceil(Math.log(rmsRate.lr / (TOL / 10)) / Math.log(1 / rmsRate.rate))
  }
  // Adam's second moment remembers ~1000 steps, so once near the minimum its steps shrink like
  // gradient descent's and a summable decay would stall it; Kingma & Ba's α/√t is not summable, and
  // over N steps its total 2α√N (= 22 here) is again over five times the largest distance.
  const adaptiveSteps = 500
  const adam = { opt: Optim.adam(Optim.inverseSqrtDecay(0.5)), steps: adaptiveSteps }
  const adamw = { opt: Optim.adamw(Optim.inverseSqrtDecay(0.5), { weightDecay: 0 }), steps: adaptiveSteps }

  const cases = { sgd, momentum, emaMomentum, nesterov, adam, adamw, rmsprop }
  for (const [name, { opt, steps }] of Object.entries(cases)) {
    it(`${name} reaches the minimum within ${TOL} in ${steps} steps`, () => {
      fc.assert(
        fc.property(bowlProblem, ({ bowl, start }) => Laws.convergesOnBowl(opt, bowl, start, steps, TOL)),
        { numRuns: 25 }
      )
    })
  }
})

describe('schedules match their formulas', () => {
  const steps = [0, 1, 2, 5, 9, 10, 11, 99, 100, 101, 1000]
  const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b))

  it('constant, stepDecay, exponentialDecay, cosineDecay, inverseSqrtDecay and warmup', () => {
    fc.assert(
      fc.property(
        finite(1e-4, 1),
        fc.integer({ min: 1, max: 50 }),
        finite(0.05, 1),
        finite(0, 1),
        fc.integer({ min: 1, max: 200 }),
        (lr, every, factor, alpha, n) => {
          for (const t of steps) {
            expect(Optim.constant(lr)(t)).toBe(lr)
            expect(close(Optim.stepDecay(lr, { every, factor })(t), lr * factor ** Math.floor(t / every))).toBe(true)
            expect(close(Optim.exponentialDecay(lr, { rate: factor, every })(t), lr * Math.exp((t / every) * Math.log(factor)))).toBe(true)
            const progress = Math.min(t, n) / n
            expect(close(Optim.cosineDecay(lr, { steps: n, alpha })(t), alpha * lr + (lr - alpha * lr) * Math.cos((Math.PI * progress) / 2) ** 2)).toBe(true)
            expect(close(Optim.inverseSqrtDecay(lr)(t), lr * (1 + t) ** -0.5)).toBe(true)
            const warm = Optim.warmup(Optim.constant(lr), { steps: every })
            expect(close(warm(t), t < every ? (lr * t) / every : lr)).toBe(true)
          }
          const cos = Optim.cosineDecay(lr, { steps: n, alpha })
          expect(cos(0)).toBe(lr)
          expect(close(cos(n), alpha * lr)).toBe(true)
          for (let t = 0; t < n; t++) expect(cos(t + 1)).toBeLessThanOrEqual(cos(t))
        }
      ),
      runs
    )
  })
})
