/**
 * Training: the pure step and epoch, and the effectful runner.
 * @since 0.1.0
 */
export * from './step.ts'
export * from './fit.ts'
