import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MAX_PAGES, moduleBytes } from '../src/tensor/wasm/module.ts'
import { withSharedMemory } from '../src/tensor/wasm/sharedMemory.ts'

describe('the embedded kernels module', () => {
  it('derives the shared-memory module that AssemblyScript builds, byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nn-ts-wasm-'))
    try {
      const file = join(dir, 'shared.wasm')
      const r = spawnSync(process.execPath, ['scripts/build-wasm.mjs', '--emit-shared', file], { encoding: 'utf8' })
      expect(r.status, r.stderr).toBe(0)
      expect(Buffer.from(moduleBytes('shared')).equals(readFileSync(file))).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)

  it('only the memory import changes, and a module without one is refused', () => {
    const plain = moduleBytes('plain')
    const shared = moduleBytes('shared')
    expect(shared.length - plain.length).toBe(3) // flags 0x00 → 0x03 and the maximum, 16384 as LEB128 (3 bytes)
    expect(withSharedMemory(plain, MAX_PAGES)).toEqual(shared)
    const empty = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])
    expect(withSharedMemory(empty, MAX_PAGES)).toBeUndefined()
  })
})
