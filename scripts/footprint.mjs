#!/usr/bin/env node
// What nn-ts costs the people who install it (issue 10, item 6), measured on the package as published:
// the tarball `npm pack` makes of dist/; the node_modules of a fresh project that installs it with its
// required peers only (`npm install nn-ts fp-ts io-ts`); and the core bundled for a browser by esbuild,
// minified, with nothing of Node in it. Sizes are deterministic for a given dist/ and peer versions.
//
//   node scripts/footprint.mjs            pack, install into a temporary project, measure, print, clean up
//   node scripts/footprint.mjs --json     the same, as JSON
//   node scripts/footprint.mjs --tarball <file> --consumer <dir> [--json]
//                                          measure a tarball already packed and a project that already has it
//                                          installed with its required peers (the consumer test's)
//
// Exits 1 when a limit is exceeded or the browser bundle cannot be built. Needs dist/ (`npm run build`).
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as zlib from 'node:zlib'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Limits, in decimal units as `du -sb` counts. Issue 10 asks for a core browser bundle ≤ 150 kB: a
 * training program's bundle (what a user ships) meets it; the bundle of every export at once does not
 * (178.6 kB in 0.2.0), so its limit only keeps it from growing further while that target stays open.
 */
export const LIMITS = { installBytes: 15_000_000, programBytes: 150_000, everythingBytes: 185_000 }

/** Every export, so nothing can be dropped; printing the backend shows the embedded kernels survived. */
const EVERYTHING = "import * as nn from 'nn-ts'\nconsole.log(nn.Tensor.backendName(), Object.keys(nn).join(' '))\n"

/** A training program as a user writes it: what a bundler keeps of the core for it. */
const PROGRAM = `import * as E from 'fp-ts/lib/Either.js'
import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'
const inputs = Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]])
const xor = Data.fromLabelled(inputs, [0, 1, 1, 0], 2)
if (E.isLeft(xor)) throw new Error(xor.left.message)
const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
const optimizer = Optim.adam(0.05)
const [r, s] = Train.traverseSteps(Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer))(Array.from({ length: 300 }, () => xor.right))(Train.initialState(network, optimizer, 0))
console.log(Tensor.backendName(), E.isRight(r), Train.predictLabels(network, s.params, s.layerState, inputs))
`

const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))

/** The peers an install needs: every peer dependency not marked optional. */
export const requiredPeers = () => {
  const optional = manifest.peerDependenciesMeta ?? {}
  return Object.keys(manifest.peerDependencies ?? {}).filter((name) => optional[name]?.optional !== true)
}

const npm = (args, cwd) => {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8' })
  if (r.error !== undefined) throw r.error
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed in ${cwd} (exit ${r.status}):\n${r.stderr}`)
  return r.stdout
}

/** `npm pack` of the repository into `destination` (dist/ must be built: scripts are skipped). */
export const pack = (destination) => {
  const [info] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', destination], root))
  return path.join(destination, info.filename)
}

/** A fresh ESM project in `dir` with the tarball and the required peers installed. */
export const installConsumer = (dir, tarball, packages = requiredPeers()) => {
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'nn-ts-consumer', private: true, type: 'module' }, null, 2)}\n`)
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...packages], dir)
}

/** The entries of a gzipped tar (an npm tarball): POSIX ustar headers, 512-byte blocks. */
const tarEntries = (file) => {
  const tar = zlib.gunzipSync(fs.readFileSync(file))
  const field = (block, start, length) => tar.subarray(block + start, block + start + length).toString('utf8').replace(/\0.*$/s, '')
  const entries = []
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = field(at, 0, 100)
    if (name === '') break // the two zero blocks that end the archive
    const size = Number.parseInt(field(at, 124, 12).trim() || '0', 8)
    const prefix = field(at, 345, 155)
    const type = field(at, 156, 1)
    if (type === '0' || type === '') entries.push({ path: prefix === '' ? name : `${prefix}/${name}`, size })
    at += 512 + Math.ceil(size / 512) * 512
  }
  return entries
}

/** What `du -sb` prints: apparent sizes of every file, directory and link below `dir` (and itself), hard links once. */
const apparentSize = (dir) => {
  const seen = new Set()
  const walk = (p) => {
    const st = fs.lstatSync(p)
    const id = `${st.dev}:${st.ino}`
    if (seen.has(id)) return 0
    seen.add(id)
    return st.size + (st.isDirectory() ? fs.readdirSync(p).reduce((sum, name) => sum + walk(path.join(p, name)), 0) : 0)
  }
  return walk(dir)
}

/** Bytes per installed package (scoped ones by their full name), largest first. */
const sizeByPackage = (nodeModules) =>
  fs
    .readdirSync(nodeModules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) =>
      name.startsWith('@') ? fs.readdirSync(path.join(nodeModules, name)).map((inner) => `${name}/${inner}`) : [name]
    )
    .map((name) => ({ name, bytes: apparentSize(path.join(nodeModules, name)) }))
    .sort((a, b) => b.bytes - a.bytes)

/** The package a bundled input comes from ('(entry)' for the entry itself). */
const packageOf = (input) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
  return m === null ? '(entry)' : m[1]
}

/**
 * The core bundled for browsers by esbuild (`--bundle --minify --platform=browser --format=esm`) from
 * the entry `source`, written in `consumerDir`. Writes the bundle to `outFile`.
 */
export const bundleCore = async (consumerDir, outFile, source = EVERYTHING) => {
  const { build } = await import('esbuild')
  const entry = outFile.replace(/\.js$/, '-entry.mjs')
  fs.mkdirSync(path.dirname(outFile), { recursive: true })
  fs.writeFileSync(entry, source)
  try {
    const result = await build({
      entryPoints: [entry],
      absWorkingDir: consumerDir,
      bundle: true,
      minify: true,
      platform: 'browser',
      format: 'esm',
      outfile: outFile,
      metafile: true,
      logLevel: 'silent'
    })
    const code = fs.readFileSync(outFile)
    const [output] = Object.values(result.metafile.outputs)
    const byPackage = new Map()
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput)
    }
    return {
      ok: true,
      bytes: code.length,
      gzipBytes: zlib.gzipSync(code, { level: 9 }).length,
      packages: [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
      largestInputs: Object.entries(output.inputs)
        .map(([input, { bytesInOutput }]) => ({ input: input.replace(/^.*node_modules\//, ''), bytes: bytesInOutput }))
        .sort((a, b) => b.bytes - a.bytes)
        .slice(0, 8),
      errors: []
    }
  } catch (e) {
    const errors = (e.errors ?? [{ text: String(e) }]).map((m) => (m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text))
    return { ok: false, errors }
  }
}

/** Every number of the footprint, for a tarball and a project that has it installed with its required peers. */
export const measure = async (tarball, consumerDir) => {
  const entries = tarEntries(tarball)
  const nodeModules = path.join(consumerDir, 'node_modules')
  return {
    node: process.version,
    version: manifest.version,
    tarball: {
      file: path.basename(tarball),
      bytes: fs.statSync(tarball).size,
      files: entries.length,
      unpackedBytes: entries.reduce((sum, e) => sum + e.size, 0)
    },
    install: {
      command: `npm install ${[manifest.name, ...requiredPeers()].join(' ')}`,
      bytes: apparentSize(nodeModules),
      limit: LIMITS.installBytes,
      packages: sizeByPackage(nodeModules)
    },
    bundle: { ...(await bundleCore(consumerDir, path.join(consumerDir, 'footprint', 'core.min.js'))), limit: LIMITS.everythingBytes },
    program: { ...(await bundleCore(consumerDir, path.join(consumerDir, 'footprint', 'program.min.js'), PROGRAM)), limit: LIMITS.programBytes }
  }
}

/** The problems a footprint has: limits exceeded, a bundle that does not build. */
export const problems = (f) => [
  ...(f.install.bytes > f.install.limit ? [`node_modules is ${f.install.bytes} bytes, over the limit of ${f.install.limit}`] : []),
  ...(!f.bundle.ok ? [`the core does not bundle for browsers:\n  ${f.bundle.errors.join('\n  ')}`] : []),
  ...(f.bundle.ok && f.bundle.bytes > f.bundle.limit ? [`the core's browser bundle is ${f.bundle.bytes} bytes, over the limit of ${f.bundle.limit}`] : []),
  ...(!f.program.ok ? [`a training program does not bundle for browsers:\n  ${f.program.errors.join('\n  ')}`] : []),
  ...(f.program.ok && f.program.bytes > f.program.limit ? [`a training program's browser bundle is ${f.program.bytes} bytes, over the limit of ${f.program.limit}`] : [])
]

const kb = (bytes) => `${(bytes / 1000).toFixed(1)} kB`
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`

/** The footprint as the README shows it. */
export const report = (f) =>
  [
    `nn-ts ${f.version} footprint (Node ${f.node}; 1 kB = 1000 bytes)`,
    `  tarball             ${kb(f.tarball.bytes)}, ${f.tarball.files} files (${mb(f.tarball.unpackedBytes)} unpacked)`,
    `  ${f.install.command}: node_modules ${mb(f.install.bytes)} (du -sb; limit ${mb(f.install.limit)}): ` +
      f.install.packages.map((p) => `${p.name} ${mb(p.bytes)}`).join(', '),
    f.program.ok
      ? `  a training program's browser bundle ${kb(f.program.bytes)} minified (limit ${kb(f.program.limit)}), ${kb(f.program.gzipBytes)} gzip -9`
      : `  a training program's browser bundle FAILED:\n    ${f.program.errors.join('\n    ')}`,
    f.bundle.ok
      ? `  every export of the core ${kb(f.bundle.bytes)} minified (issue 10's target: 150 kB, not met; guard ${kb(f.bundle.limit)}), ${kb(f.bundle.gzipBytes)} gzip -9: ` +
        f.bundle.packages.map((p) => `${p.name} ${kb(p.bytes)}`).join(', ')
      : `  core browser bundle FAILED:\n    ${f.bundle.errors.join('\n    ')}`
  ].join('\n')

const main = async () => {
  const args = process.argv.slice(2)
  const option = (name) => {
    const i = args.indexOf(name)
    return i < 0 ? undefined : args[i + 1]
  }
  const json = args.includes('--json')
  let tarball = option('--tarball')
  let consumer = option('--consumer')
  if ((tarball === undefined) !== (consumer === undefined)) throw new Error('pass both --tarball and --consumer, or neither')
  let temp
  if (tarball === undefined) {
    if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first')
    temp = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-ts-footprint-'))
    tarball = pack(temp)
    consumer = path.join(temp, 'consumer')
    installConsumer(consumer, tarball)
  }
  try {
    const f = await measure(path.resolve(tarball), path.resolve(consumer))
    process.stdout.write(json ? `${JSON.stringify(f, null, 2)}\n` : `${report(f)}\n`)
    const found = problems(f)
    if (found.length > 0) {
      if (!json) process.stderr.write(`${found.join('\n')}\n`)
      process.exitCode = 1
    }
  } finally {
    if (temp !== undefined) fs.rmSync(temp, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    process.stderr.write(`footprint: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exitCode = 2
  })
}
