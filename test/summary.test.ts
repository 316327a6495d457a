/**
 * Looking inside a network: `Layers.summary` (names, output widths, parameter and state counts, a
 * printable table) and `Layers.activations` (every layer's output for a batch, in the network's shape).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Init, Layers, Random, Tensor, Tree, kernels } from '../src/index.ts'
import { network } from '../laws/arbitraries.ts'
import { lawParameters } from '../laws/lawParameters.ts'

const he = { weightInit: Init.heNormal }
/** The network of examples/mnist.ts. */
const mnistNet = () =>
  Layers.sequential(
    Layers.dense(784, 40, he), Layers.batchNorm(40), Layers.relu(),
    Layers.dense(40, 30, he), Layers.batchNorm(30), Layers.relu(),
    Layers.dense(30, 20, he), Layers.batchNorm(20), Layers.relu(),
    Layers.dense(20, 10)
  )

describe('Layers.summary', () => {
  it('counts what a dense layer (in·out + out) and BatchNorm (γ, β; running mean and variance) hold', () => {
    const s = Layers.summary(mnistNet())
    const dense = (i: number, o: number) => i * o + o
    expect(s.layers.map((l) => [l.name, l.outWidth, l.params, l.state])).toEqual([
      ['dense(784→40)', 40, dense(784, 40), 0], ['batchNorm(40)', 40, 2 * 40, 2 * 40], ['relu', 40, 0, 0],
      ['dense(40→30)', 30, dense(40, 30), 0], ['batchNorm(30)', 30, 2 * 30, 2 * 30], ['relu', 30, 0, 0],
      ['dense(30→20)', 20, dense(30, 20), 0], ['batchNorm(20)', 20, 2 * 20, 2 * 20], ['relu', 20, 0, 0],
      ['dense(20→10)', 10, dense(20, 10), 0]
    ])
    expect(s.totalParams).toBe(dense(784, 40) + dense(40, 30) + dense(30, 20) + dense(20, 10) + 2 * (40 + 30 + 20))
    expect(s.totalState).toBe(2 * (40 + 30 + 20))
    expect([s.inWidth, s.outWidth]).toEqual([784, 10])
    expect(s.layers.map((l) => l.path)).toEqual(s.layers.map((_, i) => [i]))
  })

  it('prints a table: nested layers indented under their kind, widths, counts with thousands separators, totals', () => {
    const net = Layers.sequential(
      Layers.dense(784, 40),
      Layers.residual(Layers.sequential(Layers.dense(40, 40), Layers.tanh())),
      Layers.concat(Layers.dense(40, 8), Layers.batchNorm(40)),
      Layers.dense(48, 10)
    )
    expect(Layers.summary(net).table).toBe(
      [
        'layer                    output  params  state',
        '──────────────────────────────────────────────',
        '[0] dense(784→40)            40  31,400      0',
        '[1] residual                 40   1,640      0',
        '  [1] sequential             40   1,640      0',
        '    [1][0] dense(40→40)      40   1,640      0',
        '    [1][1] tanh              40       0      0',
        '[2] concat                   48     408     80',
        '  [2][0] dense(40→8)          8     328      0',
        '  [2][1] batchNorm(40)       40      80     80',
        '[3] dense(48→10)             10     490      0',
        '──────────────────────────────────────────────',
        'total params: 33,938',
        'total state: 80 (not trained by gradients)'
      ].join('\n')
    )
  })

  it('a network that is not a chain is its own first row; unknown widths are undefined unless given', () => {
    const block = Layers.summary(Layers.residual(Layers.dense(3, 3)))
    expect(block.layers.map((l) => [l.path, l.depth, l.kind, l.outWidth, l.params])).toEqual([
      [[], 0, 'residual', 3, 12],
      [[], 1, 'dense', 3, 12]
    ])
    const anyWidth = Layers.sequential(Layers.relu(), Layers.concat(Layers.relu(), Layers.tanh()))
    expect(Layers.summary(anyWidth).layers.map((l) => l.outWidth)).toEqual([undefined, undefined, undefined, undefined])
    expect(Layers.summary(anyWidth, { inWidth: 5 }).layers.map((l) => l.outWidth)).toEqual([5, 10, 5, 5])
    expect(Layers.summary(anyWidth, { inWidth: 5 }).outWidth).toBe(10)
  })

  it('a custom layer is a row of its own; a graph around one is shown without its inside', () => {
    const square = Layers.elementwise('square', (v) => v * v, (v) => 2 * v)
    const s = Layers.summary(Layers.sequential(Layers.dense(2, 2), square, Layers.residual(Layers.sequential(Layers.dense(2, 2), square))))
    expect(s.layers.map((l) => [l.kind, l.depth, l.outWidth, l.params])).toEqual([
      ['dense', 0, 2, 6],
      ['square', 0, 2, 0],
      ['residual', 0, 2, 6]
    ])
  })
})

describe('Layers.activations', () => {
  const x = Random.uniform(Random.key(3), [4, 784], 0, 1, 'float64')

  it("mirrors a chain: each layer's output is what the chain up to it predicts, in eval mode by default", () => {
    const net = mnistNet()
    // A trained-looking state: running statistics away from their initial 0 and 1.
    const { params } = net.init(Random.key(1), 'float64')
    const state = net.apply(params, net.init(Random.key(1), 'float64').state, x, { mode: 'train', key: Random.key(2) }).state
    const a = Layers.activations(net, params, state, x)
    expect(a.name).toBe(net.name)
    expect(Tensor.toArray(a.output)).toEqual(Tensor.toArray(Layers.predict(net, params, state, x)))
    const parts = net.parts as ReadonlyArray<Layers.AnyLayer>
    let h = x
    a.parts.forEach((part, i) => {
      expect([part.name, part.path]).toEqual([(parts[i] as Layers.AnyLayer).name, [i]])
      h = Layers.predict(parts[i] as Layers.AnyLayer, (params as readonly Tree.Tree[])[i] as Tree.Tree, (state as readonly Tree.Tree[])[i] as Tree.Tree, h)
      expect(Tensor.toArray(part.output)).toEqual(Tensor.toArray(h))
      expect(part.parts).toEqual([])
    })
    // The hidden ReLU outputs are what one looks at for dead units.
    expect((a.parts[2] as Layers.LayerActivations).output.shape).toEqual([4, 40])
  })

  it('shows inside residual blocks and concats, and runs dropout with the key in train mode', () => {
    const net = Layers.sequential(
      Layers.dense(784, 6),
      Layers.residual(Layers.sequential(Layers.dense(6, 6), Layers.dropout(0.5))),
      Layers.concat(Layers.sequential(Layers.dropout(0.5), Layers.tanh()), Layers.dropout(0.3))
    )
    const { params, state } = net.init(Random.key(5), 'float64')
    const key = Random.key(6)
    const a = Layers.activations(net, params, state, x, { mode: 'train', key })
    expect(Tensor.toArray(a.output)).toEqual(Tensor.toArray(net.apply(params, state, x, { mode: 'train', key }).y))
    const [first, block, wide] = a.parts as [Layers.LayerActivations, Layers.LayerActivations, Layers.LayerActivations]
    // x + f(x): the block's output is its input plus its inner layer's.
    const inner = block.parts[0] as Layers.LayerActivations
    expect([block.path, inner.path, inner.name]).toEqual([[1], [1], 'sequential(dense(6→6), dropout(0.5))'])
    expect(Tensor.toArray(block.output)).toEqual(Tensor.toArray(kernels.zipWith(first.output, inner.output, (u, v) => u + v)))
    // [f(x) | g(x)]: the concat's output is its branches' side by side, masks included (same keys).
    const [f, g] = wide.parts as [Layers.LayerActivations, Layers.LayerActivations]
    expect([f.path, g.path]).toEqual([[2, 0], [2, 1]])
    expect(Tensor.toArray(wide.output)).toEqual(Tensor.toArray(kernels.concatColumns(f.output, g.output)))
    expect(Tensor.toArray(g.output).some((v) => v === 0)).toBe(true)
  })

  it('over random networks of every kind: each output is what the layer computes from its input, and the summary agrees', () => {
    fc.assert(
      fc.property(network(2), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom('train' as const, 'eval' as const), (n, rows, s, mode) => {
        const { params, state } = n.layer.init(Random.key(s), 'float64')
        const input = Random.normal(Random.key(s + 1), [rows, n.inWidth], 0, 1, 'float64')
        const key = Random.key(s + 2)
        const a = Layers.activations(n.layer, params, state, input, { mode, key })
        expect(Tensor.toArray(a.output)).toEqual(Tensor.toArray(n.layer.apply(params, state, input, { mode, key }).y))
        const summary = Layers.summary(n.layer, { inWidth: n.inWidth })
        const flat: Layers.LayerActivations[] = []
        const check = (node: Layers.LayerActivations, x: Tensor.Tensor): void => {
          flat.push(node)
          if (node.kind === 'sequential') {
            node.parts.reduce((h, part) => (check(part, h), part.output), x)
            expect(Tensor.toArray(node.output)).toEqual(Tensor.toArray(node.parts[node.parts.length - 1]?.output ?? x))
          } else if (node.kind === 'residual') {
            const inner = node.parts[0] as Layers.LayerActivations
            check(inner, x)
            expect(Tensor.toArray(node.output)).toEqual(Tensor.toArray(kernels.zipWith(x, inner.output, (u, v) => u + v)))
          } else if (node.kind === 'concat') {
            node.parts.forEach((part) => check(part, x))
            expect(Tensor.toArray(node.output)).toEqual(Tensor.toArray(kernels.concatColumns((node.parts[0] as Layers.LayerActivations).output, (node.parts[1] as Layers.LayerActivations).output)))
          } else {
            expect(node.parts).toEqual([])
          }
        }
        check(a, input)
        // The summary lists the same layers (a top-level chain without itself), at the same paths,
        // with the widths the batch shows and the counts of their params.
        expect(summary.layers.map((l) => [l.name, Tree.showPath(l.path), l.outWidth])).toEqual(flat.slice(1).map((f) => [f.name, Tree.showPath(f.path), f.output.shape[1]]))
        for (const l of summary.layers) expect(l.params).toBe(Tree.size(Tree.at(params, l.path) as Tree.Tree))
        expect(summary.totalParams).toBe(Tree.size(params))
      }),
      lawParameters(40)
    )
  })
})
