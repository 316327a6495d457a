/**
 * Value comments, the convention scripts/docs.ts describes: parsing a comment into a pattern, finding
 * the lines where a comment is a check, and rewriting those lines into calls of scripts/docs-runtime.ts
 * (`__doc.check`, `__doc.same`, `__doc.taken`).
 */
import { transformSync } from 'esbuild'
import type { Pattern } from './docs-runtime.ts'


/** A literal value comment parsed into a pattern, with where it stopped. */
export const parseLiteral = (text: string): { pattern: Pattern; end: number } | undefined => {
  let i = 0
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++
  }
  const value = (): Pattern | undefined => {
    ws()
    const rest = text.slice(i)
    if (rest.startsWith('…')) {
      i++
      return { t: 'any' }
    }
    // A number; `…` after its digits (before or after an exponent) truncates, `≈` before it rounds.
    const num = /^(≈\s*)?([+-]?)(0[xX][0-9a-fA-F]+|Infinity|NaN|\d[\d_]*(?:\.\d[\d_]*)?|\.\d+)(…)?([eE][+-]?\d+)?(…)?/.exec(rest)
    if (num !== null && !/^[\w$]/.test(rest.slice(num[0].length))) {
      i += num[0].length
      const digits = `${num[2] === '-' ? '-' : ''}${num[3] as string}${num[5] ?? ''}`
      const mode = num[1] !== undefined ? 'rounded' : num[4] !== undefined || num[6] !== undefined ? 'truncated' : 'exact'
      if ((mode !== 'exact' && /Infinity|NaN|0x/i.test(digits)) || (num[4] !== undefined && num[6] !== undefined)) return undefined
      return { t: 'num', text: digits.replace(/_/g, ''), mode }
    }
    const word = /^(true|false|null|undefined)(?![\w$])/.exec(rest)
    if (word !== null) {
      i += word[0].length
      return word[1] === 'undefined' ? { t: 'undefined' } : { t: 'lit', v: word[1] === 'null' ? null : word[1] === 'true' }
    }
    if (rest.startsWith("'") || rest.startsWith('"')) return str()
    const typed = /^((?:Uint8|Uint8Clamped|Int8|Uint16|Int16|Uint32|Int32|Float32|Float64)Array)(?:\(\d+\))?\s*(?=\[)/.exec(rest)
    if (typed !== null) {
      i += typed[0].length
      const arr = array()
      return arr === undefined ? undefined : { ...arr, ctor: typed[1] as string }
    }
    if (rest.startsWith('[')) return array()
    if (rest.startsWith('{')) return object()
    return undefined
  }
  const str = (): Extract<Pattern, { t: 'str' }> | undefined => {
    const quote = text[i] as string
    let out = ''
    for (i++; i < text.length; i++) {
      const c = text[i] as string
      if (c === quote) {
        i++
        return { t: 'str', v: out }
      }
      if (c === '\\') {
        const n = text[++i]
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0' }
        if (n === 'u') {
          out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 5), 16))
          i += 4
        } else out += n === undefined ? '' : (simple[n] ?? n)
        continue
      }
      out += c
    }
    return undefined
  }
  const array = (): Extract<Pattern, { t: 'arr' }> | undefined => {
    i++ // [
    const items: Pattern[] = []
    let rest = false
    for (;;) {
      ws()
      if (text[i] === ']') {
        i++
        return { t: 'arr', items, rest }
      }
      if (rest) return undefined // `…` only last
      const v = value()
      if (v === undefined) return undefined
      if (v.t === 'any') rest = true
      else items.push(v)
      ws()
      if (text[i] === ',') i++
      else if (text[i] !== ']') return undefined
    }
  }
  const object = (): Extract<Pattern, { t: 'obj' }> | undefined => {
    i++ // {
    const entries: Array<readonly [string, Pattern]> = []
    let rest = false
    for (;;) {
      ws()
      if (text[i] === '}') {
        i++
        return { t: 'obj', entries, rest }
      }
      if (rest) return undefined
      if (text[i] === '…') {
        i++
        rest = true
      } else {
        let key: string
        const ident = /^[A-Za-z_$][\w$]*|^\d+/.exec(text.slice(i))
        if (ident !== null) {
          key = ident[0]
          i += key.length
        } else if (text[i] === "'" || text[i] === '"') {
          const s = str()
          if (s === undefined) return undefined
          key = s.v
        } else return undefined
        ws()
        if (text[i] !== ':') return undefined
        i++
        const v = value()
        if (v === undefined) return undefined
        entries.push([key, v])
      }
      ws()
      if (text[i] === ',') i++
      else if (text[i] !== '}') return undefined
    }
  }
  const pattern = value()
  return pattern === undefined ? undefined : { pattern, end: i }
}

export type ValueComment =
  | { readonly kind: 'none' }
  | { readonly kind: 'expression'; readonly expression: string }
  | { readonly kind: 'literal'; readonly pattern: Pattern; readonly text: string }
  | { readonly kind: 'ambiguous'; readonly text: string }

/** What a trailing comment says: an expression (`=> e`), a literal, prose, or a literal followed by something else. */
export const valueComment = (comment: string): ValueComment => {
  const text = comment.trim()
  if (text.startsWith('=>')) return { kind: 'expression', expression: text.slice(2).trim() }
  const parsed = parseLiteral(text)
  if (parsed === undefined) return { kind: 'none' }
  const after = text.slice(parsed.end)
  if (after.trim() === '' || /^\s*[:;,(—–]/.test(after) || /^\s+-\s/.test(after)) return { kind: 'literal', pattern: parsed.pattern, text: text.slice(0, parsed.end).trim() }
  return { kind: 'ambiguous', text }
}

export interface Line {
  /** The line as written. */
  readonly text: string
  /** The line without its trailing `//` comment (right-trimmed). */
  readonly code: string
  readonly comment: string | undefined
  /** At statement level: not inside a string, a template or brackets other than block braces, and balanced. */
  readonly statementLevel: boolean
}

/**
 * Splits a snippet into lines and finds, for each, its trailing comment and whether it sits at statement
 * level. A small scanner: strings, templates, comments and brackets (a `{` opens a block after `)`, `=>`,
 * `else`, `try`, `finally`, `do`, `;`, `}` or at the start; otherwise an object). Regular expression
 * literals are not recognised (none of the examples has one with a quote or bracket in it).
 */
export const scanLines = (code: string): Line[] => {
  const stack: string[] = [] // '{b' block, '{o' object, '(', '[', '`' template, '${' template hole
  let quote: string | undefined
  let blockComment = false
  let clean = '' // the code so far without comments and string contents, to classify `{`
  const lines: Line[] = []
  for (const text of code.split('\n')) {
    const startLevel = quote === undefined && !blockComment && stack.every((s) => s === '{b')
    const startDepth = stack.length
    let minDepth = stack.length
    let commentAt: number | undefined
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string
      const top = stack[stack.length - 1]
      if (blockComment) {
        if (c === '*' && text[i + 1] === '/') {
          blockComment = false
          i++
        }
        continue
      }
      if (quote !== undefined) {
        if (c === '\\') i++
        else if (c === quote) quote = undefined
        continue
      }
      if (top === '`') {
        if (c === '\\') i++
        else if (c === '`') stack.pop()
        else if (c === '$' && text[i + 1] === '{') {
          stack.push('${')
          i++
        }
        minDepth = Math.min(minDepth, stack.length)
        continue
      }
      if (c === '/' && text[i + 1] === '/') {
        commentAt = i
        break
      }
      if (c === '/' && text[i + 1] === '*') {
        blockComment = true
        i++
        continue
      }
      if (c === "'" || c === '"') {
        quote = c
        clean += c
        continue
      }
      if (c === '`') {
        stack.push('`')
        clean += c
        continue
      }
      if (c === '{') {
        const before = clean.trimEnd()
        const block =
          before === '' ||
          /(\)|=>|;|\}|\b(else|try|finally|do))$/.test(before) ||
          (before.endsWith('{') && stack[stack.length - 1] === '{b') ||
          (startLevel && text.slice(0, i).trim() === '' && !/[=,(:?[]$/.test(before))
        stack.push(block ? '{b' : '{o')
      } else if (c === '(' || c === '[') stack.push(c)
      else if (c === '}' || c === ')' || c === ']') {
        stack.pop()
        minDepth = Math.min(minDepth, stack.length)
      }
      clean += c
    }
    if (quote !== undefined && !text.endsWith('\\')) quote = undefined // a string never spans lines
    clean += '\n'
    const codePart = (commentAt === undefined ? text : text.slice(0, commentAt)).trimEnd()
    lines.push({
      text,
      code: codePart,
      comment: commentAt === undefined ? undefined : text.slice(commentAt + 2),
      statementLevel: startLevel && minDepth >= startDepth && stack.length === startDepth && quote === undefined && !blockComment && stack.every((s) => s === '{b')
    })
  }
  return lines
}

/** Splits `s` at top-level commas (outside brackets and strings). */
const splitTopLevel = (s: string): string[] => {
  const parts: string[] = []
  let depth = 0
  let quote: string | undefined
  let from = 0
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string
    if (quote !== undefined) {
      if (c === '\\') i++
      else if (c === quote) quote = undefined
    } else if (c === "'" || c === '"' || c === '`') quote = c
    else if ('([{'.includes(c)) depth++
    else if (')]}'.includes(c)) depth--
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(from, i))
      from = i + 1
    }
  }
  parts.push(s.slice(from))
  return parts
}

/** The end of the balanced parenthesis that opens at `open`. */
const closingParen = (s: string, open: number): number => {
  let depth = 0
  let quote: string | undefined
  for (let i = open; i < s.length; i++) {
    const c = s[i] as string
    if (quote !== undefined) {
      if (c === '\\') i++
      else if (c === quote) quote = undefined
    } else if (c === "'" || c === '"' || c === '`') quote = c
    else if (c === '(') depth++
    else if (c === ')' && --depth === 0) return i
  }
  return -1
}

/** A line ending so continues on the next; a line starting so continues the one before. */
const CONTINUES_AFTER = /(?:[,([{=+\-*/%?:&|^<]|=>|\b(?:return|typeof|await|new|in|of|instanceof))$/
const CONTINUES_BEFORE = /^(?:\.(?!\.\.)|\?\.|\?\?|[?:+*/%&|^=<>]|-(?!-))/
const NOT_AN_EXPRESSION = /^(?:import|export\s+(?:type|interface|default|\{|\*)|type\s|interface\s|function\b|async\s+function\b|class\s|abstract\s|declare\s|enum\s|return\b|throw\b|for\b|while\b|do\b|switch\b|case\b|default\b|else\b|try\b|catch\b|finally\b|break\b|continue\b|[{}@]|\/\/|\/\*)/

export interface Transformed {
  readonly code: string
  readonly noRun: string | undefined
  readonly errors: ReadonlyArray<string>
}

/**
 * Rewrites the value comments of an example into checks, line for line (line numbers stay the same):
 * `code` is the example, `file` and `firstLine` where it is, for the messages.
 */
export const transformSnippet = (code: string, file: string, firstLine: number): Transformed => {
  const lines = scanLines(code)
  const errors: string[] = []
  let noRun: string | undefined
  const codeLines = lines.map((l, i) => ({ ...l, i })).filter((l) => l.code.trim() !== '')
  const out = lines.map((line, i) => {
    let where = `${file}:${firstLine + i}`
    const directive = /^\s*docs:\s*no-run\b\s*(.*)$/.exec(line.comment ?? '')
    if (directive !== null) {
      if ((directive[1] as string).trim() === '') errors.push(`${where}: \`// docs: no-run\` needs a reason after it`)
      noRun = (directive[1] as string).trim()
      return lineText(line)
    }
    if (line.code.trim() === '') return lineText(line)
    // The value comment ends the line, or (for a line without a comment) is the whole next line.
    const below = lines[i + 1]
    const fromNextLine = line.comment === undefined && below !== undefined && below.code.trim() === '' && below.comment !== undefined
    if (line.comment === undefined && !fromNextLine) return lineText(line)
    const comment = (fromNextLine ? below?.comment : line.comment) as string
    if (fromNextLine) where = `${file}:${firstLine + i + 1}`
    const value = valueComment(comment)
    if (value.kind === 'none' || (fromNextLine && value.kind === 'ambiguous')) return lineText(line)
    const k = codeLines.findIndex((l) => l.i === i)
    const previous = codeLines[k - 1]
    const next = codeLines[k + 1]
    const code = line.code.trim().replace(/;$/, '')
    const indent = /^\s*/.exec(line.code)?.[0] ?? ''
    const eligible =
      line.statementLevel &&
      !NOT_AN_EXPRESSION.test(code) &&
      !CONTINUES_BEFORE.test(code) &&
      (previous === undefined || !CONTINUES_AFTER.test(previous.code.trim()) || previous.code.trim().endsWith('{')) &&
      (next === undefined || !CONTINUES_BEFORE.test(next.code.trim()))
    if (!eligible) {
      if (value.kind === 'expression' && !fromNextLine) errors.push(`${where}: a \`// =>\` comment must end a complete statement on one line`)
      return lineText(line)
    }
    // `[a].map(…)` or `(a)` after a line without `;` continues that line's expression: not what it shows.
    if (/^[[(`]/.test(code) && previous !== undefined && !/[;{}]$/.test(previous.code.trim()))
      return fail(errors, `${where}: a line starting with \`${code[0]}\` continues the line before (no semicolon there): name the value first`, line)
    if (value.kind === 'expression' && !parses(value.expression))
      return fail(errors, `${where}: \`// => ${value.expression}\` is not an expression; the whole comment after \`=>\` is compared, so put prose on the line above`, line)
    if (value.kind === 'ambiguous')
      return fail(errors, `${where}: the comment \`// ${value.text}\` starts like a value but goes on; write \`// => <expression>\`, or put prose after \`:\` or \`(\``, line)
    const checkCall = (actual: string): string =>
      value.kind === 'expression'
        ? `__doc.same((${actual}), (${value.expression}), ${JSON.stringify(where)}, ${JSON.stringify(value.expression)})`
        : `__doc.check((${actual}), ${JSON.stringify(value.pattern)}, ${JSON.stringify(where)}, ${JSON.stringify(value.text)})`
    const declaration = /^(?:export\s+)?(?:const|let|var)\s+(?:([A-Za-z_$][\w$]*)|\[\s*([A-Za-z_$][\w$]*)\s*\]|\{\s*([A-Za-z_$][\w$]*)\s*\})\s*[:=]/.exec(code)
    if (declaration !== null) return `${indent}${code}; ${checkCall(declaration[1] ?? declaration[2] ?? (declaration[3] as string))};`
    if (/^(?:export\s+)?(?:const|let|var)\s/.test(code)) return fail(errors, `${where}: a value comment on a declaration needs exactly one name to check`, line)
    if (/^if\s*\(/.test(code)) {
      const close = closingParen(code, code.indexOf('('))
      const body = code.slice(close + 1).trim()
      if (close < 0 || body === '' || body.startsWith('{') || (next !== undefined && /^else\b/.test(next.code.trim())))
        return fail(errors, `${where}: write \`if (condition) value // comment\` on one line, without an else`, line)
      return `${indent}if (${code.slice(code.indexOf('(') + 1, close)}) ${checkCall(body)}; else __doc.taken(${JSON.stringify(where)});`
    }
    const log = /^console\.log\((.*)\)$/.exec(code)
    if (log !== null && closingParen(code, code.indexOf('(')) === code.length - 1) {
      const args = splitTopLevel(log[1] as string)
      if (args.length !== 1) return fail(errors, `${where}: the value comment of a console.log with ${args.length} arguments is ambiguous; log one value`, line)
      return `${indent}${checkCall(args[0] as string)};`
    }
    return `${indent}${checkCall(code)};`
  })
  return { code: out.join('\n'), noRun, errors }
}

/** Whether `expression` is one TypeScript expression (esbuild, which tsx runs on, parses it). */
const parses = (expression: string): boolean => {
  try {
    transformSync(`(${expression}\n)`, { loader: 'ts' })
    return true
  } catch {
    return false
  }
}

const lineText = (line: Line): string => line.text

const fail = (errors: string[], message: string, line: Line): string => {
  errors.push(message)
  return lineText(line)
}
