import { describe, expect, it } from 'vitest'
import { trainXor } from '../examples/xor.ts'

describe('toy problem', () => {
  it('XOR reaches 100 % accuracy with plain gradient descent, for several seeds', () => {
    for (const seed of [0, 1, 2, 3, 4]) {
      const { accuracy, loss } = trainXor(seed)
      expect(accuracy, `seed ${seed}`).toBe(1)
      expect(loss, `seed ${seed}`).toBeLessThan(0.05)
    }
  })
})
