// Phone numbers in E.164, parsed with libphonenumber-js; India is the default region.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

/** Normalises a number to E.164, or returns null when it is not a valid number. */
export function toE164(input: string, defaultRegion: CountryCode = 'IN'): string | null {
  const cleaned = input.trim().replace(/^00/, '+');
  const parsed = parsePhoneNumberFromString(cleaned, defaultRegion);
  return parsed?.isValid() ? parsed.number : null;
}
