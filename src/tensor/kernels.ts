/**
 * The kernels interface and its reference TypeScript backend.
 *
 * Every loop over raw tensor data in nn-ts lives behind `Kernels`: layers, losses and optimizers call
 * these functions and never index typed arrays themselves, so a faster backend (WebAssembly SIMD,
 * worker threads) can replace this one without touching them. Each kernel allocates its result and
 * never writes into an argument.
 *
 * @since 0.1.0
 */
import { type Data, type DType, type Tensor, ShapeError, alloc, matrixDims, sameShape, showShape } from './Tensor.ts'

/**
 * Every loop over tensor data, behind one interface: products, row and column reductions, element-wise maps, softmax, the fused optimizer steps. `kernels` is the default implementation.
 * @category model
 * @example
 * import { type Kernels, Tensor, kernels } from 'nn-ts'
 * // A backend is a value: this one counts the matrix products it is asked for.
 * let products = 0
 * const counting: Kernels = {
 *   ...kernels,
 *   matmul: (a, b) => {
 *     products++
 *     return kernels.matmul(a, b)
 *   }
 * }
 * counting.matmul(Tensor.fromRows([[1, 2]]), Tensor.fromRows([[3], [4]])) // [[11]]
 * products // 1
 */
export interface Kernels {
  readonly name: string
  /** `a · b` for `a: [m, k]`, `b: [k, n]` → `[m, n]` (a dense layer's `x W`). */
  readonly matmul: (a: Tensor, b: Tensor) => Tensor
  /** `a · bᵀ` for `a: [m, n]`, `b: [k, n]` → `[m, k]` (a dense layer's `dy Wᵀ`). */
  readonly matmulTransposeB: (a: Tensor, b: Tensor) => Tensor
  /** `aᵀ · b` for `a: [m, k]`, `b: [m, n]` → `[k, n]` (a dense layer's `xᵀ dy`). */
  readonly matmulTransposeA: (a: Tensor, b: Tensor) => Tensor
  /** `x · w + b` for `x: [m, k]`, `w: [k, n]`, `b: [n]` → `[m, n]`. */
  readonly affine: (x: Tensor, w: Tensor, b: Tensor) => Tensor
  /** `a + v` with the vector `v: [n]` added to every row of `a: [m, n]`. */
  readonly addRowVector: (a: Tensor, v: Tensor) => Tensor
  /** `a ⊙ v` with the vector `v: [n]` multiplying every row of `a: [m, n]`. */
  readonly mulRowVector: (a: Tensor, v: Tensor) => Tensor
  /** Sum of each row: `[m, n]` → `[m]`. */
  readonly rowSums: (a: Tensor) => Tensor
  /** Row `i` of `a: [m, n]` times `v[i]` for `v: [m]`. */
  readonly scaleRows: (a: Tensor, v: Tensor) => Tensor
  /** Sum over rows: `[m, n]` → `[n]`. */
  readonly columnSums: (a: Tensor) => Tensor
  /** `c · a`. */
  readonly scale: (a: Tensor, c: number) => Tensor
  /** `α·x + β·y` for same-shaped `x`, `y` (momentum, moving averages, applying updates). */
  readonly axpby: (alpha: number, x: Tensor, beta: number, y: Tensor) => Tensor
  /** `α·v + β·g²` (second-moment averages of Adam and RMSProp). */
  readonly axpbySquare: (alpha: number, v: Tensor, beta: number, g: Tensor) => Tensor
  /** `(c1·m) / (√(c2·v + epsRoot) + eps)` (Adam's and RMSProp's direction). */
  readonly adaptiveDirection: (m: Tensor, v: Tensor, c1: number, c2: number, epsRoot: number, eps: number) => Tensor
  /**
   * One SGD step `p + (−η)·g`, the product rounded before the sum: `axpby(1, p, 1, scale(g, −η))`
   * in one pass (the fused form of `sgd`).
   */
  readonly sgdStep: (param: Tensor, grad: Tensor, eta: number) => StepResult
  /**
   * One heavy-ball step in the HW1 form: `u = (−η)·g`, `v' = β·v + u`, `p' = p + v'`, or with
   * `nesterov` `p' = p + (β·v' + u)`, each operation rounded as the composed kernels round it (the
   * fused form of `momentum` and `nesterov`).
   */
  readonly momentumStep: (param: Tensor, grad: Tensor, velocity: Tensor, eta: number, decay: number, nesterov: boolean) => StepResult
  /**
   * One moving-average momentum step: `v' = decay·v + keep·g`, `p' = p + (−η)·v'` (the fused form of
   * `emaMomentum`, whose `keep` is `1 − decay`).
   */
  readonly emaMomentumStep: (param: Tensor, grad: Tensor, velocity: Tensor, decay: number, keep: number, eta: number) => StepResult
  /**
   * One Adam step (`AdamStepCoefficients`): `m' = b1·m + k1·g`, `v' = b2·v + k2·g²`,
   * `d = (c1·m') / (√(c2·v' + epsRoot) + eps)`, with AdamW's `d + weightDecay·p` when `weightDecay`
   * is given, then `p' = p + (−η)·d`: `axpby`, `axpbySquare`, `adaptiveDirection`, (`axpby`,)
   * `scale` and `axpby` in one pass.
   */
  readonly adamStep: (param: Tensor, grad: Tensor, mu: Tensor, nu: Tensor, c: AdamStepCoefficients) => StepResult
  /**
   * One RMSProp step: `v' = decay·v + keep·g²`, `d = g / (√v' + eps)` (as `adaptiveDirection(g, v',
   * 1, 1, 0, eps)`), `p' = p + (−η)·d`.
   */
  readonly rmsPropStep: (param: Tensor, grad: Tensor, nu: Tensor, decay: number, keep: number, eps: number, eta: number) => StepResult
  /** Element-wise `a − b` of two same-shaped tensors. */
  readonly sub: (a: Tensor, b: Tensor) => Tensor
  /** Element-wise `a / c` (a mean from a sum: `divide(columnSums(x), m)`). */
  readonly divide: (a: Tensor, c: number) => Tensor
  /** Element-wise `1 / √(a + eps)` (BatchNorm's inverse standard deviation from a variance). */
  readonly inverseSqrt: (a: Tensor, eps: number) => Tensor
  /**
   * Inverted dropout with uniform draws `u` in [0, 1): `x · (u ≥ rate ? keepScale : 0)`, `keepScale`
   * rounded to the dtype once (as a stored mask holds it). The forward pass applies it to the input,
   * the backward pass to `dy`, with the same draws.
   */
  readonly dropout: (x: Tensor, u: Tensor, rate: number, keepScale: number) => Tensor
  /**
   * The per-element terms of a cross-entropy, prediction `p` against target `y` (summed and divided
   * by the batch by the loss), with probabilities clamped to [1e-12, 1 − 1e-12] so logarithms stay
   * finite: `'binary'` `−(y log p + (1 − y) log(1 − p))`; `'binaryLogits'` (p is a logit z)
   * `max(z, 0) − z y + log(1 + e^−|z|)`; `'categorical'` `−y log p` (0 where y = 0).
   */
  readonly crossEntropyTerms: (form: CrossEntropyTermsForm, p: Tensor, y: Tensor) => Tensor
  /**
   * The gradient of the mean over `m` rows of those terms, per element: `'binary'` `(p − y) / (p(1 −
   * p)·m)` (p clamped); `'binaryLogits'` `(σ(z) − y)/m`; `'categorical'` `−y / (p·m)` (p clamped);
   * `'softmax'` `(q − y)/m` for `q` = softmax(z) times each row's target mass (softmax cross-entropy).
   */
  readonly crossEntropyGrad: (form: CrossEntropyForm, p: Tensor, y: Tensor, m: number) => Tensor
  /** Element-wise `a + b` of two same-shaped tensors. */
  readonly add: (a: Tensor, b: Tensor) => Tensor
  /** Element-wise `a ⊙ b` of two same-shaped tensors. */
  readonly mul: (a: Tensor, b: Tensor) => Tensor
  /** Element-wise `max(a, 0)` (NaN stays NaN), the ReLU activation without a closure per element. */
  readonly relu: (a: Tensor) => Tensor
  /** ReLU's vector-Jacobian product `dy ⊙ [x > 0]` (derivative 0 at 0) for same-shaped `dy`, `x`. */
  readonly reluBackward: (dy: Tensor, x: Tensor) => Tensor
  /** Element-wise `f(a)`. */
  readonly map: (a: Tensor, f: (x: number) => number) => Tensor
  /** Element-wise `f(a, b)` of two same-shaped tensors. */
  readonly zipWith: (a: Tensor, b: Tensor, f: (x: number, y: number) => number) => Tensor
  /** Element-wise `f(a, b, c)` of three same-shaped tensors. */
  readonly zipWith3: (a: Tensor, b: Tensor, c: Tensor, f: (x: number, y: number, z: number) => number) => Tensor
  /** Row-wise softmax of `[m, n]`, stable for large logits. */
  readonly softmaxRows: (a: Tensor) => Tensor
  /** Softmax's vector-Jacobian product per row: `y ⊙ (dy − Σ_j dy_j y_j)`, given `y = softmax(x)`. */
  readonly softmaxRowsBackward: (y: Tensor, dy: Tensor) => Tensor
  /** Row-wise `log Σ exp` of `[m, n]` → `[m]`, by the max-shift trick. */
  readonly logSumExpRows: (a: Tensor) => Tensor
  /** Row-wise index of the largest value of `[m, n]` → plain numbers. */
  readonly argmaxRows: (a: Tensor) => number[]
  /** Sum of every element (accumulated in float64). */
  readonly sum: (a: Tensor) => number
  /** Σ a·b over every element of two same-shaped tensors (accumulated in float64). */
  readonly dot: (a: Tensor, b: Tensor) => number
  /** Row-wise concatenation `[m, n1] ++ [m, n2]` → `[m, n1 + n2]`. */
  readonly concatColumns: (a: Tensor, b: Tensor) => Tensor
  /** Columns `start` to `end` (exclusive) of `[m, n]`. */
  readonly sliceColumns: (a: Tensor, start: number, end: number) => Tensor
}

/**
 * What a fused optimizer kernel returns: the new params and the new moments it keeps (`first` is the
 * velocity or Adam's `mu`, `second` Adam's or RMSProp's `nu`; absent where the optimizer has none).
 * @category model
 */
export interface StepResult {
  readonly param: Tensor
  readonly first?: Tensor
  readonly second?: Tensor
  /**
   * Whether the gradient and every result hold only finite values, found in the same pass, so that a
   * trainer checking for NaN and ±∞ need not read them again.
   */
  readonly finite: boolean
}

/**
 * The coefficients of one Adam step, as the composed kernels receive them: `b1`, `k1 = 1 − b1`, `b2`,
 * `k2 = 1 − b2`, the bias corrections `c1 = 1/(1 − b1ᵗ)` and `c2 = 1/(1 − b2ᵗ)`, `epsRoot`, `eps`,
 * the learning rate `eta`, and AdamW's decoupled `weightDecay` (absent: no decay term at all, which
 * differs from a decay of 0 where `p` is ±∞ or the direction is −0).
 * @category model
 */
export interface AdamStepCoefficients {
  readonly b1: number
  readonly k1: number
  readonly b2: number
  readonly k2: number
  readonly c1: number
  readonly c2: number
  readonly epsRoot: number
  readonly eps: number
  readonly eta: number
  readonly weightDecay?: number
}

/**
 * Which cross-entropy a `crossEntropyTerms` call computes (see `Kernels`).
 * @category model
 */
export type CrossEntropyTermsForm = 'binary' | 'binaryLogits' | 'categorical'

/**
 * Which cross-entropy gradient a `crossEntropyGrad` call computes (see `Kernels`).
 * @category model
 */
export type CrossEntropyForm = CrossEntropyTermsForm | 'softmax'

// shape checks shared by backends

/** @internal */
export const sameDType = (where: string, a: Tensor, b: Tensor): DType => {
  if (a.dtype !== b.dtype) throw new TypeError(`${where}: dtypes differ (${a.dtype} and ${b.dtype})`)
  return a.dtype
}

/** @internal */
export const checkSame = (where: string, a: Tensor, b: Tensor): void => {
  if (!sameShape(a.shape, b.shape)) throw new ShapeError(where, showShape(a.shape), b.shape)
  sameDType(where, a, b)
}

/** Dimensions of `a · b`, `a · bᵀ` or `aᵀ · b`, checked. @internal */
export const productDims = (kind: 'nn' | 'nt' | 'tn', a: Tensor, b: Tensor): { m: number; k: number; n: number } => {
  sameDType(`matmul(${kind})`, a, b)
  const [ar, ac] = matrixDims(a, `matmul(${kind}) left`)
  const [br, bc] = matrixDims(b, `matmul(${kind}) right`)
  if (kind === 'nn') {
    if (ac !== br) throw new ShapeError('matmul right operand', `[${ac}, n] to multiply ${showShape(a.shape)}`, b.shape)
    return { m: ar, k: ac, n: bc }
  }
  if (kind === 'nt') {
    if (ac !== bc) throw new ShapeError('matmul(a·bᵀ) right operand', `[k, ${ac}] to multiply ${showShape(a.shape)}`, b.shape)
    return { m: ar, k: ac, n: br }
  }
  if (ar !== br) throw new ShapeError('matmul(aᵀ·b) right operand', `[${ar}, n] to multiply ${showShape(a.shape)}ᵀ`, b.shape)
  return { m: ac, k: ar, n: bc }
}

/** `[m, n]` of `a`, checking `v` is `[n]` of the same dtype. @internal */
export const rowVectorDims = (where: string, a: Tensor, v: Tensor): [number, number] => {
  const [m, n] = matrixDims(a, where)
  if (v.shape.length !== 1 || v.shape[0] !== n) throw new ShapeError(`${where} vector`, `[${n}]`, v.shape)
  sameDType(where, a, v)
  return [m, n]
}

const make = (shape: readonly number[], dtype: DType, data: Data): Tensor => ({ shape, dtype, data })

// reference backend

/** c[i, :] += Σ_p a[i, p] · b[p, :], four rows of b at a time to cut loads and stores of c. */
const gemmNN = (a: Data, b: Data, c: Data, m: number, k: number, n: number): void => {
  for (let i = 0; i < m; i++) {
    const ai = i * k
    const ci = i * n
    let p = 0
    for (; p + 3 < k; p += 4) {
      const a0 = a[ai + p] as number
      const a1 = a[ai + p + 1] as number
      const a2 = a[ai + p + 2] as number
      const a3 = a[ai + p + 3] as number
      const b0 = p * n
      const b1 = b0 + n
      const b2 = b1 + n
      const b3 = b2 + n
      for (let j = 0; j < n; j++) {
        c[ci + j] =
          (c[ci + j] as number) +
          a0 * (b[b0 + j] as number) +
          a1 * (b[b1 + j] as number) +
          a2 * (b[b2 + j] as number) +
          a3 * (b[b3 + j] as number)
      }
    }
    for (; p < k; p++) {
      const ap = a[ai + p] as number
      const bp = p * n
      for (let j = 0; j < n; j++) c[ci + j] = (c[ci + j] as number) + ap * (b[bp + j] as number)
    }
  }
}

const matmul = (a: Tensor, b: Tensor): Tensor => {
  const { m, k, n } = productDims('nn', a, b)
  const c = alloc(a.dtype, m * n)
  gemmNN(a.data, b.data, c, m, k, n)
  return make([m, n], a.dtype, c)
}

const matmulTransposeB = (a: Tensor, b: Tensor): Tensor => {
  const { m, k, n } = productDims('nt', a, b)
  const A = a.data
  const B = b.data
  const c = alloc(a.dtype, m * n)
  for (let i = 0; i < m; i++) {
    const ai = i * k
    for (let j = 0; j < n; j++) {
      const bj = j * k
      let s0 = 0
      let s1 = 0
      let p = 0
      for (; p + 1 < k; p += 2) {
        s0 += (A[ai + p] as number) * (B[bj + p] as number)
        s1 += (A[ai + p + 1] as number) * (B[bj + p + 1] as number)
      }
      if (p < k) s0 += (A[ai + p] as number) * (B[bj + p] as number)
      c[i * n + j] = s0 + s1
    }
  }
  return make([m, n], a.dtype, c)
}

const matmulTransposeA = (a: Tensor, b: Tensor): Tensor => {
  const { m, k, n } = productDims('tn', a, b)
  const A = a.data
  const B = b.data
  const c = alloc(a.dtype, m * n)
  // c[p, :] += a[i, p] · b[i, :] for every row i: contiguous in both b and c.
  for (let i = 0; i < k; i++) {
    const ai = i * m
    const bi = i * n
    for (let p = 0; p < m; p++) {
      const ap = A[ai + p] as number
      if (ap === 0) continue
      const cp = p * n
      for (let j = 0; j < n; j++) c[cp + j] = (c[cp + j] as number) + ap * (B[bi + j] as number)
    }
  }
  return make([m, n], a.dtype, c)
}

const addRowVector = (a: Tensor, v: Tensor): Tensor => {
  const [m, n] = rowVectorDims('addRowVector', a, v)
  const out = alloc(a.dtype, m * n)
  const A = a.data
  const V = v.data
  for (let i = 0; i < m; i++) {
    const r = i * n
    for (let j = 0; j < n; j++) out[r + j] = (A[r + j] as number) + (V[j] as number)
  }
  return make([m, n], a.dtype, out)
}

const mulRowVector = (a: Tensor, v: Tensor): Tensor => {
  const [m, n] = rowVectorDims('mulRowVector', a, v)
  const out = alloc(a.dtype, m * n)
  const A = a.data
  const V = v.data
  for (let i = 0; i < m; i++) {
    const r = i * n
    for (let j = 0; j < n; j++) out[r + j] = (A[r + j] as number) * (V[j] as number)
  }
  return make([m, n], a.dtype, out)
}

const affine = (x: Tensor, w: Tensor, b: Tensor): Tensor => {
  const { m, k, n } = productDims('nn', x, w)
  rowVectorDims('affine bias', make([m, n], x.dtype, x.data), b)
  const c = alloc(x.dtype, m * n)
  for (let i = 0; i < m; i++) c.set(b.data, i * n)
  gemmNN(x.data, w.data, c, m, k, n)
  return make([m, n], x.dtype, c)
}

const columnSums = (a: Tensor): Tensor => {
  const [m, n] = matrixDims(a, 'columnSums')
  const acc = new Float64Array(n)
  const A = a.data
  for (let i = 0; i < m; i++) {
    const r = i * n
    for (let j = 0; j < n; j++) acc[j] = (acc[j] as number) + (A[r + j] as number)
  }
  const out = alloc(a.dtype, n)
  out.set(acc)
  return make([n], a.dtype, out)
}

const rowSums = (a: Tensor): Tensor => {
  const [m, n] = matrixDims(a, 'rowSums')
  const A = a.data
  const out = alloc(a.dtype, m)
  for (let i = 0; i < m; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += A[i * n + j] as number
    out[i] = s
  }
  return make([m], a.dtype, out)
}

const scaleRows = (a: Tensor, v: Tensor): Tensor => {
  const [m, n] = matrixDims(a, 'scaleRows')
  if (v.shape.length !== 1 || v.shape[0] !== m) throw new ShapeError('scaleRows vector', `[${m}]`, v.shape)
  const A = a.data
  const out = alloc(a.dtype, m * n)
  for (let i = 0; i < m; i++) {
    const s = v.data[i] as number
    for (let j = 0; j < n; j++) out[i * n + j] = (A[i * n + j] as number) * s
  }
  return make([m, n], a.dtype, out)
}

// Named element-wise kernels: each loop sees one operation, so it stays monomorphic and fast, unlike
// `map`/`zipWith` whose shared loop slows down once many different closures pass through it.

const scale = (a: Tensor, c: number): Tensor => {
  const A = a.data
  const out = alloc(a.dtype, A.length)
  for (let i = 0; i < A.length; i++) out[i] = c * (A[i] as number)
  return make(a.shape, a.dtype, out)
}

const axpby = (alpha: number, x: Tensor, beta: number, y: Tensor): Tensor => {
  checkSame('axpby', x, y)
  const X = x.data
  const Y = y.data
  const out = alloc(x.dtype, X.length)
  for (let i = 0; i < X.length; i++) out[i] = alpha * (X[i] as number) + beta * (Y[i] as number)
  return make(x.shape, x.dtype, out)
}

const axpbySquare = (alpha: number, v: Tensor, beta: number, g: Tensor): Tensor => {
  checkSame('axpbySquare', v, g)
  const V = v.data
  const G = g.data
  const out = alloc(v.dtype, V.length)
  for (let i = 0; i < V.length; i++) {
    const gi = G[i] as number
    out[i] = alpha * (V[i] as number) + beta * gi * gi
  }
  return make(v.shape, v.dtype, out)
}

const adaptiveDirection = (m: Tensor, v: Tensor, c1: number, c2: number, epsRoot: number, eps: number): Tensor => {
  checkSame('adaptiveDirection', m, v)
  const M = m.data
  const V = v.data
  const out = alloc(m.dtype, M.length)
  for (let i = 0; i < M.length; i++) out[i] = (c1 * (M[i] as number)) / (Math.sqrt(c2 * (V[i] as number) + epsRoot) + eps)
  return make(m.shape, m.dtype, out)
}

// Fused optimizer steps. Each rounds every intermediate to the tensor's dtype exactly where the
// composed kernels store it (`round`: Math.fround for float32, nothing for float64), and evaluates
// every expression in the same order with the same float64 coefficients, so a fused step equals its
// composed chain bit for bit (laws/fusedOptim.law.test.ts).

const rounding = (dtype: DType): ((x: number) => number) => (dtype === 'float32' ? Math.fround : (x: number) => x)

/** Checks `param` against each same-shaped operand and allocates `outputs` results of its dtype. */
const stepOperands = (where: string, param: Tensor, operands: ReadonlyArray<Tensor>, outputs: number): Data[] => {
  for (const t of operands) checkSame(where, param, t)
  return Array.from({ length: outputs }, () => alloc(param.dtype, param.data.length))
}

// Each loop also sums `x − x` over the gradient and every stored result: 0 while all are finite, NaN
// from the first NaN or ±∞ on (the reference of the WebAssembly kernels' finiteness flag).

const sgdStep = (param: Tensor, grad: Tensor, eta: number): StepResult => {
  const [out] = stepOperands('sgdStep', param, [grad], 1) as [Data]
  const r = rounding(param.dtype)
  const P = param.data
  const G = grad.data
  const c = -eta
  let bad = 0
  for (let i = 0; i < P.length; i++) {
    const g = G[i] as number
    const p = r((P[i] as number) + r(c * g))
    out[i] = p
    bad += g - g + (p - p)
  }
  return { param: make(param.shape, param.dtype, out), finite: bad === 0 }
}

const momentumStep = (param: Tensor, grad: Tensor, velocity: Tensor, eta: number, decay: number, nesterov: boolean): StepResult => {
  const [outP, outV] = stepOperands('momentumStep', param, [grad, velocity], 2) as [Data, Data]
  const r = rounding(param.dtype)
  const P = param.data
  const G = grad.data
  const V = velocity.data
  const c = -eta
  let bad = 0
  for (let i = 0; i < P.length; i++) {
    const g = G[i] as number
    const u = r(c * g)
    const v = r(decay * (V[i] as number) + 1 * u)
    const p = r((P[i] as number) + (nesterov ? r(decay * v + 1 * u) : v))
    outV[i] = v
    outP[i] = p
    bad += g - g + (v - v) + (p - p)
  }
  return { param: make(param.shape, param.dtype, outP), first: make(param.shape, param.dtype, outV), finite: bad === 0 }
}

const emaMomentumStep = (param: Tensor, grad: Tensor, velocity: Tensor, decay: number, keep: number, eta: number): StepResult => {
  const [outP, outV] = stepOperands('emaMomentumStep', param, [grad, velocity], 2) as [Data, Data]
  const r = rounding(param.dtype)
  const P = param.data
  const G = grad.data
  const V = velocity.data
  const c = -eta
  let bad = 0
  for (let i = 0; i < P.length; i++) {
    const g = G[i] as number
    const v = r(decay * (V[i] as number) + keep * g)
    const p = r((P[i] as number) + r(c * v))
    outV[i] = v
    outP[i] = p
    bad += g - g + (v - v) + (p - p)
  }
  return { param: make(param.shape, param.dtype, outP), first: make(param.shape, param.dtype, outV), finite: bad === 0 }
}

const adamStep = (param: Tensor, grad: Tensor, mu: Tensor, nu: Tensor, k: AdamStepCoefficients): StepResult => {
  const [outP, outM, outV] = stepOperands('adamStep', param, [grad, mu, nu], 3) as [Data, Data, Data]
  const r = rounding(param.dtype)
  const P = param.data
  const G = grad.data
  const M = mu.data
  const V = nu.data
  const { b1, k1, b2, k2, c1, c2, epsRoot, eps } = k
  const c = -k.eta
  const decayed = k.weightDecay !== undefined
  const wd = k.weightDecay ?? 0
  let bad = 0
  for (let i = 0; i < P.length; i++) {
    const g = G[i] as number
    const p = P[i] as number
    const m = r(b1 * (M[i] as number) + k1 * g)
    const v = r(b2 * (V[i] as number) + k2 * g * g)
    const d = r((c1 * m) / (Math.sqrt(c2 * v + epsRoot) + eps))
    const next = r(p + r(c * (decayed ? r(1 * d + wd * p) : d)))
    outM[i] = m
    outV[i] = v
    outP[i] = next
    bad += g - g + (m - m) + (v - v) + (next - next)
  }
  return {
    param: make(param.shape, param.dtype, outP),
    first: make(param.shape, param.dtype, outM),
    second: make(param.shape, param.dtype, outV),
    finite: bad === 0
  }
}

const rmsPropStep = (param: Tensor, grad: Tensor, nu: Tensor, decay: number, keep: number, eps: number, eta: number): StepResult => {
  const [outP, outV] = stepOperands('rmsPropStep', param, [grad, nu], 2) as [Data, Data]
  const r = rounding(param.dtype)
  const P = param.data
  const G = grad.data
  const V = nu.data
  const c = -eta
  let bad = 0
  for (let i = 0; i < P.length; i++) {
    const g = G[i] as number
    const v = r(decay * (V[i] as number) + keep * g * g)
    const p = r((P[i] as number) + r(c * r((1 * g) / (Math.sqrt(1 * v + 0) + eps))))
    outV[i] = v
    outP[i] = p
    bad += g - g + (v - v) + (p - p)
  }
  return { param: make(param.shape, param.dtype, outP), second: make(param.shape, param.dtype, outV), finite: bad === 0 }
}

const map = (a: Tensor, f: (x: number) => number): Tensor => {
  const A = a.data
  const out = alloc(a.dtype, A.length)
  for (let i = 0; i < A.length; i++) out[i] = f(A[i] as number)
  return make(a.shape, a.dtype, out)
}

const zipWith = (a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor => {
  checkSame('zipWith', a, b)
  const A = a.data
  const B = b.data
  const out = alloc(a.dtype, A.length)
  for (let i = 0; i < A.length; i++) out[i] = f(A[i] as number, B[i] as number)
  return make(a.shape, a.dtype, out)
}

const zipWith3 = (a: Tensor, b: Tensor, c: Tensor, f: (x: number, y: number, z: number) => number): Tensor => {
  checkSame('zipWith3', a, b)
  checkSame('zipWith3', a, c)
  const A = a.data
  const B = b.data
  const C = c.data
  const out = alloc(a.dtype, A.length)
  for (let i = 0; i < A.length; i++) out[i] = f(A[i] as number, B[i] as number, C[i] as number)
  return make(a.shape, a.dtype, out)
}

// Sums and products get loops of their own (see ReLU below): `zipWith` calls a closure per element.
const add32 = (A: Float32Array, B: Float32Array): Float32Array => {
  const out = new Float32Array(A.length)
  for (let i = 0; i < A.length; i++) out[i] = (A[i] as number) + (B[i] as number)
  return out
}
const add64 = (A: Float64Array, B: Float64Array): Float64Array => {
  const out = new Float64Array(A.length)
  for (let i = 0; i < A.length; i++) out[i] = (A[i] as number) + (B[i] as number)
  return out
}
const mul32 = (A: Float32Array, B: Float32Array): Float32Array => {
  const out = new Float32Array(A.length)
  for (let i = 0; i < A.length; i++) out[i] = (A[i] as number) * (B[i] as number)
  return out
}
const mul64 = (A: Float64Array, B: Float64Array): Float64Array => {
  const out = new Float64Array(A.length)
  for (let i = 0; i < A.length; i++) out[i] = (A[i] as number) * (B[i] as number)
  return out
}
const add = (a: Tensor, b: Tensor): Tensor => {
  checkSame('add', a, b)
  const A = a.data
  const B = b.data
  return make(a.shape, a.dtype, A instanceof Float32Array && B instanceof Float32Array ? add32(A, B) : add64(A as Float64Array, B as Float64Array))
}
const mul = (a: Tensor, b: Tensor): Tensor => {
  checkSame('mul', a, b)
  const A = a.data
  const B = b.data
  return make(a.shape, a.dtype, A instanceof Float32Array && B instanceof Float32Array ? mul32(A, B) : mul64(A as Float64Array, B as Float64Array))
}

const sub32 = (A: Float32Array, B: Float32Array): Float32Array => {
  const out = new Float32Array(A.length)
  for (let i = 0; i < A.length; i++) out[i] = (A[i] as number) - (B[i] as number)
  return out
}
const sub64 = (A: Float64Array, B: Float64Array): Float64Array => {
  const out = new Float64Array(A.length)
  for (let i = 0; i < A.length; i++) out[i] = (A[i] as number) - (B[i] as number)
  return out
}
const sub = (a: Tensor, b: Tensor): Tensor => {
  checkSame('sub', a, b)
  const A = a.data
  const B = b.data
  return make(a.shape, a.dtype, A instanceof Float32Array && B instanceof Float32Array ? sub32(A, B) : sub64(A as Float64Array, B as Float64Array))
}

const divide = (a: Tensor, c: number): Tensor => {
  const A = a.data
  const out = alloc(a.dtype, A.length)
  for (let i = 0; i < A.length; i++) out[i] = (A[i] as number) / c
  return make(a.shape, a.dtype, out)
}

const inverseSqrt = (a: Tensor, eps: number): Tensor => {
  const A = a.data
  const out = alloc(a.dtype, A.length)
  for (let i = 0; i < A.length; i++) out[i] = 1 / Math.sqrt((A[i] as number) + eps)
  return make(a.shape, a.dtype, out)
}

const dropout = (x: Tensor, u: Tensor, rate: number, keepScale: number): Tensor => {
  checkSame('dropout', x, u)
  const X = x.data
  const U = u.data
  const out = alloc(x.dtype, X.length)
  // The scale as a mask stored in the tensor's dtype holds it.
  const keep = rounding(x.dtype)(keepScale)
  for (let i = 0; i < X.length; i++) out[i] = (X[i] as number) * ((U[i] as number) >= rate ? keep : 0)
  return make(x.shape, x.dtype, out)
}

/** Probabilities are clamped so that `log` stays finite; far from where gradient checks sample. */
const PROB_EPS = 1e-12
const clampProb = (q: number): number => Math.min(1 - PROB_EPS, Math.max(PROB_EPS, q))
/** σ(z) without overflow for any z. */
const logistic = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)))

const crossEntropyTerms = (form: CrossEntropyTermsForm, p: Tensor, y: Tensor): Tensor => {
  checkSame('crossEntropyTerms', p, y)
  const P = p.data
  const Y = y.data
  const out = alloc(p.dtype, P.length)
  if (form === 'binary') {
    for (let i = 0; i < P.length; i++) {
      const c = clampProb(P[i] as number)
      const t = Y[i] as number
      out[i] = -(t * Math.log(c) + (1 - t) * Math.log(1 - c))
    }
  } else if (form === 'binaryLogits') {
    for (let i = 0; i < P.length; i++) {
      const z = P[i] as number
      out[i] = Math.max(z, 0) - z * (Y[i] as number) + Math.log1p(Math.exp(-Math.abs(z)))
    }
  } else {
    for (let i = 0; i < P.length; i++) {
      const t = Y[i] as number
      out[i] = t === 0 ? 0 : -t * Math.log(clampProb(P[i] as number))
    }
  }
  return make(p.shape, p.dtype, out)
}

const crossEntropyGrad = (form: CrossEntropyForm, p: Tensor, y: Tensor, m: number): Tensor => {
  checkSame('crossEntropyGrad', p, y)
  const P = p.data
  const Y = y.data
  const out = alloc(p.dtype, P.length)
  if (form === 'binary') {
    for (let i = 0; i < P.length; i++) {
      const c = clampProb(P[i] as number)
      out[i] = (c - (Y[i] as number)) / (c * (1 - c) * m)
    }
  } else if (form === 'binaryLogits') {
    for (let i = 0; i < P.length; i++) out[i] = (logistic(P[i] as number) - (Y[i] as number)) / m
  } else if (form === 'categorical') {
    for (let i = 0; i < P.length; i++) out[i] = -(Y[i] as number) / (clampProb(P[i] as number) * m)
  } else {
    for (let i = 0; i < P.length; i++) out[i] = ((P[i] as number) - (Y[i] as number)) / m
  }
  return make(p.shape, p.dtype, out)
}

// ReLU gets loops of its own: `map` with a closure calls it per element, and one function per array
// type keeps each loop monomorphic.
const relu32 = (A: Float32Array): Float32Array => {
  const out = new Float32Array(A.length)
  for (let i = 0; i < A.length; i++) out[i] = Math.max(A[i] as number, 0)
  return out
}
const relu64 = (A: Float64Array): Float64Array => {
  const out = new Float64Array(A.length)
  for (let i = 0; i < A.length; i++) out[i] = Math.max(A[i] as number, 0)
  return out
}
const relu = (a: Tensor): Tensor => make(a.shape, a.dtype, a.data instanceof Float32Array ? relu32(a.data) : relu64(a.data))

const reluBackward32 = (D: Float32Array, X: Float32Array): Float32Array => {
  const out = new Float32Array(D.length)
  for (let i = 0; i < D.length; i++) out[i] = (D[i] as number) * ((X[i] as number) > 0 ? 1 : 0)
  return out
}
const reluBackward64 = (D: Float64Array, X: Float64Array): Float64Array => {
  const out = new Float64Array(D.length)
  for (let i = 0; i < D.length; i++) out[i] = (D[i] as number) * ((X[i] as number) > 0 ? 1 : 0)
  return out
}
const reluBackward = (dy: Tensor, x: Tensor): Tensor => {
  checkSame('reluBackward', dy, x)
  const D = dy.data
  const X = x.data
  return make(
    dy.shape,
    dy.dtype,
    D instanceof Float32Array && X instanceof Float32Array ? reluBackward32(D, X) : reluBackward64(D as Float64Array, X as Float64Array)
  )
}

const rowMax = (A: Data, r: number, n: number): number => {
  let mx = -Infinity
  for (let j = 0; j < n; j++) mx = Math.max(mx, A[r + j] as number)
  return mx
}

const softmaxRows = (a: Tensor): Tensor => {
  const [m, n] = matrixDims(a, 'softmaxRows')
  const A = a.data
  const out = alloc(a.dtype, m * n)
  const e = new Float64Array(n)
  for (let i = 0; i < m; i++) {
    const r = i * n
    const mx = rowMax(A, r, n)
    let s = 0
    for (let j = 0; j < n; j++) {
      const v = Math.exp((A[r + j] as number) - mx)
      e[j] = v
      s += v
    }
    for (let j = 0; j < n; j++) out[r + j] = (e[j] as number) / s
  }
  return make([m, n], a.dtype, out)
}

const softmaxRowsBackward = (y: Tensor, dy: Tensor): Tensor => {
  checkSame('softmaxRowsBackward', y, dy)
  const [m, n] = matrixDims(y, 'softmaxRowsBackward')
  const Y = y.data
  const D = dy.data
  const out = alloc(y.dtype, m * n)
  for (let i = 0; i < m; i++) {
    const r = i * n
    let s = 0
    for (let j = 0; j < n; j++) s += (D[r + j] as number) * (Y[r + j] as number)
    for (let j = 0; j < n; j++) out[r + j] = (Y[r + j] as number) * ((D[r + j] as number) - s)
  }
  return make([m, n], y.dtype, out)
}

const logSumExpRows = (a: Tensor): Tensor => {
  const [m, n] = matrixDims(a, 'logSumExpRows')
  const A = a.data
  const out = alloc(a.dtype, m)
  for (let i = 0; i < m; i++) {
    const r = i * n
    const mx = rowMax(A, r, n)
    let s = 0
    for (let j = 0; j < n; j++) s += Math.exp((A[r + j] as number) - mx)
    out[i] = mx + Math.log(s)
  }
  return make([m], a.dtype, out)
}

const argmaxRows = (a: Tensor): number[] => {
  const [m, n] = matrixDims(a, 'argmaxRows')
  const A = a.data
  const out: number[] = new Array<number>(m)
  for (let i = 0; i < m; i++) {
    const r = i * n
    let best = 0
    for (let j = 1; j < n; j++) if ((A[r + j] as number) > (A[r + best] as number)) best = j
    out[i] = best
  }
  return out
}

const sum = (a: Tensor): number => {
  let s = 0
  const A = a.data
  for (let i = 0; i < A.length; i++) s += A[i] as number
  return s
}

const dot = (a: Tensor, b: Tensor): number => {
  checkSame('dot', a, b)
  let s = 0
  const A = a.data
  const B = b.data
  for (let i = 0; i < A.length; i++) s += (A[i] as number) * (B[i] as number)
  return s
}

const concatColumns = (a: Tensor, b: Tensor): Tensor => {
  const [m, n1] = matrixDims(a, 'concatColumns left')
  const [mb, n2] = matrixDims(b, 'concatColumns right')
  if (mb !== m) throw new ShapeError('concatColumns right', `[${m}, n]`, b.shape)
  sameDType('concatColumns', a, b)
  const n = n1 + n2
  const out = alloc(a.dtype, m * n)
  for (let i = 0; i < m; i++) {
    out.set(a.data.subarray(i * n1, (i + 1) * n1), i * n)
    out.set(b.data.subarray(i * n2, (i + 1) * n2), i * n + n1)
  }
  return make([m, n], a.dtype, out)
}

const sliceColumns = (a: Tensor, start: number, end: number): Tensor => {
  const [m, n] = matrixDims(a, 'sliceColumns')
  if (start < 0 || end > n || start > end) throw new ShapeError('sliceColumns', `columns ${start}..${end} inside`, a.shape)
  const w = end - start
  const out = alloc(a.dtype, m * w)
  for (let i = 0; i < m; i++) out.set(a.data.subarray(i * n + start, i * n + end), i * w)
  return make([m, w], a.dtype, out)
}

/**
 * Plain TypeScript kernels: the reference every other backend is checked against.
 * @category instances
 */
export const reference: Kernels = {
  name: 'reference',
  matmul,
  matmulTransposeB,
  matmulTransposeA,
  affine,
  addRowVector,
  mulRowVector,
  rowSums,
  scaleRows,
  columnSums,
  scale,
  add,
  sub,
  mul,
  divide,
  inverseSqrt,
  dropout,
  crossEntropyTerms,
  crossEntropyGrad,
  relu,
  reluBackward,
  axpby,
  axpbySquare,
  adaptiveDirection,
  sgdStep,
  momentumStep,
  emaMomentumStep,
  adamStep,
  rmsPropStep,
  map,
  zipWith,
  zipWith3,
  softmaxRows,
  softmaxRowsBackward,
  logSumExpRows,
  argmaxRows,
  sum,
  dot,
  concatColumns,
  sliceColumns
}
