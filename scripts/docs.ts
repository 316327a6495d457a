/**
 * `npm run docs` writes docs/api.md from the JSDoc of the four entry points (`nn-ts`, `nn-ts/node`,
 * `nn-ts/viz`, `nn-ts/onnx`); `npm test` runs it with `--check`. Either way it type-checks and RUNS
 * every `@example` in src/ and every ```ts block of README.md and docs/*.md, and fails when a public
 * export has no `@example`.
 *
 * Value comments are checks. In an example, a line that is a whole statement and ends in a comment
 * showing a value asserts that value when the example runs:
 *
 *   Tensor.toArray(t) // [1, 2]              a literal: numbers, 'strings', true/false/null/undefined,
 *   t.shape // [2, 3]: two rows              NaN, ±Infinity, arrays, { objects }, Uint8Array [1, 2];
 *                                            prose may follow after `:`, `(`, `;`, `,` or `—`
 *   erf(0.5) // 0.5204…                      `…` after digits: the value's decimals start so (truncated)
 *   loss // ≈ 0.693                          `≈` before a number: the value rounds to the digits shown
 *   e.message // 'expected … found 0'        `…` inside a string: any text; `[1, …]`, `{ a: 1, … }`:
 *                                            anything more; `{ mu: … }`: any value
 *   f(x) // => E.right(Tensor.vector([1]))   `=>` then one expression (the whole rest of the comment:
 *                                            prose goes on the line above): deep equality with its value
 *   const s = f(x) // { count: 0 }           a declaration of one name checks that name
 *   if (E.isRight(r)) r.right.n // 3          the condition must hold, then the value is checked
 *   console.log(x) // 3                       checks x (and prints nothing)
 *   sha256Hex(bytes)                         a line without a comment, followed by a line that is
 *   // 'e3b0…'                               only a value comment: the same check
 *
 * Literals compare exactly (numbers by `Object.is`, except that `0` matches either zero; an element of a
 * float32 tensor or array equals the literal rounded to float32, so `0.2` shows 0.2f); a tensor matches
 * the nested arrays of its values (or, from rank 2, its row-major values written flat); a plain object
 * must show all its fields (class instances such as errors only those shown). A comment that starts
 * like a literal but goes on with something else (`// 0.1 · √0.5`) is an error: write
 * `// ≈ 0.0707 (0.1 · √0.5)` or reword. Checks work at the top level and inside blocks (`if`, arrow
 * bodies); a line that is not a complete statement there (inside an object literal or a call, a
 * chained call continued on the next line) is not checked, and a `// =>` comment on it is an error.
 * An example of an internal module imports it by a path relative to its file (`'./protobuf.ts'`).
 *
 * Each example runs once, as its own module, with a fresh temporary directory as the working directory
 * (removed afterwards), so files it writes land nowhere near the repository; what it prints is shown
 * only if it fails. Examples run in one process per entry point they import (`nn-ts/node` starts the
 * kernels' second thread, so core examples never share a process with it). An example whose effect
 * must not happen here (training for minutes) says so on a line of its own:
 * `// docs: no-run <reason>` — it is type-checked, not run, and listed in the summary.
 *
 * TypeScript 7 has no compiler API for JavaScript callers, so the sources are read with a few regular
 * expressions: the library's own conventions (one `export const|function|interface|type|class` per
 * declaration, `/** … *\/` right above it, `export * from`, `export * as X from` and
 * `export { a, type B } from` in index files) are all it needs. Value comments become checks in
 * scripts/docs-comments.ts; the examples are generated under node_modules/.cache (never tracked by
 * git), checked by one `tsc` run and run by scripts/docs-runtime.ts; any failure is reported at the
 * line of the source file it came from. test/docs-comments.test.ts tests the convention itself.
 *
 * Flags: `--check` fails when docs/api.md is not up to date instead of rewriting it (for CI);
 * `--only <text>` type-checks and runs only the examples whose source path contains the text (and leaves
 * api.md alone); `--no-run` only type-checks; `--keep` keeps the generated files (they are kept anyway
 * when something fails).
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { transformSnippet } from './docs-comments.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const API_MD = join(ROOT, 'docs', 'api.md')
const CHECK_DIR = join(ROOT, 'node_modules', '.cache', 'nn-ts-docs')
const RUNTIME = join(ROOT, 'scripts', 'docs-runtime.ts')

/** The package's entry points: import name and source. */
const ENTRIES = [
  { name: 'nn-ts', file: join(ROOT, 'src', 'index.ts') },
  { name: 'nn-ts/node', file: join(ROOT, 'src', 'node', 'index.ts') },
  { name: 'nn-ts/viz', file: join(ROOT, 'src', 'viz', 'index.ts') },
  { name: 'nn-ts/onnx', file: join(ROOT, 'src', 'onnx', 'index.ts') }
] as const
type EntryName = (typeof ENTRIES)[number]['name']

// JSDoc

interface Doc {
  readonly summary: string
  readonly examples: ReadonlyArray<{ readonly code: string; readonly line: number }>
  readonly tags: ReadonlyMap<string, string>
}

const emptyDoc: Doc = { summary: '', examples: [], tags: new Map() }

/** Tags that may also sit at the end of a one-line summary, e.g. `/** A thing. @category model *\/`. */
const INLINE_TAGS = /\s@(category|since|internal|deprecated)\b/

/**
 * Parses a `/** … *\/` block that starts at source line `line`. Tags begin at the start of a line;
 * `@category`-like tags also inline. Example bodies keep their text verbatim (a `@ts-expect-error`
 * inside an example stays code).
 */
const parseJsDoc = (block: string, line: number): Doc => {
  const lines = block
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
  const sections: Array<{ tag: string; text: string[]; line: number }> = [{ tag: '', text: [], line }]
  lines.forEach((raw, i) => {
    const current = sections[sections.length - 1] as { tag: string; text: string[]; line: number }
    const tagged = /^@(\w+)\s?(.*)$/.exec(raw.trim())
    if (tagged !== null && current.tag !== 'example') {
      sections.push({ tag: tagged[1] as string, text: [tagged[2] as string], line: line + i })
      return
    }
    if (tagged !== null && current.tag === 'example' && !raw.trimStart().startsWith('@ts-')) {
      sections.push({ tag: tagged[1] as string, text: [tagged[2] as string], line: line + i })
      return
    }
    if (current.tag !== 'example') {
      const inline = INLINE_TAGS.exec(raw)
      if (inline !== null) {
        current.text.push(raw.slice(0, inline.index))
        const rest = raw.slice(inline.index).trim()
        for (const part of rest.split(/\s(?=@)/)) {
          const m = /^@(\w+)\s?(.*)$/.exec(part.trim())
          if (m !== null) sections.push({ tag: m[1] as string, text: [m[2] as string], line: line + i })
        }
        return
      }
    }
    current.text.push(raw)
  })
  const trimBlock = (text: ReadonlyArray<string>): string => text.join('\n').replace(/^\s*\n/, '').trimEnd()
  const tags = new Map<string, string>()
  for (const s of sections.slice(1)) if (s.tag !== 'example') tags.set(s.tag, trimBlock(s.text).trim())
  return {
    summary: trimBlock((sections[0] as { text: string[] }).text).trim(),
    // The example text starts on the line after `@example` (the tag line's remainder is usually empty).
    examples: sections.filter((s) => s.tag === 'example').map((s) => ({ code: trimBlock(s.text), line: s.line + 1 })),
    tags
  }
}

// declarations

type Kind = 'const' | 'function' | 'class' | 'interface' | 'type' | 'enum' | 'let'

interface Declaration {
  readonly name: string
  readonly kind: Kind
  readonly file: string
  readonly line: number
  readonly signature: string
  readonly doc: Doc
}

interface Module {
  readonly file: string
  readonly doc: Doc
  readonly declarations: ReadonlyArray<Declaration>
  /** `export * as Name from` inside the module: nested namespaces. */
  readonly namespaces: ReadonlyArray<{ readonly name: string; readonly module: Module }>
}

const lineAt = (text: string, index: number): number => text.slice(0, index).split('\n').length

/**
 * The declaration's signature on one line: for an arrow-function const, everything up to the
 * top-level `=>`; for a typed const, its type; for a function, up to its body; for types, the header
 * (or the whole alias when short).
 */
/** Whether the text after an `=>` at `at` is another arrow function's parameter list. */
const curriedAt = (text: string, at: number): boolean => {
  const rest = text.slice(at).trimStart()
  if (rest.startsWith('<')) return true
  if (!rest.startsWith('(') || rest.startsWith('({')) return false
  let depth = 0
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]
    if (c === '(') depth++
    else if (c === ')' && --depth === 0) {
      const after = rest.slice(i + 1).trimStart()
      return after.startsWith(':') || after.startsWith('=>')
    }
  }
  return false
}

const signatureAt = (text: string, start: number, kind: Kind): string => {
  let depth = 0
  let i = start
  let sawEquals = false
  let sawColon = false
  const stop = (end: number): string =>
    text
      .slice(start, end)
      .replace(/\s+/g, ' ')
      .replace(/\( /g, '(')
      .replace(/ \)/g, ')')
      .replace(/,\)/g, ')')
      .trim()
  for (; i < text.length; i++) {
    const c = text[i] as string
    const next = text[i + 1]
    if (c === '(' || c === '[' || c === '{') {
      if (depth === 0 && c === '{' && (kind === 'function' || kind === 'interface' || kind === 'class' || kind === 'enum')) return stop(i)
      depth++
      continue
    }
    if (c === ')' || c === ']' || c === '}') {
      depth--
      continue
    }
    if (depth !== 0) continue
    if (kind === 'const' || kind === 'let') {
      if (c === ':' && !sawEquals) sawColon = true
      if (c === '=' && next === '>' && sawEquals) {
        // A curried arrow (`(g) => (f) => …`) shows every parameter list; a body ends the signature.
        if (curriedAt(text, i + 2)) {
          i++
          continue
        }
        return stop(i)
      }
      if (c === '=' && next !== '>' && text[i - 1] !== '=' && text[i - 1] !== '!' && text[i - 1] !== '<' && text[i - 1] !== '>') {
        if (sawColon) return stop(i)
        if (sawEquals) continue
        sawEquals = true
        const rhs = text.slice(i + 1).trimStart()
        if (!(rhs.startsWith('<') || rhs.startsWith('(') || /^\w+\s*=>/.test(rhs))) return stop(i)
      }
      if (c === '\n' && !sawEquals && !sawColon) return stop(i)
    }
    if (kind === 'type') {
      if (c === '\n' && text.slice(i + 1).match(/^\s*(\/\*\*|\/\/|export|const|type|interface|function|$)/) !== null) {
        const whole = stop(i)
        return whole.length <= 240 ? whole : `${whole.slice(0, whole.indexOf('=') + 1)} …`
      }
    }
  }
  return stop(i)
}

const DECLARATION = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)?\s*(?:\/\/[^\n]*\n\s*)*^(export)\s+(?:declare\s+)?(?:abstract\s+)?(const|function|class|interface|type|enum|let)\s+([A-Za-z_$][\w$]*)/dgm
const STAR = /^export\s+\*\s+from\s+'([^']+)'/gm
const STAR_AS = /^export\s+\*\s+as\s+(\w+)\s+from\s+'([^']+)'/gm

/** `export { a, type B, c as d } from './x.ts'` and `export type { … } from …`. */
const NAMED = /^export\s+(type\s+)?\{([^}]*)\}\s+from\s+'([^']+)'/gm

const modules = new Map<string, Module>()

const loadModule = (file: string): Module => {
  const known = modules.get(file)
  if (known !== undefined) return known
  const text = readFileSync(file, 'utf8')
  // The file's first JSDoc is the module's own when it carries @since or is followed by imports or
  // re-exports; otherwise it documents the declaration right below it.
  const header = /^\s*(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)\s*(\S+)/.exec(text)
  const headerIsModule =
    header !== null &&
    (/@since\b/.test(header[1] as string) || header[2] === 'import' || /^export\s+(\*|(type\s+)?\{)/.test(text.slice(header.index + header[0].length - (header[2] as string).length)))
  const headerDoc = headerIsModule ? parseJsDoc((header as RegExpExecArray)[1] as string, 1) : emptyDoc
  const declarations: Declaration[] = []
  for (const m of text.matchAll(DECLARATION)) {
    const kind = m[3] as Kind
    const name = m[4] as string
    const declStart = (m.indices?.[2] ?? [m.index ?? 0])[0] as number
    const docStart = m.indices?.[1]?.[0]
    const doc = m[1] !== undefined && docStart !== undefined && !(headerIsModule && m[1] === header?.[1]) ? parseJsDoc(m[1], lineAt(text, docStart)) : emptyDoc
    // @internal exports are public for the library's own modules, not for users: not documented.
    if (doc.tags.has('internal')) continue
    declarations.push({ name, kind, file, line: lineAt(text, declStart), signature: signatureAt(text, declStart + 'export '.length, kind), doc })
  }
  for (const m of text.matchAll(STAR)) declarations.push(...loadModule(resolve(dirname(file), m[1] as string)).declarations)
  for (const m of text.matchAll(NAMED)) {
    const from = loadModule(resolve(dirname(file), m[3] as string))
    for (const raw of (m[2] as string).split(',')) {
      const [original, alias] = raw
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .map((s) => s.trim())
      if (original === undefined || original === '') continue
      const decl = from.declarations.find((d) => d.name === original)
      // Not found: @internal where it is declared (so not public here either).
      if (decl !== undefined) declarations.push({ ...decl, name: alias ?? original })
    }
  }
  const namespaces = [...text.matchAll(STAR_AS)].map((m) => ({ name: m[1] as string, module: loadModule(resolve(dirname(file), m[2] as string)) }))
  const mod: Module = { file, doc: headerDoc, declarations, namespaces }
  modules.set(file, mod)
  return mod
}

// the public surface: four entry points, each with namespaces (`export * as`) and top-level names

interface Namespace {
  /** Dotted path as a user writes it after importing the entry, e.g. `Optim` or `TensorFile`. */
  readonly path: string
  readonly module: Module
}

interface Entry {
  readonly name: EntryName
  readonly module: Module
  readonly namespaces: ReadonlyArray<Namespace>
  /** Names imported directly from the entry (`kernels`, `loadMnist`, `toOnnx`). */
  readonly topLevel: ReadonlyArray<Declaration>
}

const entries: ReadonlyArray<Entry> = ENTRIES.map(({ name, file }) => {
  const module = loadModule(file)
  const namespaces: Namespace[] = []
  const flatten = (path: string, m: Module): void => {
    namespaces.push({ path, module: m })
    for (const sub of m.namespaces) flatten(`${path}.${sub.name}`, sub.module)
  }
  for (const sub of module.namespaces) flatten(sub.name, sub.module)
  return { name, module, namespaces, topLevel: module.declarations }
})

/** Every public declaration, once, with the name a user writes (`Optim.adam`, `loadMnist`). */
const publicDeclarations = ((): ReadonlyArray<{ readonly entry: EntryName; readonly qualified: string; readonly decl: Declaration }> => {
  const seen = new Set<string>()
  const out: Array<{ entry: EntryName; qualified: string; decl: Declaration }> = []
  const add = (entry: EntryName, prefix: string, d: Declaration): void => {
    const key = `${d.file}:${d.line}`
    if (seen.has(key)) return
    seen.add(key)
    out.push({ entry, qualified: `${prefix}${d.name}`, decl: d })
  }
  for (const e of entries) {
    for (const ns of e.namespaces) for (const d of ns.module.declarations) add(e.name, `${ns.path}.`, d)
    for (const d of e.topLevel) add(e.name, '', d)
  }
  return out
})()

// api.md

const VALUE_KINDS: ReadonlySet<Kind> = new Set(['const', 'function', 'let', 'class', 'enum'])

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
const slugger = (): ((heading: string) => string) => {
  const used = new Map<string, number>()
  return (heading) => {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const n = used.get(base) ?? 0
    used.set(base, n + 1)
    return n === 0 ? base : `${base}-${n}`
  }
}

const firstParagraph = (s: string): string => s.split(/\n\s*\n/)[0]?.replace(/\s*\n\s*/g, ' ').trim() ?? ''

const renderDeclaration = (level: string, prefix: string, d: Declaration): string[] => {
  const out = [`${level} ${prefix}${d.name}`, '', '```ts', `${d.signature}`, '```', '']
  if (d.doc.summary !== '') out.push(d.doc.summary, '')
  else out.push('_No documentation._', '')
  for (const ex of d.doc.examples) out.push('Example:', '', '```ts', ex.code, '```', '')
  out.push(`<sub>${relative(ROOT, d.file)}:${d.line}${d.doc.tags.has('category') ? ` · ${d.doc.tags.get('category')}` : ''}</sub>`, '')
  return out
}

/** A group of declarations: functions and constants first, then a list of the types and their examples. */
const renderDeclarations = (level: string, prefix: string, title: string, declarations: ReadonlyArray<Declaration>): string[] => {
  const out: string[] = []
  const values = declarations.filter((d) => VALUE_KINDS.has(d.kind))
  const types = declarations.filter((d) => !VALUE_KINDS.has(d.kind))
  for (const d of values) out.push(...renderDeclaration(level, prefix, d))
  if (types.length > 0) {
    out.push(`${level} Types in ${title}`, '')
    for (const d of types) out.push(`- \`${d.signature}\`${d.doc.summary !== '' ? ` — ${firstParagraph(d.doc.summary)}` : ''}`)
    out.push('')
    for (const d of types.filter((t) => t.doc.examples.length > 0)) out.push(...renderDeclaration(level, prefix, d))
  }
  return out
}

const apiMarkdown = (): string => {
  const body: string[] = []
  for (const e of entries) {
    body.push(`## ${e.name}`, '')
    if (e.module.doc.summary !== '') body.push(e.module.doc.summary, '')
    for (const ex of e.module.doc.examples) body.push('Example:', '', '```ts', ex.code, '```', '')
    body.push(`<sub>${relative(ROOT, e.module.file)}</sub>`, '')
    if (e.topLevel.length > 0) body.push(...renderDeclarations('###', '', `${e.name}`, e.topLevel))
    for (const ns of e.namespaces) {
      body.push(`### ${ns.path}`, '')
      if (ns.module.doc.summary !== '') body.push(ns.module.doc.summary, '')
      body.push(`<sub>${relative(ROOT, ns.module.file)}</sub>`, '')
      body.push(...renderDeclarations('####', `${ns.path}.`, ns.path, ns.module.declarations))
    }
  }
  // Anchors in document order (GitHub numbers repeated headings), for the table of contents.
  const slug = slugger()
  slug('nn-ts API')
  slug('Contents')
  const anchors = new Map<string, string>()
  let entry = ''
  for (const line of body) {
    const h = /^(#{2,4}) (.*)$/.exec(line)
    if (h === null) continue
    const anchor = slug(h[2] as string)
    if (h[1] === '##') entry = h[2] as string
    anchors.set(`${entry}|${h[2]}`, anchor)
  }
  const contents: string[] = []
  for (const e of entries) {
    contents.push(`- [${e.name}](#${anchors.get(`${e.name}|${e.name}`)})`)
    for (const ns of e.namespaces) contents.push(`  - [${ns.path}](#${anchors.get(`${e.name}|${ns.path}`)})`)
  }
  const core = entries[0] as Entry
  const out = [
    '# nn-ts API',
    '',
    '<!-- Generated by `npm run docs` from the JSDoc in src/. Do not edit by hand. -->',
    '',
    firstParagraph(core.module.doc.summary),
    '',
    'One section per entry point; each namespace is imported from its entry, e.g. `import { Layers, Train } from \'nn-ts\'`',
    'or `import { loadMnist } from \'nn-ts/node\'`. Functions and constants come first, then types. Every example on this',
    'page runs under `npm test`, and the values its comments show are checked (see scripts/docs.ts).',
    '',
    '## Contents',
    '',
    ...contents,
    '',
    ...body
  ]
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`
}

// the examples

type Group = 'core' | 'node' | 'viz' | 'onnx'

interface Snippet {
  readonly id: string
  readonly source: string
  /** Line of `source` the snippet's first line is on. */
  readonly line: number
  readonly what: string
  readonly code: string
}

const snippets: Snippet[] = []
const seen = new Set<string>()
const addSnippet = (s: Snippet): void => {
  const key = `${s.source}:${s.line}`
  if (seen.has(key)) return
  seen.add(key)
  snippets.push(s)
}
const addExamples = (what: string, source: string, doc: Doc): void =>
  doc.examples.forEach((ex, i) => addSnippet({ id: `${what}.${i}`, source, line: ex.line, what, code: ex.code }))

for (const e of entries) {
  addExamples(e.name, e.module.file, e.module.doc)
  for (const d of e.topLevel) addExamples(`${e.name} ${d.name}`, d.file, d.doc)
  for (const ns of e.namespaces) {
    addExamples(`${ns.path} (module)`, ns.module.file, ns.module.doc)
    for (const d of ns.module.declarations) addExamples(`${ns.path}.${d.name}`, d.file, d.doc)
  }
}

// Every other @example in src/ (on internal helpers, on modules no entry re-exports as a namespace).
const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []))
for (const file of sourceFiles(join(ROOT, 'src')).sort()) {
  const text = readFileSync(file, 'utf8')
  for (const m of text.matchAll(/\/\*\*(?:(?!\*\/)[\s\S])*\*\//g)) {
    if (!m[0].includes('@example')) continue
    const doc = parseJsDoc(m[0], lineAt(text, m.index ?? 0))
    addExamples(`${relative(ROOT, file)}:${lineAt(text, m.index ?? 0)}`, file, doc)
  }
}

// ```ts blocks of README.md and docs/*.md (api.md is generated from the sources above). ```ts nocheck
// marks a block that is not a program (a signature shown as text): neither checked nor run.
const DOCS = join(ROOT, 'docs')
const guides = [join(ROOT, 'README.md'), ...(existsSync(DOCS) ? readdirSync(DOCS).filter((f) => f.endsWith('.md') && f !== 'api.md').map((f) => join(DOCS, f)) : [])].filter(
  (file) => existsSync(file)
)
for (const file of guides) {
  const name = basename(file)
  const text = readFileSync(file, 'utf8')
  let k = 0
  for (const m of text.matchAll(/^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```/gm)) {
    if ((m[2] as string).includes('nocheck')) continue
    k++
    addSnippet({ id: `${name}.${k}`, source: file, line: lineAt(text, m.index ?? 0) + 1, what: `${name} block ${k}`, code: m[3] as string })
  }
}

/** The process an example runs in: the entry points it imports, `nn-ts/node` first (it starts a thread). */
const groupOf = (code: string): Group => {
  const imports = [...code.matchAll(/(?:from\s+|import\s*\(\s*)'nn-ts(?:\/(\w+))?'/g)].map((m) => m[1] ?? 'core')
  for (const g of ['node', 'viz', 'onnx'] as const) if (imports.includes(g)) return g
  return 'core'
}

// generating, type-checking and running the examples

/** Lines the generated file has before the example's first line. */
const HEADER_LINES = 3

interface Generated {
  readonly snippet: Snippet
  readonly file: string
  readonly group: Group
  readonly noRun: string | undefined
}

/** `'nn-ts/…'` as a path relative to the generated files (tsx applies no tsconfig paths under node_modules). */
const entrySpecifiers = new Map<string, string>(ENTRIES.map((e) => [e.name, relative(CHECK_DIR, e.file).split('\\').join('/')]))
/** Entry names, and relative specifiers (an example of an internal module importing it), as paths from CHECK_DIR. */
const rewriteImports = (code: string, source: string): string =>
  code.replace(/((?:from\s+|import\s*\(\s*)')(nn-ts(?:\/\w+)?|\.\.?\/[^']*)'/g, (all, head: string, name: string) => {
    const path = name.startsWith('.') ? relative(CHECK_DIR, resolve(dirname(source), name)).split('\\').join('/') : entrySpecifiers.get(name)
    return path === undefined ? all : `${head}${path}'`
  })

const generate = (selected: ReadonlyArray<Snippet>): { generated: Generated[]; errors: string[] } => {
  rmSync(CHECK_DIR, { recursive: true, force: true })
  mkdirSync(CHECK_DIR, { recursive: true })
  // The folder is under node_modules, which ends the root package.json's scope: say again that .ts here is ESM.
  writeFileSync(join(CHECK_DIR, 'package.json'), '{ "type": "module" }\n')
  const runtime = relative(CHECK_DIR, RUNTIME).split('\\').join('/')
  const errors: string[] = []
  const generated = selected.map((s, i) => {
    const file = join(CHECK_DIR, `ex${String(i).padStart(3, '0')}_${s.id.replace(/[^\w.-]+/g, '_').slice(0, 80)}.ts`)
    const t = transformSnippet(s.code, relative(ROOT, s.source), s.line)
    errors.push(...t.errors)
    // `export {}` makes every example its own module, so top-level names never clash between examples.
    writeFileSync(file, `// ${relative(ROOT, s.source)}:${s.line} ${s.what}\nimport * as __doc from '${runtime}'\nexport {}\n${rewriteImports(t.code, s.source)}\n`)
    return { snippet: s, file, group: groupOf(s.code), noRun: t.noRun }
  })
  return { generated, errors }
}

interface Outcome {
  readonly ok: boolean
  readonly report: string
  /** Wall-clock seconds of the process. */
  readonly seconds: number
}

const run = (command: string, args: ReadonlyArray<string>, timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string; timedOut: boolean }> =>
  new Promise((done, failed) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', failed)
    child.on('close', (status) => {
      clearTimeout(timer)
      done({ status, stdout, stderr, timedOut })
    })
  })

const typeCheck = async (generated: ReadonlyArray<Generated>): Promise<Outcome> => {
  const started = performance.now()
  const byFile = new Map(generated.map((g) => [basename(g.file), g.snippet]))
  const base = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> }
  const tsconfig = {
    compilerOptions: {
      ...base.compilerOptions,
      // Examples show a value and stop; unused names are the point, not a mistake.
      noUnusedLocals: false,
      noUnusedParameters: false,
      paths: Object.fromEntries(ENTRIES.map((e) => [e.name, [relative(CHECK_DIR, e.file)]]))
    },
    // The docs scripts are checked with the examples: the project's tsconfig does not include scripts/.
    files: [...byFile.keys(), relative(CHECK_DIR, fileURLToPath(import.meta.url)), relative(CHECK_DIR, RUNTIME)]
  }
  writeFileSync(join(CHECK_DIR, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  const result = await run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', join(CHECK_DIR, 'tsconfig.json')], 600_000)
  const specifierNames = new Map([...entrySpecifiers].flatMap(([name, path]) => [[path, name], [path.replace(/\.ts$/, ''), name]]))
  const lines = `${result.stdout}${result.stderr}`.split('\n').filter((l) => l.trim() !== '')
  const mapped = lines.map((l) => {
    const m = /^(?:.*[\\/])?(ex\d{3}_[^(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(l)
    if (m === null) return l
    const s = byFile.get(m[1] as string)
    if (s === undefined) return l
    const message = (m[4] as string).replace(/"([^"]+)"/g, (all, p: string) => (specifierNames.has(p) ? `"${specifierNames.get(p)}"` : all))
    return `${relative(ROOT, s.source)}:${s.line + Number(m[2]) - 1 - HEADER_LINES}:${m[3]} (${s.what}): ${message}`
  })
  return { ok: result.status === 0, report: mapped.join('\n'), seconds: (performance.now() - started) / 1000 }
}

/** Runs one group's examples in one process; a failure names the example's file and line. */
const runGroup = async (group: Group, generated: ReadonlyArray<Generated>): Promise<Outcome> => {
  const started = performance.now()
  const jobs = generated.map((g) => ({ id: g.snippet.id, file: g.file, source: relative(ROOT, g.snippet.source), line: g.snippet.line, headerLines: HEADER_LINES }))
  const list = join(CHECK_DIR, `run-${group}.json`)
  writeFileSync(list, JSON.stringify(jobs, null, 1))
  const result = await run(join(ROOT, 'node_modules', '.bin', 'tsx'), [RUNTIME, list], 300_000)
  const failures: string[] = []
  const finished = new Set<string>()
  let running: string | undefined
  for (const l of result.stdout.split('\n')) {
    if (!l.startsWith('{')) continue
    const event = JSON.parse(l) as { start?: string; done?: string; fail?: string; message?: string }
    if (event.start !== undefined) running = event.start
    if (event.done !== undefined) finished.add(event.done)
    if (event.fail !== undefined) {
      finished.add(event.fail)
      const g = generated.find((x) => x.snippet.id === event.fail)
      failures.push(`${event.message ?? ''}${g === undefined ? '' : ` (${g.snippet.what})`}`)
    }
  }
  if (finished.size < jobs.length) {
    const g = generated.find((x) => x.snippet.id === running)
    const where = g === undefined ? 'before the first example' : `in ${relative(ROOT, g.snippet.source)}:${g.snippet.line} (${g.snippet.what})`
    failures.push(`the ${group} examples' process ${result.timedOut ? 'timed out' : `exited with ${result.status}`} ${where}:\n${result.stderr.split('\n').slice(-15).join('\n')}`)
  }
  return { ok: failures.length === 0, report: failures.join('\n'), seconds: (performance.now() - started) / 1000 }
}

// main

const argument = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag)
  return i < 0 ? undefined : process.argv[i + 1]
}

const main = async (): Promise<number> => {
  const checkOnly = process.argv.includes('--check')
  const noRun = process.argv.includes('--no-run')
  const only = argument('--only')
  let failed = false
  const started = performance.now()
  if (only === undefined) {
    const api = apiMarkdown()
    if (checkOnly) {
      const current = existsSync(API_MD) ? readFileSync(API_MD, 'utf8') : ''
      if (current !== api) {
        console.error('docs/api.md is out of date: run `npm run docs`.')
        failed = true
      }
    } else {
      mkdirSync(dirname(API_MD), { recursive: true })
      writeFileSync(API_MD, api)
      console.log(`wrote ${relative(ROOT, API_MD)}: ${entries.length} entry points, ${entries.reduce((n, e) => n + e.namespaces.length, 0)} namespaces, ${publicDeclarations.length} exports`)
    }
  }
  const missing = publicDeclarations.filter((p) => p.decl.doc.examples.length === 0)
  if (missing.length > 0) {
    console.error(
      `exports without an @example (${missing.length} of ${publicDeclarations.length}):\n${missing.map((p) => `  ${relative(ROOT, p.decl.file)}:${p.decl.line} ${p.entry} ${p.qualified}`).join('\n')}`
    )
    failed = true
  }
  const selected = only === undefined ? snippets : snippets.filter((s) => relative(ROOT, s.source).includes(only))
  const { generated, errors } = generate(selected)
  if (errors.length > 0) {
    console.error(`value comments that cannot be checked:\n${errors.map((e) => `  ${e}`).join('\n')}`)
    failed = true
  }
  const groups = (['core', 'node', 'viz', 'onnx'] as const)
    .map((group) => ({ group, examples: generated.filter((g) => g.group === group && g.noRun === undefined) }))
    .filter((g) => g.examples.length > 0)
  // One tsc and one process per group, all at once: the machine's cores share them.
  const [checked, ...ran] = await Promise.all([typeCheck(generated), ...(noRun ? [] : groups.map((g) => runGroup(g.group, g.examples)))])
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  if (checked === undefined || !checked.ok) {
    console.error(`examples that do not type-check:\n${checked?.report ?? ''}`)
    failed = true
  }
  const runFailures = ran.filter((r) => !r.ok)
  if (runFailures.length > 0) {
    console.error(`examples that fail when run:\n${runFailures.map((r) => r.report).join('\n')}`)
    failed = true
  }
  const skipped = generated.filter((g) => g.noRun !== undefined)
  const counts = groups.map((g, i) => `${g.examples.length} ${g.group} in ${ran[i]?.seconds.toFixed(1)} s`).join(', ')
  console.log(
    `${generated.length} examples type-checked (tsc ${checked?.seconds.toFixed(1)} s)${noRun ? '' : `, ${generated.length - skipped.length} run (${counts})`}: ${seconds} s in all` +
      (skipped.length > 0 ? `; not run: ${skipped.map((g) => `${relative(ROOT, g.snippet.source)}:${g.snippet.line} (${g.noRun})`).join('; ')}` : '')
  )
  if (failed || process.argv.includes('--keep')) console.error(`(generated files kept in ${relative(ROOT, CHECK_DIR)})`)
  else rmSync(CHECK_DIR, { recursive: true, force: true })
  return failed ? 1 : 0
}

process.exitCode = await main()
