/**
 * `nn-ts train --resume`: what a changed spec does to a resumed run. Every field of the spec either
 * applies from the resumed step on (and the run says so once) or is refused (exit 2, naming the field
 * and both values), by the table in `resumeRules`; the learning rate the spec gives for the resumed
 * step replaces the one kept in the optimizer's state. Pure: the CLI prints and refuses.
 *
 * @internal
 */
import * as Optim from '../optim/index.ts'
import type { GradientTransformation, OptState } from '../optim/Transform.ts'

/**
 * The file `nn-ts train` writes its checkpoint to, in `--out`: after every epoch, every
 * `--checkpoint-every` steps, at the end and when a signal stops training.
 * @internal
 */
export const CHECKPOINT_NAME = 'checkpoint.safetensors'

/**
 * The file a NaN/Infinity stop saves the last good state to, so the last regular checkpoint stays as
 * it was (the state just before a divergence resumes into it again unless the learning rate changes).
 * @internal
 */
export const NAN_STOP_NAME = CHECKPOINT_NAME.replace(/(\.[^.]*)?$/, (extension) => `.nan-stop${extension}`)

/** A spec as JSON: the fields are compared as data, so a field added to the spec later is refused until it is classified here. */
type SpecJson = Readonly<Record<string, unknown>>

/** One field whose value differs between the checkpoint's spec and the spec given now. */
export interface Change {
  /** Its path in the spec, e.g. `optimizer.learningRate`, `layers[0].units`. */
  readonly field: string
  /** The checkpoint's value (`undefined`: absent). */
  readonly was: unknown
  /** The value in the spec given now. */
  readonly now: unknown
  /** Why a refused change cannot resume, or what an applied one means for the run. */
  readonly why: string
}

/** The verdict on a spec for resuming a checkpoint trained with another. @internal */
export interface ResumeVerdict {
  readonly refused: ReadonlyArray<Change>
  readonly applied: ReadonlyArray<Change>
}

const ARCHITECTURE = 'the checkpoint holds params for the network it was trained with'
const ORDER = 'a step of the checkpoint is a batch of its size in its data order, so a resumed run would skip or repeat examples and match no uninterrupted run'

/**
 * The table (also printed by `nn-ts train --help`): for each field, whether a change applies or is
 * refused, and why. Fields not listed here are refused: nn-ts does not know that they can change.
 * @internal
 */
export const resumeRules: ReadonlyArray<{ readonly fields: string; readonly verdict: 'applies' | 'refused'; readonly why: string }> = [
  { fields: 'input, layers, output', verdict: 'refused', why: ARCHITECTURE },
  { fields: 'loss', verdict: 'refused', why: 'the optimizer state (moments) was accumulated for that objective' },
  { fields: 'optimizer.type', verdict: 'refused', why: "the optimizer's state belongs to its type" },
  { fields: 'optimizer.clipByGlobalNorm/weightDecay added or removed', verdict: 'refused', why: "it changes the optimizer's state (AdamW's weightDecay: applies)" },
  { fields: 'training.batchSize, training.seed, training.validationSize', verdict: 'refused', why: 'they decide which examples each step trains on (the seed also draws the validation set)' },
  { fields: 'optimizer.learningRate, optimizer.schedule', verdict: 'applies', why: "the spec's rate for the resumed step replaces the one kept in the optimizer's state" },
  { fields: 'other optimizer settings (momentum, b1, b2, eps, decay, clipByGlobalNorm, weightDecay values)', verdict: 'applies', why: 'read from the spec at every step' },
  { fields: 'training.epochs', verdict: 'applies', why: 'the total number of epochs; a cosine schedule without steps stretches with it' },
  { fields: 'data (training files)', verdict: 'applies', why: 'with a warning: the run equals an uninterrupted one only if the files hold the same examples' },
  { fields: 'data (test files), name, description', verdict: 'applies', why: 'they do not change training' },
  { fields: 'any other field', verdict: 'refused', why: 'nn-ts does not know that it can change on resume' }
]

/** The table as help text. @internal */
export const resumeHelp = (): string =>
  [
    "--resume with a spec that differs from the checkpoint's: each changed field applies from the resumed",
    'step on (the run says so, once) or is refused (exit 2, naming the field and both values):',
    ...resumeRules.flatMap((r) => [`  ${r.verdict.padEnd(8)} ${r.fields}`, `           ${r.why}`])
  ].join('\n')

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const child = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : IDENTIFIER.test(key) ? (path === '' ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`

/**
 * The first place where two JSON values differ (objects key by key in sorted order, arrays index by
 * index), with the values there; `undefined` when they are equal. Iterative, so any depth is fine.
 */
export const firstDifference = (a: unknown, b: unknown, at: string): { readonly field: string; readonly was: unknown; readonly now: unknown } | undefined => {
  const stack: Array<readonly [unknown, unknown, string]> = [[a, b, at]]
  while (stack.length > 0) {
    const [x, y, path] = stack.pop() as readonly [unknown, unknown, string]
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) return { field: `${path}.length`, was: x.length, now: y.length }
      for (let i = x.length - 1; i >= 0; i--) stack.push([x[i], y[i], child(path, i)])
    } else if (isObject(x) && isObject(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort().reverse()
      for (const k of keys) stack.push([x[k], y[k], child(path, k)])
    } else if (!Object.is(x, y)) {
      return { field: path, was: x, now: y }
    }
  }
  return undefined
}

/** A value for a message: JSON, shortened; an absent field says so. */
export const show = (u: unknown): string => {
  if (u === undefined) return 'absent'
  const text = JSON.stringify(u) ?? String(u)
  return text.length <= 80 ? text : `${text.slice(0, 79)}…`
}

/** The training settings with their defaults, as `Spec.training` fills them. */
const trainingOf = (spec: SpecJson): Readonly<Record<string, unknown>> => {
  const t = isObject(spec['training']) ? spec['training'] : {}
  return { ...t, seed: t['seed'] ?? 0, validationSize: t['validationSize'] ?? 0 }
}

const dataOf = (spec: SpecJson): Readonly<Record<string, unknown>> => (isObject(spec['data']) ? spec['data'] : { type: 'mnist' })

/**
 * Compares the spec a checkpoint was trained with (`was`) against the spec given now, field by field
 * (`resumeRules`).
 * @internal
 */
export const compareSpecs = (was: SpecJson, now: SpecJson): ResumeVerdict => {
  const refused: Change[] = []
  const applied: Change[] = []
  const wasOptimizer = isObject(was['optimizer']) ? was['optimizer'] : {}
  const nowOptimizer = isObject(now['optimizer']) ? now['optimizer'] : {}
  const sameOptimizerType = wasOptimizer['type'] === nowOptimizer['type']
  const groups: ReadonlyArray<readonly [string, Readonly<Record<string, unknown>>, Readonly<Record<string, unknown>>]> = [
    ['', { ...was, optimizer: undefined, training: undefined, data: undefined }, { ...now, optimizer: undefined, training: undefined, data: undefined }],
    ['optimizer', wasOptimizer, nowOptimizer],
    ['training', trainingOf(was), trainingOf(now)],
    ['data', dataOf(was), dataOf(now)]
  ]
  for (const [group, a, b] of groups) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const field = group === '' ? key : `${group}.${key}`
      const difference = firstDifference(a[key], b[key], field)
      if (difference === undefined) continue
      const change = (why: string): Change => ({ ...difference, why })
      switch (field) {
        case 'input':
        case 'layers':
        case 'output':
          refused.push(change(ARCHITECTURE))
          break
        case 'loss':
          refused.push(change('the optimizer state (moments) was accumulated for that objective; start a new run to train another loss'))
          break
        case 'optimizer.type':
          refused.push(change("the optimizer's state belongs to its type"))
          break
        case 'optimizer.clipByGlobalNorm':
        case 'optimizer.weightDecay':
          if ((a[key] === undefined || b[key] === undefined) && !(field === 'optimizer.weightDecay' && nowOptimizer['type'] === 'adamw' && sameOptimizerType)) {
            refused.push(change(`adding or removing it changes the optimizer's state; change its value instead`))
          } else {
            applied.push(change('from the resumed step on'))
          }
          break
        case 'optimizer.learningRate':
        case 'optimizer.schedule':
          applied.push(change('the learning rate of the resumed steps follows it'))
          break
        case 'training.batchSize':
        case 'training.validationSize':
          refused.push(change(ORDER))
          break
        case 'training.seed':
          refused.push(change('the seed orders the data and draws the validation set, so the resumed steps would train on other batches than the run the checkpoint belongs to'))
          break
        case 'training.epochs':
          applied.push(change('epochs in all, counting those the checkpoint has trained'))
          break
        case 'name':
        case 'description':
        case 'data.testImages':
        case 'data.testLabels':
          applied.push(change('it does not change training'))
          break
        default:
          if (group === 'optimizer') applied.push(change('from the resumed step on'))
          else if (group === 'data') {
            applied.push(change('the batch order goes on as a function of seed and epoch, so the run equals an uninterrupted one only if these files hold the same examples'))
          } else refused.push(change('nn-ts does not know that this field can change on resume'))
      }
    }
  }
  return { refused, applied }
}

const isLearningRateState = (r: Optim.StateRecord): boolean => typeof r['learningRate'] === 'number' && typeof r['count'] === 'number'

/**
 * The learning rate a fresh run of `optimizer` applies at update number `count`: the value of its
 * schedule there (a constant rate is its own schedule). Read off the optimizer itself, which keeps its
 * schedule in a closure: one update on an empty params tree from its first state with the
 * learning-rate count set to `count − 1` leaves the rate for update `count` in the state. `undefined`
 * when the optimizer keeps no learning rate in its state.
 * @internal
 */
export const scheduledRate = (optimizer: GradientTransformation<OptState>, count: number): number | undefined => {
  const first = optimizer.init({})
  if (count === 0) return Optim.learningRate(first)
  const before = Optim.mapRecords(first, isLearningRateState, (r) => ({ ...r, count: count - 1 }))
  const [, after] = optimizer.update({}, {})(before)
  return Optim.learningRate(after)
}

/**
 * `optState` with the learning rate the spec's optimizer gives for its next update, and the rates
 * before and after (equal when nothing changed).
 * @internal
 */
export const withScheduledRate = <O extends OptState>(optimizer: GradientTransformation<OptState>, optState: O): { readonly optState: O; readonly was?: number; readonly now?: number } => {
  const was = Optim.learningRate(optState)
  const count = Optim.stepCount(optState)
  if (was === undefined || count === undefined) return { optState }
  const now = scheduledRate(optimizer, count)
  if (now === undefined || Object.is(now, was)) return { optState, was, now: was }
  return { optState: Optim.setLearningRate(optState, now), was, now }
}
