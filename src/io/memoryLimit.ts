/**
 * How much memory nn-ts lets itself plan for (Node only). Inputs that would need more — a model
 * whose estimated training memory is larger, a data file or a decompressed stream whose header
 * claims more — are refused with the estimate in the message, before anything that large is
 * allocated, instead of failing half-way (or taking the machine down) later.
 *
 * @since 0.2.0
 * @internal
 */
import { totalmem } from 'node:os'
import { showBytes } from './showBytes.ts'

/**
 * The share of physical memory one nn-ts process plans to use: half, leaving the rest to the system,
 * to other processes and to what the estimates leave out (the JavaScript heap, the runtime).
 * @internal
 */
export const MEMORY_SHARE = 0.5

/**
 * The limit itself: `MEMORY_SHARE` of `os.totalmem()`. Read when a command runs, not when the module
 * loads. @internal
 */
export const memoryLimit = (): number => Math.floor(totalmem() * MEMORY_SHARE)

/** `memoryLimit()` in words, with where it comes from: "11.7 GiB (half of this machine's 23.5 GiB of memory)". @internal */
export const describeMemoryLimit = (): string => `${showBytes(memoryLimit())} (half of this machine's ${showBytes(totalmem())} of memory)`

/**
 * The most elements one typed array can hold in V8 (Node 20 to 24): `new Float32Array(2 ** 32 + 1)`
 * throws "Invalid typed array length". Every tensor is one typed array, so this bounds any one
 * tensor whatever the memory. @internal
 */
export const MAX_ARRAY_ELEMENTS = 2 ** 32
