/**
 * Optimizers on numbers worked by hand: the seeds' two momentum forms, Adam's first step, reading the
 * learning rate from a state, groups and masks, and the errors a person sees when something is off.
 */
import { describe, expect, it } from 'vitest'
import { Optim, Tensor, Tree } from '../src/index.ts'

type P = { W: Tensor.Tensor; b: Tensor.Tensor }

const v = (...xs: number[]): Tensor.Tensor => Tensor.vector(xs, 'float64')
const values = (t: Tensor.Tensor): number[] => Tensor.toArray(t)
const expectClose = (actual: Tensor.Tensor, expected: number[]): void => {
  expect(actual.shape).toEqual([expected.length])
  values(actual).forEach((x, i) => expect(x).toBeCloseTo(expected[i] as number, 12))
}

/** Runs `opt` on fixed gradients, one per step, returning the params after each step. */
const walk = <S extends Optim.OptState>(opt: Optim.GradientTransformation<S>, params: { w: Tensor.Tensor }, grads: number[][]) => {
  let p = params
  let s = opt.init(p)
  return grads.map((g) => {
    const [u, next] = opt.update({ w: v(...g) }, p)(s)
    p = Optim.applyUpdates(p, u)
    s = next
    return { params: p, state: s }
  })
}

describe('momentum, worked by hand', () => {
  const grads = [
    [0.5, -1],
    [1, 1],
    [0, -2]
  ]

  it('HW1 §3.5.3 classical form: v = βv − η∇, W += v (η = 0.1, β = 0.5)', () => {
    const steps = walk(Optim.momentum(0.1, 0.5), { w: v(1, 2) }, grads)
    // v1 = −0.1·[0.5, −1] = [−0.05, 0.1]; W1 = [0.95, 2.1]
    // v2 = 0.5·v1 − 0.1·[1, 1] = [−0.125, −0.05]; W2 = [0.825, 2.05]
    // v3 = 0.5·v2 − 0.1·[0, −2] = [−0.0625, 0.175]; W3 = [0.7625, 2.225]
    expectClose(steps[0]!.params.w, [0.95, 2.1])
    expectClose(steps[1]!.params.w, [0.825, 2.05])
    expectClose(steps[2]!.params.w, [0.7625, 2.225])
    // The velocity is in the state, where the handout keeps it on the layer.
    const [, trace] = steps[2]!.state
    expectClose((trace.velocity as { w: Tensor.Tensor }).w, [-0.0625, 0.175])
  })

  it('MLP notes EMA form: v = m·v + (1 − m)·∇, W −= η·v (η = 0.1, m = 0.5)', () => {
    const steps = walk(Optim.emaMomentum(0.1, 0.5), { w: v(1, 2) }, grads)
    // v1 = 0.5·[0.5, −1] = [0.25, −0.5]; W1 = [0.975, 2.05]
    // v2 = 0.5·v1 + 0.5·[1, 1] = [0.625, 0.25]; W2 = [0.9125, 2.025]
    // v3 = 0.5·v2 + 0.5·[0, −2] = [0.3125, −0.875]; W3 = [0.88125, 2.1125]
    expectClose(steps[0]!.params.w, [0.975, 2.05])
    expectClose(steps[1]!.params.w, [0.9125, 2.025])
    expectClose(steps[2]!.params.w, [0.88125, 2.1125])
  })

  it('Nesterov adds the look-ahead βv − η∇ (η = 0.1, β = 0.5)', () => {
    const steps = walk(Optim.nesterov(0.1, 0.5), { w: v(1, 2) }, grads.slice(0, 2))
    // v1 = [−0.05, 0.1]; step 0.5·v1 − 0.1·g1 = [−0.075, 0.15]; W1 = [0.925, 2.15]
    // v2 = [−0.125, −0.05]; step 0.5·v2 − 0.1·g2 = [−0.1625, −0.125]; W2 = [0.7625, 2.025]
    expectClose(steps[0]!.params.w, [0.925, 2.15])
    expectClose(steps[1]!.params.w, [0.7625, 2.025])
  })
})

describe('adam', () => {
  it('takes a first step of −lr·sign(g): m̂/√v̂ = g/|g|', () => {
    const lr = 1e-3
    const p = { w: v(1, 2, 3, 4) }
    const opt = Optim.adam(lr)
    const [u] = opt.update({ w: v(0.5, -1, 3, -0.1) }, p)(opt.init(p))
    // eps = 1e-8 against |g| ≥ 0.1 moves the result by at most lr·1e-7.
    values(u.w).forEach((x, i) => expect(x).toBeCloseTo([-lr, lr, -lr, lr][i] as number, 9))
  })

  it('AdamW decays the weights by lr·wd·W even where the gradient is zero', () => {
    const p = { w: v(2, -4) }
    const opt = Optim.adamw(0.1, { weightDecay: 0.01 })
    const [u] = opt.update({ w: v(0, 0) }, p)(opt.init(p))
    expectClose(u.w, [-0.1 * 0.01 * 2, 0.1 * 0.01 * 4])
  })

  it('types updates like the params, for a record and for a tuple of records', () => {
    const layer = (): P => ({ W: Tensor.fromRows([[1, 2]], 'float64'), b: v(0) })
    const params: P = layer()
    const grads: P = { W: Tensor.fromRows([[0.5, -1]], 'float64'), b: v(1) }
    const opt = Optim.adam(1e-3)
    const s0 = opt.init(params)
    const [updates, s1] = opt.update(grads, params)(s0)
    const next: P = Optim.applyUpdates(params, updates)
    expect(next.W.shape).toEqual([1, 2])
    expect(Optim.stepCount(s1)).toBe(1)

    const net: [P, P] = [layer(), layer()]
    const [u2] = opt.update(net, net)(opt.init(net))
    const next2: [P, P] = Optim.applyUpdates(net, u2)
    expect(next2[1].b.shape).toEqual([1])
  })
})

describe('reading the learning rate and step count', () => {
  it('reads a scheduled rate and the count from any chain', () => {
    const opt = Optim.chain(Optim.clipByGlobalNorm(1), Optim.adam(Optim.stepDecay(0.1, { every: 2, factor: 0.5 })))
    const steps = walk(opt, { w: v(1) }, [[1], [1], [1]])
    expect(steps.map((s) => [Optim.stepCount(s.state), Optim.learningRate(s.state)])).toEqual([
      [1, 0.1],
      [2, 0.05],
      [3, 0.05]
    ])
  })

  it('a constant rate set in the state is kept by later steps', () => {
    const opt = Optim.sgd(0.1)
    const p = { w: v(1) }
    const lowered = Optim.setLearningRate(opt.init(p), 0.01)
    const [u, s1] = opt.update({ w: v(1) }, p)(lowered)
    expectClose(u.w, [-0.01])
    expect(Optim.learningRate(s1)).toBe(0.01)
  })

  it('is undefined for a state without a learning-rate step', () => {
    expect(Optim.learningRate(Optim.scaleByAdam().init({ w: v(1) }))).toBeUndefined()
    expect(Optim.stepCount(Optim.clipByGlobalNorm(1).init({ w: v(1) }))).toBeUndefined()
  })
})

describe('states are plain data', () => {
  it('every optimizer state serializes to JSON and back to an equal state', () => {
    const params = { W: Tensor.fromRows([[1, 2]], 'float64'), b: v(0) }
    const opts: Record<string, Optim.AnyTransformation> = {
      sgd: Optim.sgd(0.1),
      adamw: Optim.adamw(1e-3),
      parts: Optim.partition((path) => (path[0] === 'b' ? 'b' : 'W'), { W: Optim.rmsprop(1e-3), b: Optim.momentum(0.1, 0.9) })
    }
    for (const opt of Object.values(opts)) {
      const [, s] = opt.update(params, params)(opt.init(params))
      expect(Optim.whyNotPlain(s)).toBeUndefined()
      // A stand-in for the checkpoint codec: tensors as { shape, dtype, data: number[] }.
      const revive = (_k: string, x: unknown): unknown =>
        typeof x === 'object' && x !== null && 'dtype' in x && 'shape' in x && 'data' in x
          ? Tensor.fromArray((x as Tensor.Tensor).shape, (x as unknown as { data: number[] }).data, (x as Tensor.Tensor).dtype)
          : x
      const text = JSON.stringify(s, (_k, x: unknown) => (ArrayBuffer.isView(x) ? Array.from(x as Float64Array) : x))
      // JSON writes -0 as 0 (momentum's −η·0 is a -0), so the round trip keeps values as numbers only.
      expect(Tree.equals(JSON.parse(text, revive) as Optim.OptState, s, { signedZero: false })).toBe(true)
    }
  })

  it('names what is wrong with a state that is not plain data', () => {
    expect(Optim.whyNotPlain([{ count: 1, learningRate: Infinity }])).toBe('[0].learningRate: expected a finite number, found number Infinity')
    const notAllowed = 'expected a tensor, a finite number, a tuple or a plain record'
    expect(Optim.whyNotPlain({ f: () => 1 })).toBe(`f: ${notAllowed}, found a function`)
    expect(Optim.whyNotPlain({ m: new Map() })).toBe(`m: ${notAllowed}, found an instance of Map`)
    expect(Optim.whyNotPlain([true])).toBe('[0]: expected a tensor or a finite number, found boolean true')
    expect(Optim.whyNotPlain({ 'a.b': null })).toBe(`["a.b"]: ${notAllowed}, found null`)
  })
})

describe('groups, masks and clipping', () => {
  it('partition gives the biases plain SGD and freezes the first layer', () => {
    const params: [P, P] = [
      { W: Tensor.fromRows([[1]], 'float64'), b: v(1) },
      { W: Tensor.fromRows([[1]], 'float64'), b: v(1) }
    ]
    const opt = Optim.partition((path) => (path[0] === 0 ? 'frozen' : path.at(-1) === 'b' ? 'biases' : 'weights'), {
      frozen: Optim.setToZero(),
      biases: Optim.sgd(0.5),
      weights: Optim.sgd(0.1)
    })
    const [u, s] = opt.update(params, params)(opt.init(params))
    expect([values(u[0].W), values(u[0].b), values(u[1].W), values(u[1].b)]).toEqual([[0], [0], [-0.1], [-0.5]])
    expect(Object.keys(s)).toEqual(['frozen', 'biases', 'weights'])
    expect(Optim.learningRate(s.weights)).toBe(0.1)
  })

  it("a group's transformation sees the whole tree with the other leaves as []: its own keep their paths", () => {
    const params: [P] = [{ W: Tensor.fromRows([[1]], 'float64'), b: v(1) }]
    const s = Optim.masked([{ W: true, b: false }], Optim.scaleByAdam()).init(params)
    expect(Tree.equals(s.mu, [{ W: Tensor.fromRows([[0]], 'float64'), b: [] }])).toBe(true)
    // A path predicate inside a group sees the original paths.
    const seen: Tree.Path[] = []
    const inner = Optim.addDecayedWeights(0.5, (path) => (seen.push(path), true))
    const opt = Optim.partition((path) => (path.at(-1) === 'W' ? 'w' : 'rest'), { w: inner, rest: Optim.identity() })
    const [u] = opt.update(params, params)(opt.init(params))
    expect(seen).toEqual([[0, 'W']])
    expect([values(u[0].W), values(u[0].b)]).toEqual([[1.5], [1]])
  })

  it('a boolean in a mask tree covers a whole layer', () => {
    const params: [P, P] = [
      { W: Tensor.fromRows([[1]], 'float64'), b: v(1) },
      { W: Tensor.fromRows([[1]], 'float64'), b: v(1) }
    ]
    const opt = Optim.chain(Optim.sgd(0.1), Optim.freeze([true, { W: false, b: true }]))
    const [u] = opt.update(params, params)(opt.init(params))
    expect([values(u[0].W), values(u[0].b), values(u[1].W), values(u[1].b)]).toEqual([[0], [0], [-0.1], [0]])
  })

  it('clips by the global norm over all leaves', () => {
    const clip = Optim.clipByGlobalNorm(1)
    const g = { a: v(3), b: v(4) }
    const [u] = clip.update(g, g)(clip.init(g))
    expectClose(u.a, [0.6])
    expectClose(u.b, [0.8])
  })
})

describe('bad input', () => {
  const p = { w: v(1) }

  it('names the leaf a mask has no entry for, and an unknown partition label', () => {
    expect(() => Optim.freeze({ x: true }).init(p)).toThrow("mask: no entry for the params leaf 'w'")
    const opt = Optim.partition(() => 'c' as 'a', { a: Optim.sgd(0.1) })
    expect(() => opt.init(p)).toThrow("partition: leaf 'w' is labelled 'c', which is none of {a}")
  })

  it('refuses a state of the wrong optimizer', () => {
    const adam = Optim.adam(1e-3)
    const clipped = Optim.chain(Optim.clipByGlobalNorm(1), adam)
    expect(() => clipped.update(p, p)(adam.init(p) as never)).toThrow('chain of 2: expected a state tuple of 2')
  })

  it('refuses hyper-parameters out of range', () => {
    expect(() => Optim.momentum(0.1, 1.5)).toThrow('trace: decay must be in [0, 1], got 1.5')
    expect(() => Optim.sgd(NaN)).toThrow('scaleByLearningRate: learning rate at step 0 must be a finite number, got NaN')
    expect(() => Optim.clipByGlobalNorm(0)).toThrow('clipByGlobalNorm: maxNorm must be positive, got 0')
    expect(() => Optim.stepDecay(0.1, { every: 0, factor: 0.5 })).toThrow('stepDecay: every must be a positive integer, got 0')
  })
})
