// The organization's country: where a phone number typed without its country code is read. A setting
// (PATCH /api/org { country }), else the country of the organization's time zone.
import type { Ctx } from '../context.js';
import { invalid } from '../errors.js';
import { isInternational, toE164, type CountryCode } from '../phone.js';

export interface OrgRegion {
  country: CountryCode | null;
  source: 'setting' | 'timezone' | 'none';
}

/** The country of an IANA time zone (Europe/Berlin: DE), or null for zones of no country (UTC). */
export async function countryOfTimezone(timezone: string): Promise<CountryCode | null> {
  // Loaded only when an organization has set no country.
  const { getTimezone } = await import('countries-and-timezones');
  return (getTimezone(timezone)?.countries[0] as CountryCode | undefined) ?? null;
}

export async function orgRegion(ctx: Ctx): Promise<OrgRegion> {
  const [org] = await ctx.sql<{ country: string | null; timezone: string }[]>`
    select country, timezone from app.organizations where id = ${ctx.orgId}`;
  if (org?.country) return { country: org.country as CountryCode, source: 'setting' };
  const country = org ? await countryOfTimezone(org.timezone) : null;
  return { country, source: country ? 'timezone' : 'none' };
}

/** Which region numbers typed without a country code were read in, and which fields they were. */
export interface AssumedRegion {
  region: CountryCode;
  source: OrgRegion['source'];
  fields: string[];
}

/**
 * Normalises the named phone fields of an input to E.164, reading numbers without a country code in
 * the organization's country: a 422 naming `${where}.${field}` for a number that is not valid there.
 * Returns the input with E.164 numbers and, when any number needed the region, which one was assumed.
 */
export async function normalizePhones<T extends Record<string, unknown>>(
  ctx: Ctx,
  input: T,
  fields: (keyof T & string)[],
  where: 'body' | 'query',
): Promise<{ value: T; assumed?: AssumedRegion }> {
  const present = fields.filter((f) => typeof input[f] === 'string');
  if (present.length === 0) return { value: input };
  const local = present.filter((f) => !isInternational(input[f] as string));
  const region = local.length ? await orgRegion(ctx) : undefined;
  const value: Record<string, unknown> = { ...input };
  for (const f of present) {
    const raw = input[f] as string;
    if (!isInternational(raw) && !region?.country) throw invalid(`${where}.${f}`, 'needs its country code (+<code> ...): the organization has no country set');
    const e164 = toE164(raw, region?.country ?? undefined);
    if (!e164) {
      throw invalid(
        `${where}.${f}`,
        isInternational(raw) ? 'is not a valid phone number' : `is not a valid phone number in ${region!.country} (add +<country code> for another country)`,
      );
    }
    value[f] = e164;
  }
  return { value: value as T, assumed: local.length && region?.country ? { region: region.country, source: region.source, fields: local } : undefined };
}
