/**
 * `npm run docs`: writes docs/api.md from the JSDoc of everything `src/index.ts` exports, and
 * type-checks every `@example` in src/ and every ```ts block in README.md and docs/*.md against the library.
 *
 * TypeScript 7 has no compiler API for JavaScript callers, so the sources are read with a few regular
 * expressions: the library's own conventions (one `export const|function|interface|type|class` per
 * declaration, `/** … *\/` right above it, `export * from` / `export * as X from` in index files) are
 * all it needs. The examples are written to files under node_modules/.cache (never tracked by git),
 * each importing `nn-ts`, which a generated tsconfig maps to ./src/index.ts; then `tsc` checks them all
 * in one run, and any error is reported at the line of the source file the example came from.
 *
 * Flags: `--check` fails when docs/api.md is not up to date instead of rewriting it (for CI).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SRC_INDEX = join(ROOT, 'src', 'index.ts')
const API_MD = join(ROOT, 'docs', 'api.md')
const CHECK_DIR = join(ROOT, 'node_modules', '.cache', 'nn-ts-docs')

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

const modules = new Map<string, Module>()

const loadModule = (file: string): Module => {
  const known = modules.get(file)
  if (known !== undefined) return known
  const text = readFileSync(file, 'utf8')
  // The file's first JSDoc is the module's own when it carries @since or is followed by imports or
  // re-exports; otherwise it documents the declaration right below it.
  const header = /^\s*(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)\s*(\S+)/.exec(text)
  const headerIsModule = header !== null && (/@since\b/.test(header[1] as string) || header[2] === 'import' || text.slice(header.index + header[0].length - (header[2] as string).length).startsWith('export *'))
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
  const namespaces = [...text.matchAll(STAR_AS)].map((m) => ({ name: m[1] as string, module: loadModule(resolve(dirname(file), m[2] as string)) }))
  const mod: Module = { file, doc: headerDoc, declarations, namespaces }
  modules.set(file, mod)
  return mod
}

// the public surface, from src/index.ts

interface Namespace {
  readonly path: string
  readonly module: Module
}

const indexText = readFileSync(SRC_INDEX, 'utf8')
const namespaces: Namespace[] = []
const flatten = (path: string, module: Module): void => {
  namespaces.push({ path, module })
  for (const sub of module.namespaces) flatten(`${path}.${sub.name}`, sub.module)
}
for (const m of indexText.matchAll(STAR_AS)) flatten(m[1] as string, loadModule(resolve(dirname(SRC_INDEX), m[2] as string)))

/** Named re-exports at the top level (`export { kernels } from …`, `export type { Kernels } from …`). */
const topLevel: Declaration[] = []
for (const m of indexText.matchAll(/^export\s+(type\s+)?\{([^}]*)\}\s+from\s+'([^']+)'/gm)) {
  const mod = loadModule(resolve(dirname(SRC_INDEX), m[3] as string))
  for (const raw of (m[2] as string).split(',')) {
    const name = raw.trim().split(/\s+as\s+/).pop()?.trim() ?? ''
    const original = raw.trim().split(/\s+as\s+/)[0]?.trim() ?? ''
    const decl = mod.declarations.find((d) => d.name === original)
    if (name !== '' && decl !== undefined) topLevel.push({ ...decl, name })
  }
}
const indexDoc = parseJsDoc(/^\s*(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)/.exec(indexText)?.[1] ?? '/** */', 1)

// api.md

const VALUE_KINDS: ReadonlySet<Kind> = new Set(['const', 'function', 'let', 'class', 'enum'])

const anchor = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')

const firstParagraph = (s: string): string => s.split(/\n\s*\n/)[0]?.replace(/\s*\n\s*/g, ' ').trim() ?? ''

const renderDeclaration = (prefix: string, d: Declaration): string => {
  const out = [`### ${prefix}${d.name}`, '', '```ts', `${d.signature}`, '```', '']
  if (d.doc.summary !== '') out.push(d.doc.summary, '')
  else out.push('_No documentation._', '')
  for (const ex of d.doc.examples) out.push('Example:', '', '```ts', ex.code, '```', '')
  out.push(`<sub>${relative(ROOT, d.file)}:${d.line}${d.doc.tags.has('category') ? ` · ${d.doc.tags.get('category')}` : ''}</sub>`, '')
  return out.join('\n')
}

const apiMarkdown = (): string => {
  const out: string[] = [
    '# nn-ts API',
    '',
    '<!-- Generated by `npm run docs` from the JSDoc in src/. Do not edit by hand. -->',
    '',
    firstParagraph(indexDoc.summary),
    '',
    'Every namespace below is imported from the package root, e.g. `import { Layers, Train } from \'nn-ts\'`. Functions and',
    'constants come first in each namespace, then types. Every example on this page is type-checked by `npm run docs`.',
    '',
    '## Contents',
    '',
    ...namespaces.map((n) => `- [${n.path}](#${anchor(n.path)})`),
    ...(topLevel.length > 0 ? ['- [Top-level exports](#top-level-exports)'] : []),
    ''
  ]
  for (const ns of namespaces) {
    const values = ns.module.declarations.filter((d) => VALUE_KINDS.has(d.kind))
    const types = ns.module.declarations.filter((d) => !VALUE_KINDS.has(d.kind))
    out.push(`## ${ns.path}`, '')
    if (ns.module.doc.summary !== '') out.push(ns.module.doc.summary, '')
    out.push(`<sub>${relative(ROOT, ns.module.file)}</sub>`, '')
    for (const d of values) out.push(renderDeclaration(`${ns.path}.`, d))
    if (types.length > 0) {
      out.push(`#### Types in ${ns.path}`, '')
      for (const d of types) out.push(`- \`${d.signature}\`${d.doc.summary !== '' ? ` — ${firstParagraph(d.doc.summary)}` : ''}`)
      out.push('')
      for (const d of types.filter((t) => t.doc.examples.length > 0)) out.push(renderDeclaration(`${ns.path}.`, d))
    }
  }
  if (topLevel.length > 0) {
    out.push('## Top-level exports', '')
    for (const d of topLevel) out.push(renderDeclaration('', d))
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`
}

// example checking

interface Snippet {
  readonly id: string
  readonly source: string
  readonly line: number
  readonly what: string
  readonly code: string
}

const snippets: Snippet[] = []
const seen = new Set<string>()
const addDeclarationExamples = (owner: string, d: Declaration): void => {
  d.doc.examples.forEach((ex, i) => {
    const key = `${d.file}:${ex.line}`
    if (seen.has(key)) return
    seen.add(key)
    snippets.push({ id: `${owner}.${d.name}.${i}`, source: d.file, line: ex.line, what: `${owner}.${d.name}`, code: ex.code })
  })
}
for (const ns of namespaces) {
  ns.module.declarations.forEach((d) => addDeclarationExamples(ns.path, d))
  ns.module.doc.examples.forEach((ex, i) =>
    snippets.push({ id: `${ns.path}.module.${i}`, source: ns.module.file, line: ex.line, what: `${ns.path} (module)`, code: ex.code })
  )
}
topLevel.forEach((d) => addDeclarationExamples('nn-ts', d))
indexDoc.examples.forEach((ex, i) => snippets.push({ id: `index.${i}`, source: SRC_INDEX, line: ex.line, what: 'src/index.ts', code: ex.code }))

// ```ts blocks of README.md and docs/*.md (api.md is generated from the sources checked above).
// ```ts nocheck skips one.
const DOCS = join(ROOT, 'docs')
const guides = [
  join(ROOT, 'README.md'),
  ...(existsSync(DOCS) ? readdirSync(DOCS).filter((f) => f.endsWith('.md') && f !== 'api.md').map((f) => join(DOCS, f)) : [])
].filter((file) => existsSync(file))
{
  for (const file of guides) {
    const name = basename(file)
    const text = readFileSync(file, 'utf8')
    let k = 0
    for (const m of text.matchAll(/^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```/gm)) {
      if ((m[2] as string).includes('nocheck')) continue
      snippets.push({ id: `${name}.${k++}`, source: file, line: lineAt(text, m.index ?? 0) + 1, what: `${name} block ${k}`, code: m[3] as string })
    }
  }
}

const HEADER_LINES = 2

const checkSnippets = (): { ok: boolean; report: string } => {
  rmSync(CHECK_DIR, { recursive: true, force: true })
  mkdirSync(CHECK_DIR, { recursive: true })
  const byFile = new Map<string, Snippet>()
  snippets.forEach((s, i) => {
    const file = `ex${String(i).padStart(3, '0')}_${s.id.replace(/[^\w.-]+/g, '_')}.ts`
    byFile.set(file, s)
    // `export {}` makes every example its own module, so top-level names never clash between examples.
    writeFileSync(join(CHECK_DIR, file), `// ${relative(ROOT, s.source)}:${s.line} ${s.what}\nexport {}\n${s.code}\n`)
  })
  const base = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> }
  const tsconfig = {
    compilerOptions: {
      ...base.compilerOptions,
      // Examples show a value and stop; unused names are the point, not a mistake.
      noUnusedLocals: false,
      noUnusedParameters: false,
      paths: { 'nn-ts': [relative(CHECK_DIR, SRC_INDEX)] }
    },
    // The docs script is checked with the examples: the project's tsconfig does not include scripts/.
    files: [...byFile.keys(), relative(CHECK_DIR, fileURLToPath(import.meta.url))]
  }
  writeFileSync(join(CHECK_DIR, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc')
  const result = spawnSync(tsc, ['--noEmit', '-p', join(CHECK_DIR, 'tsconfig.json')], { encoding: 'utf8', cwd: ROOT })
  if (result.error !== undefined) throw result.error
  const output = `${result.stdout}${result.stderr}`
  const lines = output.split('\n').filter((l) => l.trim() !== '')
  const mapped = lines.map((l) => {
    const m = /^(?:.*[\\/])?(ex\d{3}_[^(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(l)
    if (m === null) return l
    const s = byFile.get(m[1] as string)
    if (s === undefined) return l
    return `${relative(ROOT, s.source)}:${s.line + Number(m[2]) - 1 - HEADER_LINES}:${m[3]} (${s.what}): ${m[4]}`
  })
  return { ok: result.status === 0, report: mapped.join('\n') }
}

// main

const main = (): number => {
  const checkOnly = process.argv.includes('--check')
  const api = apiMarkdown()
  const values = namespaces.flatMap((n) => n.module.declarations.filter((d) => VALUE_KINDS.has(d.kind)).map((d) => `${n.path}.${d.name}`))
  const undocumented = namespaces.flatMap((n) => n.module.declarations.filter((d) => VALUE_KINDS.has(d.kind) && d.doc.summary === '').map((d) => `${n.path}.${d.name}`))
  let failed = false
  if (checkOnly) {
    const current = existsSync(API_MD) ? readFileSync(API_MD, 'utf8') : ''
    if (current !== api) {
      console.error('docs/api.md is out of date: run `npm run docs`.')
      failed = true
    }
  } else {
    mkdirSync(dirname(API_MD), { recursive: true })
    writeFileSync(API_MD, api)
    console.log(`wrote ${relative(ROOT, API_MD)}: ${namespaces.length} namespaces, ${values.length} functions and constants`)
  }
  if (undocumented.length > 0) console.warn(`no JSDoc summary (${undocumented.length}): ${undocumented.join(', ')}`)
  const { ok, report } = checkSnippets()
  if (ok) {
    console.log(`type-checked ${snippets.length} examples (src/ @example blocks, README.md and docs/*.md ts blocks)`)
    rmSync(CHECK_DIR, { recursive: true, force: true })
  } else {
    console.error(`examples that do not type-check:\n${report}`)
    console.error(`(generated files kept in ${relative(ROOT, CHECK_DIR)})`)
    failed = true
  }
  return failed ? 1 : 0
}

process.exitCode = main()
