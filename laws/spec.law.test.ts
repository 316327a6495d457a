/**
 * Specs and networks round-trip. Over random networks a spec can describe (every kind of layer, graphs
 * nested two deep, drawn by the laws' table of arbitraries):
 *
 * - network → spec → network keeps the structure: the same names, the same parameter and state trees
 *   (paths and shapes, and the same initial values for the same key), the same outputs and next state
 *   for the same params, input and key, in both modes;
 * - spec → network → spec is the identity on the specs `Spec.fromNetwork` writes (every field filled
 *   in), initializers included, and those specs survive JSON text.
 *
 * Outputs are compared bit for bit: the rebuilt network is made by the same constructors with the same
 * arguments, so it runs the same floating-point operations in the same order.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { Init, Layers, Random, Spec, Tensor, Tree } from '../src/index.ts'
import { network, runs, seed } from './arbitraries.ts'
import { lawParameters } from './lawParameters.ts'

const right = <A>(r: E.Either<Spec.SpecError, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

/** Every leaf's path and shape: the structure of a tree without its values. */
const structure = (tree: Tree.Tree): ReadonlyArray<string> => Tree.leaves(tree).map(({ path, value }) => `${Tree.showPath(path)} ${Tensor.showShape(value.shape)}`)

/** A finite double, never −0 (JSON text writes −0 as 0, which is the same number to every layer). */
const double = (min: number, max: number): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true }).map((v) => (v === 0 ? 0 : v))

const initializer: fc.Arbitrary<Spec.InitializerSpec> = fc.oneof(
  fc.constantFrom(...Spec.initializerNames),
  double(-1, 1).map((value) => ({ type: 'constant' as const, value })),
  fc.tuple(double(-1, 1), double(0, 1)).map(([min, width]) => ({ type: 'uniform' as const, min, max: min + width })),
  fc.record({ type: fc.constant('normal' as const), std: double(0, 1), mean: double(-1, 1) }, { requiredKeys: ['type', 'std'] })
)

/** The spec with the dense layers' initializers set from `inits`, in order (cycling), as a spec written by hand may have them. */
const withInitializers = (spec: Spec.NetworkSpec, inits: ReadonlyArray<readonly [Spec.InitializerSpec, Spec.InitializerSpec]>): Spec.NetworkSpec => {
  let next = 0
  const layer = (l: Spec.LayerSpec): Spec.LayerSpec => {
    switch (l.type) {
      case 'dense': {
        const [weightInit, biasInit] = inits[next++ % inits.length] as readonly [Spec.InitializerSpec, Spec.InitializerSpec]
        return { ...l, weightInit, biasInit }
      }
      case 'sequential':
        return { ...l, layers: l.layers.map(layer) }
      case 'residual':
        return 'layers' in l ? { ...l, layers: l.layers.map(layer) } : { ...l, layer: layer(l.layer) }
      case 'concat':
        return { ...l, branches: l.branches.map((b) => (Array.isArray(b) ? (b as ReadonlyArray<Spec.LayerSpec>).map(layer) : layer(b as Spec.LayerSpec))) as unknown as typeof l.branches }
      default:
        return l
    }
  }
  return { ...spec, layers: spec.layers.map(layer) }
}

/** What each initializer of a spec means, written out independently of the spec builder. */
const init = (x: Spec.InitializerSpec): Init.Initializer => {
  if (typeof x !== 'string') {
    return x.type === 'constant' ? Init.constant(x.value) : x.type === 'uniform' ? Init.uniform(x.min, x.max) : Init.normal(x.mean ?? 0, x.std)
  }
  const named: Record<typeof x, Init.Initializer> = {
    zeros: Init.zeros,
    ones: Init.ones,
    glorotUniform: Init.glorotUniform,
    glorotNormal: Init.glorotNormal,
    xavierUniform: Init.glorotUniform,
    xavierNormal: Init.glorotNormal,
    heUniform: Init.heUniform,
    heNormal: Init.heNormal,
    lecunUniform: Init.lecunUniform,
    lecunNormal: Init.lecunNormal
  }
  return named[x]
}

const drawn = network(2)

describe('network → spec → network', () => {
  it('keeps names, parameter and state trees, initial values, outputs and next states', () => {
    fc.assert(
      fc.property(drawn, fc.integer({ min: 2, max: 4 }), seed, fc.constantFrom('train' as const, 'eval' as const), (n, rows, s, mode) => {
        const spec = right(Spec.fromNetwork(n.layer, { input: n.inWidth }))
        const rebuilt = Spec.network(spec)
        expect(rebuilt.name).toBe(n.layer.name)
        const a = n.layer.init(Random.key(s), 'float64')
        const b = rebuilt.init(Random.key(s), 'float64')
        expect(structure(b.params)).toEqual(structure(a.params))
        expect(structure(b.state)).toEqual(structure(a.state))
        // Same key, same default initializers, same key folding: the same initial values too.
        expect(Tree.equals(b.params, a.params)).toBe(true)
        const x = Random.normal(Random.key(s + 1), [rows, n.inWidth], 0, 1, 'float64')
        const ctx = { mode, key: Random.key(s + 2) }
        const ya = n.layer.apply(a.params, a.state, x, ctx)
        const yb = rebuilt.apply(a.params, a.state, x, ctx)
        expect(Tensor.toArray(yb.y)).toEqual(Tensor.toArray(ya.y))
        expect(Tree.equals(yb.state, ya.state)).toBe(true)
      }),
      lawParameters(runs.numRuns)
    )
  })
})

describe('spec → network → spec', () => {
  it('is the identity on the specs fromNetwork writes, initializers included, and they survive JSON text', () => {
    fc.assert(
      fc.property(drawn, fc.array(fc.tuple(initializer, initializer), { minLength: 1, maxLength: 4 }), (n, inits) => {
        const written = right(Spec.fromNetwork(n.layer, { input: n.inWidth }))
        // A chain of element-wise layers takes any width, so the input width comes with the network.
        expect(right(Spec.fromNetwork(Spec.network(written), { input: written.input }))).toEqual(written)
        const initialized = right(Spec.decodeNetwork(withInitializers(written, inits)))
        expect(right(Spec.fromNetwork(Spec.network(initialized), { input: initialized.input }))).toEqual(initialized)
        expect(right(Spec.decodeNetwork(JSON.parse(JSON.stringify(initialized))))).toEqual(initialized)
      }),
      lawParameters(runs.numRuns)
    )
  })

  it('a spec-built network initializes as its spec says: the same params as the layers built by hand with those initializers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), initializer, initializer, seed, (i, o, w, b, s) => {
        const spec = right(Spec.decodeNetwork({ input: i, layers: [{ type: 'dense', units: o, weightInit: w, biasInit: b }] }))
        const fromSpec = Spec.network(spec).init(Random.key(s)).params
        const byHand = Layers.sequential(Layers.dense(i, o, { weightInit: init(w), biasInit: init(b) })).init(Random.key(s)).params
        expect(Tree.equals(fromSpec, byHand)).toBe(true)
      }),
      lawParameters(runs.numRuns)
    )
  })
})
