// Phone numbers in E.164, parsed with libphonenumber-js. A number written without its country code
// is read in a region: the organization's country for what members type (lib/org/region.ts), the
// channel's for what a provider sends.
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export { isSupportedCountry };

export type { CountryCode };

/** True when the number carries its own country code (`+49 ...`, `0049 ...`). */
export function isInternational(input: string): boolean {
  return /^\s*(\+|00)/.test(input);
}

/** Normalises a number to E.164, or returns null when it is not a valid number. */
export function toE164(input: string, defaultRegion: CountryCode = 'IN'): string | null {
  const cleaned = input.trim().replace(/^00/, '+');
  const parsed = parsePhoneNumberFromString(cleaned, defaultRegion);
  return parsed?.isValid() ? parsed.number : null;
}
