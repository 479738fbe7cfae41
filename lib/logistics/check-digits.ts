// Check-digit arithmetic for ISO 6346 container numbers and IATA air waybills, so that the extractor
// only ever reports numbers that validate rather than anything that merely looks like one.

// ISO 6346 letter values run from A=10 upwards but skip 11, 22 and 33: a letter worth a multiple of 11
// would contribute nothing to the mod-11 sum and so could be mistyped without detection.
const LETTER_VALUES: ReadonlyMap<string, number> = (() => {
  const values = new Map<string, number>();
  let value = 10;
  for (const letter of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') {
    if (value % 11 === 0) value++;
    values.set(letter, value++);
  }
  return values;
})();

const CONTAINER_BODY = /^[A-Z]{3}[UJZ]\d{6}$/;
const CONTAINER_FULL = /^[A-Z]{3}[UJZ]\d{7}$/;

/** Strips the spaces and dashes people put inside identifiers and upper-cases what is left. */
function compact(input: string): string {
  return input.replace(/[\s\-\u2010-\u2015]/g, '').toUpperCase();
}

/**
 * ISO 6346 check digit of the first 10 characters (owner code, category U/J/Z, 6-digit serial),
 * or null when they are not shaped like a container number.
 */
export function containerCheckDigit(ownerCategorySerial: string): number | null {
  const body = compact(ownerCategorySerial).slice(0, 10);
  if (!CONTAINER_BODY.test(body)) return null;
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const ch = body.charAt(i);
    const value = i < 4 ? LETTER_VALUES.get(ch) : Number(ch);
    if (value === undefined) return null;
    sum += value * 2 ** i;
  }
  // A remainder of 10 is written as 0: owners are told to avoid such serials, but they exist in the wild.
  return (sum % 11) % 10;
}

/** The canonical 11-character container number, or null when the shape or the check digit is wrong. */
export function normalizeContainerNumber(input: string): string | null {
  // The check digit is often boxed or bracketed on paperwork: `MSCU 123456(7)`, `MSCU 123456 (7)`.
  const code = compact(input).replace(/^([A-Z]{3}[UJZ]\d{6})\((\d)\)$/, '$1$2');
  if (!CONTAINER_FULL.test(code)) return null;
  return containerCheckDigit(code) === Number(code.charAt(10)) ? code : null;
}

/** True for a well-formed ISO 6346 container number whose check digit matches (spaces/dashes allowed). */
export function isValidContainerNumber(input: string): boolean {
  return normalizeContainerNumber(input) !== null;
}

/** True for a string shaped like a container number whatever its check digit; such strings are never B/Ls or bookings. */
export function isContainerShaped(input: string): boolean {
  return CONTAINER_FULL.test(compact(input).replace(/[()]/g, ''));
}

/** The canonical `PPP-SSSSSSSS` air waybill, or null when it is not 11 digits whose last is the serial mod 7. */
export function normalizeAwb(input: string): string | null {
  const digits = compact(input);
  if (!/^\d{11}$/.test(digits)) return null;
  const serial = Number(digits.slice(3, 10));
  if (serial % 7 !== Number(digits.charAt(10))) return null;
  return `${digits.slice(0, 3)}-${digits.slice(3)}`;
}

/** True for an IATA air waybill (3-digit airline prefix + 7-digit serial + mod-7 check digit). */
export function isValidAwb(input: string): boolean {
  return normalizeAwb(input) !== null;
}
