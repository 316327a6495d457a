/**
 * Loading an optional peer dependency of a Node-only entry point (`nn-ts/node`, `nn-ts/viz`) when it is
 * first needed, with a one-line error naming the package to install when it is missing.
 *
 * @since 0.2.0
 * @internal
 */
import { createRequire } from 'node:module'

const requireHere = createRequire(import.meta.url)

const isMissing = (e: unknown): boolean => {
  const code = (e as { code?: unknown }).code
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND'
}

const missing = (name: string, what: string): Error =>
  new Error(`nn-ts: ${what} needs the package ${name}, which is not installed: npm install ${name}`)

/**
 * The package `name`, loaded synchronously (CommonJS, or ESM without top-level await on Node ≥ 20.19).
 * Throws `Error("nn-ts: <what> needs the package <name>: npm install <name>")` when it is not installed.
 * @internal
 */
export const requireOptional = <M>(name: string, what: string): M => {
  try {
    return requireHere(name) as M
  } catch (e) {
    throw isMissing(e) ? missing(name, what) : e
  }
}

/**
 * The ES module `name` (for packages with top-level await, which `require` cannot load), with the same
 * error as `requireOptional` when it is not installed.
 * @internal
 */
export const importOptional = async <M>(name: string, what: string): Promise<M> => {
  try {
    return (await import(name)) as M
  } catch (e) {
    throw isMissing(e) ? missing(name, what) : e
  }
}
