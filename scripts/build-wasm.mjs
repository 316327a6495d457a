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
// The same kernels over a shared memory (WebAssembly threads), for the two-thread products.
const sharedOutput = path.join(root, 'build', 'nn-kernels-shared.wasm')
/** Pages of the shared memory's maximum; src/tensor/wasm/module.ts's MAX_PAGES must equal it. */
const MAX_PAGES = 16384
const flags = new Set(process.argv.slice(2))

// Plain SIMD only: relaxed SIMD needs a flag on Node 20. The stub runtime and --noAssert leave no
// allocator or abort import; the host provides the memory, which the shared build declares shared so
// a worker thread can run the same kernels on it.
const ascArgs = (outFile, shared) => [
  path.join(sourceDir, 'index.ts'),
  '--outFile', outFile,
  '--optimizeLevel', '3',
  '--shrinkLevel', '0',
  '--runtime', 'stub',
  '--noAssert',
  '--importMemory',
  ...(shared ? ['--enable', 'simd,threads', '--sharedMemory', '--maximumMemory', String(MAX_PAGES)] : ['--enable', 'simd'])
]

const mtime = (file) => fs.statSync(file).mtimeMs

const isStale = () => {
  if (!fs.existsSync(output) || !fs.existsSync(sharedOutput)) return true
  const inputs = [fileURLToPath(import.meta.url), ...fs.readdirSync(sourceDir).map((f) => path.join(sourceDir, f))]
  const built = Math.min(mtime(output), mtime(sharedOutput))
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
for (const [target, shared] of [[output, false], [sharedOutput, true]]) {
  const { error, stderr } = await asc.main(ascArgs(target, shared), {
    writeFile: (name, contents, baseDir) => {
      const file = path.resolve(baseDir, name)
      const tmp = `${file}.${process.pid}.tmp`
      fs.writeFileSync(tmp, contents)
      fs.renameSync(tmp, file)
    }
  })
  if (error) {
    process.stderr.write(`nn-ts: building ${path.relative(root, target)} failed: ${error.message}\n${stderr.toString()}`)
    process.exit(1)
  }
  process.stdout.write(`nn-ts: built ${path.relative(root, target)} (${fs.statSync(target).size} bytes)\n`)
}
