/**
 * Builds the digit page into a folder of static files: `index.html`, `page.js` (the page's TypeScript
 * and nn-ts bundled by esbuild for browsers) and `checkpoint.safetensors` (the weights).
 *
 *   npm run web:build                                   # into examples/web/dist
 *   npm run web:build -- --out DIR --checkpoint FILE
 *
 * The weights are `out/mnist/checkpoint.safetensors` when `npm start` has written it, else the committed
 * fixture `examples/web/fixture-checkpoint.safetensors` (made by `examples/web/make-fixture.ts`).
 */
import * as esbuild from 'esbuild'
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { Checkpoint } from 'nn-ts'
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { classifierFromCheckpoint } from './digits.ts'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '..', '..')

/** Where the build looks for weights, in order. */
export const trainedCheckpoint = join(root, 'out', 'mnist', 'checkpoint.safetensors')
export const fixtureCheckpoint = join(here, 'fixture-checkpoint.safetensors')
/** The name of the weights next to the built page. */
export const PAGE_CHECKPOINT = 'checkpoint.safetensors'
export const defaultOutDir = join(here, 'dist')

/** What a build wrote. */
export interface Built {
  readonly outDir: string
  readonly checkpoint: string
  readonly network: string
  readonly bytes: Readonly<Record<string, number>>
}

/** The weights to use: `out/mnist/checkpoint.safetensors` if `npm start` wrote it, else the fixture. */
export const defaultCheckpoint = (): string => (existsSync(trainedCheckpoint) ? trainedCheckpoint : fixtureCheckpoint)

/**
 * Bundles the page into `outDir` with the weights of `checkpoint`, after checking in Node that the
 * checkpoint rebuilds a 784→10 classifier (so a bad file fails the build, not the page).
 */
export const buildPage = async (options: { readonly outDir: string; readonly checkpoint: string }): Promise<E.Either<string, Built>> => {
  const { outDir, checkpoint } = options
  let bytes: Uint8Array
  try {
    bytes = readFileSync(checkpoint)
  } catch (e) {
    return E.left(`cannot read the checkpoint ${checkpoint}: ${e instanceof Error ? e.message : String(e)}`)
  }
  const classifier = classifierFromCheckpoint(bytes)
  if (E.isLeft(classifier)) return E.left(`${checkpoint}: ${classifier.left}`)
  // The page reads one format: the current one (a version 1 file, like the fixture, is converted).
  const current = pipe(Checkpoint.decode(bytes), E.flatMap(Checkpoint.encode))
  if (E.isLeft(current)) return E.left(`${checkpoint}: ${current.left.message}`)
  mkdirSync(outDir, { recursive: true })
  const result = await esbuild.build({
    entryPoints: [join(here, 'page.ts')],
    outfile: join(outDir, 'page.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    // The repository's tsconfig maps `nn-ts` to its sources, so the page needs no prior `npm run build`.
    tsconfig: join(root, 'tsconfig.json'),
    logLevel: 'silent'
  }).then(
    () => E.right(undefined),
    (e: unknown) => E.left(`esbuild could not bundle the page: ${e instanceof Error ? e.message : String(e)}`)
  )
  if (E.isLeft(result)) return result
  copyFileSync(join(here, 'index.html'), join(outDir, 'index.html'))
  writeFileSync(join(outDir, PAGE_CHECKPOINT), current.right)
  const files = ['index.html', 'page.js', PAGE_CHECKPOINT]
  return E.right({
    outDir,
    checkpoint,
    network: classifier.right.name,
    bytes: Object.fromEntries(files.map((f) => [f, statSync(join(outDir, f)).size]))
  })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, checkpoint: { type: 'string' } } })
  const outDir = resolve(values.out ?? defaultOutDir)
  const checkpoint = resolve(values.checkpoint ?? defaultCheckpoint())
  const built = await buildPage({ outDir, checkpoint })
  if (E.isLeft(built)) {
    process.stderr.write(`web:build: ${built.left}\n`)
    process.exit(1)
  }
  const { network, bytes } = built.right
  const kb = (n: number | undefined) => `${((n ?? 0) / 1024).toFixed(0)} KB`
  process.stdout.write(
    `web:build: ${relative(process.cwd(), outDir) || '.'}/ — page.js ${kb(bytes['page.js'])}, ${PAGE_CHECKPOINT} ${kb(bytes[PAGE_CHECKPOINT])} ` +
      `from ${relative(process.cwd(), checkpoint)} (${network})\nserve it with: npm run web:serve\n`
  )
}
