/**
 * Feature widths are checked by the type checker: `npm test` runs `tsc`, and each `@ts-expect-error`
 * below fails the typecheck if the line after it ever compiles.
 */
import { pipe } from 'fp-ts/function'
import { describe, expect, it } from 'vitest'
import { Layers } from '../src/index.ts'

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

  it('widths known only at run time are still checked when the network is built', () => {
    const fromConfig: number = 30
    expect(() => Layers.sequential(Layers.dense(784, 40), Layers.dense(fromConfig, 10))).toThrow(/expected shape input width 30, got \[40\]/)
  })
})
