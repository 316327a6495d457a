/**
 * GFLOP/s of the three matrix products a dense layer needs, at the shapes of the benchmark nets.
 *
 *   npm run bench:gemm                          # every shape, every backend
 *   npm run bench:gemm -- --backends wasm,wasm-2t --reps 7 --json
 *   npm run bench:gemm -- --nets L
 *   npm run bench:gemm -- --minFlops 8e6         # the two-thread backend with the default threshold
 *
 * For a layer `in → out` at batch `B`: `x·W` is `[B, in]·[in, out]`, `dy·Wᵀ` is `[B, out]·[in, out]ᵀ`
 * and `xᵀ·dy` is `[B, in]ᵀ·[B, out]`. Each timing sample repeats the product for at least `--minMs`
 * milliseconds; the best of `--reps` samples is reported (the machine is shared, so the best sample is
 * the least disturbed one). Flops count a multiply-add as two. `wasm-2t` splits every product between
 * two threads unless `--minFlops` sets a threshold (on 2·m·k·n), to find where splitting pays.
 */
import * as E from 'fp-ts/Either'
import { type Kernels, reference } from '../src/tensor/kernels.ts'
import { type Tensor } from '../src/tensor/Tensor.ts'
import { spawnNodeWorker } from '../src/node/threads.ts'
import { backendWith } from '../src/tensor/wasm/backend.ts'
import { parseFlags } from './flags.ts'

type Form = 'x·W' | 'dy·Wᵀ' | 'xᵀ·dy'
const FORMS: ReadonlyArray<Form> = ['x·W', 'dy·Wᵀ', 'xᵀ·dy']

/** Layers `[in, out]` and batch size of each net (as in bench/nets.ts). */
const NETS: Record<string, { batch: number; layers: ReadonlyArray<[number, number]> }> = {
  S: { batch: 100, layers: [[784, 40], [40, 30], [30, 20], [20, 10]] },
  M: { batch: 128, layers: [[784, 256], [256, 128], [128, 10]] },
  L: { batch: 128, layers: [[784, 800], [800, 10]] }
}

const args = parseFlags('bench/gemm.ts', {
  nets: { type: 'string', default: 'S,M,L' },
  backends: { type: 'string', default: 'reference,wasm,wasm-2t' },
  reps: { type: 'string', default: '5' },
  minMs: { type: 'string', default: '30' },
  minFlops: { type: 'string', default: '0' },
  json: { type: 'boolean', default: false }
})

const available = (): Record<string, Kernels> => {
  const out: Record<string, Kernels> = { reference }
  const one = backendWith({ threads: 1 })
  if (E.isRight(one)) out['wasm'] = one.right
  const two = backendWith({ threads: 2, minParallelFlops: Number(args.minFlops), spawn: spawnNodeWorker })
  if (E.isRight(two) && two.right.startThreads(spawnNodeWorker)) {
    // The worker starts asynchronously; time the two-thread backend only once it is up.
    const deadline = Date.now() + 10_000
    while (!two.right.threadsReady() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)
    if (two.right.threadsReady()) out['wasm-2t'] = two.right
  }
  return out
}

const random = (shape: [number, number]): Tensor => {
  const data = new Float32Array(shape[0] * shape[1])
  let s = 12345
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    data[i] = s / 2 ** 32 - 0.5
  }
  return { shape, dtype: 'float32', data }
}

/** Operands and `[m, k, n]` of one form for a layer `inF → outF` at batch `b`. */
const operands = (form: Form, b: number, inF: number, outF: number): { a: Tensor; c: Tensor; mkn: [number, number, number] } => {
  if (form === 'x·W') return { a: random([b, inF]), c: random([inF, outF]), mkn: [b, inF, outF] }
  if (form === 'dy·Wᵀ') return { a: random([b, outF]), c: random([inF, outF]), mkn: [b, outF, inF] }
  return { a: random([b, inF]), c: random([b, outF]), mkn: [inF, b, outF] }
}

const call = (K: Kernels, form: Form): ((a: Tensor, b: Tensor) => Tensor) =>
  form === 'x·W' ? K.matmul : form === 'dy·Wᵀ' ? K.matmulTransposeB : K.matmulTransposeA

/** Best-of-`reps` seconds per call. */
const time = (f: () => unknown, reps: number, minMs: number): number => {
  f()
  let best = Infinity
  for (let r = 0; r < reps; r++) {
    let calls = 0
    const t0 = performance.now()
    let t = t0
    do {
      f()
      calls++
      t = performance.now()
    } while (t - t0 < minMs)
    best = Math.min(best, (t - t0) / 1000 / calls)
  }
  return best
}

const backends = available()
const wanted = args.backends.split(',').map((s) => s.trim())
for (const w of wanted) if (!(w in backends)) process.stderr.write(`bench:gemm: backend '${w}' unavailable, skipped\n`)
const names = wanted.filter((w) => w in backends)
const reps = Number(args.reps)
const minMs = Number(args.minMs)

interface Row {
  readonly net: string
  readonly form: Form
  readonly m: number
  readonly k: number
  readonly n: number
  readonly gflops: Record<string, number>
}
const rows: Row[] = []
for (const net of args.nets.split(',').map((s) => s.trim())) {
  const spec = NETS[net]
  if (spec === undefined) throw new Error(`unknown net '${net}': expected S, M or L`)
  for (const [inF, outF] of spec.layers) {
    for (const form of FORMS) {
      const { a, c, mkn } = operands(form, spec.batch, inF, outF)
      const [m, k, n] = mkn
      const gflops: Record<string, number> = {}
      for (const name of names) {
        const f = call(backends[name] as Kernels, form)
        gflops[name] = (2 * m * k * n) / time(() => f(a, c), reps, minMs) / 1e9
      }
      rows.push({ net, form, m, k, n, gflops })
      if (!args.json) {
        const cells = names.map((b) => (gflops[b] as number).toFixed(1).padStart(Math.max(7, b.length)))
        if (rows.length === 1) process.stdout.write(`net | form   |    m ×    k ×    n | ${names.map((b) => b.padStart(7)).join(' | ')}   (GFLOP/s, best of ${reps})\n`)
        process.stdout.write(`${net.padEnd(3)} | ${form.padEnd(6)} | ${String(m).padStart(4)} × ${String(k).padStart(4)} × ${String(n).padStart(4)} | ${cells.join(' | ')}\n`)
      }
    }
  }
}
if (args.json) {
  process.stdout.write(
    JSON.stringify({ machine: `${process.platform} ${process.arch}, node ${process.version}`, reps, backends: names.map((b) => backends[b]?.name), rows }) + '\n'
  )
}
