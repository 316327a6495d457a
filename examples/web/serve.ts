/**
 * A small static file server for the built digit page, on 127.0.0.1 only.
 *
 *   npm run web:serve               # http://127.0.0.1:8080/
 *   PORT=3000 npm run web:serve
 *
 * Serves `examples/web/dist` (what `npm run web:build` writes), or the folder given as an argument.
 */
import { createReadStream, existsSync, statSync } from 'node:fs'
import { type Server, createServer } from 'node:http'
import { type AddressInfo } from 'node:net'
import { dirname, extname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** Where `npm run web:build` writes the page. */
const defaultRoot = join(dirname(fileURLToPath(import.meta.url)), 'dist')

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm'
}

/** A running server: its URL (ending in `/`) and how to stop it. */
export interface Serving {
  readonly url: string
  readonly close: () => Promise<void>
}

/** The file a request path names inside `root`, or `undefined` when it names none (or leaves `root`). */
const fileFor = (root: string, urlPath: string): string | undefined => {
  let path: string
  try {
    path = decodeURIComponent(urlPath.split('?')[0] ?? '/')
  } catch {
    return undefined
  }
  const file = resolve(root, `.${path.endsWith('/') ? `${path}index.html` : path}`)
  if (file !== root && !file.startsWith(root + sep)) return undefined
  return existsSync(file) && statSync(file).isFile() ? file : undefined
}

/** Serves the files under `root` (GET and HEAD) on `host:port`; port 0 picks a free port. */
export const serveDirectory = (root: string, port: number, host = '127.0.0.1'): Promise<Serving> => {
  const dir = resolve(root)
  const server: Server = createServer((request, response) => {
    const file = request.method === 'GET' || request.method === 'HEAD' ? fileFor(dir, request.url ?? '/') : undefined
    if (file === undefined) {
      response.writeHead(request.method === 'GET' || request.method === 'HEAD' ? 404 : 405, { 'content-type': 'text/plain; charset=utf-8' })
      response.end(`not found: ${request.url ?? ''}\n`)
      return
    }
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-store'
    })
    if (request.method === 'HEAD') response.end()
    else createReadStream(file).pipe(response)
  })
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo
      resolvePromise({
        url: `http://${host}:${address.port}/`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = resolve(process.argv[2] ?? defaultRoot)
  const portText = process.env['PORT'] ?? '8080'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) {
    process.stderr.write(`web:serve: PORT must be a port number (0 to 65535), got '${portText}'\n`)
    process.exit(2)
  }
  if (!existsSync(join(root, 'index.html'))) {
    process.stderr.write(`web:serve: ${relative(process.cwd(), root) || '.'}/index.html does not exist: run \`npm run web:build\` first\n`)
    process.exit(1)
  }
  serveDirectory(root, port).then(
    ({ url }) => process.stdout.write(`serving ${relative(process.cwd(), root) || '.'}/ at ${url}  (Ctrl+C stops)\n`),
    (e: unknown) => {
      process.stderr.write(`web:serve: cannot listen on 127.0.0.1:${port}: ${e instanceof Error ? e.message : String(e)}\n`)
      process.exit(1)
    }
  )
}
