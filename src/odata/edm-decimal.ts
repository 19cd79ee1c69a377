/**
 * Edm.Decimal values as exact decimal text, never through a double: numeric(18, 4) holds 18
 * significant digits, a double about 16, so `"1234567890123.4567"` became ...4568 on its way
 * to the database and `Price eq 12345678901234.5678` compared with ...568 (found by review).
 */

const DECIMAL_TEXT = /^([+-]?)([0-9]+)(?:\.([0-9]+))?$/;

/**
 * `value` (decimal text, or a number, which JSON already made a double) rounded to `scale`
 * digits after the point, half away from zero as PostgreSQL rounds numeric, as text with
 * exactly `scale` of them; undefined when it is not a decimal number or needs more than
 * `precision` digits.
 */
export function decimalText(
  value: string | number,
  precision: number,
  scale: number,
): string | undefined {
  const match = DECIMAL_TEXT.exec(typeof value === 'number' ? numberText(value, scale) : value);
  if (!match) return undefined;
  const [, sign, whole, fraction = ''] = match;
  // The value times 10^(scale + 1), so that the last digit decides the rounding.
  const scaled = BigInt(whole + fraction.padEnd(scale + 1, '0').slice(0, scale + 1));
  const rounded = (scaled + 5n) / 10n;
  if (rounded >= 10n ** BigInt(precision)) return undefined;
  const digits = rounded.toString().padStart(scale + 1, '0');
  const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return sign === '-' && rounded !== 0n ? `-${text}` : text;
}

/**
 * A literal's exact value as decimal text when the double `parsed` from it says something else
 * (more digits than a double holds); undefined when the double is exact enough to bind.
 */
export function inexactDecimal(raw: string, parsed: number): string | undefined {
  const match = DECIMAL_TEXT.exec(raw);
  if (!match) return undefined;
  const [, sign, whole, fraction = ''] = match;
  const digits = `${whole.replace(/^0+(?=\d)/, '')}${fraction ? `.${fraction.replace(/0+$/, '')}` : ''}`;
  const exact = `${sign === '-' && /[1-9]/.test(digits) ? '-' : ''}${digits.replace(/\.$/, '')}`;
  return String(parsed) === exact ? undefined : exact;
}

/** A number's shortest round-trip text, in positional notation (no exponent). */
function numberText(value: number, scale: number): string {
  if (!Number.isFinite(value)) return '';
  const text = String(value);
  // Only magnitudes below 1e-6 or from 1e21 are written with an exponent: the first round to
  // zero at any scale used here, the second is out of range either way.
  return text.includes('e') ? value.toFixed(Math.min(scale + 1, 100)) : text;
}
