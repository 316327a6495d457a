#!/usr/bin/env node
// Compiles the AssemblyScript kernels (assembly/) into build/nn-kernels.wasm, the module the
// WebAssembly backend (src/tensor/wasm/) loads. Plain JavaScript so it runs from `npm ci` before
// anything else is set up.
//
//   node scripts/build-wasm.mjs              build, fail on any error        (npm run build:wasm)
//   node scripts/build-wasm.mjs --if-stale   build only if a source is newer than the output (pretest)
//   node scripts/build-wasm.mjs --optional   without the compiler (a production install), warn and
//                                            succeed: the library then uses its reference kernels (prepare)
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const sourceDir = path.join(root, 'assembly')
const output = path.join(root, 'build', 'nn-kernels.wasm')
const flags = new Set(process.argv.slice(2))

// Plain SIMD only: relaxed SIMD needs a flag on Node 20. The stub runtime and --noAssert leave no
// allocator or abort import; the host provides the memory so several threads could share one.
const ascArgs = [
  path.join(sourceDir, 'index.ts'),
  '--outFile', output,
  '--optimizeLevel', '3',
  '--shrinkLevel', '0',
  '--runtime', 'stub',
  '--noAssert',
  '--enable', 'simd',
  '--importMemory'
]

const mtime = (file) => fs.statSync(file).mtimeMs

const isStale = () => {
  if (!fs.existsSync(output)) return true
  const inputs = [fileURLToPath(import.meta.url), ...fs.readdirSync(sourceDir).map((f) => path.join(sourceDir, f))]
  const built = mtime(output)
  return inputs.some((f) => mtime(f) > built)
}

if (flags.has('--if-stale') && !isStale()) process.exit(0)

let asc
try {
  asc = (await import('assemblyscript/asc')).default
} catch (e) {
  const message = `nn-ts: cannot load the AssemblyScript compiler (${e instanceof Error ? e.message : e}); build/nn-kernels.wasm not built`
  if (flags.has('--optional')) {
    process.stderr.write(`${message}. The library will use its reference TypeScript kernels.\n`)
    process.exit(0)
  }
  process.stderr.write(`${message}.\n`)
  process.exit(1)
}

fs.mkdirSync(path.dirname(output), { recursive: true })
// Write through a temporary file and rename, so a test run reading the module never sees half of it.
const { error, stderr } = await asc.main(ascArgs, {
  writeFile: (name, contents, baseDir) => {
    const target = path.resolve(baseDir, name)
    const tmp = `${target}.${process.pid}.tmp`
    fs.writeFileSync(tmp, contents)
    fs.renameSync(tmp, target)
  }
})
if (error) {
  process.stderr.write(`nn-ts: building ${path.relative(root, output)} failed: ${error.message}\n${stderr.toString()}`)
  process.exit(1)
}
process.stdout.write(`nn-ts: built ${path.relative(root, output)} (${fs.statSync(output).size} bytes)\n`)
