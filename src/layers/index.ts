/**
 * Every layer constructor and combinator, as one namespace.
 * @since 0.1.0
 */
export * from './Layer.ts'
export * from './dense.ts'
export * from './activations.ts'
export * from './batchNorm.ts'
export * from './dropout.ts'
export * from './kinds.ts'
export * from './summary.ts'
