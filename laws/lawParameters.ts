/**
 * fast-check parameters for a law, overridable from the environment so a law can be run far longer
 * than `npm test` does (to show it holds, or to hunt a rare failure) and a failure can be replayed:
 *
 * - `NN_TS_LAW_RUNS=1000` runs every property of the file 1000 times instead of its own default;
 * - `NN_TS_LAW_SEED=<n>` fixes fast-check's seed (it prints the seed of any failure it finds), so the
 *   same cases are drawn again.
 *
 * Unset, each property keeps its default count and fast-check picks a fresh seed per run.
 */

/** An integer from the environment variable `name`, or `undefined` when it is unset or empty. */
const integerFromEnvironment = (name: string, min: number, max: number): number | undefined => {
  const text = process.env[name]?.trim()
  if (text === undefined || text === '') return undefined
  const value = Number(text)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${JSON.stringify(text)}: expected an integer from ${min} to ${max}, or leave it unset`)
  }
  return value
}

/** `{ numRuns, seed? }` for `fc.assert`: `defaultRuns` unless `NN_TS_LAW_RUNS` / `NN_TS_LAW_SEED` say otherwise. */
export const lawParameters = (defaultRuns: number): { numRuns: number; seed?: number } => {
  const numRuns = integerFromEnvironment('NN_TS_LAW_RUNS', 1, 10_000_000) ?? defaultRuns
  // fast-check seeds are 32-bit integers.
  const seed = integerFromEnvironment('NN_TS_LAW_SEED', -(2 ** 31), 2 ** 32 - 1)
  return seed === undefined ? { numRuns } : { numRuns, seed }
}
