/**
 * The law kit: predicates users can run on their own layers, losses and optimizers.
 * @since 0.1.0
 */
export * from './gradcheck.ts'
export * from './category.ts'
export * from './optim.ts'
