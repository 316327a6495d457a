/**
 * The kernels module over a shared memory, derived from the plain one. AssemblyScript's two builds
 * (`--importMemory` with and without `--sharedMemory --maximumMemory N`) differ only in the limits of
 * the imported memory — flags `0x00` and a minimum, against flags `0x03` (has a maximum, shared), the
 * minimum and the maximum — so the package embeds one module and rewrites that one import here
 * (test/wasm-module.test.ts checks the result equals the shared build byte for byte).
 *
 * @since 0.2.0
 * @internal
 */

/** An unsigned LEB128 number at `at`: its value and the offset after it. */
const readU32 = (bytes: Uint8Array, at: number): [number, number] => {
  let value = 0
  let shift = 0
  let i = at
  for (;;) {
    const byte = bytes[i++]
    if (byte === undefined || shift > 28) throw new RangeError(`malformed LEB128 at byte ${at}`)
    value += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) return [value, i]
    shift += 7
  }
}

const u32 = (value: number): number[] => {
  const out: number[] = []
  let v = value
  do {
    const byte = v % 128
    v = Math.floor(v / 128)
    out.push(v === 0 ? byte : byte | 0x80)
  } while (v !== 0)
  return out
}

const IMPORT_SECTION = 2
const MEMORY_IMPORT = 2
const SHARED_WITH_MAXIMUM = 0x03

/**
 * `plain` with every imported memory declared shared with `maximumPages` pages at most; `undefined`
 * when the module has no memory import (then it is not the kernels module).
 * @internal
 */
export const withSharedMemory = (plain: Uint8Array, maximumPages: number): Uint8Array | undefined => {
  const out: number[] = Array.from(plain.subarray(0, 8))
  let found = false
  let at = 8
  while (at < plain.length) {
    const id = plain[at] as number
    const [size, bodyStart] = readU32(plain, at + 1)
    const bodyEnd = bodyStart + size
    if (id !== IMPORT_SECTION) {
      for (let i = at; i < bodyEnd; i++) out.push(plain[i] as number)
      at = bodyEnd
      continue
    }
    const body: number[] = []
    let [count, i] = readU32(plain, bodyStart)
    body.push(...u32(count))
    for (; count > 0; count--) {
      // module name, field name: a length and that many bytes each
      for (let name = 0; name < 2; name++) {
        const [length, start] = readU32(plain, i)
        for (let k = i; k < start + length; k++) body.push(plain[k] as number)
        i = start + length
      }
      const kind = plain[i++] as number
      body.push(kind)
      if (kind !== MEMORY_IMPORT) {
        // function (type index), table (type + limits) and global (type + mutability) imports are
        // copied as they are: the kernels module has none but its memory, so only count them.
        const end = skipDescriptor(plain, i, kind)
        for (let k = i; k < end; k++) body.push(plain[k] as number)
        i = end
        continue
      }
      const flags = plain[i++] as number
      const [minimum, next] = readU32(plain, i)
      i = (flags & 1) === 1 ? readU32(plain, next)[1] : next
      body.push(SHARED_WITH_MAXIMUM, ...u32(minimum), ...u32(maximumPages))
      found = true
    }
    out.push(id, ...u32(body.length), ...body)
    at = bodyEnd
  }
  return found ? Uint8Array.from(out) : undefined
}

/** The offset after the descriptor of an import of `kind` (0 function, 1 table, 3 global) at `at`. */
const skipDescriptor = (bytes: Uint8Array, at: number, kind: number): number => {
  if (kind === 0) return readU32(bytes, at)[1]
  if (kind === 1) {
    const flags = bytes[at + 1] as number
    const [, next] = readU32(bytes, at + 2)
    return (flags & 1) === 1 ? readU32(bytes, next)[1] : next
  }
  return at + 2
}
