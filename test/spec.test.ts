/**
 * Network specs: the seed spec builds exactly the network, optimizer and settings `npm start` uses;
 * every kind of bad spec is rejected with the JSON path, what was expected and what was found.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Checkpoint, Data, Init, Layers, Loss, Optim, Random, Spec, Tensor, Train, Tree } from '../src/index.ts'

const seedJson = (): Record<string, unknown> => JSON.parse(readFileSync(new URL('../examples/seed.spec.json', import.meta.url), 'utf8'))

const tiny = (): Record<string, unknown> => ({
  input: 4,
  layers: [{ type: 'dense', units: 8 }, { type: 'tanh' }, { type: 'dense', units: 3 }],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'sgd', learningRate: 0.1 },
  training: { epochs: 2, batchSize: 4 }
})

const decoded = (json: unknown): Spec.Spec => {
  const r = Spec.decode(json)
  if (E.isLeft(r)) throw new Error(`expected a valid spec, got: ${r.left.message}`)
  return r.right
}

/** A checkpoint written to its file format (bytes) and read back. */
const throughFile = (c: Checkpoint.Checkpoint): Checkpoint.Checkpoint => {
  const read = pipe(Checkpoint.encode(c), E.flatMap(Checkpoint.decode))
  if (E.isLeft(read)) throw new Error(read.left.message)
  return read.right
}

const issues = (json: unknown): ReadonlyArray<Spec.SpecIssue> => {
  const r = Spec.decode(json)
  if (E.isRight(r)) throw new Error('expected the spec to be rejected')
  return r.left.issues
}

/** The one issue a spec has; fails when there are more or none. */
const onlyIssue = (json: unknown): Spec.SpecIssue => {
  const all = issues(json)
  expect(all).toHaveLength(1)
  return all[0] as Spec.SpecIssue
}

const edit = (f: (j: Record<string, any>) => void): Record<string, unknown> => {
  const j = structuredClone(tiny()) as Record<string, any>
  f(j)
  return j
}

describe('the seed spec', () => {
  it('builds net S of examples/mnist.ts: same layers, same initial params bit for bit, same optimizer state', () => {
    const spec = decoded(seedJson())
    const built = Spec.build(spec, { trainSize: 55000 })
    const byHand = Layers.sequential(
      Layers.dense(784, 40, { weightInit: Init.heNormal }), Layers.batchNorm(40), Layers.relu(),
      Layers.dense(40, 30, { weightInit: Init.heNormal }), Layers.batchNorm(30), Layers.relu(),
      Layers.dense(30, 20, { weightInit: Init.heNormal }), Layers.batchNorm(20), Layers.relu(),
      Layers.dense(20, 10)
    )
    expect(built.network.name).toBe(byHand.name)
    const optimizer = Optim.adam(Optim.cosineDecay(2e-3, { steps: 15 * 550, alpha: 0.02 }))
    const a = Train.initialState(built.network, built.optimizer, built.training.seed)
    const b = Train.initialState(byHand, optimizer, 0)
    expect(Tree.equals(a.params, b.params)).toBe(true)
    expect(Tree.equals(a.layerState, b.layerState)).toBe(true)
    expect(a.optState).toEqual(b.optState)
    expect(built.training).toEqual({ epochs: 15, batchSize: 100, seed: 0, validationSize: 5000 })
  })

  it('the cosine schedule spans the whole run: the rate at the last step is alpha · lr', () => {
    const built = Spec.build(decoded(seedJson()), { trainSize: 55000 })
    const params = { w: Tensor.vector([1]) }
    // Walk the optimizer through the 8250 steps of 15 epochs × 550 batches on a one-weight model.
    let s = built.optimizer.init(params)
    expect(Optim.learningRate(s)).toBeCloseTo(2e-3, 15)
    for (let i = 0; i < 8250; i++) s = built.optimizer.update(params, params)(s)[1]
    expect(Optim.learningRate(s)).toBeCloseTo(0.02 * 2e-3, 15)
  })

  it('a spec is plain JSON: it survives a JSON round trip and decodes to the same value', () => {
    const spec = decoded(seedJson())
    expect(decoded(JSON.parse(JSON.stringify(spec)))).toEqual(spec)
  })
})

describe('building', () => {
  it('every layer type, initializer and activation builds and runs forward', () => {
    const spec = decoded({
      input: 6,
      layers: [
        { type: 'dense', units: 5, in: 6, weightInit: { type: 'uniform', min: -0.1, max: 0.1 }, biasInit: { type: 'constant', value: 0.01 } },
        { type: 'batchNorm', features: 5, keepRunning: 0.8, eps: 1e-5 },
        { type: 'leakyRelu', alpha: 0.1 },
        { type: 'dropout', rate: 0.25 },
        { type: 'dense', units: 4, weightInit: { type: 'normal', std: 0.1 } },
        { type: 'elu' }, { type: 'gelu' }, { type: 'softplus' }, { type: 'sigmoid' }, { type: 'tanh' }, { type: 'relu' }, { type: 'identity' }, { type: 'linear' },
        { type: 'dense', units: 3, weightInit: 'lecunNormal', biasInit: 'zeros' },
        { type: 'softmax' }
      ],
      output: 3,
      loss: 'cce',
      optimizer: { type: 'adamw', learningRate: 1e-3, weightDecay: 1e-2, clipByGlobalNorm: 1, schedule: { type: 'step', every: 10, factor: 0.5 } },
      training: { epochs: 1, batchSize: 2, seed: 3 }
    })
    const { network, loss, optimizer } = Spec.build(spec)
    const s0 = Train.initialState(network, optimizer, 3)
    const x = Tensor.fromRows([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]])
    const y = Layers.predict(network, s0.params, s0.layerState, x)
    expect(y.shape).toEqual([2, 3])
    expect(loss.name).toBe('categoricalCrossEntropy')
    expect(Tensor.toRows(y).every((row) => Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5)).toBe(true)
  })

  it('every optimizer builds, and clipping or weight decay wrap it in a chain', () => {
    const opts = [
      { type: 'sgd', learningRate: 0.1 },
      { type: 'momentum', learningRate: 0.008, momentum: 0.9 },
      { type: 'emaMomentum', learningRate: 0.1, momentum: 0.9 },
      { type: 'nesterov', learningRate: 0.01, momentum: 0.9 },
      { type: 'adam', learningRate: 1e-3, b1: 0.8, b2: 0.99, eps: 1e-7 },
      { type: 'adamw', learningRate: 1e-3 },
      { type: 'rmsprop', learningRate: 1e-3, decay: 0.9, eps: 1e-6, schedule: { type: 'exponential', rate: 0.99 } },
      { type: 'sgd', learningRate: 0.1, weightDecay: 1e-4, clipByGlobalNorm: 5 }
    ]
    for (const optimizer of opts) {
      const { network, loss, optimizer: opt } = Spec.build(decoded(edit((j) => (j['optimizer'] = optimizer))))
      const step = Train.trainStep(network, loss, opt)
      const batch = { inputs: Tensor.fromRows([[1, 0, 0, 1], [0, 1, 1, 0]]), targets: Tensor.fromRows([[1, 0, 0], [0, 0, 1]]), labels: [0, 2], classes: 3 }
      const [r] = step(batch)(Train.initialState(network, opt, 0))
      expect(E.isRight(r)).toBe(true)
    }
    const plain = Spec.build(decoded(tiny())).optimizer.init({ w: Tensor.vector([1]) })
    expect(Optim.learningRate(plain)).toBe(0.1)
  })

  it('momentum from a spec equals the optimizer built by hand', () => {
    const { network, optimizer } = Spec.build(decoded(edit((j) => (j['optimizer'] = { type: 'momentum', learningRate: 0.008, momentum: 0.9 }))))
    const a = Train.initialState(network, optimizer, 0)
    const b = Train.initialState(network, Optim.momentum(0.008, 0.9), 0)
    expect(a.optState).toEqual(b.optState)
  })

  it('the same spec gives the same initial params (the seed decides)', () => {
    const { network, optimizer } = Spec.build(decoded(tiny()))
    const p = (seed: number) => Train.initialState(network, optimizer, seed).params
    expect(Tree.equals(p(1), p(1))).toBe(true)
    expect(Tree.equals(p(1), p(2))).toBe(false)
  })
})

describe("a gelu layer's approximate field", () => {
  /** tiny() with a gelu layer (as given) after its first dense layer. */
  const withGelu = (layer: Record<string, unknown>): Record<string, unknown> => edit((j) => j['layers'].splice(1, 1, layer))
  const x = Tensor.fromRows([[-3, -0.5, 0.25, 2], [1, -1, 4, -2]], 'float64')
  const outputs = (network: Spec.Built['network'] | Layers.Activation, s0?: { params: unknown; layerState: unknown }) =>
    Tensor.toArray(Layers.predict(network as Layers.AnyLayer, (s0?.params ?? []) as never, (s0?.layerState ?? []) as never, x))

  it('"none" and "tanh" build the two forms', () => {
    for (const approximate of ['none', 'tanh'] as const) {
      const spec = decoded(withGelu({ type: 'gelu', approximate }))
      expect(spec.layers[1]).toEqual({ type: 'gelu', approximate })
      const { network } = Spec.build(spec)
      const layer = Layers.gelu({ approximate })
      expect(network.name).toBe(`sequential(dense(4→8), ${layer.name}, dense(8→3))`)
      // The built gelu computes what Layers.gelu computes, value for value.
      const part = network.parts?.[1] as Layers.Activation
      expect(part.node).toEqual({ op: 'gelu', attrs: { approximate } })
      expect(outputs(part)).toEqual(outputs(layer))
    }
    expect(outputs(Layers.gelu({ approximate: 'none' }))).not.toEqual(outputs(Layers.gelu({ approximate: 'tanh' })))
  })

  it('a missing field decodes to "tanh", the meaning of specs written before it existed', () => {
    const spec = decoded(withGelu({ type: 'gelu' }))
    expect(spec.layers[1]).toEqual({ type: 'gelu', approximate: 'tanh' })
    expect(Spec.build(spec).network.name).toBe('sequential(dense(4→8), gelu(tanh), dense(8→3))')
    expect(Spec.legacyGeluApproximation).toBe('tanh')
  })

  it('whatever nn-ts writes from a decoded spec names the form: JSON, the codec, a checkpoint', () => {
    const spec = decoded(withGelu({ type: 'gelu' }))
    const written = JSON.parse(JSON.stringify(spec)) as { layers: Array<Record<string, unknown>> }
    expect(written.layers[1]).toEqual({ type: 'gelu', approximate: 'tanh' })
    expect((Spec.codec.encode(spec) as Spec.Spec).layers[1]).toEqual({ type: 'gelu', approximate: 'tanh' })
    // A checkpoint embeds the spec it is given (the CLI gives the decoded one).
    const { network, optimizer } = Spec.build(spec)
    const restored = throughFile(Checkpoint.make(Train.initialState(network, optimizer, 0), spec))
    expect((restored.spec as { layers: unknown[] }).layers[1]).toEqual({ type: 'gelu', approximate: 'tanh' })
    // And reading it back means the same network.
    expect(decoded(restored.spec)).toEqual(spec)
  })

  it('the decoded type requires the field: the codec accepts a value as decoded only with it', () => {
    const json = withGelu({ type: 'gelu' })
    expect(Spec.codec.is(json)).toBe(false)
    expect(Spec.codec.is(decoded(json))).toBe(true)
  })

  it('an unknown form, a non-string or a misspelt field is rejected with path, expected and found', () => {
    expect(onlyIssue(withGelu({ type: 'gelu', approximate: 'exact' }))).toEqual({ path: 'layers[1].approximate', expected: 'one of none, tanh', found: '"exact" (a string)' })
    expect(onlyIssue(withGelu({ type: 'gelu', approximate: 'Tanh' }))).toEqual({ path: 'layers[1].approximate', expected: 'one of none, tanh (did you mean tanh?)', found: '"Tanh" (a string)' })
    expect(onlyIssue(withGelu({ type: 'gelu', approximate: true }))).toEqual({ path: 'layers[1].approximate', expected: 'one of none, tanh', found: 'true (a boolean)' })
    expect(onlyIssue(withGelu({ type: 'gelu', aproximate: 'none' }))).toEqual({
      path: 'layers[1].aproximate',
      expected: 'one of the fields type, approximate (did you mean "approximate"?)',
      found: 'an unknown field "aproximate"'
    })
    expect(Spec.parse(JSON.stringify(withGelu({ type: 'gelu', approximate: null })), 'net.json')).toEqual(
      E.left(expect.objectContaining({ message: 'net.json: invalid spec: layers[1].approximate: expected one of none, tanh, found null' }))
    )
  })
})

describe('bad specs: path, expected, found', () => {
  it('not an object at all', () => {
    expect(onlyIssue(null)).toEqual({ path: '(root)', expected: 'a network spec', found: 'null' })
    expect(onlyIssue([1])).toEqual({ path: '(root)', expected: 'a network spec', found: 'an array of 1 item' })
  })

  it('missing fields are each named', () => {
    const all = issues({})
    expect(all.map((i) => i.path)).toEqual(['input', 'layers', 'loss', 'optimizer', 'training'])
    expect(all.every((i) => i.found === 'nothing (the field is missing)')).toBe(true)
    expect(onlyIssue(edit((j) => delete j['training'].batchSize))).toEqual({ path: 'training.batchSize', expected: 'a positive integer', found: 'nothing (the field is missing)' })
  })

  it('negative and fractional sizes', () => {
    expect(onlyIssue(edit((j) => (j['layers'][2].units = -5)))).toEqual({ path: 'layers[2].units', expected: 'a positive integer', found: '-5' })
    expect(onlyIssue(edit((j) => (j['layers'][0].units = 2.5)))).toMatchObject({ path: 'layers[0].units', found: '2.5' })
    expect(onlyIssue(edit((j) => (j['input'] = 0)))).toMatchObject({ path: 'input', expected: 'a positive integer', found: '0' })
  })

  it('wrong types say which type was found', () => {
    expect(onlyIssue(edit((j) => (j['input'] = '784')))).toEqual({ path: 'input', expected: 'a positive integer', found: '"784" (a string)' })
    expect(onlyIssue(edit((j) => (j['layers'] = { type: 'relu' })))).toMatchObject({ path: 'layers', expected: 'a non-empty array of layers' })
    expect(onlyIssue(edit((j) => (j['layers'][1] = 'tanh')))).toMatchObject({ path: 'layers[1]', found: '"tanh" (a string)' })
    expect(onlyIssue(edit((j) => (j['training'].epochs = true)))).toMatchObject({ path: 'training.epochs', found: 'true (a boolean)' })
  })

  it('an unknown activation lists the known ones, and suggests the near miss', () => {
    const i = onlyIssue(edit((j) => (j['layers'][1] = { type: 'rleu' })))
    expect(i.path).toBe('layers[1].type')
    for (const name of Spec.activationNames) expect(i.expected).toContain(name)
    expect(i.expected).toContain('did you mean relu?')
    expect(i.found).toBe('"rleu" (a string)')
  })

  it('unknown fields are rejected, with the known fields and a suggestion', () => {
    const i = onlyIssue(edit((j) => (j['layers'][0] = { type: 'dense', unit: 8, units: 8 })))
    expect(i).toEqual({ path: 'layers[0].unit', expected: 'one of the fields type, units, in, weightInit, biasInit (did you mean "units"?)', found: 'an unknown field "unit"' })
    expect(onlyIssue(edit((j) => (j['training'].epoch = 3))).path).toBe('training.epoch')
    expect(onlyIssue(edit((j) => (j['lr'] = 3))).path).toBe('lr')
    expect(onlyIssue(edit((j) => (j['optimizer'].momentum = 0.9))).path).toBe('optimizer.momentum')
  })

  it('nonsensical hyper-parameters', () => {
    const at = (f: (j: Record<string, any>) => void) => onlyIssue(edit(f))
    expect(at((j) => (j['optimizer'].learningRate = -0.1))).toEqual({ path: 'optimizer.learningRate', expected: 'a finite number > 0', found: '-0.1' })
    expect(at((j) => (j['optimizer'].learningRate = 0))).toMatchObject({ path: 'optimizer.learningRate' })
    expect(at((j) => (j['optimizer'].learningRate = Infinity))).toMatchObject({ path: 'optimizer.learningRate', found: 'Infinity' })
    expect(at((j) => (j['training'].batchSize = 0))).toEqual({ path: 'training.batchSize', expected: 'a positive integer', found: '0' })
    expect(at((j) => (j['training'].epochs = 0))).toMatchObject({ path: 'training.epochs', found: '0' })
    expect(at((j) => j['layers'].splice(1, 0, { type: 'dropout', rate: 1.5 }))).toEqual({ path: 'layers[1].rate', expected: 'a number in [0, 1)', found: '1.5' })
    expect(at((j) => j['layers'].splice(1, 0, { type: 'dropout', rate: 1 }))).toMatchObject({ path: 'layers[1].rate' })
    expect(at((j) => (j['optimizer'] = { type: 'momentum', learningRate: 0.1, momentum: 1 }))).toEqual({ path: 'optimizer.momentum', expected: 'a number in [0, 1)', found: '1' })
    expect(at((j) => (j['optimizer'] = { type: 'nesterov', learningRate: 0.1 }))).toMatchObject({ path: 'optimizer.momentum', found: 'nothing (the field is missing)' })
    expect(at((j) => (j['optimizer'] = { type: 'adam', learningRate: 0.1, b2: -0.5 }))).toMatchObject({ path: 'optimizer.b2' })
    expect(at((j) => (j['optimizer'].clipByGlobalNorm = 0))).toMatchObject({ path: 'optimizer.clipByGlobalNorm' })
    expect(at((j) => (j['optimizer'].weightDecay = -1))).toMatchObject({ path: 'optimizer.weightDecay' })
    expect(at((j) => (j['optimizer'].schedule = { type: 'cosine', steps: 0 }))).toMatchObject({ path: 'optimizer.schedule.steps' })
    expect(at((j) => (j['optimizer'].schedule = { type: 'linear' }))).toMatchObject({ path: 'optimizer.schedule.type', expected: 'one of step, exponential, cosine' })
    expect(at((j) => (j['optimizer'] = { type: 'adagrad', learningRate: 0.1 }))).toMatchObject({ path: 'optimizer.type' })
    expect(at((j) => (j['training'].seed = -1))).toMatchObject({ path: 'training.seed' })
    expect(at((j) => (j['loss'] = 'crossEntropy'))).toMatchObject({ path: 'loss', found: '"crossEntropy" (a string)' })
  })

  it('inconsistent widths are caught before anything is built', () => {
    expect(onlyIssue(edit((j) => (j['layers'][2].in = 5)))).toEqual({ path: 'layers[2].in', expected: '8 (the width of layers[0], dense with 8 units)', found: '5' })
    expect(onlyIssue(edit((j) => (j['layers'][0].in = 100)))).toEqual({ path: 'layers[0].in', expected: '4 (the width of input)', found: '100' })
    expect(onlyIssue(edit((j) => j['layers'].splice(1, 0, { type: 'batchNorm', features: 7 })))).toMatchObject({ path: 'layers[1].features', found: '7' })
    expect(onlyIssue(edit((j) => (j['output'] = 10)))).toEqual({ path: 'output', expected: '3 (the width of layers[2], dense with 3 units)', found: '10' })
    expect(onlyIssue(edit((j) => (j['layers'] = [])))).toEqual({ path: 'layers', expected: 'a non-empty array of layers', found: 'an array of 0 items' })
  })

  it('bad initializers', () => {
    expect(onlyIssue(edit((j) => (j['layers'][0].weightInit = 'heNormel')))).toMatchObject({ path: 'layers[0].weightInit', found: '"heNormel" (a string)' })
    expect(onlyIssue(edit((j) => (j['layers'][0].weightInit = { type: 'uniform', min: 1, max: -1 })))).toEqual({ path: 'layers[0].weightInit.max', expected: 'a number ≥ min (1)', found: '-1' })
    expect(onlyIssue(edit((j) => (j['layers'][0].weightInit = { type: 'normal', std: -1 })))).toMatchObject({ path: 'layers[0].weightInit.std' })
    expect(onlyIssue(edit((j) => (j['layers'][0].biasInit = 3)))).toMatchObject({ path: 'layers[0].biasInit', found: '3' })
  })

  it('several problems are all reported, one line each, in the message', () => {
    const r = Spec.decode(edit((j) => {
      j['layers'][0].units = -1
      j['optimizer'].learningRate = -1
      j['training'].batchSize = 0
    }))
    expect(E.isLeft(r) && r.left.issues.length).toBe(3)
    if (E.isLeft(r)) {
      expect(r.left.message.split('\n')).toEqual([
        'invalid spec (3 problems):',
        '  - layers[0].units: expected a positive integer, found -1',
        '  - optimizer.learningRate: expected a finite number > 0, found -1',
        '  - training.batchSize: expected a positive integer, found 0'
      ])
    }
  })

  it('JSON syntax errors name the file', () => {
    const r = Spec.parse('{ "input": 784, ', 'net.json')
    expect(E.isLeft(r) && r.left.message).toMatch(/^net\.json: not valid JSON: /)
    const r2 = Spec.parse('{ "input": 784 }', 'net.json')
    expect(E.isLeft(r2) && r2.left.message).toMatch(/^net\.json: invalid spec \(4 problems\)/)
  })

  it('bad data sources', () => {
    expect(onlyIssue(edit((j) => (j['data'] = { type: 'csv' })))).toMatchObject({ path: 'data.type', expected: 'one of mnist, idx' })
    expect(onlyIssue(edit((j) => (j['data'] = { type: 'idx', trainImages: 'a' })))).toMatchObject({ path: 'data.trainLabels' })
    expect(onlyIssue(edit((j) => (j['data'] = { type: 'mnist', dir: '' })))).toMatchObject({ path: 'data.dir', expected: 'a non-empty string' })
  })
})

describe('graphs in a spec: sequential, residual, concat', () => {
  const graph = (layers: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ ...tiny(), input: 4, layers, ...extra })
  const x = Tensor.fromRows([[1, -2, 3, -4], [0.5, 0.25, -1, 2]], 'float64')

  it('each form builds the network written by hand, with the same initial params and outputs', () => {
    const spec = decoded(
      graph(
        [
          { type: 'residual', layers: [{ type: 'dense', units: 4 }, { type: 'tanh' }] },
          { type: 'residual', layer: { type: 'dense', units: 4 } },
          { type: 'concat', branches: [{ type: 'dense', units: 3 }, [{ type: 'dense', units: 2 }, { type: 'gelu', approximate: 'none' }]] },
          { type: 'sequential', layers: [{ type: 'relu' }] },
          { type: 'dense', units: 3, in: 5 }
        ],
        { output: 3 }
      )
    )
    const byHand = Layers.sequential(
      Layers.residual(Layers.sequential(Layers.dense(4, 4), Layers.tanh())),
      Layers.residual(Layers.dense(4, 4)),
      Layers.concat(Layers.dense(4, 3), Layers.sequential(Layers.dense(4, 2), Layers.gelu())),
      Layers.sequential(Layers.relu()),
      Layers.dense(5, 3)
    )
    const network = Spec.network(spec)
    expect(network.name).toBe(byHand.name)
    const a = network.init(Random.key(5), 'float64')
    const b = byHand.init(Random.key(5), 'float64')
    expect(Tree.equals(a.params, b.params)).toBe(true)
    expect(Tensor.toArray(Layers.predict(network, a.params, a.state, x))).toEqual(Tensor.toArray(Layers.predict(byHand, b.params, b.state, x)))
  })

  it('widths are checked through graphs, each problem at its JSON path', () => {
    expect(onlyIssue(graph([{ type: 'residual', layers: [{ type: 'dense', units: 3 }] }]))).toEqual({
      path: 'layers[0].layers',
      expected: 'layers that output 4 features (the width of input), which the block adds to their output',
      found: '3 features (the width of layers[0].layers[0], dense with 3 units)'
    })
    expect(onlyIssue(graph([{ type: 'dense', units: 6 }, { type: 'residual', layer: { type: 'dense', units: 2, in: 6 } }]))).toMatchObject({
      path: 'layers[1].layer',
      found: '2 features (the width of layers[1].layer, dense with 2 units)'
    })
    expect(onlyIssue(graph([{ type: 'concat', branches: [{ type: 'relu' }, [{ type: 'dense', units: 2 }, { type: 'batchNorm', features: 3 }]] }]))).toEqual({
      path: 'layers[0].branches[1][1].features',
      expected: '2 (the width of layers[0].branches[1][0], dense with 2 units)',
      found: '3'
    })
    // A concat outputs the sum of its branches: 4 (relu keeps the width) + 2.
    expect(onlyIssue(graph([{ type: 'concat', branches: [{ type: 'relu' }, { type: 'dense', units: 2 }] }, { type: 'dense', units: 1, in: 5 }]))).toEqual({
      path: 'layers[1].in',
      expected: '6 (the width of layers[0], a concat of 4 + 2 features)',
      found: '5'
    })
    expect(onlyIssue(graph([{ type: 'sequential', layers: [{ type: 'dense', units: 7 }] }], { output: 4 }))).toEqual({
      path: 'output',
      expected: '7 (the width of layers[0].layers[0], dense with 7 units)',
      found: '4'
    })
  })

  it('malformed graphs say what a graph takes', () => {
    expect(onlyIssue(graph([{ type: 'residual' }]))).toEqual({
      path: 'layers[0].layers',
      expected: 'the layers of the block: "layers" (a non-empty array of layers) or "layer" (one layer)',
      found: 'nothing (the field is missing)'
    })
    expect(onlyIssue(graph([{ type: 'residual', layers: [{ type: 'relu' }], layer: { type: 'relu' } }]))).toMatchObject({ path: 'layers[0].layer', expected: expect.stringMatching(/not both/) })
    expect(onlyIssue(graph([{ type: 'residual', layers: [] }]))).toEqual({ path: 'layers[0].layers', expected: 'a non-empty array of layers', found: 'an array of 0 items' })
    expect(onlyIssue(graph([{ type: 'concat', branches: [[{ type: 'relu' }], [{ type: 'relu' }], [{ type: 'relu' }]] }]))).toEqual({
      path: 'layers[0].branches',
      expected: 'two branches, each a layer or a non-empty array of layers (concat joins two: nest a concat in a branch for more)',
      found: 'an array of 3 items'
    })
    expect(issues(graph([{ type: 'concat', branches: [{ type: 'relu' }, [{ type: 'dense', unit: 2 }]] }])).map((i) => i.path)).toEqual([
      'layers[0].branches[1][0].unit',
      'layers[0].branches[1][0].units'
    ])
    expect(onlyIssue(graph([{ type: 'concat', branches: [{ type: 'relu' }, 3] }]))).toEqual({
      path: 'layers[0].branches[1]',
      expected: 'a branch: a layer (an object with a "type" field) or a non-empty array of layers',
      found: '3'
    })
    expect(onlyIssue(graph([{ type: 'sequential', layers: [{ type: 'residul', layer: { type: 'relu' } }] }]))).toMatchObject({
      path: 'layers[0].layers[0].type',
      expected: expect.stringMatching(/a graph: sequential, residual, concat, .*\(did you mean residual\?\)$/)
    })
  })
})

describe('network-only specs', () => {
  const architecture = { input: 4, layers: [{ type: 'dense', units: 3 }, { type: 'softmax' }] }

  it('decodeNetwork takes a spec without loss, optimizer or training, and a full one', () => {
    const r = Spec.decodeNetwork(architecture)
    expect(r).toEqual(E.right(architecture))
    expect(Spec.network(right(r)).name).toBe('sequential(dense(4→3), softmax)')
    expect(Spec.decodeNetwork(tiny())).toEqual(E.right(tiny()))
  })

  it('decode still needs what training needs, and decodeNetwork checks those parts when they are there', () => {
    expect(issues(architecture).map((i) => i.path)).toEqual(['loss', 'optimizer', 'training'])
    const r = Spec.decodeNetwork({ ...architecture, training: { epochs: 0, batchSize: 1 } })
    expect(E.isLeft(r) && r.left.issues).toEqual([{ path: 'training.epochs', expected: 'a positive integer', found: '0' }])
  })
})

const right = <A>(r: E.Either<Spec.SpecError, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

describe('Spec.fromNetwork', () => {
  const seedExtras = (spec: Spec.Spec): Spec.TrainingExtras => ({
    loss: spec.loss,
    optimizer: spec.optimizer,
    training: spec.training,
    ...(spec.data === undefined ? {} : { data: spec.data }),
    ...(spec.name === undefined ? {} : { name: spec.name }),
    ...(spec.description === undefined ? {} : { description: spec.description })
  })

  it('writes the seed network back as the seed spec, with every field filled in', () => {
    const seed = decoded(seedJson())
    const written = right(Spec.fromNetwork(Spec.network(seed), seedExtras(seed)))
    const hidden = (units: number, from: number) => [
      { type: 'dense', units, in: from, weightInit: 'heNormal' },
      { type: 'batchNorm', features: units, keepRunning: 0.9, eps: 1e-8 },
      { type: 'relu' }
    ]
    expect(written).toEqual({ ...seed, layers: [...hidden(40, 784), ...hidden(30, 40), ...hidden(20, 30), { type: 'dense', units: 10, in: 20 }] })
    // And what it writes decodes to itself and builds the same optimizer and settings.
    expect(decoded(JSON.parse(JSON.stringify(written)))).toEqual(written)
    expect(Spec.training(written)).toEqual(Spec.training(seed))
  })

  it("examples/mnist.ts's network → spec in a checkpoint → the digit page's network: the same predictions", () => {
    const he = { weightInit: Init.heNormal }
    const network = Layers.sequential(
      Layers.dense(784, 40, he), Layers.batchNorm(40), Layers.relu(),
      Layers.dense(40, 30, he), Layers.batchNorm(30), Layers.relu(),
      Layers.dense(30, 20, he), Layers.batchNorm(20), Layers.relu(),
      Layers.dense(20, 10)
    )
    // A few Adam steps on random digits, so the params and BatchNorm's running statistics are not the initial ones.
    const seed = decoded(seedJson())
    const optimizer = Optim.adam(1e-2)
    const step = Train.trainStep(network, Loss.softmaxCrossEntropy, optimizer)
    const labels = Array.from({ length: 32 }, (_, i) => (i * 7) % 10)
    const batch = Data.unsafeFromLabelled(Random.uniform(Random.key(1), [32, 784], 0, 1), labels, 10)
    let state = Train.initialState(network, optimizer, 0)
    for (let i = 0; i < 3; i++) state = step(batch)(state)[1]
    const images = Random.uniform(Random.key(2), [5, 784], 0, 1)
    const expected = Tensor.toArray(Layers.predict(network, state.params, state.layerState, images))

    for (const spec of [right(Spec.fromNetwork(network, seedExtras(seed))), right(Spec.fromNetwork(network))]) {
      // What examples/web does with the file: decode, rebuild the network from the spec, restore.
      const checkpoint = throughFile(Checkpoint.make(state, spec))
      const rebuilt = Spec.network(right(Spec.decodeNetwork(checkpoint.spec)))
      expect(rebuilt.name).toBe(network.name)
      const template = { ...Train.initialState(rebuilt, Optim.identity(), 0), optState: checkpoint.state.optState }
      const restored = Checkpoint.restore(template, checkpoint)
      if (E.isLeft(restored)) throw new Error(restored.left.message)
      expect(Tensor.toArray(Layers.predict(rebuilt, restored.right.params, restored.right.layerState, images))).toEqual(expected)
    }
    // With the training parts, the spec is a full one: Spec.decode (what the page calls today) takes it.
    const full = right(Spec.fromNetwork(network, seedExtras(seed)))
    expect(Spec.decode(JSON.parse(JSON.stringify(full)))).toEqual(E.right(full))
    // A hand-built dense layer does not say how it was initialized, so the spec has the defaults.
    expect(full.layers[0]).toEqual({ type: 'dense', units: 40, in: 784 })
  })

  it('refuses what a spec cannot describe, at the JSON path it would have', () => {
    const square = Layers.elementwise('square', (v) => v * v, (v) => 2 * v)
    const refused = (r: E.Either<Spec.SpecError, unknown>): ReadonlyArray<Spec.SpecIssue> => {
      if (E.isRight(r)) throw new Error('expected the network to be refused')
      return r.left.issues
    }
    expect(refused(Spec.fromNetwork(Layers.dense(2, 3)))).toEqual([
      { path: 'layers', expected: 'a Layers.sequential network (Spec.network always builds one: wrap the layer in Layers.sequential)', found: 'dense(2→3)' }
    ])
    expect(refused(Spec.fromNetwork(Layers.sequential(Layers.dense(2, 2), Layers.concat(Layers.relu(), Layers.residual(Layers.sequential(Layers.dense(2, 2), square))))))).toEqual([
      { path: 'layers[1].branches[1].layers[1]', expected: expect.stringMatching(/^a layer a spec can describe \(sequential, residual, concat, dense/), found: 'a custom layer with op "square"' }
    ])
    expect(refused(Spec.fromNetwork(Layers.sequential(Layers.dense(2, 2), Layers.sequential())))).toEqual([
      { path: 'layers[1].layers', expected: 'a non-empty chain of layers (a spec cannot write Layers.sequential() with no layers)', found: 'an empty chain' }
    ])
    // Layers.elu takes any α; a spec only a positive one.
    expect(refused(Spec.fromNetwork(Layers.sequential(Layers.dense(2, 2), Layers.elu(-1))))).toEqual([{ path: 'layers[1].alpha', expected: 'a finite number > 0', found: '-1' }])
    expect(refused(Spec.fromNetwork(Layers.sequential(Layers.relu())))).toMatchObject([{ path: 'input', found: 'sequential(relu), which takes any width' }])
    expect(refused(Spec.fromNetwork(Layers.sequential(Layers.dense(2, 2)), { input: 3 }))).toEqual([{ path: 'input', expected: '2 (the input width of sequential(dense(2→2)))', found: '3' }])
    expect(Spec.fromNetwork(Layers.sequential(Layers.relu()), { input: 3 })).toEqual(E.right({ input: 3, layers: [{ type: 'relu' }], output: 3 }))
  })
})

describe('layer nodes', () => {
  it('fromNode rebuilds every kind from its node: same name, node and outputs', () => {
    const net = Layers.sequential(
      Layers.dense(3, 4), Layers.batchNorm(4, { keepRunning: 0.5, eps: 1e-3 }), Layers.dropout(0.25), Layers.leakyRelu(0.2), Layers.elu(0.5),
      Layers.residual(Layers.sequential(Layers.softplus(), Layers.sigmoid(), Layers.tanh(), Layers.relu(), Layers.identity())),
      Layers.concat(Layers.gelu(), Layers.gelu({ approximate: 'tanh' })),
      Layers.softmax()
    )
    const rebuilt = Layers.fromNode(net.node)
    if (E.isLeft(rebuilt)) throw new Error(rebuilt.left.message)
    expect(rebuilt.right.name).toBe(net.name)
    const { params, state } = net.init(Random.key(3), 'float64')
    const x = Tensor.fromRows([[1, -2, 0.5], [3, 0.25, -1], [0, 1, 2]], 'float64')
    for (const mode of ['train', 'eval'] as const) {
      const ctx = { mode, key: Random.key(4) }
      const a = net.apply(params, state, x, ctx)
      const b = rebuilt.right.apply(params, state, x, ctx)
      expect(Tensor.toArray(b.y)).toEqual(Tensor.toArray(a.y))
      expect(Tree.equals(b.state, a.state)).toBe(true)
    }
    // Every kind appears above, and each kind's node is read back with its attributes.
    const ops = (n: Layers.Node): string[] => [n.op, ...(n.children ?? []).flatMap(ops)]
    expect(new Set(ops(net.node))).toEqual(new Set(Layers.kinds))
  })

  it('a custom op, missing attributes, wrong children and misfit widths are problems naming where', () => {
    const square = Layers.elementwise('square', (v) => v * v, (v) => 2 * v)
    expect(Layers.fromNode(Layers.sequential(Layers.dense(2, 2), Layers.residual(square)).node)).toEqual(
      E.left(expect.objectContaining({ _tag: 'UnknownKind', op: 'square', path: 'sequential[1] > residual > square' }))
    )
    expect(Layers.readNode({ op: 'dense', attrs: { in: 2 } })).toEqual(
      E.left({ _tag: 'InvalidNode', op: 'dense', path: 'dense', detail: "attribute 'out': expected a positive integer, found nothing", message: "dense: attribute 'out': expected a positive integer, found nothing" })
    )
    expect(Layers.readNode({ op: 'concat', children: [{ op: 'relu' }] })).toEqual(E.left(expect.objectContaining({ detail: 'expected 2 children, found 1' })))
    expect(Layers.fromNode({ op: 'concat', children: [{ op: 'dense', attrs: { in: 2, out: 1 } }, { op: 'dense', attrs: { in: 3, out: 1 } }] })).toEqual(
      E.left(expect.objectContaining({ _tag: 'InvalidNode', path: 'concat', detail: expect.stringMatching(/^concat\[1\] dense\(3→1\): expected input width 2/) }))
    )
  })
})
