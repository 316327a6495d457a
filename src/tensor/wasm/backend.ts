/**
 * The WebAssembly SIMD backend of `Kernels`.
 *
 * Float32 products, broadcasts, reductions, softmax, the element-wise kernels of the hot paths and
 * the fused optimizer steps run in the module built from `assembly/`; everything else — float64
 * tensors (gradient checks), element-wise maps over JS closures, the kernels of small vectors and
 * losses (`divide`, `inverseSqrt`, `crossEntropy…`: a batch of class scores or a BatchNorm vector,
 * where a copy across the boundary costs more than the loop), argmax, column slicing and
 * concatenation (already a native copy) — is the reference backend's code.
 *
 * Each call copies its inputs into the module's linear memory, runs one exported function and copies
 * the result out into a fresh typed array, so callers only ever see new tensors that share no memory
 * with the module. The linear memory is scratch: it is laid out anew on every call from the module's
 * `heapBase()`, grows when a call needs more (never past `MAX_PAGES`; larger calls go to the
 * reference kernels) and is never visible outside this file. JavaScript runs one call at a time per
 * thread and the exports never call back, so calls cannot interleave on the scratch.
 *
 * @since 0.2.0
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { type Kernels, productDims, reference, rowVectorDims, checkSame } from '../kernels.ts'
import { type Tensor, ShapeError, matrixDims } from '../Tensor.ts'
import {
  type GemmExports,
  type KernelExports,
  type ModuleKind,
  type WasmApi,
  type WasmMemory,
  MAX_PAGES,
  PAGE,
  fmaGemmBytes,
  instantiate,
  instantiateGemm,
  moduleBytes,
  relaxedSimd,
  webAssembly
} from './module.ts'
import { CONTROL_BYTES, type GemmArgs, type Pool, type SpawnWorker, startPool } from './threads.ts'

const align64 = (n: number): number => Math.ceil(n / 64) * 64

/** The linear memory as scratch: lay out buffers, copy in, copy out. */
interface Scratch {
  /**
   * Copies `inputs` into memory, followed by uninitialised regions of `bytes` bytes each, and runs
   * `f` with the byte offsets of all of them (inputs first). `undefined` when they would not fit in
   * `MAX_PAGES`, so the caller can use the reference kernels instead.
   */
  readonly run: <R>(inputs: ReadonlyArray<Float32Array>, bytes: ReadonlyArray<number>, f: (ptrs: readonly number[]) => R) => R | undefined
  /** A copy of `len` floats at `ptr`, in a new array owned by the caller. */
  readonly take: (ptr: number, len: number) => Float32Array
  /**
   * Lays out uninitialised regions of `bytes` bytes each (growing the memory if needed) and returns
   * their offsets with a view of the whole memory made after growing; `undefined` past `MAX_PAGES`.
   */
  readonly reserve: (bytes: ReadonlyArray<number>) => { readonly ptrs: readonly number[]; readonly heap: Float32Array } | undefined
}

/** Offsets of consecutive 64-byte aligned regions of `bytes` bytes from `base`, and their end. */
const layout = (base: number, bytes: ReadonlyArray<number>): { ptrs: number[]; end: number } => {
  const ptrs: number[] = []
  let end = base
  for (const b of bytes) {
    ptrs.push(end)
    end = align64(end + b)
  }
  return { ptrs, end }
}

/** Grows `memory` to hold `end` bytes; false past `MAX_PAGES`. */
const ensure = (memory: WasmMemory, end: number): boolean => {
  const pages = Math.ceil(end / PAGE)
  if (pages > MAX_PAGES) return false
  const have = memory.buffer.byteLength / PAGE
  if (pages > have) memory.grow(pages - have)
  return true
}

const makeScratch = (memory: WasmMemory, base: number): Scratch => ({
  run: (inputs, bytes, f) => {
    const { ptrs, end } = layout(base, [...inputs.map((input) => 4 * input.length), ...bytes])
    if (!ensure(memory, end)) return undefined
    // Views are made after growing: growth replaces the buffer of a non-shared memory.
    inputs.forEach((input, i) => new Float32Array(memory.buffer, ptrs[i] as number, input.length).set(input))
    return f(ptrs)
  },
  take: (ptr, len) => new Float32Array(memory.buffer, ptr, len).slice(),
  reserve: (bytes) => {
    const { ptrs, end } = layout(base, bytes)
    return ensure(memory, end) ? { ptrs, heap: new Float32Array(memory.buffer) } : undefined
  }
})

/**
 * Element-wise kernels run over chunks of this many elements: each chunk's operands are copied in,
 * computed and copied out while they are still in cache, the scratch stays small (a few hundred
 * kilobytes for seven operands), and no tensor is too large for the WebAssembly kernels. Every output
 * element depends only on the input elements at the same index, so chunking changes no result.
 */
const ELEMENTWISE_CHUNK = 1 << 14

const f32 = (t: Tensor): Float32Array | undefined => (t.dtype === 'float32' && t.data instanceof Float32Array ? t.data : undefined)

const tensor = (shape: readonly number[], data: Float32Array): Tensor => ({ shape, dtype: 'float32', data })

/**
 * Products of at least this many flops (2·m·k·n) are split between two threads when a worker is up.
 * Below it, waking the worker and waiting for it costs more than half the product; measured with
 * `npm run bench:gemm` (see bench/gemm.ts).
 */
const PARALLEL_MIN_FLOPS = 8e6

/** `xᵀ·dy` products with at least this m·k·n (and 32 columns) pack their left operand (see `product`). */
const PACK_A_MIN_MKN = 1 << 18

/**
 * The WebAssembly backend: the `Kernels`, plus its second thread and its products' variant. `name` is
 * `'wasm-simd'`, with `-fma` when the products use fused multiply-adds and `-2t` while the second
 * thread is up (`'wasm-simd-fma-2t'`).
 * @internal
 */
export interface WasmKernels extends Kernels {
  /** Whether the second thread is up (it starts asynchronously; until then products run on one). */
  readonly threadsReady: () => boolean
  /**
   * Starts the second thread with `spawn` (once; later calls return whether the first succeeded);
   * false when this backend's memory is not shared or the thread cannot start. Which thread computes
   * which part of a product never changes a result, so no caller can observe this.
   */
  readonly startThreads: (spawn: SpawnWorker) => boolean
  /**
   * Switches the products (matmul, affine and both transposed forms) to fused multiply-adds: the FMA
   * variant, whose products round once per multiply-add instead of twice, so its results differ from
   * plain SIMD's (each variant gives the same results every time, on one thread or two). Possible
   * only before the first product, so that no run mixes the variants; `Right` with the new `name`, or
   * `Left` saying why not: the engine does not accept relaxed SIMD (Node 20 needs a flag: nn-ts/node's
   * `useRelaxedSimd` sets it), the CPU or engine does not fuse `f32x4.relaxed_madd` (then the variant
   * would compute what plain SIMD does), or products have already run.
   */
  readonly useFma: () => E.Either<string, string>
}

/**
 * Bytes kept for the FMA products module right after the thread pool's control block, where the
 * second thread reads it (the module is about 2 KB).
 */
const FMA_MODULE_BYTES = 8192

/**
 * Whether `gemm` fuses: `1 + (1 + 2⁻¹²)²` rounds `(1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴` to `1 + 2⁻¹¹` (a tie,
 * to even) before the add when the multiply-add is split, so `bias + x·x` with the bias
 * `−(1 + 2⁻¹¹)` gives 0 split and 2⁻²⁴ fused.
 */
const fuses = (g: GemmExports, S: Scratch, scratchBytes: number): boolean => {
  const x = new Float32Array([1 + 2 ** -12])
  const bias = new Float32Array([-(1 + 2 ** -11)])
  return (
    S.run([x, x, bias], [4, scratchBytes], ([pa, pb, pbias, pc, scratch]) => {
      g.gemm(pa as number, 1, 1, pb as number, 1, 1, pc as number, 1, 1, 1, pbias as number, scratch as number, 0, 1)
      return S.take(pc as number, 1)[0] === 2 ** -24
    }) === true
  )
}

/** The backend over instantiated exports and the memory they were instantiated with. */
const fromExports = (
  api: WasmApi,
  kind: ModuleKind,
  X: KernelExports,
  memory: WasmMemory,
  sharedBytes: Uint8Array | undefined,
  minParallelFlops: number
): WasmKernels => {
  // The mutable state: the helper thread and the products' variant, each set at most once (see
  // `startThreads` and `useFma`), and whether a product has run (the variant is fixed from then on).
  let pool: Pool | undefined
  let tried = false
  let fma: GemmExports | undefined
  let fmaLength = 0
  let productsRan = false
  const control = X.heapBase()
  const fmaAt = align64(control + CONTROL_BYTES)
  const { kernels, scratch, scratchBytes } = makeBackend(X, memory, align64(fmaAt + FMA_MODULE_BYTES), () => pool, minParallelFlops, () => {
    productsRan = true
    return fma
  })
  const name = (): string => `wasm-simd${fma === undefined ? '' : '-fma'}${pool?.ready() === true ? '-2t' : ''}`
  return {
    ...kernels,
    get name() {
      return name()
    },
    threadsReady: () => pool?.ready() ?? false,
    startThreads: (spawn) => {
      if (!tried && sharedBytes !== undefined) pool = startPool(spawn, sharedBytes, memory, control)
      if (!tried && fma !== undefined) pool?.useFma(fmaAt, fmaLength)
      tried = true
      return pool !== undefined
    },
    useFma: () => {
      if (fma !== undefined) return E.right(name())
      if (productsRan) return E.left('products have already run with plain SIMD, and a run never mixes the variants: choose FMA before the first product')
      if (!relaxedSimd(api)) {
        return E.left('this engine does not accept relaxed SIMD (Node ≥ 22 and Chrome ≥ 114 do; Node 20 needs --experimental-wasm-relaxed-simd, which nn-ts/node\'s useRelaxedSimd sets)')
      }
      const bytes = fmaGemmBytes(kind)
      if (bytes.length > FMA_MODULE_BYTES) return E.left(`the FMA products module (${bytes.length} bytes) does not fit the ${FMA_MODULE_BYTES} bytes kept for it`)
      return pipe(
        instantiateGemm(api, bytes, memory),
        E.filterOrElse(
          (g) => fuses(g, scratch, scratchBytes(1)),
          () => 'this engine or CPU does not fuse f32x4.relaxed_madd: the FMA variant would compute what plain SIMD does'
        ),
        E.map((g) => {
          // The second thread compiles the module from these bytes on its first FMA product.
          new Uint8Array(memory.buffer, fmaAt, bytes.length).set(bytes)
          fmaLength = bytes.length
          pool?.useFma(fmaAt, fmaLength)
          fma = g
          return name()
        })
      )
    }
  }
}

const makeBackend = (
  X: KernelExports,
  memory: WasmMemory,
  scratchBase: number,
  threads: () => Pool | undefined,
  minParallelFlops: number,
  fmaProducts: () => GemmExports | undefined
): { readonly kernels: Kernels; readonly scratch: Scratch; readonly scratchBytes: (k: number) => number } => {
  // Past the module's data: the thread pool's control block, the FMA module's bytes, then scratch.
  const S = makeScratch(memory, scratchBase)
  const scratchBytes = (k: number): number => align64(X.gemmScratchBytes(k))

  /**
   * Runs an element-wise export over same-length `inputs` chunk by chunk (see `ELEMENTWISE_CHUNK`):
   * `op(ptrs, len)` gets the offsets of the chunk's inputs, then of its `outputs` results. Returns the
   * results in new arrays.
   */
  const elementwise = (inputs: ReadonlyArray<Float32Array>, outputs: number, op: (ptrs: readonly number[], len: number) => void): Float32Array[] =>
    checked(inputs, outputs, op).outs

  /** `elementwise` for an export that returns 1 when its chunk was finite: whether every chunk was. */
  const checked = (
    inputs: ReadonlyArray<Float32Array>,
    outputs: number,
    op: (ptrs: readonly number[], len: number) => number | void
  ): { readonly outs: Float32Array[]; readonly finite: boolean } => {
    const len = (inputs[0] as Float32Array).length
    const outs = Array.from({ length: outputs }, () => new Float32Array(len))
    let finite = true
    if (len === 0) return { outs, finite }
    const chunk = Math.min(len, ELEMENTWISE_CHUNK)
    // At most 7 regions of 64 KiB: always within MAX_PAGES.
    const { ptrs, heap } = S.reserve(Array.from({ length: inputs.length + outputs }, () => 4 * chunk)) as NonNullable<ReturnType<Scratch['reserve']>>
    const at = ptrs.map((p) => p >>> 2)
    for (let start = 0; start < len; start += chunk) {
      const n = Math.min(chunk, len - start)
      for (let i = 0; i < inputs.length; i++) heap.set((inputs[i] as Float32Array).subarray(start, start + n), at[i] as number)
      finite = op(ptrs, n) !== 0 && finite
      for (let j = 0; j < outputs; j++) {
        const from = at[inputs.length + j] as number
        ;(outs[j] as Float32Array).set(heap.subarray(from, from + n), start)
      }
    }
    return { outs, finite }
  }
  const one = (inputs: ReadonlyArray<Float32Array>, op: (ptrs: readonly number[], len: number) => void): Float32Array =>
    elementwise(inputs, 1, op)[0] as Float32Array

  /** `bias + op(a)·op(b)` for the three layouts; `undefined` when the scratch would be too large. */
  const product = (kind: 'nn' | 'nt' | 'tn', A: Float32Array, B: Float32Array, bias: Float32Array | undefined, m: number, k: number, n: number) => {
    // Strides (in elements) of the left operand's (row, depth) and the right operand's (depth, col).
    let [ars, aps] = kind === 'tn' ? [1, m] : [k, 1]
    const [brs, bcs] = kind === 'nt' ? [1, k] : [n, 1]
    const inputs = bias === undefined ? [A, B] : [A, B, bias]
    const panels = Math.ceil(n / 8)
    const pool = threads()
    const split = pool !== undefined && panels >= 2 && 2 * m * k * n >= minParallelFlops && pool.ready()
    // `xᵀ·dy` reads its left operand down columns; for large products it is packed row-major into
    // scratch first (one pass over m·k floats, amortised over at least four column panels), and the
    // product then runs as `x·W` does: ~7% faster at 784×128×800 (the batch is a short depth).
    const packA = kind === 'tn' && n >= 32 && m * k * n >= PACK_A_MIN_MKN
    // Two threads need two scratch areas (each packs its own panels).
    const extra = [4 * m * n, split ? 2 * scratchBytes(k) : scratchBytes(k), ...(packA ? [4 * m * k] : [])]
    return S.run(inputs, extra, (ptrs) => {
      const [pb] = [ptrs[1] as number]
      const [pc, scratch] = ptrs.slice(packA ? -3 : -2) as [number, number]
      const pbias = bias === undefined ? 0 : (ptrs[2] as number)
      let pa = ptrs[0] as number
      if (packA) {
        const packed = ptrs.at(-1) as number
        X.transpose(pa, k, m, packed)
        pa = packed
        ars = k
        aps = 1
      }
      const fma = fmaProducts()
      const G = fma ?? X
      if (split) {
        // Column panels, claimed in chunks by both threads: each thread reads all of \`a\` but packs
        // and writes only the panels it claimed, in a scratch area of its own, with the same variant.
        const theirs: GemmArgs = [pa, ars, aps, pb, brs, bcs, pc, m, k, n, pbias, scratch + scratchBytes(k)]
        pool.gemm(theirs, panels, (q0, q1) => G.gemm(pa, ars, aps, pb, brs, bcs, pc, m, k, n, pbias, scratch, q0, q1), fma !== undefined)
      } else {
        G.gemm(pa, ars, aps, pb, brs, bcs, pc, m, k, n, pbias, scratch, 0, panels)
      }
      return tensor([m, n], S.take(pc, m * n))
    })
  }

  const matmulKind =
    (kind: 'nn' | 'nt' | 'tn', fallback: (a: Tensor, b: Tensor) => Tensor) =>
    (a: Tensor, b: Tensor): Tensor => {
      const A = f32(a)
      const B = f32(b)
      if (A === undefined || B === undefined) return fallback(a, b)
      const { m, k, n } = productDims(kind, a, b)
      return product(kind, A, B, undefined, m, k, n) ?? fallback(a, b)
    }

  /** A `[m, n]` result from `[m, n]` and `[n]` or `[m]` float32 operands through one export. */
  const rowOp =
    (
      check: (a: Tensor, v: Tensor) => [number, number],
      op: (a: number, v: number, out: number, m: number, n: number) => void,
      fallback: (a: Tensor, v: Tensor) => Tensor
    ) =>
    (a: Tensor, v: Tensor): Tensor => {
      const A = f32(a)
      const V = f32(v)
      if (A === undefined || V === undefined) return fallback(a, v)
      const [m, n] = check(a, v)
      return (
        S.run([A, V], [4 * m * n], ([pa, pv, po]) => {
          op(pa as number, pv as number, po as number, m, n)
          return tensor([m, n], S.take(po as number, m * n))
        }) ?? fallback(a, v)
      )
    }

  const scaleRowsDims = (a: Tensor, v: Tensor): [number, number] => {
    const [m, n] = matrixDims(a, 'scaleRows')
    if (v.shape.length !== 1 || v.shape[0] !== m) throw new ShapeError('scaleRows vector', `[${m}]`, v.shape)
    return [m, n]
  }

  /** A `[m] ` or `[m, n]`-shaped result computed from one `[m, n]` float32 operand. */
  const unary =
    (
      where: string,
      outLen: (m: number, n: number) => number,
      outShape: (m: number, n: number) => readonly number[],
      extraBytes: (m: number, n: number) => number,
      op: (a: number, out: number, m: number, n: number, extra: number) => void,
      fallback: (a: Tensor) => Tensor
    ) =>
    (a: Tensor): Tensor => {
      const A = f32(a)
      if (A === undefined) return fallback(a)
      const [m, n] = matrixDims(a, where)
      return (
        S.run([A], [4 * outLen(m, n), extraBytes(m, n)], ([pa, po, pe]) => {
          op(pa as number, po as number, m, n, pe as number)
          return tensor(outShape(m, n), S.take(po as number, outLen(m, n)))
        }) ?? fallback(a)
      )
    }

  /** `α·x ⊕ β·y` kernels of two same-shaped float32 tensors. */
  const binary =
    (
      where: string,
      fallback: (alpha: number, x: Tensor, beta: number, y: Tensor) => Tensor,
      op: (alpha: number, x: number, beta: number, y: number, out: number, len: number) => void
    ) =>
    (alpha: number, x: Tensor, beta: number, y: Tensor): Tensor => {
      const Xd = f32(x)
      const Yd = f32(y)
      if (Xd === undefined || Yd === undefined) return fallback(alpha, x, beta, y)
      checkSame(where, x, y)
      return tensor(x.shape, one([Xd, Yd], ([px, py, po], n) => op(alpha, px as number, beta, py as number, po as number, n)))
    }

  /** A same-shaped result of two same-shaped float32 tensors through one export. */
  const pairwise =
    (where: string, op: (a: number, b: number, out: number, len: number) => void, fallback: (a: Tensor, b: Tensor) => Tensor) =>
    (a: Tensor, b: Tensor): Tensor => {
      const A = f32(a)
      const B = f32(b)
      if (A === undefined || B === undefined) return fallback(a, b)
      checkSame(where, a, b)
      return tensor(a.shape, one([A, B], ([pa, pb, po], n) => op(pa as number, pb as number, po as number, n)))
    }

  const kernels: Kernels = {
    // Members this backend does not speed up (float64 everywhere, closures, argmax, column slicing and
    // concatenation, and any kernel added to the interface later) are the reference ones.
    ...reference,
    name: 'wasm-simd',
    matmul: matmulKind('nn', reference.matmul),
    matmulTransposeB: matmulKind('nt', reference.matmulTransposeB),
    matmulTransposeA: matmulKind('tn', reference.matmulTransposeA),
    affine: (x, w, b) => {
      const Xd = f32(x)
      const Wd = f32(w)
      const Bd = f32(b)
      if (Xd === undefined || Wd === undefined || Bd === undefined) return reference.affine(x, w, b)
      const { m, k, n } = productDims('nn', x, w)
      rowVectorDims('affine bias', tensor([m, n], Xd), b)
      // The bias initialises the accumulators, so `+ b` costs no pass of its own.
      return product('nn', Xd, Wd, Bd, m, k, n) ?? reference.affine(x, w, b)
    },
    addRowVector: rowOp((a, v) => rowVectorDims('addRowVector', a, v), X.addRowVector, reference.addRowVector),
    mulRowVector: rowOp((a, v) => rowVectorDims('mulRowVector', a, v), X.mulRowVector, reference.mulRowVector),
    scaleRows: rowOp(scaleRowsDims, X.scaleRows, reference.scaleRows),
    rowSums: unary('rowSums', (m) => m, (m) => [m], () => 0, (a, o, m, n) => X.rowSums(a, o, m, n), reference.rowSums),
    columnSums: unary('columnSums', (_m, n) => n, (_m, n) => [n], (_m, n) => 8 * n, X.columnSums, reference.columnSums),
    softmaxRows: unary('softmaxRows', (m, n) => m * n, (m, n) => [m, n], () => 0, (a, o, m, n) => X.softmaxRows(a, o, m, n), reference.softmaxRows),
    logSumExpRows: unary('logSumExpRows', (m) => m, (m) => [m], (_m, n) => 4 * n, X.logSumExpRows, reference.logSumExpRows),
    softmaxRowsBackward: (y, dy) => {
      const Y = f32(y)
      const D = f32(dy)
      if (Y === undefined || D === undefined) return reference.softmaxRowsBackward(y, dy)
      checkSame('softmaxRowsBackward', y, dy)
      const [m, n] = matrixDims(y, 'softmaxRowsBackward')
      return (
        S.run([Y, D], [4 * m * n], ([py, pd, po]) => {
          X.softmaxRowsBackward(py as number, pd as number, po as number, m, n)
          return tensor([m, n], S.take(po as number, m * n))
        }) ?? reference.softmaxRowsBackward(y, dy)
      )
    },
    sum: (a) => {
      const A = f32(a)
      return (A === undefined ? undefined : S.run([A], [], ([pa]) => X.sum(pa as number, A.length))) ?? reference.sum(a)
    },
    dot: (a, b) => {
      const A = f32(a)
      const B = f32(b)
      if (A === undefined || B === undefined) return reference.dot(a, b)
      checkSame('dot', a, b)
      return S.run([A, B], [], ([pa, pb]) => X.dot(pa as number, pb as number, A.length)) ?? reference.dot(a, b)
    },
    scale: (a, c) => {
      const A = f32(a)
      if (A === undefined) return reference.scale(a, c)
      return tensor(a.shape, one([A], ([pa, po], n) => X.scale(pa as number, c, po as number, n)))
    },
    add: pairwise('add', X.add, reference.add),
    sub: pairwise('sub', X.sub, reference.sub),
    dropout: (x, u, rate, keepScale) => {
      const Xd = f32(x)
      const Ud = f32(u)
      if (Xd === undefined || Ud === undefined) return reference.dropout(x, u, rate, keepScale)
      checkSame('dropout', x, u)
      return tensor(x.shape, one([Xd, Ud], ([px, pu, po], n) => X.dropout(px as number, pu as number, rate, keepScale, po as number, n)))
    },
    mul: pairwise('mul', X.mul, reference.mul),
    reluBackward: pairwise('reluBackward', X.reluBackward, reference.reluBackward),
    relu: (a) => {
      const A = f32(a)
      if (A === undefined) return reference.relu(a)
      return tensor(a.shape, one([A], ([pa, po], n) => X.relu(pa as number, po as number, n)))
    },
    axpby: binary('axpby', reference.axpby, X.axpby),
    axpbySquare: binary('axpbySquare', reference.axpbySquare, X.axpbySquare),
    adaptiveDirection: (m, v, c1, c2, epsRoot, eps) => {
      const M = f32(m)
      const V = f32(v)
      if (M === undefined || V === undefined) return reference.adaptiveDirection(m, v, c1, c2, epsRoot, eps)
      checkSame('adaptiveDirection', m, v)
      return tensor(m.shape, one([M, V], ([pm, pv, po], n) => X.adaptiveDirection(pm as number, pv as number, c1, c2, epsRoot, eps, po as number, n)))
    },
    // The fused optimizer steps: same checks as the reference ones, then one export per chunk.
    sgdStep: (param, grad, eta) => {
      const P = f32(param)
      const G = f32(grad)
      if (P === undefined || G === undefined) return reference.sgdStep(param, grad, eta)
      checkSame('sgdStep', param, grad)
      const { outs, finite } = checked([P, G], 1, ([pp, pg, po], n) => X.sgdStep(pp as number, pg as number, -eta, po as number, n))
      return { param: tensor(param.shape, outs[0] as Float32Array), finite }
    },
    momentumStep: (param, grad, velocity, eta, decay, nesterov) => {
      const [P, G, V] = [f32(param), f32(grad), f32(velocity)]
      if (P === undefined || G === undefined || V === undefined) return reference.momentumStep(param, grad, velocity, eta, decay, nesterov)
      checkSame('momentumStep', param, grad)
      checkSame('momentumStep', param, velocity)
      const { outs, finite } = checked([P, G, V], 2, ([pp, pg, pv, op, ov], n) =>
        X.momentumStep(pp as number, pg as number, pv as number, -eta, decay, nesterov ? 1 : 0, op as number, ov as number, n)
      )
      const [p, v] = outs as [Float32Array, Float32Array]
      return { param: tensor(param.shape, p), first: tensor(param.shape, v), finite }
    },
    emaMomentumStep: (param, grad, velocity, decay, keep, eta) => {
      const [P, G, V] = [f32(param), f32(grad), f32(velocity)]
      if (P === undefined || G === undefined || V === undefined) return reference.emaMomentumStep(param, grad, velocity, decay, keep, eta)
      checkSame('emaMomentumStep', param, grad)
      checkSame('emaMomentumStep', param, velocity)
      const { outs, finite } = checked([P, G, V], 2, ([pp, pg, pv, op, ov], n) =>
        X.emaMomentumStep(pp as number, pg as number, pv as number, decay, keep, -eta, op as number, ov as number, n)
      )
      const [p, v] = outs as [Float32Array, Float32Array]
      return { param: tensor(param.shape, p), first: tensor(param.shape, v), finite }
    },
    adamStep: (param, grad, mu, nu, k) => {
      const [P, G, M, V] = [f32(param), f32(grad), f32(mu), f32(nu)]
      if (P === undefined || G === undefined || M === undefined || V === undefined) return reference.adamStep(param, grad, mu, nu, k)
      checkSame('adamStep', param, grad)
      checkSame('adamStep', param, mu)
      checkSame('adamStep', param, nu)
      const decayed = k.weightDecay !== undefined
      const { outs, finite } = checked([P, G, M, V], 3, ([pp, pg, pm, pv, op, om, ov], n) =>
        X.adamStep(
          pp as number, pg as number, pm as number, pv as number,
          k.b1, k.k1, k.b2, k.k2, k.c1, k.c2, k.epsRoot, k.eps, k.weightDecay ?? 0, decayed ? 1 : 0, -k.eta,
          op as number, om as number, ov as number, n
        )
      )
      const [p, m, v] = outs as [Float32Array, Float32Array, Float32Array]
      return { param: tensor(param.shape, p), first: tensor(param.shape, m), second: tensor(param.shape, v), finite }
    },
    rmsPropStep: (param, grad, nu, decay, keep, eps, eta) => {
      const [P, G, V] = [f32(param), f32(grad), f32(nu)]
      if (P === undefined || G === undefined || V === undefined) return reference.rmsPropStep(param, grad, nu, decay, keep, eps, eta)
      checkSame('rmsPropStep', param, grad)
      checkSame('rmsPropStep', param, nu)
      const { outs, finite } = checked([P, G, V], 2, ([pp, pg, pv, op, ov], n) =>
        X.rmsPropStep(pp as number, pg as number, pv as number, decay, keep, eps, -eta, op as number, ov as number, n)
      )
      const [p, v] = outs as [Float32Array, Float32Array]
      return { param: tensor(param.shape, p), second: tensor(param.shape, v), finite }
    }
  }
  return { kernels, scratch: S, scratchBytes }
}

/** Options of {@link backendWith}. */
export interface BackendOptions {
  /**
   * Threads a large product may use: 1 is the calling thread only; 2 builds the kernels over a shared
   * memory and starts a second thread with `spawn`. Default 1.
   */
  readonly threads?: 1 | 2
  /** How to start the second thread (`nn-ts/node` has Node's); required for `threads: 2`. */
  readonly spawn?: SpawnWorker
  /**
   * Build over a shared memory, when the platform allows it, so that `startThreads` can add a second
   * thread later (the default backend does this). Implied by `threads: 2`.
   */
  readonly shareable?: boolean
  /** Products with fewer flops (2·m·k·n) than this stay on one thread (default 8·10⁶). */
  readonly minParallelFlops?: number
  /**
   * The products' variant: `true` fused multiply-adds (an error where the engine does not accept
   * relaxed SIMD or does not fuse), `false` plain SIMD; by default FMA wherever it is available (see
   * `WasmKernels.useFma`).
   */
  readonly fma?: boolean
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * A new WebAssembly backend with its own memory (and, for two threads, its own worker), or why it is
 * unavailable. With `threads: 2` the shared build runs over a shared memory; if that fails, the
 * error says why (the default backend falls back to one thread by itself).
 * @category constructors
 */
export const backendWith = (options: BackendOptions = {}, api: WasmApi | undefined = webAssembly): E.Either<string, WasmKernels> => {
  if (api === undefined) return E.left('this runtime has no WebAssembly')
  const minParallelFlops = options.minParallelFlops ?? PARALLEL_MIN_FLOPS
  const two = options.threads === 2
  if (two && options.spawn === undefined) return E.left('two threads need a way to start one (`spawn`; nn-ts/node has Node\'s)')
  const build = (kind: 'plain' | 'shared'): E.Either<string, WasmKernels> => {
    const bytes = moduleBytes(kind)
    return pipe(
      E.tryCatch(
        () => new api.Memory(kind === 'shared' ? { initial: 1, maximum: MAX_PAGES, shared: true } : { initial: 1, maximum: MAX_PAGES }),
        (e) => `cannot create ${kind === 'shared' ? 'shared ' : ''}WebAssembly memory: ${errorText(e)}`
      ),
      E.flatMap((memory) =>
        pipe(
          instantiate(api, bytes, memory),
          E.map((exports) => fromExports(api, kind, exports, memory, kind === 'shared' ? bytes : undefined, minParallelFlops)),
          E.flatMap((k) => {
            if (options.fma === false) return E.right(k)
            const fma = k.useFma()
            // By default FMA where it is available, plain SIMD elsewhere; asked for, it must be there.
            return options.fma === true ? E.as(fma, k) : E.right(k)
          })
        )
      )
    )
  }
  if (two) {
    return pipe(
      build('shared'),
      E.filterOrElse(
        (k) => k.startThreads(options.spawn as SpawnWorker),
        () => 'cannot start the second thread'
      )
    )
  }
  if (options.shareable === true) {
    const shared = build('shared')
    if (E.isRight(shared)) return shared
  }
  return build('plain')
}

/**
 * The default WebAssembly SIMD backend, instantiated once when this module loads (synchronously, so
 * the Kernels API stays synchronous), or why it is unavailable. It runs on one thread until a second
 * is started (importing `nn-ts/node` does, in Node), and its products use fused multiply-adds where
 * the engine already accepts relaxed SIMD and fuses them (Node ≥ 22, Chrome ≥ 114; on Node 20,
 * nn-ts/node's `useRelaxedSimd` switches it before the first product).
 * @category instances
 */
export const wasm: E.Either<string, WasmKernels> = backendWith({ shareable: true })
