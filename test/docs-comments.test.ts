import { describe, expect, it } from 'vitest'
import { parseLiteral, scanLines, transformSnippet, valueComment } from '../scripts/docs-comments.ts'
import { type Pattern, check, deepEqual, matches } from '../scripts/docs-runtime.ts'
import { Tensor } from '../src/index.ts'

/** The pattern of a literal comment, or a failure naming the text. */
const pattern = (text: string): Pattern => {
  const v = valueComment(text)
  if (v.kind !== 'literal') throw new Error(`not a literal comment: ${text} (${v.kind})`)
  return v.pattern
}

/** The example's lines after the rewrite (the checks spelled as calls). */
const rewritten = (code: string): string[] => transformSnippet(code, 'x.ts', 1).code.split('\n')

describe('value comments: what a comment says', () => {
  it('reads literals, and prose after a separator', () => {
    expect(valueComment(' [1, -2.5, 0x10]').kind).toBe('literal')
    expect(valueComment(" 'a': the letter").kind).toBe('literal')
    expect(valueComment(' true (always)').kind).toBe('literal')
    expect(valueComment(' { w: [0.5], … }').kind).toBe('literal')
    expect(valueComment(' Uint8Array [1, 2]').kind).toBe('literal')
  })

  it('treats a comment that does not start with a literal as prose', () => {
    expect(valueComment(' the tensor b').kind).toBe('none')
    expect(valueComment(' Right(168)').kind).toBe('none')
    expect(valueComment(' zeros: first micro-step').kind).toBe('none')
  })

  it('refuses a literal that goes on without a separator (it would check the wrong thing)', () => {
    expect(valueComment(' 0.1 · √0.5').kind).toBe('ambiguous')
    expect(valueComment(' 5 batches of 16 rows').kind).toBe('ambiguous')
    expect(valueComment(' true where WebAssembly SIMD is available').kind).toBe('ambiguous')
  })

  it('takes everything after => as an expression', () => {
    expect(valueComment(' => E.right([1, 2])')).toEqual({ kind: 'expression', expression: 'E.right([1, 2])' })
  })

  it('stops a literal where it ends', () => {
    expect(parseLiteral("'a\\'b' and more")?.end).toBe(6)
    expect(parseLiteral('[1, [2, 3]]: nested')?.end).toBe(11)
    expect(parseLiteral('[1, 2')).toBeUndefined()
  })
})

describe('value comments: what a value must be', () => {
  it('compares numbers exactly, `0` matching either zero and `-0` only negative zero', () => {
    expect(matches(0.3, pattern('0.3'))).toBe(true)
    expect(matches(0.1 + 0.2, pattern('0.3'))).toBe(false)
    expect(matches(-0, pattern('0'))).toBe(true)
    expect(matches(0, pattern('-0'))).toBe(false)
    expect(matches(Number.NaN, pattern('NaN'))).toBe(true)
    expect(matches(-Infinity, pattern('-Infinity'))).toBe(true)
  })

  it('reads `…` after digits as truncation and `≈` as rounding to the digits shown', () => {
    expect(matches(2.6153, pattern('2.61…'))).toBe(true)
    expect(matches(2.6199, pattern('2.61…'))).toBe(true)
    expect(matches(2.62, pattern('2.61…'))).toBe(false)
    expect(matches(-0.0169, pattern('-0.016…'))).toBe(true)
    expect(matches(7.6198e-24, pattern('7.619…e-24'))).toBe(true)
    expect(matches(7.6198e-24, pattern('7.619e-24…'))).toBe(true)
    expect(matches(7.6208e-24, pattern('7.619…e-24'))).toBe(false)
    expect(matches(2.6153, pattern('≈ 2.6'))).toBe(true)
    expect(matches(2.66, pattern('≈ 2.6'))).toBe(false)
    expect(matches(0.07071, pattern('≈ 0.0707'))).toBe(true)
  })

  it('compares a float32 element with the literal rounded to float32', () => {
    expect(matches(Tensor.vector([0.2]), pattern('[0.2]'))).toBe(true)
    expect(matches(Tensor.vector([0.2], 'float64'), pattern('[0.2]'))).toBe(true)
    expect(matches(Tensor.vector([0.2000001]), pattern('[0.2]'))).toBe(false)
    expect(matches(Math.fround(0.2), pattern('0.2'))).toBe(false)
  })

  it('matches a tensor by its nested rows, or from rank 2 by its values written flat', () => {
    const t = Tensor.fromRows([[1, 2], [3, 4]])
    expect(matches(t, pattern('[[1, 2], [3, 4]]'))).toBe(true)
    expect(matches(t, pattern('[1, 2, 3, 4]'))).toBe(true)
    expect(matches(t, pattern('[[1, 2], [4, 3]]'))).toBe(false)
    expect(matches(Tensor.scalar(2.5), pattern('2.5'))).toBe(true)
  })

  it('needs every field of a plain object unless the pattern ends with …', () => {
    expect(matches({ a: 1, b: 2 }, pattern('{ a: 1 }'))).toBe(false)
    expect(matches({ a: 1, b: 2 }, pattern('{ a: 1, … }'))).toBe(true)
    expect(matches({ a: 1, b: 2 }, pattern('{ a: …, b: 2 }'))).toBe(true)
    expect(matches(new RangeError('no'), pattern("{ message: 'no' }"))).toBe(true)
  })

  it('reads … inside a string as any text', () => {
    expect(matches('cannot read a.idx: no such file', pattern("'cannot read …: no such file'"))).toBe(true)
    expect(matches('cannot open a.idx', pattern("'cannot read …'"))).toBe(false)
  })

  it('checks the kind of a typed array when the comment names it', () => {
    expect(matches(new Uint8Array([1, 2]), pattern('Uint8Array [1, 2]'))).toBe(true)
    expect(matches([1, 2], pattern('Uint8Array [1, 2]'))).toBe(false)
  })

  it('throws a message with the line when a value is not what the comment says', () => {
    expect(() => check(3, pattern('4'), 'src/a.ts:7', '4')).toThrow('src/a.ts:7: the comment says 4, the value is 3')
  })

  it('compares => expressions structurally and exactly', () => {
    expect(deepEqual({ _tag: 'Right', right: [1, 2] }, { _tag: 'Right', right: [1, 2] })).toBe(true)
    expect(deepEqual(Tensor.vector([1]), Tensor.vector([1], 'float64'))).toBe(false)
    expect(deepEqual(new Float32Array([0]), new Float32Array([-0]))).toBe(false)
  })
})

describe('value comments: which lines are checks', () => {
  it('rewrites expressions, declarations of one name, if-lines and console.log', () => {
    const out = rewritten(['f(1) // 2', 'const x = f(1) // 2', 'if (ok) x.y // 3', 'console.log(x) // 2'].join('\n'))
    expect(out[0]).toMatch(/^__doc\.check\(\(f\(1\)\), .*"x\.ts:1"/)
    expect(out[1]).toMatch(/^const x = f\(1\); __doc\.check\(\(x\), /)
    expect(out[2]).toMatch(/^if \(ok\) __doc\.check\(\(x\.y\), .*; else __doc\.taken\("x\.ts:3"\);$/)
    expect(out[3]).toMatch(/^__doc\.check\(\(x\), /)
  })

  it('reads a value comment on the line below a statement without one', () => {
    const out = rewritten(['f(1)', "// 'a'", 'g(1)', '// the next step', 'h(1)', '// 5 batches of 16 rows'].join('\n'))
    expect(out[0]).toMatch(/^__doc\.check\(\(f\(1\)\), .*"x\.ts:2"/)
    expect(out[1]).toBe("// 'a'")
    expect(out[2]).toBe('g(1)')
    expect(out[4]).toBe('h(1)')
  })

  it('checks inside blocks but not inside object literals, calls or continued expressions', () => {
    const code = ['if (ok) {', '  f(1) // 2', '}', 'const o = {', '  a: 1 // 1', '}', 'g(', '  x // 1', ')', 'h(1) // 1', '  .map(k) // [1]'].join('\n')
    const out = rewritten(code)
    expect(out[1]).toMatch(/^ {2}__doc\.check/)
    expect(out[4]).toBe('  a: 1 // 1')
    expect(out[7]).toBe('  x // 1')
    expect(out[9]).toBe('h(1) // 1')
    expect(out[10]).toBe('  .map(k) // [1]')
  })

  it('reports comments that cannot be checked, with their line', () => {
    const { errors } = transformSnippet(['a // 0.1 · √0.5', 'const o = {', '  a: 1 // => 1', '}', 'b // => 1: one', 'const [p, q] = f() // 1', 'x', '[1].map(f) // [1]'].join('\n'), 'x.ts', 10)
    expect(errors).toEqual([
      expect.stringMatching(/^x\.ts:10: the comment `\/\/ 0\.1 · √0\.5` starts like a value/),
      expect.stringMatching(/^x\.ts:12: a `\/\/ =>` comment must end a complete statement/),
      expect.stringMatching(/^x\.ts:14: `\/\/ => 1: one` is not an expression/),
      expect.stringMatching(/^x\.ts:15: a value comment on a declaration needs exactly one name/),
      expect.stringMatching(/^x\.ts:17: a line starting with `\[` continues the line before/)
    ])
  })

  it('keeps line numbers and reads the no-run marker', () => {
    const code = ['// docs: no-run trains for minutes', 'const a = 1', 'a // 1']
    const t = transformSnippet(code.join('\n'), 'x.ts', 1)
    expect(t.noRun).toBe('trains for minutes')
    expect(t.code.split('\n')).toHaveLength(3)
    expect(transformSnippet('// docs: no-run', 'x.ts', 1).errors).toEqual(['x.ts:1: `// docs: no-run` needs a reason after it'])
  })

  it('finds trailing comments outside strings and templates', () => {
    const lines = scanLines("const u = 'http://x' // a\nconst t = `// b\n${u}` // c")
    expect(lines.map((l) => l.comment)).toEqual([' a', undefined, ' c'])
  })
})
