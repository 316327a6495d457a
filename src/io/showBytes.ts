/**
 * Byte counts in words for messages: `784 bytes`, `44.9 MiB`, `6.0 GiB`. Pure, for the core too.
 *
 * @since 0.2.0
 * @internal
 */

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const

/**
 * `n` bytes in words: exact below 1 KiB, else one decimal in the largest binary unit that keeps the
 * number at least 1 (up to EiB); counts beyond that (claimed by a crafted header) in exponent form.
 * @internal
 */
export const showBytes = (n: number): string => {
  if (!Number.isFinite(n)) return `${n} bytes`
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  if (value >= 1024) return `${n.toExponential(2)} bytes`
  // One decimal, but never rounded up into the next unit's "1024.0".
  const shown = Math.floor(value * 10) / 10
  return `${shown.toFixed(1)} ${UNITS[unit] as string}`
}
