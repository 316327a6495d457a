/**
 * The seeds' worked numbers and HW1's shape conventions.
 */
import { describe, expect, it } from 'vitest'
import * as E from 'fp-ts/lib/Either.js'
import { Data, Init, Laws, Layers, Loss, Models, Optim, Random, Tensor, Train, kernels } from '../src/index.ts'

const ctx = { mode: 'train' as const, key: Random.key(0) }
const close = (actual: Tensor.Tensor, expected: number[][]) => {
  expect(actual.shape).toEqual([expected.length, expected[0]?.length])
  Tensor.toRows(actual).forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]?.[j] as number, 12)))
}

describe('linear-class notes', () => {
  const layer = Layers.dense(2, 2)
  const params = { W: Tensor.fromRows([[0.5, -1], [1.5, 0]], 'float64'), b: Tensor.vector([0.1, 0.2], 'float64') }
  const x = Tensor.fromRows([[1, 2]], 'float64')

  it('forward: X=[1,2], W=[[0.5,-1],[1.5,0]], b=[0.1,0.2] gives y=[3.6,-0.8]', () => {
    close(layer.apply(params, [], x, ctx).y, [[3.6, -0.8]])
  })

  // The notes print grad_input = [-1.6, 1.5], but dy·Wᵀ = [1·0.5 + 2·(−1), 1·1.5 + 2·0] = [−1.5, 1.5]:
  // the −0.1 is the notes' slip (it looks like the bias leaking in). Central differences agree with −1.5.
  it('backward: grad_output [1,2] gives grad_input [-1.5,1.5] (the notes misprint -1.6), grad_W = xᵀ·dy, grad_b = dy', () => {
    const dy = Tensor.fromRows([[1, 2]], 'float64')
    const { dx, dparams } = layer.apply(params, [], x, ctx).backward(dy)
    close(dx, [[-1.5, 1.5]])
    const numeric = Laws.checkScalarGradient((at: Tensor.Tensor) => kernels.dot(dy, layer.apply(params, [], at, ctx).y), x, dx)
    expect(numeric.mismatches).toEqual([])
    close(dparams.W, [[1, 2], [2, 4]])
    expect(Tensor.toArray(dparams.b)).toEqual([1, 2])
  })

  it('bias gradient sums grad_output over the batch: [[0.1,-0.2],[0.3,-0.1],[0.2,0]] → [0.6,-0.3]', () => {
    const xs = Tensor.fromRows([[1, 0], [0, 1], [1, 1]], 'float64')
    const dy = Tensor.fromRows([[0.1, -0.2], [0.3, -0.1], [0.2, 0]], 'float64')
    const { dparams } = layer.apply(params, [], xs, ctx).backward(dy)
    Tensor.toArray(dparams.b).forEach((v, i) => expect(v).toBeCloseTo([0.6, -0.3][i] as number, 12))
  })
})

describe('HW1 conventions', () => {
  it('Linear maps (batch, in_feature) to (batch, out_feature); backward gives dx of the input shape and dW, db of the params shapes', () => {
    const layer = Layers.dense(784, 64)
    const { params } = layer.init(Random.key(0))
    expect(params.W.shape).toEqual([784, 64])
    expect(params.b.shape).toEqual([64])
    const x = Random.uniform(Random.key(1), [100, 784])
    const f = layer.apply(params, [], x, ctx)
    expect(f.y.shape).toEqual([100, 64])
    const g = f.backward(Random.normal(Random.key(2), [100, 64]))
    expect(g.dx.shape).toEqual([100, 784])
    expect(g.dparams.W.shape).toEqual([784, 64])
    expect(g.dparams.b.shape).toEqual([64])
  })

  it('softmax cross-entropy derivative is (softmax(x) − y) averaged over the batch', () => {
    const z = Tensor.fromRows([[1, 2, 3], [0, 0, 0]], 'float64')
    const y = Tensor.fromRows([[0, 0, 1], [1, 0, 0]], 'float64')
    const { value, grad } = Loss.softmaxCrossEntropy.apply(z, y)
    const s = Tensor.toRows(Layers.predict(Layers.softmax(), [], [], z))
    const expected = s.map((row, i) => row.map((v, j) => (v - (Tensor.toRows(y)[i]?.[j] as number)) / 2))
    close(grad, expected)
    const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0))
    expect(value).toBeCloseTo((lse([1, 2, 3]) - 3 + lse([0, 0, 0]) - 0) / 2, 12)
  })

  it('MSE conventions: ours is (1/m)Σ‖·‖²; the notes’ 1/2n and the all-elements mean are scalings of it', () => {
    const p = Tensor.fromRows([[1, 2], [3, 5]], 'float64')
    const t = Tensor.fromRows([[0, 2], [3, 3]], 'float64')
    expect(Loss.meanSquaredError.apply(p, t).value).toBeCloseTo((1 + 4) / 2, 12)
    expect(Loss.scaled(Loss.meanSquaredError, 0.5).apply(p, t).value).toBeCloseTo(5 / 4, 12)
    expect(Loss.scaled(Loss.meanSquaredError, 1 / 2).apply(p, t).value).toBeCloseTo(5 / 4, 12)
  })

  it('initializers: constant and the He note', () => {
    expect(Tensor.toArray(Init.constant(0.5)(Random.key(0), [3]))).toEqual([0.5, 0.5, 0.5])
    const he = Init.heUniform(Random.key(0), [100, 10], 'float64')
    expect(he.data.every((v) => Math.abs(v) <= Math.sqrt(6 / 100))).toBe(true)
  })
})

describe('shape errors name the layer and both shapes', () => {
  it('dense with the wrong input width', () => {
    const net = Layers.sequential(Layers.dense(4, 3), Layers.relu(), Layers.dense(3, 2))
    const { params, state } = net.init(Random.key(0))
    expect(() => net.apply(params, state, Tensor.zeros([5, 7]), ctx)).toThrow('sequential[0] dense(4→3) > dense(4→3): expected shape [batch, 4], got [5, 7]')
  })
  it('loss with mismatched target', () => {
    expect(() => Loss.softmaxCrossEntropy.apply(Tensor.zeros([2, 10]), Tensor.zeros([2, 9]))).toThrow('softmaxCrossEntropy target: expected shape [2, 10], got [2, 9]')
  })
})

/**
 * HW1's MLP trajectory by hand: Linear → BatchNorm → Sigmoid → Linear → Identity with softmax
 * cross-entropy, stepped the way HW1 §3.5 specifies, in plain float64 loops that follow the handout's
 * formulas and share no code with the library:
 * - the criterion's derivative is `softmax(z) − y` per row (appendix A);
 * - Linear: `dW = xᵀδ / m`, `db = Σ_i δ_i / m`, "averaged across the batch" (§3.4.2);
 * - BatchNorm: batch mean and biased variance, `x̂ = (x − μ)/√(σ² + ε)`, `dβ = Σ_i δ_i`,
 *   `dγ = Σ_i δ_i x̂_i` (eqs. 8–9: sums, not means), `dx` from eqs. 20, 27 and 37 term by term,
 *   running statistics `E ← α·E + (1 − α)·μ_B`, `Var ← α·Var + (1 − α)·σ²_B` (eqs. 5–6);
 * - step: momentum on W and b, `Δ ← βΔ − η∇; W ← W + Δ` (§3.5.3), plain `γ ← γ − η∇` on γ and β.
 */
describe('the HW1 MLP trajectory with BatchNorm and momentum, by hand', () => {
  type Matrix = number[][]
  interface Hw1Params { W1: Matrix; b1: number[]; gamma: number[]; beta: number[]; W2: Matrix; b2: number[] }
  interface Hw1State { params: Hw1Params; velocity: { W1: Matrix; b1: number[]; W2: Matrix; b2: number[] }; runningMean: number[]; runningVar: number[] }
  interface Hw1Hyper { lr: number; momentum: number; alpha: number; eps: number; bnMomentum: boolean }

  const zerosLike = (a: Matrix): Matrix => a.map((row) => row.map(() => 0))
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z))

  /** One HW1 step (forward, backward, step) on batch `x` with one-hot `t`. */
  const hw1Step = (s: Hw1State, x: Matrix, t: Matrix, h: Hw1Hyper): { next: Hw1State; dgamma: number[]; dbeta: number[] } => {
    const { W1, b1, gamma, beta, W2, b2 } = s.params
    const m = x.length
    const nIn = W1.length
    const nHid = b1.length
    const nOut = b2.length
    // forward: Linear
    const z1: Matrix = x.map((row) => b1.map((b, j) => { let acc = b; for (let k = 0; k < nIn; k++) acc += (row[k] as number) * (W1[k]?.[j] as number); return acc }))
    // BatchNorm, train mode (eqs. 1–4)
    const mu = b1.map((_, j) => { let acc = 0; for (let i = 0; i < m; i++) acc += z1[i]?.[j] as number; return acc / m })
    const variance = b1.map((_, j) => { let acc = 0; for (let i = 0; i < m; i++) acc += ((z1[i]?.[j] as number) - (mu[j] as number)) ** 2; return acc / m })
    const norm: Matrix = z1.map((row) => row.map((v, j) => (v - (mu[j] as number)) / Math.sqrt((variance[j] as number) + h.eps)))
    const bnOut: Matrix = norm.map((row) => row.map((v, j) => (gamma[j] as number) * v + (beta[j] as number)))
    // Sigmoid, then Linear, then Identity
    const a1: Matrix = bnOut.map((row) => row.map(sigmoid))
    const z2: Matrix = a1.map((row) => b2.map((b, j) => { let acc = b; for (let k = 0; k < nHid; k++) acc += (row[k] as number) * (W2[k]?.[j] as number); return acc }))
    // criterion derivative per row: softmax(z) − y (appendix A), with the LogSumExp shift (appendix B)
    const delta2: Matrix = z2.map((row, i) => {
      const top = Math.max(...row)
      const e = row.map((v) => Math.exp(v - top))
      const total = e.reduce((acc, v) => acc + v, 0)
      return e.map((v, j) => v / total - (t[i]?.[j] as number))
    })
    // backward: Linear 2 (averaged), then Sigmoid' = S(1 − S)
    const dW2: Matrix = W2.map((row, k) => row.map((_, j) => { let acc = 0; for (let i = 0; i < m; i++) acc += (a1[i]?.[k] as number) * (delta2[i]?.[j] as number); return acc / m }))
    const db2 = b2.map((_, j) => { let acc = 0; for (let i = 0; i < m; i++) acc += delta2[i]?.[j] as number; return acc / m })
    const da1: Matrix = delta2.map((row) => W2.map((w) => { let acc = 0; for (let j = 0; j < nOut; j++) acc += (row[j] as number) * (w[j] as number); return acc }))
    const dBnOut: Matrix = da1.map((row, i) => row.map((v, k) => { const a = a1[i]?.[k] as number; return v * a * (1 - a) }))
    // BatchNorm backward, the handout's eqs. term by term
    const dnorm: Matrix = dBnOut.map((row) => row.map((v, j) => v * (gamma[j] as number))) // (7)
    const dbeta = b1.map((_, j) => { let acc = 0; for (let i = 0; i < m; i++) acc += dBnOut[i]?.[j] as number; return acc }) // (8)
    const dgamma = b1.map((_, j) => { let acc = 0; for (let i = 0; i < m; i++) acc += (dBnOut[i]?.[j] as number) * (norm[i]?.[j] as number); return acc }) // (9)
    const dvar = b1.map((_, j) => { // (20)
      let acc = 0
      for (let i = 0; i < m; i++) acc += (dnorm[i]?.[j] as number) * ((z1[i]?.[j] as number) - (mu[j] as number))
      return -0.5 * acc * ((variance[j] as number) + h.eps) ** -1.5
    })
    const dmu = b1.map((_, j) => { // (27)
      let first = 0
      let centered = 0
      for (let i = 0; i < m; i++) {
        first += (dnorm[i]?.[j] as number) * ((variance[j] as number) + h.eps) ** -0.5
        centered += (z1[i]?.[j] as number) - (mu[j] as number)
      }
      return -first - (2 / m) * (dvar[j] as number) * centered
    })
    const dz1: Matrix = z1.map((row, i) => row.map((v, j) => // (37)
      (dnorm[i]?.[j] as number) * ((variance[j] as number) + h.eps) ** -0.5 + (dvar[j] as number) * (2 / m) * (v - (mu[j] as number)) + (dmu[j] as number) / m))
    // Linear 1 (averaged)
    const dW1: Matrix = W1.map((row, k) => row.map((_, j) => { let acc = 0; for (let i = 0; i < m; i++) acc += (x[i]?.[k] as number) * (dz1[i]?.[j] as number); return acc / m }))
    const db1 = b1.map((_, j) => { let acc = 0; for (let i = 0; i < m; i++) acc += dz1[i]?.[j] as number; return acc / m })
    // step (§3.5.3): momentum in the Linear layers, plain gradient descent for γ and β
    const v = s.velocity
    const vW1 = v.W1.map((row, k) => row.map((d, j) => h.momentum * d - h.lr * (dW1[k]?.[j] as number)))
    const vb1 = v.b1.map((d, j) => h.momentum * d - h.lr * (db1[j] as number))
    const vW2 = v.W2.map((row, k) => row.map((d, j) => h.momentum * d - h.lr * (dW2[k]?.[j] as number)))
    const vb2 = v.b2.map((d, j) => h.momentum * d - h.lr * (db2[j] as number))
    const params: Hw1Params = {
      W1: W1.map((row, k) => row.map((w, j) => w + (vW1[k]?.[j] as number))),
      b1: b1.map((b, j) => b + (vb1[j] as number)),
      gamma: gamma.map((g, j) => g - h.lr * (dgamma[j] as number)),
      beta: beta.map((b, j) => b - h.lr * (dbeta[j] as number)),
      W2: W2.map((row, k) => row.map((w, j) => w + (vW2[k]?.[j] as number))),
      b2: b2.map((b, j) => b + (vb2[j] as number))
    }
    const runningMean = s.runningMean.map((r, j) => h.alpha * r + (1 - h.alpha) * (mu[j] as number))
    const runningVar = s.runningVar.map((r, j) => h.alpha * r + (1 - h.alpha) * (variance[j] as number))
    return { next: { params, velocity: { W1: vW1, b1: vb1, W2: vW2, b2: vb2 }, runningMean, runningVar }, dgamma, dbeta }
  }

  // A 2-3-2 MLP with BatchNorm after the first Linear; fixed weights, two batches of 4 rows taken in turn.
  const start: Hw1Params = {
    W1: [[0.2, -0.5, 0.8], [0.6, 0.3, -0.4]],
    b1: [0.1, -0.2, 0.05],
    gamma: [1.2, 0.8, 1],
    beta: [0.1, -0.1, 0],
    W2: [[0.7, -0.3], [-0.6, 0.9], [0.4, 0.5]],
    b2: [0, 0.1]
  }
  const batches: ReadonlyArray<{ x: Matrix; labels: number[] }> = [
    { x: [[0.5, -1], [1.5, 0.25], [-0.75, 2], [1, 1]], labels: [0, 1, 1, 0] },
    { x: [[-1, 0.5], [0.25, -0.5], [2, 1.5], [-0.5, -1.25]], labels: [1, 0, 0, 1] }
  ]
  const steps = 4
  const batchAt = (k: number) => batches[k % batches.length] as { x: Matrix; labels: number[] }
  const oneHot = (labels: number[]): Matrix => labels.map((l) => [0, 1].map((c) => (c === l ? 1 : 0)))

  /** The hand trajectory: params after each of `steps` steps, and the γ, β gradients each step used. */
  const byHand = (h: Hw1Hyper) => {
    let s: Hw1State = {
      params: start,
      velocity: { W1: zerosLike(start.W1), b1: start.b1.map(() => 0), W2: zerosLike(start.W2), b2: start.b2.map(() => 0) },
      runningMean: [0, 0, 0],
      runningVar: [1, 1, 1]
    }
    const out: Array<{ state: Hw1State; dgamma: number[]; dbeta: number[] }> = []
    for (let k = 0; k < steps; k++) {
      const { x, labels } = batchAt(k)
      const r = hw1Step(s, x, oneHot(labels), h)
      s = r.next
      out.push({ state: s, dgamma: r.dgamma, dbeta: r.dbeta })
    }
    return out
  }

  type Net = Models.Mlp['network']
  /** `Train.trainStep` from `start` in float64, returning params and layer state after each step. */
  const byLibrary = (network: Net, loss: Loss.Loss, optimizer: Optim.GradientTransformation<Optim.OptState>) => {
    const init = Train.initialState(network, optimizer, 0, 'float64')
    const p = init.params
    const params = [
      { W: Tensor.fromRows(start.W1, 'float64'), b: Tensor.vector(start.b1, 'float64') },
      { gamma: Tensor.vector(start.gamma, 'float64'), beta: Tensor.vector(start.beta, 'float64') },
      p[2],
      { W: Tensor.fromRows(start.W2, 'float64'), b: Tensor.vector(start.b2, 'float64') },
      p[4]
    ] as Net extends Layers.Layer<infer P, infer _S, infer _I, infer _O> ? P : never
    const step = Train.trainStep(network, loss, optimizer)
    let s = { ...init, params, optState: optimizer.init(params) }
    const out: Array<typeof s> = []
    for (let k = 0; k < steps; k++) {
      const { x, labels } = batchAt(k)
      const batch = Data.fromLabelled(Tensor.fromRows(x, 'float64'), labels, 2)
      if (E.isLeft(batch)) throw new Error(batch.left.message)
      const [r, next] = step(batch.right)(s)
      if (E.isLeft(r)) throw new Error(r.left.message)
      s = next
      out.push(s)
    }
    return out
  }

  /** The library's params and running statistics in the hand reference's layout. */
  const asHw1 = (s: ReturnType<typeof byLibrary>[number]) => {
    const [l1, bn, , l2] = s.params as unknown as [{ W: Tensor.Tensor; b: Tensor.Tensor }, { gamma: Tensor.Tensor; beta: Tensor.Tensor }, unknown, { W: Tensor.Tensor; b: Tensor.Tensor }]
    const stats = (s.layerState as unknown as [unknown, { runningMean: Tensor.Tensor; runningVar: Tensor.Tensor }])[1]
    return {
      W1: Tensor.toRows(l1.W), b1: Tensor.toArray(l1.b), gamma: Tensor.toArray(bn.gamma), beta: Tensor.toArray(bn.beta),
      W2: Tensor.toRows(l2.W), b2: Tensor.toArray(l2.b), runningMean: Tensor.toArray(stats.runningMean), runningVar: Tensor.toArray(stats.runningVar)
    }
  }
  const flat = (v: number | number[] | Matrix): number[] => (Array.isArray(v) ? (v as Array<number | number[]>).flatMap((e) => flat(e)) : [v])
  /** Largest |library − hand| over the named entries. */
  const gap = (lib: Record<string, number[] | Matrix>, hand: Record<string, number[] | Matrix>, keys: ReadonlyArray<string>) =>
    Math.max(...keys.flatMap((k) => flat(lib[k] as Matrix).map((v, i) => Math.abs(v - (flat(hand[k] as Matrix)[i] as number)))))
  const PARAMS = ['W1', 'b1', 'gamma', 'beta', 'W2', 'b2'] as const
  const hw1Hand = (s: Hw1State) => ({ ...s.params, runningMean: s.runningMean, runningVar: s.runningVar })

  // Both sides compute the same real numbers in float64, in different orders. Along any dependency
  // path a step makes fewer than 100 roundings, each an absolute error ≤ u·|value| (u = 2⁻⁵³) with
  // every value here below 2; the only division by a small quantity is by σ_B ≥ 0.44 (x̂, and eq. 20's
  // (σ² + ε)^(−3/2) ≤ 12), so one step adds at most 100·u·2·12 ≈ 2.7e-13. The momentum step map
  // (η = 0.1, β = 0.9) at most doubles an earlier error per step, so after 4 steps the gap is below
  // 2.7e-13·(1 + 2 + 4 + 8) ≈ 4e-12. Measured: at most 6e-17.
  const TOLERANCE = 1e-11

  const hyper = { lr: 0.1, momentum: 0.9, alpha: 0.9, eps: 1e-8, bnMomentum: false }
  const mlp = (batchNorm?: Models.MlpBatchNormOptions) =>
    Models.mlp({
      inputSize: 2, outputSize: 2, hiddens: [3], activations: [Layers.sigmoid(), Layers.linear()],
      learningRate: hyper.lr, momentum: hyper.momentum, numBatchNorm: 1, ...(batchNorm === undefined ? {} : { batchNorm })
    })

  it('Models.mlp with HW1 defaults reproduces the hand trajectory at every step (params and running statistics)', () => {
    const hand = byHand(hyper)
    const { network, loss, optimizer } = mlp()
    const lib = byLibrary(network, loss, optimizer)
    const gaps = lib.map((s, k) => gap(asHw1(s), hw1Hand((hand[k] as { state: Hw1State }).state), [...PARAMS, 'runningMean', 'runningVar']))
    gaps.forEach((g) => expect(g).toBeLessThan(TOLERANCE))
    // The trajectory moves: each step changes every group by far more than the tolerance.
    const moved = hand.map((h, k) => gap(hw1Hand(h.state), hw1Hand(k === 0 ? { ...h.state, params: start, runningMean: [0, 0, 0], runningVar: [1, 1, 1] } : (hand[k - 1] as { state: Hw1State }).state), ['gamma', 'beta', 'W1', 'W2']))
    moved.forEach((d) => expect(d).toBeGreaterThan(1e-3))
  })

  it('BatchNorm ε and the running-average weight are the options batchNorm.eps and batchNorm.keepRunning (the weight of the old statistic, HW1 α)', () => {
    const custom = { ...hyper, alpha: 0.75, eps: 0.25 }
    const hand = byHand(custom)
    const { network, loss, optimizer } = mlp({ keepRunning: custom.alpha, eps: custom.eps })
    const lib = byLibrary(network, loss, optimizer)
    lib.forEach((s, k) => expect(gap(asHw1(s), hw1Hand((hand[k] as { state: Hw1State }).state), [...PARAMS, 'runningMean', 'runningVar'])).toBeLessThan(TOLERANCE))
    // α on the other side of the average, or the default ε, would be a different trajectory:
    const swapped = byHand({ ...custom, alpha: 1 - custom.alpha })
    expect(gap(asHw1(lib[0] as (typeof lib)[number]), hw1Hand((swapped[0] as { state: Hw1State }).state), ['runningMean', 'runningVar'])).toBeGreaterThan(1e-2)
    const defaultEps = byHand({ ...custom, eps: 1e-8 })
    expect(gap(asHw1(lib[0] as (typeof lib)[number]), hw1Hand((defaultEps[0] as { state: Hw1State }).state), ['gamma', 'W1'])).toBeGreaterThan(1e-3)
  })

  it('the old optimizer (momentum on γ and β too) agrees at step 1 and leaves the HW1 trajectory from step 2 on', () => {
    const hand = byHand(hyper)
    const { network, loss } = mlp()
    const old = byLibrary(network, loss, Optim.momentum(hyper.lr, hyper.momentum) as unknown as Optim.GradientTransformation<Optim.OptState>)
    const at = (k: number) => hw1Hand((hand[k] as { state: Hw1State }).state)
    expect(gap(asHw1(old[0] as (typeof old)[number]), at(0), PARAMS)).toBeLessThan(TOLERANCE)
    // Step 2 starts from the same params, so the gradients are the same and the only difference is
    // the velocity HW1 does not keep for γ and β: old γ₂ − γ₂ = β·Δγ₁ = −β·η·dγ₁ (likewise β).
    const first = hand[0] as { dgamma: number[]; dbeta: number[] }
    const second = asHw1(old[1] as (typeof old)[number])
    const expectedOld = {
      gamma: at(1).gamma.map((g, j) => g - hyper.momentum * hyper.lr * (first.dgamma[j] as number)),
      beta: at(1).beta.map((b, j) => b - hyper.momentum * hyper.lr * (first.dbeta[j] as number))
    }
    expect(gap(second, expectedOld, ['gamma', 'beta'])).toBeLessThan(TOLERANCE)
    expect(gap(second, at(1), ['W1', 'b1', 'W2', 'b2'])).toBeLessThan(TOLERANCE)
    expect(gap(second, at(1), ['gamma', 'beta'])).toBeGreaterThan(1e3 * TOLERANCE)
    // From step 3 on the different γ, β change every gradient, so every parameter is off, except b1:
    // BatchNorm subtracts the batch mean right after it, so the loss does not depend on b1 (db1 = 0).
    for (let k = 2; k < steps; k++) {
      const o = asHw1(old[k] as (typeof old)[number])
      for (const key of ['W1', 'gamma', 'beta', 'W2', 'b2']) expect(gap(o, at(k), [key])).toBeGreaterThan(1e3 * TOLERANCE)
      expect(gap(o, at(k), ['b1'])).toBeLessThan(TOLERANCE)
    }
  })

  it("batchNorm.paramGradient 'batchMean' steps γ and β on the mean-loss gradient, 1/m of HW1's sums", () => {
    const hand = byHand(hyper)
    const { network, loss, optimizer } = mlp({ paramGradient: 'batchMean' })
    const [first] = byLibrary(network, loss, optimizer)
    const m = batchAt(0).x.length
    const h0 = hand[0] as { dgamma: number[]; dbeta: number[]; state: Hw1State }
    const expected = {
      gamma: start.gamma.map((g, j) => g - (hyper.lr * (h0.dgamma[j] as number)) / m),
      beta: start.beta.map((b, j) => b - (hyper.lr * (h0.dbeta[j] as number)) / m)
    }
    expect(gap(asHw1(first as NonNullable<typeof first>), expected, ['gamma', 'beta'])).toBeLessThan(TOLERANCE)
    expect(gap(asHw1(first as NonNullable<typeof first>), hw1Hand(h0.state), ['W1', 'b1', 'W2', 'b2'])).toBeLessThan(TOLERANCE)
  })
})
