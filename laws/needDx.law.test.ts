/**
 * "Is the input gradient needed" is explicit: `backward(dy, { needDx: false })`.
 *
 * - The parameter gradients are the same with and without the flag, bit for bit, for any chain of
 *   dense, dropout, activation, BatchNorm, residual and concat layers (nested chains too), and the `dx`
 *   of a call that said it does not need one is still the right tensor if it is read after all.
 * - The flag skips work, observed by counting kernel calls through a wrapping backend (this file
 *   replaces the default kernels with counting ones): a chain skips its first dense layer's `dy·Wᵀ`
 *   and does not run the backward of the parameter-free layers before it (the MNIST example's net L
 *   begins with dropout), and the trainer asks for no input gradient.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it, vi } from 'vitest'
import * as Data from '../src/data/index.ts'
import * as Layers from '../src/layers/index.ts'
import * as Loss from '../src/losses/Loss.ts'
import * as Optim from '../src/optim/index.ts'
import * as Random from '../src/random/Key.ts'
import * as Tensor from '../src/tensor/Tensor.ts'
import * as Train from '../src/train/index.ts'
import * as Tree from '../src/tree/Tree.ts'
import { lawParameters } from './lawParameters.ts'

/** Calls per kernel name since the last `calls.clear()`. */
const calls = vi.hoisted(() => new Map<string, number>())

vi.mock('../src/tensor/backend.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/tensor/backend.ts')>()
  const counting = Object.fromEntries(
    Object.entries(real.kernels).map(([name, f]) => [
      name,
      typeof f === 'function'
        ? (...args: unknown[]) => {
            calls.set(name, (calls.get(name) ?? 0) + 1)
            return (f as (...a: unknown[]) => unknown)(...args)
          }
        : f
    ])
  )
  return { ...real, kernels: counting }
})

const count = (name: string): number => calls.get(name) ?? 0

type AnyLayer = Layers.AnyLayer

/** One block of a drawn chain, from width `w`: the layer and its output width. */
type Block = (w: number) => readonly [AnyLayer, number]

const width = fc.integer({ min: 1, max: 6 })
const block: fc.Arbitrary<Block> = fc.oneof(
  fc.double({ min: 0.1, max: 0.7, noNaN: true }).map((rate): Block => (w) => [Layers.dropout(rate), w]),
  fc.constant<Block>((w) => [Layers.relu(), w]),
  fc.constant<Block>((w) => [Layers.tanh(), w]),
  width.map((out): Block => (w) => [Layers.dense(w, out), out]),
  fc.constant<Block>((w) => [Layers.batchNorm(w), w]),
  fc.constant<Block>((w) => [Layers.residual(Layers.sequential(Layers.dense(w, w), Layers.tanh())), w]),
  fc.tuple(width, width).map(([a, b]): Block => (w) => [Layers.concat(Layers.dense(w, a), Layers.sequential(Layers.dropout(0.3), Layers.dense(w, b))), a + b]),
  width.map((out): Block => (w) => [Layers.sequential(Layers.dropout(0.5), Layers.relu(), Layers.dense(w, out)), out])
)

const chain = (inWidth: number, blocks: readonly Block[]): { readonly net: AnyLayer; readonly outWidth: number } => {
  let w = inWidth
  const layers = blocks.map((b) => {
    const [layer, out] = b(w)
    w = out
    return layer
  })
  return { net: Layers.sequential(...(layers as [AnyLayer, ...AnyLayer[]])), outWidth: w }
}

describe('backward with needDx: false', () => {
  it('gives the same parameter gradients bit for bit, and the same dx if it is read after all', () => {
    fc.assert(
      fc.property(
        width,
        fc.array(block, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom<Tensor.DType>('float32', 'float64'),
        (inWidth, blocks, rows, seed, dtype) => {
          const { net, outWidth } = chain(inWidth, blocks)
          const { params, state } = net.init(Random.key(seed), dtype)
          const x = Random.normal(Random.key(seed + 1), [rows, inWidth], 0, 1, dtype)
          const dy = Random.normal(Random.key(seed + 2), [rows, outWidth], 0, 1, dtype)
          const forward = net.apply(params, state, x, { mode: 'train', key: Random.key(seed + 3) })
          const all = forward.backward(dy)
          const paramsOnly = forward.backward(dy, { needDx: false })
          expect(Tree.equals(paramsOnly.dparams, all.dparams)).toBe(true)
          expect(Tree.equals(paramsOnly.dx, all.dx)).toBe(true)
        }
      ),
      lawParameters(100)
    )
  })

  it("skips the first dense layer's dy·Wᵀ and the parameter-free layers before it (counted kernel calls)", () => {
    // The MNIST example's net L, narrowed: dropout on the inputs, dense, ReLU, dropout, dense.
    const net = Layers.sequential(Layers.dropout(0.2), Layers.dense(12, 8), Layers.relu(), Layers.dropout(0.5), Layers.dense(8, 3))
    const { params, state } = net.init(Random.key(0))
    const x = Random.uniform(Random.key(1), [4, 12])
    const dy = Random.normal(Random.key(2), [4, 3])
    const forward = net.apply(params, state, x, { mode: 'train', key: Random.key(3) })

    calls.clear()
    forward.backward(dy)
    // Both dense layers' dx, both dropouts' masks applied to the gradient.
    expect([count('matmulTransposeB'), count('dropout'), count('matmulTransposeA')]).toEqual([2, 2, 2])

    calls.clear()
    const g = forward.backward(dy, { needDx: false })
    // Only the second dense layer's dx (the first dense layer needs it); the first dropout never runs.
    expect([count('matmulTransposeB'), count('dropout'), count('matmulTransposeA')]).toEqual([1, 1, 2])
    // Reading dx anyway computes exactly what was skipped.
    void g.dx
    expect([count('matmulTransposeB'), count('dropout')]).toEqual([2, 2])
  })

  it('a chain without params runs no backward at all', () => {
    const net = Layers.sequential(Layers.dropout(0.5), Layers.relu(), Layers.tanh())
    const x = Random.normal(Random.key(1), [3, 5])
    const forward = net.apply([[], [], []], [[], [], []], x, { mode: 'train', key: Random.key(2) })
    calls.clear()
    const g = forward.backward(Random.normal(Random.key(3), [3, 5]), { needDx: false })
    expect(g.dparams).toEqual([[], [], []])
    expect([...calls.values()].reduce((a, b) => a + b, 0)).toBe(0)
  })

  it('the trainer asks for no input gradient: one dy·Wᵀ fewer than dense layers, whatever comes first', () => {
    for (const first of [[], [Layers.dropout(0.2)], [Layers.dropout(0.2), Layers.relu()]] as AnyLayer[][]) {
      const net = Layers.sequential(...(first as []), Layers.dense(12, 8), Layers.relu(), Layers.dense(8, 3))
      const batch = Data.fromLabelled(Random.uniform(Random.key(4), [5, 12]), [0, 1, 2, 0, 1], 3)
      if (E.isLeft(batch)) throw new Error(batch.left.message)
      const s0 = Train.initialState(net, Optim.sgd(0.1), 0)
      calls.clear()
      const [r] = Train.valueAndGrad(net, Loss.softmaxCrossEntropy)(batch.right)(s0)
      expect(E.isRight(r)).toBe(true)
      expect(count('matmulTransposeB')).toBe(1)
      expect(count('matmulTransposeA')).toBe(2)
    }
  })
})
