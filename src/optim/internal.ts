/**
 * Checks of hyper-parameters shared by the optimizer modules (not re-exported: not part of the API).
 *
 * @internal
 */

/** Throws a RangeError naming the place and the value unless `value` is finite. @internal */
export const assertFinite = (where: string, name: string, value: number): void => {
  if (!Number.isFinite(value)) throw new RangeError(`${where}: ${name} must be a finite number, got ${value}`)
}

/** Throws a RangeError naming the place, the range and the value unless `min ≤ value ≤ max`. @internal */
export const assertInRange = (where: string, name: string, value: number, min: number, max: number): void => {
  if (!(value >= min && value <= max)) throw new RangeError(`${where}: ${name} must be in [${min}, ${max}], got ${value}`)
}
