#!/usr/bin/env node
// `npm run build`: the WebAssembly kernels (if stale), then dist/ — ESM JavaScript, declarations and
// source maps — from src/. TypeScript rewrites the `.ts` specifiers of the JavaScript it emits to
// `.js` (rewriteRelativeImportExtensions) but leaves them in declarations, so they are rewritten here:
// a consumer's TypeScript must not meet `./x.ts` imports (TS5097 without allowImportingTsExtensions).
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.join(root, 'dist')

const run = (command, args) => {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

run(process.execPath, [path.join(root, 'scripts', 'build-wasm.mjs'), '--if-stale'])
fs.rmSync(dist, { recursive: true, force: true })
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')])

// from './x.ts', import('./x.ts'), declare module './x.ts' — relative specifiers only.
const TS_SPECIFIER = /((?:from|import\(|module)\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g
let rewritten = 0
const walk = (dir) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) walk(file)
    else if (entry.name.endsWith('.d.ts')) {
      const text = fs.readFileSync(file, 'utf8')
      const next = text.replace(TS_SPECIFIER, (_, head, spec, tail) => `${head}${spec}.js${tail}`)
      if (next !== text) {
        fs.writeFileSync(file, next)
        rewritten++
      }
    }
  }
}
walk(dist)

// Bundlers read package.json#browser to give browsers fp-ts's ES modules (tree-shakeable: the core's
// bundle is ~27 kB smaller); every fp-ts module dist imports must be in that map.
const browser = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).browser ?? {}
const unmapped = new Set()
const scan = (dir) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) scan(file)
    else if (entry.name.endsWith('.js')) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/from\s*['"](fp-ts\/lib\/[A-Za-z]+\.js)['"]/g)) if (!(m[1] in browser)) unmapped.add(m[1])
    }
  }
}
scan(dist)
if (unmapped.size > 0) {
  process.stderr.write(`nn-ts: package.json#browser lacks ${[...unmapped].join(', ')} (map each to fp-ts/es6/…)\n`)
  process.exit(1)
}
fs.chmodSync(path.join(dist, 'cli', 'main.js'), 0o755)
process.stdout.write(`nn-ts: built dist/ (${rewritten} declaration files had their .ts specifiers rewritten)\n`)
