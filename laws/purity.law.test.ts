/**
 * Purity is observable: the fast paths (WebAssembly scratch memory, a second thread, fused optimizer
 * steps, chunked element-wise kernels, skipped input gradients) never show through.
 *
 * - Kernels: on every backend (reference, WebAssembly on one thread, WebAssembly with a second thread
 *   that takes every product, and both again with the FMA products of relaxed SIMD), every kernel of the interface leaves each input byte for byte as it
 *   was, returns tensors that own their memory (a fresh buffer of exactly their size: no view into the
 *   module's memory, nothing shared with an input), and a tensor returned earlier is unchanged after
 *   any number of later calls (which reuse the scratch).
 * - Training: holding on to an old `TrainState` and stepping it twice gives the same result twice,
 *   bit for bit (metrics, params, layer state, optimizer state, key), and no tensor a caller holds —
 *   the old state, the batch, the new states — changes under any step, for networks with every layer
 *   kind and every optimizer (fused steps and a hand-made chain), with the default backend on one
 *   thread and on two, and with the modules re-loaded under `NN_TS_BACKEND=reference`.
 *
 * Bytes are compared, not values: a NaN payload or the sign of a zero changing would be caught.
 */
import { setFlagsFromString } from 'node:v8'
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it, vi } from 'vitest'
import type * as DataModule from '../src/data/index.ts'
import * as Data from '../src/data/index.ts'
import * as Layers from '../src/layers/index.ts'
import * as Loss from '../src/losses/Loss.ts'
import * as Optim from '../src/optim/index.ts'
import * as Random from '../src/random/Key.ts'
import { type Kernels, reference as R } from '../src/tensor/kernels.ts'
import * as Tensor from '../src/tensor/Tensor.ts'
import * as Train from '../src/train/index.ts'
import { backendWith, wasm } from '../src/tensor/wasm/backend.ts'
import { spawnNodeWorker } from '../src/node/threads.ts'
import { lawParameters } from './lawParameters.ts'

type T = Tensor.Tensor

/** Every tensor inside a value (trees, states, datasets, kernel results), depth first. */
const tensorsIn = (value: unknown, out: T[] = []): T[] => {
  if (typeof value !== 'object' || value === null) return out
  if (ArrayBuffer.isView((value as T).data) && Array.isArray((value as T).shape)) {
    out.push(value as T)
    return out
  }
  for (const child of Array.isArray(value) ? value : Object.values(value)) tensorsIn(child, out)
  return out
}

const bytesOf = (t: T): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)

/** A copy of the bytes of every tensor in `value`, and a check that they are still those bytes. */
const snapshot = (what: string, value: unknown): (() => void) => {
  const tensors = tensorsIn(value)
  const copies = tensors.map((t) => bytesOf(t).slice())
  return () =>
    tensors.forEach((t, i) => {
      const now = bytesOf(t)
      const was = copies[i] as Uint8Array
      const at = now.findIndex((b, j) => b !== was[j])
      if (at !== -1 || now.length !== was.length) throw new Error(`${what}: tensor ${i} (shape [${t.shape.join(', ')}]) changed at byte ${at}`)
    })
}

/** A result owns its memory: a whole buffer of its own, not WebAssembly memory, not an input's. */
const owned = (what: string, result: unknown, inputs: readonly T[]): void => {
  for (const t of tensorsIn(result)) {
    const buffer = t.data.buffer
    if (buffer instanceof SharedArrayBuffer) throw new Error(`${what}: a result lives in shared memory`)
    if (t.data.byteOffset !== 0 || buffer.byteLength !== t.data.byteLength) throw new Error(`${what}: a result is a view into a larger buffer`)
    if (inputs.some((i) => i.data.buffer === buffer)) throw new Error(`${what}: a result shares memory with an input`)
  }
}

// kernels

const waitFor = (ready: () => boolean): void => {
  const deadline = Date.now() + 10_000
  while (!ready() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5)
}

const orThrow = <A>(e: E.Either<string, A>): A =>
  E.getOrElseW((why: string) => {
    throw new Error(why)
  })(e)

const one = orThrow(wasm)
const two = orThrow(backendWith({ threads: 2, minParallelFlops: 0, spawn: spawnNodeWorker, fma: false }))
// The FMA variant's products (relaxed SIMD: a flag on Node 20, which test code may set).
setFlagsFromString('--experimental-wasm-relaxed-simd')
const fma = orThrow(backendWith({ threads: 1, fma: true }))
const fmaTwo = orThrow(backendWith({ threads: 2, minParallelFlops: 0, spawn: spawnNodeWorker, fma: true }))
waitFor(two.threadsReady)
waitFor(fmaTwo.threadsReady)

const BACKENDS: ReadonlyArray<readonly [string, Kernels]> = [
  ['reference', R],
  ['wasm', one],
  ['wasm-2t', two],
  ['wasm-fma', fma],
  ['wasm-fma-2t', fmaTwo]
]

type Call = readonly [name: keyof Kernels, inputs: readonly T[], run: (K: Kernels) => unknown]

/** One call of every kernel on `[m, n]`-shaped operands (and the shapes each kernel needs). */
const calls = (m: number, k: number, n: number, s: number, dtype: Tensor.DType): Call[] => {
  const d = (i: number, shape: readonly number[]): T => Random.normal(Random.key(s + i), shape, 0, 1, dtype)
  const a = d(0, [m, n])
  const b = d(1, [m, n])
  const c = d(2, [m, n])
  const pos = R.map(d(3, [m, n]), Math.abs)
  const left = d(4, [m, k])
  const right = d(5, [k, n])
  const rightT = d(6, [n, k])
  const leftT = d(7, [k, m])
  const rowV = d(8, [n])
  const colV = d(9, [m])
  const u = Random.uniform(Random.key(s + 10), [m, n], 0, 1, dtype)
  const probabilities = R.map(c, (x) => 1 / (1 + Math.exp(-x)))
  const adam = { b1: 0.9, k1: 0.1, b2: 0.999, k2: 0.001, c1: 10, c2: 1000, epsRoot: 0, eps: 1e-8, eta: 1e-3 }
  return [
    ['matmul', [left, right], (K) => K.matmul(left, right)],
    ['matmulTransposeB', [left, rightT], (K) => K.matmulTransposeB(left, rightT)],
    ['matmulTransposeA', [leftT, right], (K) => K.matmulTransposeA(leftT, right)],
    ['affine', [left, right, rowV], (K) => K.affine(left, right, rowV)],
    ['addRowVector', [a, rowV], (K) => K.addRowVector(a, rowV)],
    ['mulRowVector', [a, rowV], (K) => K.mulRowVector(a, rowV)],
    ['rowSums', [a], (K) => K.rowSums(a)],
    ['scaleRows', [a, colV], (K) => K.scaleRows(a, colV)],
    ['columnSums', [a], (K) => K.columnSums(a)],
    ['scale', [a], (K) => K.scale(a, 0.3)],
    ['axpby', [a, b], (K) => K.axpby(0.9, a, 0.1, b)],
    ['axpbySquare', [pos, b], (K) => K.axpbySquare(0.9, pos, 0.1, b)],
    ['adaptiveDirection', [a, pos], (K) => K.adaptiveDirection(a, pos, 2, 3, 0, 1e-8)],
    ['sgdStep', [a, b], (K) => K.sgdStep(a, b, 0.1)],
    ['momentumStep', [a, b, c], (K) => K.momentumStep(a, b, c, 0.1, 0.9, true)],
    ['emaMomentumStep', [a, b, c], (K) => K.emaMomentumStep(a, b, c, 0.9, 0.1, 0.1)],
    ['adamStep', [a, b, c, pos], (K) => K.adamStep(a, b, c, pos, { ...adam, weightDecay: 1e-2 })],
    ['rmsPropStep', [a, b, pos], (K) => K.rmsPropStep(a, b, pos, 0.9, 0.1, 1e-8, 0.1)],
    ['add', [a, b], (K) => K.add(a, b)],
    ['sub', [a, b], (K) => K.sub(a, b)],
    ['mul', [a, b], (K) => K.mul(a, b)],
    ['divide', [a], (K) => K.divide(a, 3)],
    ['inverseSqrt', [pos], (K) => K.inverseSqrt(pos, 1e-3)],
    ['dropout', [a, u], (K) => K.dropout(a, u, 0.3, 1 / 0.7)],
    ['crossEntropyTerms', [probabilities, u], (K) => K.crossEntropyTerms('binary', probabilities, u)],
    ['crossEntropyGrad', [probabilities, u], (K) => K.crossEntropyGrad('softmax', probabilities, u, m)],
    ['relu', [a], (K) => K.relu(a)],
    ['reluBackward', [b, a], (K) => K.reluBackward(b, a)],
    ['map', [a], (K) => K.map(a, Math.tanh)],
    ['zipWith', [a, b], (K) => K.zipWith(a, b, Math.atan2)],
    ['zipWith3', [a, b, c], (K) => K.zipWith3(a, b, c, (x, y, z) => x * y - z)],
    ['softmaxRows', [a], (K) => K.softmaxRows(a)],
    ['softmaxRowsBackward', [probabilities, b], (K) => K.softmaxRowsBackward(probabilities, b)],
    ['logSumExpRows', [a], (K) => K.logSumExpRows(a)],
    ['argmaxRows', [a], (K) => K.argmaxRows(a)],
    ['sum', [a], (K) => K.sum(a)],
    ['dot', [a, b], (K) => K.dot(a, b)],
    ['concatColumns', [a, b], (K) => K.concatColumns(a, b)],
    ['sliceColumns', [a], (K) => K.sliceColumns(a, 0, Math.ceil(n / 2))]
  ]
}

describe('kernels never write into an input, and what they return stays theirs', () => {
  it('every kernel of the interface is called by this law', () => {
    const named = new Set(calls(2, 2, 2, 0, 'float32').map(([name]) => name))
    expect(Object.keys(R).filter((key) => key !== 'name' && !named.has(key as keyof Kernels))).toEqual([])
  })

  it('on every backend, inputs keep their bytes, results own their memory, earlier results survive later calls', () => {
    const dim = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(129, 131))
    fc.assert(
      fc.property(dim, fc.integer({ min: 1, max: 40 }), dim, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom<Tensor.DType>('float32', 'float64'), (m, k, n, s, dtype) => {
        for (const [backend, K] of BACKENDS) {
          const earlier: Array<() => void> = []
          for (const [name, inputs, run] of calls(m, k, n, s, dtype)) {
            const what = `${backend} ${name} [${m}, ${k}, ${n}] ${dtype}`
            const unchanged = snapshot(`${what} input`, inputs)
            const result = run(K)
            unchanged()
            owned(what, result, inputs)
            earlier.push(snapshot(`${what} result (after later calls)`, result))
          }
          earlier.forEach((check) => check())
        }
      }),
      lawParameters(8)
    )
  })
})

// training

type Modules = {
  readonly Data: typeof DataModule
  readonly Layers: typeof Layers
  readonly Loss: typeof Loss
  readonly Optim: typeof Optim
  readonly Random: typeof Random
  readonly Train: typeof Train
}

const DEFAULT_MODULES: Modules = { Data, Layers, Loss, Optim, Random, Train }

/** Networks with every layer kind: dropout first (skipped backward), BatchNorm state, graphs. */
const networks = (M: Modules, features: number): ReadonlyArray<readonly [string, Layers.AnyLayer]> => {
  const L = M.Layers
  return [
    ['dropout first', L.sequential(L.dropout(0.2), L.dense(features, 16), L.relu(), L.dropout(0.5), L.dense(16, 3))],
    ['batchNorm', L.sequential(L.dense(features, 8), L.batchNorm(8), L.tanh(), L.dense(8, 3))],
    [
      'graph',
      L.sequential(
        L.dense(features, 6),
        L.residual(L.sequential(L.dense(6, 6), L.sigmoid())),
        L.concat(L.dense(6, 2), L.sequential(L.relu(), L.dense(6, 3))),
        L.dense(5, 3)
      )
    ]
  ]
}

const optimizers = (M: Modules): ReadonlyArray<readonly [string, Optim.AnyTransformation]> => {
  const O = M.Optim
  return [
    ['sgd', O.sgd(0.1)],
    ['momentum', O.momentum(0.05, 0.9)],
    ['nesterov', O.nesterov(0.05, 0.9)],
    ['emaMomentum', O.emaMomentum(0.1, 0.9)],
    ['adam', O.adam(O.cosineDecay(1e-2, { steps: 4 }))],
    ['adamw', O.adamw(1e-2, { weightDecay: 1e-2, mask: (path) => path.includes('W') })],
    ['rmsprop', O.rmsprop(1e-3)],
    ['chain by hand', O.chain(O.clipByGlobalNorm(1), O.scaleByAdam(), O.scaleByLearningRate(1e-3))]
  ]
}

const batchOf = (M: Modules, s: number, rows: number, features: number): Data.Dataset => {
  const x = M.Random.normal(M.Random.key(s), [rows, features])
  const labels = Array.from({ length: rows }, (_, i) => (i * 7 + s) % 3)
  return E.getOrElseW((e: Data.DataError) => {
    throw new Error(e.message)
  })(M.Data.fromLabelled(x, labels, 3))
}

/**
 * From a state a few steps in, stepping the same held state twice gives the same result twice, and
 * no tensor held anywhere (that state, the batch, the first result) changes under either step or a
 * step of the new state.
 */
const steppingTwice = (M: Modules, s: number, rows: number, features: number, warm: number): void => {
  for (const [netName, network] of networks(M, features)) {
    for (const [optName, optimizer] of optimizers(M)) {
      const what = `${netName}, ${optName}`
      const step = M.Train.trainStep(network, M.Loss.softmaxCrossEntropy, optimizer)
      let held = M.Train.initialState(network, optimizer, s)
      for (let i = 0; i < warm; i++) {
        const [r, next] = step(batchOf(M, s + 100 + i, rows, features))(held)
        if (E.isLeft(r)) throw new Error(`${what}: ${r.left.message}`)
        held = next
      }
      const batch = batchOf(M, s + 1, rows, features)
      const heldUnchanged = snapshot(`${what}: the held state`, held)
      const batchUnchanged = snapshot(`${what}: the batch`, batch)
      const [r1, s1] = step(batch)(held)
      heldUnchanged()
      batchUnchanged()
      const firstUnchanged = snapshot(`${what}: the first result`, s1)
      const [r2, s2] = step(batch)(held)
      const [, s3] = step(batch)(s1)
      heldUnchanged()
      batchUnchanged()
      firstUnchanged()
      void s3
      expect(r2, `${what}: metrics`).toEqual(r1)
      expect(s2.step, `${what}: step`).toBe(s1.step)
      expect(s2.rng, `${what}: key`).toEqual(s1.rng)
      const [a, b] = [tensorsIn([s1.params, s1.layerState, s1.optState]), tensorsIn([s2.params, s2.layerState, s2.optState])]
      expect(b.length, `${what}: tensors`).toBe(a.length)
      a.forEach((t, i) => {
        const u = b[i] as T
        if (!(t.dtype === u.dtype && bytesOf(t).every((x, j) => x === bytesOf(u)[j]))) throw new Error(`${what}: tensor ${i} differs between the two steps`)
      })
      expect(JSON.stringify(s2.optState, (_k, v: unknown) => (ArrayBuffer.isView(v) ? undefined : v)), `${what}: optimizer numbers`).toBe(
        JSON.stringify(s1.optState, (_k, v: unknown) => (ArrayBuffer.isView(v) ? undefined : v))
      )
    }
  }
}

const drawn = fc.record({
  s: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  rows: fc.integer({ min: 2, max: 9 }),
  features: fc.integer({ min: 1, max: 12 }),
  warm: fc.integer({ min: 0, max: 2 })
})

describe('training: an old state stepped twice gives the same result twice, and nothing held changes', () => {
  it('with the default backend on one thread', () => {
    expect(one.threadsReady()).toBe(false)
    fc.assert(fc.property(drawn, ({ s, rows, features, warm }) => steppingTwice(DEFAULT_MODULES, s, rows, features, warm)), lawParameters(6))
  })

  it('at net L width (784 → 800, batch 128: products large enough for the second thread, optimizer leaves over many chunks), on one thread and then two', () => {
    const big = (): void => steppingTwiceBig()
    big()
    // From here on the default backend splits large products between two threads.
    expect(one.startThreads(spawnNodeWorker)).toBe(true)
    waitFor(one.threadsReady)
    expect(one.name).toBe('wasm-simd-2t')
    big()
  })

  it('with the reference backend (modules re-loaded under NN_TS_BACKEND=reference)', async () => {
    vi.resetModules()
    vi.stubEnv('NN_TS_BACKEND', 'reference')
    try {
      const backend = await import('../src/tensor/backend.ts')
      expect(backend.kernels.name).toBe('reference')
      const M: Modules = {
        Data: await import('../src/data/index.ts'),
        Layers: await import('../src/layers/index.ts'),
        Loss: await import('../src/losses/Loss.ts'),
        Optim: await import('../src/optim/index.ts'),
        Random: await import('../src/random/Key.ts'),
        Train: await import('../src/train/index.ts')
      }
      fc.assert(fc.property(drawn, ({ s, rows, features, warm }) => steppingTwice(M, s, rows, features, warm)), lawParameters(3))
    } finally {
      vi.unstubAllEnvs()
      vi.resetModules()
    }
  })
})

/** The MNIST example's net L with Adam, one held state stepped twice. */
const steppingTwiceBig = (): void => {
  const network = Layers.sequential(Layers.dropout(0.2), Layers.dense(784, 800), Layers.relu(), Layers.dropout(0.5), Layers.dense(800, 10))
  const optimizer = Optim.adam(1e-3)
  const step = Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer)
  const x = Random.uniform(Random.key(1), [128, 784])
  const labels = Array.from({ length: 128 }, (_, i) => i % 10)
  const batch = E.getOrElseW((e: Data.DataError) => {
    throw new Error(e.message)
  })(Data.fromLabelled(x, labels, 10))
  const [, held] = step(batch)(Train.initialState(network, optimizer, 3))
  const heldUnchanged = snapshot('net L: the held state', held)
  const batchUnchanged = snapshot('net L: the batch', batch)
  const [r1, s1] = step(batch)(held)
  const firstUnchanged = snapshot('net L: the first result', s1)
  const [r2, s2] = step(batch)(held)
  heldUnchanged()
  batchUnchanged()
  firstUnchanged()
  expect(r2).toEqual(r1)
  const [a, b] = [tensorsIn([s1.params, s1.optState]), tensorsIn([s2.params, s2.optState])]
  a.forEach((t, i) => {
    if (!bytesOf(t).every((v, j) => v === bytesOf(b[i] as T)[j])) throw new Error(`net L: tensor ${i} differs between the two steps`)
  })
}
