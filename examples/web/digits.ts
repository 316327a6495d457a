/**
 * The digit page's logic without the page: a classifier rebuilt from a checkpoint (any network a JSON
 * spec can describe, with 784 inputs and 10 outputs) and the MNIST-style preprocessing of a drawing.
 * It imports only the `nn-ts` core, so the page, the fixture script and the tests share it.
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { Checkpoint, Layers, Optim, Spec, Tensor, Train, type Tree } from 'nn-ts'

/** MNIST's image side and the side of the box its digits were scaled into (LeCun et al.). */
export const SIDE = 28
export const PIXELS = SIDE * SIDE
export const DIGIT_BOX = 20
const CLASSES = 10

/** What the network says about one image. */
export interface Prediction {
  /** The most probable digit. */
  readonly label: number
  /** The ten probabilities, for digits 0 to 9; they sum to 1. */
  readonly probabilities: ReadonlyArray<number>
}

/** A network restored from a checkpoint, ready to classify 28×28 images. */
export interface Classifier {
  /** The network's name, e.g. `sequential(dense(784→64), relu, dense(64→10))`. */
  readonly name: string
  /** Pixels row by row, 784 values in [0, 1], white digit on black; Left says what is wrong with them. */
  readonly classify: (pixels: ArrayLike<number>) => E.Either<string, Prediction>
  /** The most probable digit of each row of `images` (`[n, 784]`), computed in batches. */
  readonly labels: (images: Tensor.Tensor) => ReadonlyArray<number>
}

const isLastLayerSoftmax = (spec: Spec.NetworkSpec): boolean => spec.layers[spec.layers.length - 1]?.type === 'softmax'

/**
 * A classifier from a checkpoint (the bytes of either format version, or version 1 text) whose `spec`
 * holds the network's JSON spec (a whole spec, or only the network's: `Spec.fromNetwork`): the spec
 * builds the network, and the checkpoint's params and layer state are restored against its fresh state.
 */
export const classifierFromCheckpoint = (file: Uint8Array | string): E.Either<string, Classifier> =>
  pipe(
    Checkpoint.decode(file),
    E.mapLeft((e) => `the checkpoint does not decode: ${e.message}`),
    E.bindTo('checkpoint'),
    E.bind('spec', ({ checkpoint }) =>
      checkpoint.spec === null
        ? E.left('the checkpoint has no spec (its "spec" field is null): the page needs the network spec to rebuild the network')
        : pipe(
            Spec.decodeNetwork(checkpoint.spec),
            E.orElse((e): E.Either<Spec.SpecError, Spec.NetworkSpec> => pipe(Spec.decode(checkpoint.spec), E.mapLeft(() => e))),
            E.mapLeft((e) => `the checkpoint's spec does not decode: ${e.message}`)
          )
    ),
    E.filterOrElse(
      ({ spec }) => spec.input === PIXELS,
      ({ spec }) => `the checkpoint's network takes ${spec.input} inputs, but a digit is ${SIDE}×${SIDE} = ${PIXELS} pixels`
    ),
    E.bind('state', ({ checkpoint, spec }) => {
      const network = Spec.network(spec)
      // Only params and layer state matter for predicting: the template takes the checkpoint's own
      // optimizer state (which matches itself), so a checkpoint saved with any optimizer, or none, loads.
      const fresh = Train.initialState(network, Optim.identity(), 0)
      const template = { ...fresh, optState: checkpoint.state.optState }
      return pipe(
        Checkpoint.restore(template, checkpoint),
        E.mapLeft((e) => `the checkpoint's params do not fit its spec: ${e.message}`),
        E.map((state) => ({ network, params: state.params as Tree.Tree, layerState: state.layerState as Tree.Tree }))
      )
    }),
    E.filterOrElse(
      ({ state }) => Tensor.showShape(Layers.predict(state.network, state.params, state.layerState, Tensor.zeros([1, PIXELS])).shape) === `[1, ${CLASSES}]`,
      () => `the checkpoint's network does not output ${CLASSES} values (one per digit)`
    ),
    E.map(({ spec, state: { network, params, layerState } }): Classifier => {
      // A network trained with softmax cross-entropy outputs logits; one ending in softmax, probabilities.
      const probabilitiesOf = isLastLayerSoftmax(spec)
        ? (y: Tensor.Tensor) => y
        : (y: Tensor.Tensor) => Layers.predict(Layers.softmax(), [], [], y)
      return {
        name: network.name,
        labels: (images) => Train.predictLabels(network, params, layerState, images),
        classify: (pixels) => {
          if (pixels.length !== PIXELS) return E.left(`expected ${PIXELS} pixels (${SIDE}×${SIDE}, row by row), found ${pixels.length}`)
          const values = Array.from(pixels)
          const bad = values.findIndex((v) => !(v >= 0 && v <= 1))
          if (bad >= 0) return E.left(`pixel ${bad} is ${values[bad]}: pixels are numbers in [0, 1]`)
          const y = Layers.predict(network, params, layerState, Tensor.fromArray([1, PIXELS], values))
          const probabilities = Tensor.toArray(probabilitiesOf(y))
          const label = probabilities.reduce((best, p, i) => (p > (probabilities[best] ?? -Infinity) ? i : best), 0)
          return E.right({ label, probabilities })
        }
      }
    })
  )

/** An RGBA image, as `ImageData` holds it. */
export interface Rgba {
  readonly width: number
  readonly height: number
  readonly data: ArrayLike<number>
}

/**
 * Weights of an area-averaging resampling from `from` pixels to `to` pixels along one axis:
 * `weights[t]` lists, for target pixel `t`, the source pixels it covers and the fraction of `t` each
 * one covers (they sum to 1). Works for shrinking and enlarging alike.
 */
const areaWeights = (from: number, to: number): ReadonlyArray<ReadonlyArray<readonly [number, number]>> => {
  const span = from / to
  return Array.from({ length: to }, (_, t) => {
    const start = t * span
    const end = start + span
    const row: Array<readonly [number, number]> = []
    for (let s = Math.floor(start); s < Math.min(from, Math.ceil(end)); s++) {
      const overlap = Math.min(end, s + 1) - Math.max(start, s)
      if (overlap > 0) row.push([s, overlap / span])
    }
    return row
  })
}

/**
 * A drawing as MNIST presents its digits: 28×28 values in [0, 1], row by row, white on black. As for
 * MNIST (LeCun et al.), the drawing's bounding box is scaled, keeping its aspect ratio, to fit a
 * 20×20 box with area averaging (which anti-aliases), and placed so that its center of mass falls at
 * the center of the 28×28 field. The brightest pixel becomes 1. The drawing is read from the red
 * channel (white strokes on black); `undefined` when nothing is drawn.
 */
export const preprocess = (image: Rgba): ReadonlyArray<number> | undefined => {
  const { width, height, data } = image
  const ink = (x: number, y: number): number => (data[4 * (y * width + x)] ?? 0) / 255
  let [left, top, right, bottom] = [width, height, -1, -1]
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink(x, y) > 0) [left, top, right, bottom] = [Math.min(left, x), Math.min(top, y), Math.max(right, x), Math.max(bottom, y)]
    }
  }
  if (right < 0) return undefined
  const [boxWidth, boxHeight] = [right - left + 1, bottom - top + 1]
  const scale = DIGIT_BOX / Math.max(boxWidth, boxHeight)
  const [w, h] = [Math.max(1, Math.round(boxWidth * scale)), Math.max(1, Math.round(boxHeight * scale))]
  const [across, down] = [areaWeights(boxWidth, w), areaWeights(boxHeight, h)]
  // Separable: average along rows into boxHeight × w, then along columns into h × w.
  const rows = Array.from({ length: boxHeight }, (_, y) => across.map((ws) => ws.reduce((acc, [x, f]) => acc + f * ink(left + x, top + y), 0)))
  const small = down.map((ws) => Array.from({ length: w }, (_, x) => ws.reduce((acc, [y, f]) => acc + f * (rows[y]?.[x] ?? 0), 0)))
  let [mass, mx, my, peak] = [0, 0, 0, 0]
  small.forEach((row, y) =>
    row.forEach((v, x) => {
      mass += v
      mx += v * (x + 0.5)
      my += v * (y + 0.5)
      peak = Math.max(peak, v)
    })
  )
  if (mass === 0 || peak === 0) return undefined
  // Whole-pixel shift putting the center of mass within half a pixel of the field's center (14, 14).
  const [dx, dy] = [Math.round(SIDE / 2 - mx / mass), Math.round(SIDE / 2 - my / mass)]
  const out = new Array<number>(PIXELS).fill(0)
  small.forEach((row, y) =>
    row.forEach((v, x) => {
      const [X, Y] = [x + dx, y + dy]
      if (X >= 0 && X < SIDE && Y >= 0 && Y < SIDE) out[Y * SIDE + X] = Math.min(1, v / peak)
    })
  )
  return out
}
