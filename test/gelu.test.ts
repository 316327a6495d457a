/**
 * erf, erfc, Φ, φ and both GELU forms against pinned reference values: 50-digit mpmath for the true
 * values (correctly rounded to float64), and PyTorch for what `torch.nn.functional.gelu` computes.
 *
 * Tolerances. The special functions are each a handful of float64 operations rounded to nearest (½ ulp
 * each) plus `Math.exp`/`expm1` (under 1 ulp), with every step that could amplify an error (cancellation,
 * rounding of x², of x/√2, of constants) carried in extra precision; that bounds each result by about
 * 4 ulps of its own value. (Measured over 10⁵ points from −40 to 40 against mpmath: erf ≤ 1.2 ulps,
 * erfc ≤ 2.5, Φ ≤ 2.9, φ ≤ 2.4, GELU ≤ 3.6.) The derivative `Φ(x) + x·φ(x)` is a sum of two such
 * terms of opposite sign for x < 0 (it crosses zero near x = −0.75), so its bound is 4 ε·(|Φ| + |x·φ|).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Layers, Random, Tensor } from '../src/index.ts'
import { erf, erfc, normalCdf, normalPdf } from '../src/math/index.ts'

const EPS = 2 ** -52

/** The spacing of float64 values at `v`: 2^(exponent − 52), and 2⁻¹⁰⁷⁴ for subnormals and zero. */
const ulp = (v: number): number => {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, Math.abs(v))
  const biasedExponent = (view.getUint16(0) >> 4) & 0x7ff
  return 2 ** (Math.max(biasedExponent, 1) - 1075)
}

/** |actual − expected| in ulps of the expected value. */
const ulps = (actual: number, expected: number): number => Math.abs(actual - expected) / ulp(expected)

const ULPS = 4

/**
 * `[x, erf(x), erfc(x)]`, correctly rounded, from
 * `/usr/bin/python3` with mpmath 1.2.1 (`mp.dps = 50`):
 *   for x in xs: print([x, float(mp.erf(x)), float(mp.erfc(x))])
 * with xs = [−40, −27, −26, −10, −6, −3, −2.5, −1, −0.5, nextafter(−0.5, 0), ±1e-8, ±1e-300, 0, 5e-324,
 * 0.1, 0.3, nextafter(0.5, 0), 0.5, 0.75, 1, 1.5, 2, nextafter(3, 0), 3, 3.5, 4, 5, 6, 8, 10, 15, 20,
 * 26, 26.6, 27, 27.2, 30, 40] + [0.5 + (j + 0.5)/8 + 0.03 for j in range(20)] (one point in each cell
 * of erfc's Taylor table, on the side where the expansion loses most). The same script asserts that
 * CPython's `math.erf`/`math.erfc` (glibc) agree within 1 and 2 ulps at every normal value.
 */
const ERF_REFERENCE: ReadonlyArray<readonly [number, number, number]> = [
  [-40.0, -1.0, 2.0],
  [-27.0, -1.0, 2.0],
  [-26.0, -1.0, 2.0],
  [-10.0, -1.0, 2.0],
  [-6.0, -1.0, 2.0],
  [-3.0, -0.9999779095030014, 1.9999779095030015],
  [-2.5, -0.999593047982555, 1.999593047982555],
  [-1.0, -0.8427007929497149, 1.8427007929497148],
  [-0.5, -0.5204998778130465, 1.5204998778130465],
  [-0.49999999999999994, -0.5204998778130465, 1.5204998778130465],
  [-1e-8, -1.1283791670955126e-8, 1.0000000112837917],
  [-1e-300, -1.1283791670955126e-300, 1.0],
  [0.0, 0.0, 1.0],
  [5e-324, 5e-324, 1.0],
  [1e-300, 1.1283791670955126e-300, 1.0],
  [1e-8, 1.1283791670955126e-8, 0.9999999887162083],
  [0.1, 0.1124629160182849, 0.887537083981715],
  [0.3, 0.3286267594591274, 0.6713732405408726],
  [0.49999999999999994, 0.5204998778130465, 0.47950012218695354],
  [0.5, 0.5204998778130465, 0.4795001221869535],
  [0.5925, 0.5979252272103722, 0.4020747727896277],
  [0.7175, 0.6897503023534036, 0.3102496976465963],
  [0.75, 0.7111556336535151, 0.28884436634648486],
  [0.8425, 0.7665328058061456, 0.23346719419385442],
  [0.9675, 0.8287666717355463, 0.17123332826445367],
  [1.0, 0.8427007929497149, 0.15729920705028513],
  [1.0925, 0.877660585839466, 0.12233941416053391],
  [1.2175, 0.914895153656596, 0.08510484634340396],
  [1.3425, 0.9423805045868102, 0.057619495413189795],
  [1.4675, 0.9620466696070609, 0.03795333039293919],
  [1.5, 0.9661051464753108, 0.033894853524689274],
  [1.5925, 0.9756862640953522, 0.02431373590464781],
  [1.7175, 0.9848557837440687, 0.015144216255931358],
  [1.8425, 0.9908310190967646, 0.009168980903235336],
  [1.9675, 0.9946052346814382, 0.005394765318561746],
  [2.0, 0.9953222650189527, 0.004677734981047266],
  [2.0925, 0.9969160306358806, 0.0030839693641193234],
  [2.2175, 0.9982874164338792, 0.0017125835661208038],
  [2.3425, 0.9990763143238514, 0.0009236856761486329],
  [2.4675, 0.9995162052255533, 0.0004837947744466957],
  [2.5925, 0.9997539615838165, 0.00024603841618357926],
  [2.7175, 0.9998785226193289, 0.0001214773806711524],
  [2.8425, 0.9999417776572537, 5.822234274632466e-5],
  [2.9675, 0.9999729142294187, 2.7085770581309078e-5],
  [2.9999999999999996, 0.9999779095030014, 2.2090496998585502e-5],
  [3.0, 0.9999779095030014, 2.209049699858544e-5],
  [3.5, 0.9999992569016276, 7.430983723414128e-7],
  [4.0, 0.9999999845827421, 1.541725790028002e-8],
  [5.0, 0.9999999999984626, 1.537459794428035e-12],
  [6.0, 1.0, 2.1519736712498913e-17],
  [8.0, 1.0, 1.1224297172982926e-29],
  [10.0, 1.0, 2.088487583762545e-45],
  [15.0, 1.0, 7.212994172451207e-100],
  [20.0, 1.0, 5.395865611607901e-176],
  [26.0, 1.0, 5.663192408856143e-296],
  [26.6, 1.0, 1.088512588544227e-309], // subnormal: ulps of 2⁻¹⁰⁷⁴
  [27.0, 1.0, 5.23705e-319],
  [27.2, 1.0, 1e-323],
  [30.0, 1.0, 0.0],
  [40.0, 1.0, 0.0]
]

/**
 * `[x, x·Φ(x), Φ(x) + x·φ(x), |Φ(x)| + |x·φ(x)|]` from mpmath (the truth), then
 * `[gelu 'none', its gradient, gelu 'tanh', its gradient]` from PyTorch 1.13 (Debian's python3-torch)
 * in float64, gradients by autograd:
 *   t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
 *   y = torch.nn.functional.gelu(t, approximate=a); g = torch.autograd.grad(y.sum(), t)[0]
 *   P, xp = mp.ncdf(x), x * mp.npdf(x)   # mp.dps = 50
 * Note PyTorch's exact form at x ≤ −10: it evaluates ½x(1 + erf(x/√2)) as written, and 1 + erf
 * cancels to 0, so it returns −0 where the true value is −7.6e-23 (and its gradient is 1 % off there).
 */
const GELU_REFERENCE: ReadonlyArray<readonly [number, number, number, number, number, number, number, number]> = [
  [-40.0, -0.0, -0.0, 0.0, -0.0, 0.0, -0.0, 0.0],
  [-30.0, -1.472014178144456e-196, -4.416031690708495e-195, 4.4258451185627905e-195, -0.0, -4.420938404635643e-195, -0.0, 0.0],
  [-20.0, -5.507248237212468e-88, -1.1014360483133464e-86, 1.1069432965505588e-86, -0.0, -1.1041896724319527e-86, -0.0, 0.0],
  [-10.0, -7.619853024160526e-23, -7.618400096464814e-22, 7.770797156948025e-22, -0.0, -7.694598626706419e-22, -0.0, 0.0],
  [-5.0, -1.4332578593959695e-6, -7.146946001792295e-6, 7.720249145550682e-6, -1.4332578593401202e-6, -7.1469460018034646e-6, -2.2917961972623857e-7, -1.5463619879596227e-6],
  [-3.0, -0.0040496940948902835, -0.011945647204183927, 0.014645443267444117, -0.00404969409489031, -0.01194564720418392, -0.0036373920817729943, -0.011584166630969648],
  [-2.5, -0.015524163314440337, -0.03761108590814521, 0.05003041655969748, -0.015524163314440398, -0.03761108590814519, -0.015084266089998577, -0.03795157621266618],
  [-2.0, -0.04550026389635842, -0.0852318010781969, 0.1307320649745553, -0.04550026389635842, -0.08523180107819692, -0.04540230591222494, -0.0860992566236183],
  [-1.0, -0.15865525393145705, -0.0833154705876863, 0.4006259784506004, -0.15865525393145702, -0.08331547058768635, -0.1588080093917233, -0.08296408384578258],
  [-0.75, -0.16997051428265114, 0.0007742782607648957, 0.4524804264929715, -0.16997051428265111, 0.0007742782607648296, -0.17003944483437966, 0.001061743862585618],
  [-0.5, -0.15426876936299344, 0.13250487534383715, 0.4845702021081366, -0.15426876936299344, 0.13250487534383712, -0.15428599017485606, 0.13263009646535764],
  [-1e-8, -4.999999960105772e-9, 0.4999999920211544, 0.5, -4.999999960105772e-9, 0.4999999920211544, -4.999999960105772e-9, 0.4999999920211544],
  [0.0, 0.0, 0.5, 0.5, 0.0, 0.5, 0.0, 0.5],
  [1e-8, 5.000000039894228e-9, 0.5000000079788456, 0.5000000079788456, 5.000000039894228e-9, 0.5000000079788456, 5.000000039894228e-9, 0.5000000079788456],
  [0.5, 0.34573123063700656, 0.8674951246561629, 0.8674951246561629, 0.34573123063700656, 0.8674951246561629, 0.34571400982514394, 0.8673699035346424],
  [1.0, 0.8413447460685429, 1.0833154705876864, 1.0833154705876864, 0.841344746068543, 1.0833154705876864, 0.8411919906082768, 1.0829640838457826],
  [2.0, 1.9544997361036416, 1.085231801078197, 1.085231801078197, 1.9544997361036416, 1.085231801078197, 1.954597694087775, 1.0860992566236183],
  [3.0, 2.99595030590511, 1.011945647204184, 1.011945647204184, 2.99595030590511, 1.011945647204184, 2.996362607918227, 1.0115841666309695],
  [5.0, 4.999998566742141, 1.000007146946002, 1.000007146946002, 4.999998566742141, 1.000007146946002, 4.999999770820381, 1.000001546361988],
  [10.0, 10.0, 1.0, 1.0, 10.0, 1.0, 10.0, 1.0],
  [20.0, 20.0, 1.0, 1.0, 20.0, 1.0, 20.0, 1.0],
  [30.0, 30.0, 1.0, 1.0, 30.0, 1.0, 30.0, 1.0],
  [40.0, 40.0, 1.0, 1.0, 40.0, 1.0, 40.0, 1.0]
]

const xs = GELU_REFERENCE.map((r) => r[0])

/** A layer's forward values and input gradients (for dy = 1) at `xs`, in float64. */
const valuesAndGradients = (layer: Layers.Activation): { readonly y: number[]; readonly dx: number[] } => {
  const x = Tensor.fromRows([xs], 'float64')
  const { y, backward } = layer.apply([], [], x, { mode: 'eval', key: Random.key(0) })
  return { y: Tensor.toArray(y), dx: Tensor.toArray(backward(Tensor.fromRows([xs.map(() => 1)], 'float64')).dx) }
}

describe('erf and erfc', () => {
  it(`agree with correctly rounded values within ${ULPS} ulps from −40 to 40, tails and region boundaries included`, () => {
    for (const [x, e, c] of ERF_REFERENCE) {
      expect(ulps(erf(x), e), `erf(${x}) = ${erf(x)}, expected ${e}`).toBeLessThanOrEqual(ULPS)
      expect(ulps(erfc(x), c), `erfc(${x}) = ${erfc(x)}, expected ${c}`).toBeLessThanOrEqual(ULPS)
    }
  })

  it('erfc keeps its digits where 1 − erf has none left', () => {
    expect(1 - erf(10)).toBe(0)
    expect(ulps(erfc(10), 2.088487583762545e-45)).toBeLessThanOrEqual(ULPS)
  })

  it('special values: ±∞, −0, NaN', () => {
    expect(erf(Infinity)).toBe(1)
    expect(erf(-Infinity)).toBe(-1)
    expect(erfc(Infinity)).toBe(0)
    expect(erfc(-Infinity)).toBe(2)
    expect(Object.is(erf(-0), -0)).toBe(true)
    expect(erfc(-0)).toBe(1)
    expect(erf(NaN)).toBeNaN()
    expect(erfc(NaN)).toBeNaN()
  })

  it('erf is odd and erfc(−x) = 2 − erfc(x), for any x', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        expect(Object.is(erf(-x), -erf(x))).toBe(true)
        // 2 − erfc(x) is rounded once, to within an ulp of a value in [0, 2].
        expect(Math.abs(erfc(-x) - (2 - erfc(x)))).toBeLessThanOrEqual(2 * EPS)
      })
    )
  })

  it('erfc decreases: across each region boundary (½, 3) and at random pairs', () => {
    // Each boundary and the float64 just below it, where the other formula is used (both are pinned in
    // ERF_REFERENCE for accuracy; at 3 the true values are 18 ulps apart).
    for (const [below, at] of [[0.49999999999999994, 0.5], [2.9999999999999996, 3]] as const) expect(erfc(below)).toBeGreaterThan(erfc(at))
    // Monotone up to rounding: arguments closer than 10⁻⁶ relative are skipped, so erfc changes by far more
    // than its few-ulp error between them, or (near 2, x < −5) not at all in float64, a tie. Above 26.5
    // erfc is subnormal, with too few bits for this, and is left out.
    fc.assert(
      fc.property(fc.double({ min: -6, max: 26.5, noNaN: true }), fc.double({ min: -6, max: 26.5, noNaN: true }), (a, b) => {
        fc.pre(Math.abs(a - b) > 1e-6 * Math.max(1, Math.abs(a)))
        const [lo, hi] = a < b ? [a, b] : [b, a]
        expect(erfc(lo)).toBeGreaterThanOrEqual(erfc(hi))
      })
    )
  })
})

describe('the standard normal Φ and φ', () => {
  it(`Φ and φ agree with mpmath within ${ULPS} ulps, Φ(−10) ≈ 7.6e-24 included`, () => {
    for (const [x, gelu, , scale] of GELU_REFERENCE) {
      if (x === 0) {
        expect(normalCdf(0)).toBe(0.5)
        continue
      }
      // Φ = gelu / x exactly in the reference's precision; compare x·Φ(x) in ulps of the pinned value.
      expect(ulps(x * normalCdf(x), gelu), `x·Φ(x) at ${x}`).toBeLessThanOrEqual(ULPS)
      // For x < 0, |Φ| + |x·φ| = Φ − x·φ pins φ too: 4 ulps on each term, ½ ulp for the product and the sum.
      if (x < 0 && scale > 0) expect(Math.abs(normalCdf(x) - x * normalPdf(x) - scale), `φ(${x})`).toBeLessThanOrEqual((ULPS + 1) * EPS * scale)
    }
    expect(normalPdf(0)).toBe(0.3989422804014327)
    expect(normalCdf(Infinity)).toBe(1)
    expect(normalCdf(-Infinity)).toBe(0)
    expect(normalPdf(Infinity)).toBe(0)
    expect(normalCdf(NaN)).toBeNaN()
  })
})

describe('Layers.gelu', () => {
  it(`exact by default: x·Φ(x) within ${ULPS} ulps of the true value, and its gradient Φ + x·φ within ${ULPS} ε·(|Φ| + |x·φ|)`, () => {
    const { y, dx } = valuesAndGradients(Layers.gelu())
    GELU_REFERENCE.forEach(([x, value, gradient, scale], i) => {
      expect(ulps(y[i] as number, value), `gelu(${x}) = ${y[i]}, expected ${value}`).toBeLessThanOrEqual(ULPS)
      expect(Math.abs((dx[i] as number) - gradient), `gelu'(${x}) = ${dx[i]}, expected ${gradient}`).toBeLessThanOrEqual(ULPS * EPS * scale)
    })
    // Relative accuracy in the tail, where PyTorch's value is −0.
    expect(Math.abs((y[3] as number) / -7.619853024160526e-23 - 1)).toBeLessThan(1e-15)
  })

  it('exact form agrees with PyTorch within the error of PyTorch’s own formula', () => {
    // PyTorch computes ½x(1 + erf(x/√2)) as written: 1 + erf(·) is in [0, 2] and is off by at most
    // 2.5 ε absolutely (its rounding, erf's ulp, the rounded argument), so the result by 1.25 ε|x|; its
    // gradient ½(1 + erf) + x·e^{−x²/2}/√(2π) by 1.25 ε plus (x²/2 + 3) ε relative on the x·φ term
    // (the rounding of x²/2 in the exponent). Ours adds its own 4 ulps.
    const { y, dx } = valuesAndGradients(Layers.gelu({ approximate: 'none' }))
    GELU_REFERENCE.forEach(([x, value, gradient, scale, torchValue, torchGradient], i) => {
      // |x·φ| from the pinned values: for x < 0, Φ − x·φ = scale and Φ + x·φ = gradient; for x ≥ 0, ≤ scale.
      const xPhi = x < 0 ? (scale - gradient) / 2 : scale
      expect(Math.abs((y[i] as number) - torchValue)).toBeLessThanOrEqual(1.25 * EPS * Math.abs(x) + ULPS * ulp(value) + ulp(torchValue))
      expect(Math.abs((dx[i] as number) - torchGradient)).toBeLessThanOrEqual(1.25 * EPS + ((x * x) / 2 + 3) * EPS * xPhi + ULPS * EPS * scale)
    })
  })

  it("approximate: 'tanh' is PyTorch's tanh form", () => {
    // Same formula in both: the tanh argument agrees to 3 ε relative, so tanh to ~3 ε absolute; the
    // value ½x(1 + t) to 2 ε|x| and the gradient ½(1 + t) + ½x(1 − t²)√(2/π)(1 + 3·0.044715x²) to
    // 2 ε + 3.5 ε|x|(1 + 0.134x²), plus 4 ulps of the value.
    const { y, dx } = valuesAndGradients(Layers.gelu({ approximate: 'tanh' }))
    GELU_REFERENCE.forEach(([x, , , , , , torchValue, torchGradient], i) => {
      expect(Math.abs((y[i] as number) - torchValue), `gelu(tanh)(${x})`).toBeLessThanOrEqual(2 * EPS * Math.abs(x) + ULPS * ulp(torchValue))
      expect(Math.abs((dx[i] as number) - torchGradient), `gelu(tanh)'(${x})`).toBeLessThanOrEqual(2 * EPS + 3.5 * EPS * Math.abs(x) * (1 + 0.134 * x * x) + ULPS * ulp(torchGradient))
    })
  })

  it('the two forms are different functions: 4.7e-4 apart at x = −2.7', () => {
    const x = Tensor.fromRows([[-2.7]], 'float64')
    const exact = Tensor.toArray(Layers.predict(Layers.gelu(), [], [], x))[0] as number
    const tanh = Tensor.toArray(Layers.predict(Layers.gelu({ approximate: 'tanh' }), [], [], x))[0] as number
    expect(Math.abs(exact - tanh)).toBeGreaterThan(4.5e-4)
  })

  it('names its form and records it in its node', () => {
    expect(Layers.gelu().name).toBe('gelu')
    expect(Layers.gelu().node).toEqual({ op: 'gelu', attrs: { approximate: 'none' } })
    expect(Layers.gelu({ approximate: 'none' }).name).toBe('gelu')
    expect(Layers.gelu({ approximate: 'tanh' }).name).toBe('gelu(tanh)')
    expect(Layers.gelu({ approximate: 'tanh' }).node).toEqual({ op: 'gelu', attrs: { approximate: 'tanh' } })
    expect(Layers.sequential(Layers.dense(2, 2), Layers.gelu({ approximate: 'tanh' })).name).toBe('sequential(dense(2→2), gelu(tanh))')
  })

  it('refuses an unknown form (from untyped callers)', () => {
    expect(() => Layers.gelu({ approximate: 'exact' as never })).toThrow(/approximate must be 'none' or 'tanh', got "exact"/)
  })
})
