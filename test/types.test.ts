/**
 * Feature widths are checked by the type checker: `npm test` runs `tsc`, and each `@ts-expect-error`
 * below fails the typecheck if the line after it ever compiles. Each refused line also runs, to show
 * the same mistake is caught when the network is built, before any batch.
 */
import { pipe } from 'fp-ts/lib/function.js'
import { describe, expect, it } from 'vitest'
import { Layers, Random, Tensor } from '../src/index.ts'

/** `true` only when `A` and `B` are the same type (a plain assignment would accept `never` or `any`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

describe('widths in the types', () => {
  it('accepts chains whose widths fit, through width-preserving layers', () => {
    const net = Layers.sequential(Layers.dense(784, 40), Layers.sigmoid(), Layers.dense(40, 30), Layers.relu(), Layers.dense(30, 10))
    const width: 10 = net.outWidth
    const input: 784 = net.inWidth
    expect([input, width]).toEqual([784, 10])
    const piped = pipe(Layers.dense(2, 8), Layers.andThen(Layers.tanh()), Layers.andThen(Layers.dense(8, 1)))
    const out: 1 = piped.outWidth
    expect(out).toBe(1)
  })

  it('refuses a layer that outputs 40 features followed by one that takes 30', () => {
    // @ts-expect-error 40 outputs cannot feed 30 inputs
    expect(() => Layers.sequential(Layers.dense(784, 40), Layers.dense(30, 10))).toThrow(/input width 30/)
    // @ts-expect-error the mismatch is seen through a width-preserving activation
    expect(() => Layers.sequential(Layers.dense(784, 40), Layers.sigmoid(), Layers.dense(30, 10))).toThrow(/\[40\]/)
    // @ts-expect-error andThen checks the same
    expect(() => pipe(Layers.dense(784, 40), Layers.andThen(Layers.dense(30, 10)))).toThrow(/sequential\[1\] dense\(30→10\)/)
  })

  it('a chain that starts with element-wise layers takes the width of its first fixed layer', () => {
    const net = Layers.sequential(Layers.relu(), Layers.dropout(0.1), Layers.dense(8, 4))
    const input: Equal<typeof net.inWidth, 8> = true
    expect([input, net.inWidth]).toEqual([true, 8])
    const activations = Layers.sequential(Layers.relu(), Layers.tanh())
    const same: Equal<typeof activations.inWidth, 'same'> = true
    expect([same, activations.inWidth, activations.outWidth]).toEqual([true, 'same', 'same'])
  })
})

describe('widths through residual blocks', () => {
  it('accepts a width-preserving block and keeps its literal width', () => {
    const block = Layers.residual(Layers.sequential(Layers.dense(16, 16), Layers.relu()))
    const widths: Equal<[typeof block.inWidth, typeof block.outWidth], [16, 16]> = true
    expect([widths, block.inWidth, block.outWidth]).toEqual([true, 16, 16])
    const elementwise = Layers.residual(Layers.tanh())
    const same: Equal<typeof elementwise.outWidth, 'same'> = true
    expect([same, elementwise.outWidth]).toEqual([true, 'same'])
    const net = Layers.sequential(Layers.dense(4, 16), block, Layers.dense(16, 2))
    expect(net.outWidth).toBe(2)
  })

  it('refuses a block whose output width differs from its input width', () => {
    // @ts-expect-error dense(16, 8) outputs 8 features, x has 16: x + f(x) is undefined
    expect(() => Layers.residual(Layers.dense(16, 8))).toThrow('residual(dense(16→8)): expected shape output width 16 (its input width), got [8]')
    // @ts-expect-error seen through a chain that starts with an activation
    expect(() => Layers.residual(Layers.sequential(Layers.relu(), Layers.dense(8, 4)))).toThrow(/output width 8 \(its input width\), got \[4\]/)
  })
})

describe('widths through concat', () => {
  it('adds the branch widths as literals', () => {
    const wide = Layers.concat(Layers.dense(8, 4), Layers.dense(8, 2))
    const widths: Equal<[typeof wide.inWidth, typeof wide.outWidth], [8, 6]> = true
    expect([widths, wide.inWidth, wide.outWidth]).toEqual([true, 8, 6])
    const net = Layers.sequential(wide, Layers.dense(6, 1))
    const out: Equal<typeof net.outWidth, 1> = true
    expect([out, net.outWidth]).toEqual([true, 1])
  })

  it('adds widths in the thousands, with carries into a new digit', () => {
    const mnistPlus = Layers.concat(Layers.dense(10, 800), Layers.dense(10, 784))
    const sum: Equal<typeof mnistPlus.outWidth, 1584> = true
    expect([sum, mnistPlus.outWidth]).toEqual([true, 1584])
    const carried = Layers.concat(Layers.dense(3, 9999), Layers.dense(3, 1))
    const tenThousand: Equal<typeof carried.outWidth, 10000> = true
    expect([tenThousand, carried.outWidth]).toEqual([true, 10000])
    const nested = Layers.concat(Layers.concat(Layers.dense(5, 4096), Layers.dense(5, 2048)), Layers.dense(5, 65536))
    const total: Equal<typeof nested.outWidth, 71680> = true
    expect([total, nested.outWidth]).toEqual([true, 71680])
    const sums: [Equal<Layers.Sum<0, 0>, 0>, Equal<Layers.Sum<999, 1>, 1000>, Equal<Layers.Sum<123456789, 987654321>, 1111111110>] = [true, true, true]
    expect(sums).toEqual([true, true, true])
  })

  it("a 'same' branch outputs the input width", () => {
    const withSkip = Layers.concat(Layers.dense(8, 4), Layers.relu())
    const widths: Equal<[typeof withSkip.inWidth, typeof withSkip.outWidth], [8, 12]> = true
    expect([widths, withSkip.inWidth, withSkip.outWidth]).toEqual([true, 8, 12])
    const skipFirst = Layers.concat(Layers.tanh(), Layers.dense(3, 5))
    const first: Equal<[typeof skipFirst.inWidth, typeof skipFirst.outWidth], [3, 8]> = true
    expect([first, skipFirst.inWidth, skipFirst.outWidth]).toEqual([true, 3, 8])
  })

  it('falls back to number when a width is unknown before the first batch', () => {
    const fromConfig: number = 5
    const configured = Layers.concat(Layers.dense(8, fromConfig), Layers.dense(8, 2))
    const widened: Equal<typeof configured.outWidth, number> = true
    expect([widened, configured.outWidth]).toEqual([true, 7])
    // Twice an unknown width: only the first batch will tell.
    const doubled = Layers.concat(Layers.relu(), Layers.tanh())
    const unknown: Equal<typeof doubled.outWidth, number> = true
    expect(unknown).toBe(true)
    expect(doubled.outWidth).toBeNaN()
    const { params, state } = doubled.init(Random.key(0))
    expect(Layers.predict(doubled, params, state, Tensor.fromRows([[1, -1, 2]])).shape).toEqual([1, 6])
  })

  it('refuses branches that take different input widths', () => {
    // @ts-expect-error one branch takes 8 features, the other 9
    expect(() => Layers.concat(Layers.dense(8, 4), Layers.dense(9, 2))).toThrow('concat[1] dense(9→2): expected shape input width 8 (as concat[0] dense(8→4) takes), got [9]')
  })

  it('refuses a chain fed the summed width of a concat when it takes another', () => {
    // @ts-expect-error concat gives 4 + 2 = 6 features, dense(7, 1) takes 7
    expect(() => Layers.sequential(Layers.concat(Layers.dense(8, 4), Layers.dense(8, 2)), Layers.dense(7, 1))).toThrow(
      'sequential[1] dense(7→1): expected shape input width 7, got [6]'
    )
  })
})

describe('widths known only at run time are checked when the network is built', () => {
  const fromConfig = (n: number): number => n

  it('sequential', () => {
    expect(() => Layers.sequential(Layers.dense(784, 40), Layers.dense(fromConfig(30), 10))).toThrow(
      'sequential[1] dense(30→10): expected shape input width 30, got [40]'
    )
  })

  it('residual', () => {
    expect(() => Layers.residual(Layers.dense(fromConfig(16), fromConfig(8)))).toThrow(
      'residual(dense(16→8)): expected shape output width 16 (its input width), got [8]'
    )
    expect(Layers.residual(Layers.dense(fromConfig(16), fromConfig(16))).outWidth).toBe(16)
  })

  it('concat', () => {
    expect(() => Layers.concat(Layers.dense(fromConfig(8), 4), Layers.dense(fromConfig(9), 2))).toThrow(
      'concat[1] dense(9→2): expected shape input width 8 (as concat[0] dense(8→4) takes), got [9]'
    )
    // and the summed width takes part in the chain's check
    const wide = Layers.concat(Layers.dense(fromConfig(8), 4), Layers.dense(8, fromConfig(2)))
    expect(() => Layers.sequential(wide, Layers.dense(fromConfig(7), 1))).toThrow('sequential[1] dense(7→1): expected shape input width 7, got [6]')
  })
})
