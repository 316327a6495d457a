/**
 * nn-ts in a real browser (Debian's headless Chromium, driven by puppeteer-core), as users get it:
 * (i) the core, installed from the packed tarball into a fresh project and bundled by esbuild for
 * browsers, trains XOR on the WebAssembly kernels; (ii) the digit page of examples/web, built from the
 * committed fixture weights, classifies real MNIST test images as Node does, and reads digits drawn
 * with the mouse. Pages are served from 127.0.0.1 by the example's own static server.
 */
import * as esbuild from 'esbuild'
import * as E from 'fp-ts/lib/Either.js'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Data, Tensor } from 'nn-ts'
import * as Node from 'nn-ts/node'
import type { Browser, Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureCheckpoint, buildPage } from '../examples/web/build.ts'
import { type Classifier, type Prediction, classifierFromCheckpoint, preprocess } from '../examples/web/digits.ts'
import { type Serving, serveDirectory } from '../examples/web/serve.ts'

// What the functions handed to page.evaluate see in Chromium: this file is type-checked without the
// DOM lib (so no core module can lean on browser-only globals unnoticed), so the page's few globals
// are declared here.
declare const window: {
  readonly nnTs: { readonly ready: Promise<void>; readonly classify: (pixels: ArrayLike<number>) => Prediction }
  readonly xorResult?: unknown
}
declare const requestAnimationFrame: (callback: (time: number) => void) => number

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
const SKIPPED = `SKIPPED: ${CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)`
if (!hasChromium) console.warn(`test/browser.test.ts: the Chromium tests are ${SKIPPED}`)

/** The first images of the MNIST test set the page is checked on, and how many of them it must get right. */
const IMAGES = 20
const MIN_RIGHT = 18

const fixture = (): Classifier =>
  E.getOrElseW((message: string) => {
    throw new Error(`${fixtureCheckpoint}: ${message}`)
  })(classifierFromCheckpoint(readFileSync(fixtureCheckpoint)))

const mnistTest = (): Data.Dataset => {
  const files = Node.mnistFiles()
  return E.getOrElseW((e: Data.DataError) => {
    throw new Error(`${e.file}: ${e.message}`)
  })(Node.loadLabelledIdx(files.testImages, files.testLabels, 10)())
}

const labelsOf = (classifier: Classifier, images: ReadonlyArray<ReadonlyArray<number>>): number[] =>
  images.map((pixels) =>
    E.getOrElseW((message: string) => {
      throw new Error(message)
    })(classifier.classify(pixels)).label
  )

/** The MNIST test set, read once for the whole file. */
let mnist: Data.Dataset
beforeAll(() => {
  mnist = mnistTest()
}, 30_000)

describe('the digit page in Node', () => {
  it('the committed fixture rebuilds from its spec and classifies the MNIST test set at ≥ 95 %', () => {
    const test = mnist
    const labels = fixture().labels(test.inputs)
    const accuracy = labels.filter((label, i) => label === test.labels[i]).length / Data.size(test)
    expect(accuracy).toBeGreaterThanOrEqual(0.95)
    expect(readFileSync(fixtureCheckpoint).length, 'fixture size in bytes').toBeLessThanOrEqual(300 * 1024)
  })

  it('preprocessing an enlarged, off-centre MNIST digit gives back a digit the network reads as the original', () => {
    // Each test image drawn 8 times larger at an offset on a 280×280 RGBA canvas, as the page sees a
    // drawing: preprocessing must undo size and position (20×20 box, center of mass at the center).
    const classifier = fixture()
    const images = Tensor.toRows(Tensor.sliceRows(mnist.inputs, 0, IMAGES))
    const canvas = (pixels: ReadonlyArray<number>, offsetX: number, offsetY: number) => {
      const [side, zoom] = [280, 8]
      const data = new Uint8ClampedArray(side * side * 4)
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const [sx, sy] = [Math.floor((x - offsetX) / zoom), Math.floor((y - offsetY) / zoom)]
          const v = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? Math.round(255 * (pixels[sy * 28 + sx] ?? 0)) : 0
          data.set([v, v, 0, 255], 4 * (y * side + x))
        }
      }
      return { width: side, height: side, data }
    }
    const original = labelsOf(classifier, images)
    const redrawn = labelsOf(
      classifier,
      images.map((pixels, i) => preprocess(canvas(pixels, 7 * (i % 7), 5 * (i % 11))) ?? [])
    )
    const same = redrawn.filter((label, i) => label === original[i]).length
    expect(same, `original ${original.join(' ')}\nredrawn  ${redrawn.join(' ')}`).toBeGreaterThanOrEqual(MIN_RIGHT)
    expect(preprocess({ width: 4, height: 4, data: new Uint8ClampedArray(64) }), 'a blank canvas').toBeUndefined()
  })
})

/** Runs a command; rejects with its output when it fails or outlives `timeout` ms. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string, timeout: number): Promise<string> =>
  new Promise((done, fail) => {
    // The npm_* variables of an enclosing `npm test` would configure the inner npm; only the cache is kept.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || /^npm_config_cache$/i.test(k)))
    execFile(command, args, { cwd, timeout, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null ? done(stdout) : fail(new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`))
    )
  })

const withTimeout = <A>(what: string, ms: number, promise: Promise<A>): Promise<A> =>
  Promise.race([promise, new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`${what} took longer than ${ms} ms`)), ms).unref())])

/** The XOR program a user would bundle: the core only, nothing of Node. */
const XOR_ENTRY = `
import * as E from 'fp-ts/lib/Either.js'
import { Data, Layers, Loss, Optim, Tensor, Train } from 'nn-ts'

const trainXor = () => {
  const inputs = Tensor.fromRows([[0, 0], [0, 1], [1, 0], [1, 1]])
  const data = Data.fromLabelled(inputs, [0, 1, 1, 0], 2)
  if (E.isLeft(data)) throw new Error(data.left.message)
  const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
  const optimizer = Optim.sgd(0.5)
  const steps = Array.from({ length: 500 }, () => data.right)
  const [result, state] = Train.traverseSteps(Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer))(steps)(
    Train.initialState(network, optimizer, 0)
  )
  if (E.isLeft(result)) throw new Error(result.left.message)
  const { error, loss } = Train.evaluate(network, Loss.softmaxCrossEntropy, state.params, state.layerState, [data.right])
  return { backend: Tensor.backendName(), accuracy: 1 - error, loss, predictions: Train.predictLabels(network, state.params, state.layerState, inputs) }
}

try {
  window.xorResult = trainXor()
} catch (e) {
  window.xorResult = { error: e instanceof Error ? e.stack ?? e.message : String(e) }
}
`

/** The tarball packed and installed into a fresh project, with a page that runs the XOR program bundled for browsers. */
const prepareXorPage = async (temp: string): Promise<{ readonly www: string; readonly bundle: esbuild.BuildResult<{ metafile: true }> }> => {
  if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is not built: run `npm run build` (npm test does it first)')
  const pack = join(temp, 'pack')
  const consumer = join(temp, 'consumer')
  const www = join(consumer, 'www')
  mkdirSync(pack)
  mkdirSync(www, { recursive: true })
  // dist/ is already built (npm test's pretest): packing must not rebuild it under other tests' feet.
  await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', pack], root, 60_000)
  const tarball = readdirSync(pack).find((f) => f.endsWith('.tgz'))
  if (tarball === undefined) throw new Error(`npm pack wrote no tarball into ${pack}`)
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'browser-consumer', private: true, type: 'module' }))
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(pack, tarball), 'fp-ts', 'io-ts'], consumer, 60_000)
  writeFileSync(join(consumer, 'xor.js'), XOR_ENTRY)
  writeFileSync(join(www, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="xor.js"></script>\n')
  // platform browser: a Node built-in anywhere in the graph cannot resolve and fails the build.
  const bundle = await esbuild.build({
    absWorkingDir: consumer,
    entryPoints: ['xor.js'],
    outfile: join(www, 'xor.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    metafile: true,
    logLevel: 'silent'
  })
  return { www, bundle }
}

/** The digit page built into `outDir` from the committed fixture (never from a prior `npm start`). */
const prepareDigitPage = async (outDir: string): Promise<string> => {
  const built = await buildPage({ outDir, checkpoint: fixtureCheckpoint })
  if (E.isLeft(built)) throw new Error(built.left)
  return outDir
}

describe.skipIf(!hasChromium)(`in headless Chromium${hasChromium ? '' : ` — ${SKIPPED}`}`, () => {
  let temp = ''
  const servers: Serving[] = []
  let browser: Browser | undefined
  // Started together with Chromium; each test awaits (and fails on) its own.
  let xorPage: ReturnType<typeof prepareXorPage> | undefined
  let digitPage: Promise<string> | undefined
  const prepared = <A>(p: Promise<A> | undefined): Promise<A> => p ?? Promise.reject(new Error('the page was not prepared (beforeAll failed)'))
  /** What each page printed to its console or threw, for failure messages. */
  const logs: string[] = []

  beforeAll(async () => {
    temp = mkdtempSync(join(tmpdir(), 'nn-ts-browser-'))
    xorPage = prepareXorPage(temp)
    digitPage = prepareDigitPage(join(temp, 'page'))
    // Handled where a test awaits them; this only keeps a failure from being reported as unhandled too.
    xorPage.catch(() => undefined)
    digitPage.catch(() => undefined)
    const puppeteer = await import('puppeteer-core')
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: join(temp, 'profile'),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 30_000,
      protocolTimeout: 30_000
    })
  }, 40_000)

  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => withTimeout('closing a server', 5_000, s.close())))
    if (browser !== undefined) {
      const process = browser.process()
      await withTimeout('closing Chromium', 10_000, browser.close()).catch(() => process?.kill('SIGKILL'))
    }
    // npm and esbuild may still be writing into temp when a test failed early (each has its own timeout).
    await withTimeout('preparing the pages', 60_000, Promise.allSettled([xorPage, digitPage].filter((p) => p !== undefined))).catch(() => undefined)
    if (temp !== '') rmSync(temp, { recursive: true, force: true })
  }, 90_000)

  const open = async (dir: string, path = ''): Promise<Page> => {
    if (browser === undefined) throw new Error('Chromium did not start')
    const serving = await serveDirectory(dir, 0)
    servers.push(serving)
    const page = await browser.newPage()
    page.setDefaultTimeout(30_000)
    page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`))
    page.on('pageerror', (e) => logs.push(`page error: ${e instanceof Error ? e.message : String(e)}`))
    await page.goto(`${serving.url}${path}`, { waitUntil: 'load' })
    return page
  }

  it('the core, installed from the packed tarball and bundled by esbuild for browsers, trains XOR to 100 % on WebAssembly', async () => {
    const { www, bundle } = await prepared(xorPage)
    expect(bundle.errors).toEqual([])
    const inputs = Object.keys(bundle.metafile.inputs)
    expect(inputs.filter((f) => f.includes('node_modules/nn-ts/dist/')).length, 'bundled files of the installed nn-ts').toBeGreaterThan(0)
    const imports = Object.values(bundle.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path))
    expect(imports.filter((p) => p.startsWith('node:')), 'Node built-ins in the bundle').toEqual([])

    const page = await open(www)
    await page.waitForFunction(() => (window as unknown as { xorResult?: unknown }).xorResult !== undefined, { timeout: 30_000 })
    const result = await page.evaluate(() => (window as unknown as { xorResult: unknown }).xorResult)
    expect(result, logs.join('\n')).toMatchObject({ accuracy: 1, predictions: [0, 1, 1, 0] })
    expect((result as { backend: string }).backend, 'Tensor.backendName() in Chromium').toMatch(/^wasm/)
    expect(logs.filter((l) => l.startsWith('page error')), 'page errors').toEqual([])
  }, 120_000)

  it(`the digit page classifies the first ${IMAGES} MNIST test images as the same network does in Node`, async () => {
    const outDir = await prepared(digitPage)
    const images = Tensor.toRows(Tensor.sliceRows(mnist.inputs, 0, IMAGES))
    const truth = mnist.labels.slice(0, IMAGES)
    const inNode = labelsOf(fixture(), images)

    const page = await open(outDir)
    await page.evaluate(() => window.nnTs.ready)
    const inBrowser = await page.evaluate((all: ReadonlyArray<ReadonlyArray<number>>) => all.map((pixels) => window.nnTs.classify(pixels)), images)
    const browserLabels = inBrowser.map((p: Prediction) => p.label)
    const report = `truth   ${truth.join(' ')}\nNode    ${inNode.join(' ')}\nbrowser ${browserLabels.join(' ')}\n${logs.join('\n')}`
    // Every image Node gets right, the browser gets right too (the same label).
    truth.forEach((label, i) => {
      if (inNode[i] === label) expect(browserLabels[i], `image ${i}\n${report}`).toBe(label)
    })
    expect(browserLabels.filter((label, i) => label === truth[i]).length, report).toBeGreaterThanOrEqual(MIN_RIGHT)
    for (const p of inBrowser) expect(p.probabilities).toHaveLength(10)
    expect(await page.$eval('#about', (e) => e.textContent ?? ''), 'the page names its kernels').toMatch(/ wasm/)
  }, 60_000)

  it('the digit page reads digits drawn with the mouse, and Clear clears', async () => {
    const page = await open(await prepared(digitPage))
    await page.evaluate(() => window.nnTs.ready)
    const pad = await page.$('#pad')
    const box = await pad?.boundingBox()
    if (box == null) throw new Error('the page has no visible #pad')
    // Strokes in pad pixels (280×280), as a person would draw them.
    const drawings: ReadonlyArray<readonly [number, ReadonlyArray<ReadonlyArray<readonly [number, number]>>]> = [
      [1, [[[150, 50], [140, 140], [132, 230]]]],
      [7, [[[80, 70], [200, 70], [150, 150], [120, 230]]]],
      [0, [[[140, 50], [90, 80], [80, 150], [100, 215], [150, 230], [190, 190], [200, 120], [180, 65], [140, 50]]]],
      [3, [[[90, 70], [140, 55], [185, 75], [180, 115], [140, 135]], [[140, 135], [190, 160], [190, 205], [140, 225], [90, 210]]]]
    ]
    for (const [digit, strokes] of drawings) {
      await page.click('#clear')
      expect(await page.$eval('#label', (e) => e.textContent)).toBe('')
      for (const stroke of strokes) {
        const [first, ...rest] = stroke
        if (first === undefined) continue
        await page.mouse.move(box.x + first[0], box.y + first[1])
        await page.mouse.down()
        for (const [x, y] of rest) await page.mouse.move(box.x + x, box.y + y, { steps: 4 })
        await page.mouse.up()
      }
      // The page classifies on the next animation frame: wait two, so the last stroke is included.
      await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))))
      expect(await page.$eval('#label', (e) => e.textContent), `the drawn ${digit}\n${logs.join('\n')}`).toBe(String(digit))
    }
    expect(logs.filter((l) => l.startsWith('page error')), 'page errors').toEqual([])
  }, 60_000)
})
