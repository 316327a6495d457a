/**
 * Checkpoints: a training state and its spec in one JSON file that round-trips bit for bit, written
 * atomically and validated on reading (structure, sizes, version, checksum). Resuming is `read`, then
 * `restore` against the fresh state of the same network and optimizer, then training on.
 *
 * @since 0.1.0
 */
export * from './codec.ts'
export * from './file.ts'
