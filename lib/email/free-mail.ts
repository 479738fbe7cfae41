import { createRequire } from 'node:module';

// Free-mail (consumer mailbox) domains, used to tell a company domain (which identifies a customer)
// from a consumer mailbox (which identifies only a person). The list comes from the maintained
// `email-providers` package (all.json, ~8.7k domains, refreshed monthly; no install scripts), plus a
// few regional domains common among Indian shippers and truckers that it lacks. Loaded with
// createRequire because Node 20 still warns on JSON import attributes.

const require = createRequire(import.meta.url);

const EXTRA_FREE_MAIL_DOMAINS = [
  'hotmail.co.in',
  'live.in',
  'outlook.in',
  'rediff.com',
  'rediffmail.com',
  'yahoo.co.in',
  'yahoo.in',
  'zohomail.in',
  'zohomail.com',
  'tutanota.com',
  'tuta.io',
  'fastmail.com',
  'vsnl.net',
  'bsnl.in',
];

function load(): Set<string> {
  let list: unknown = [];
  try {
    list = require('email-providers/all.json');
  } catch {
    // Keep working (with the built-in extras only) if the data file is missing from a bundle.
  }
  const out = new Set<string>();
  for (const d of Array.isArray(list) ? list : []) if (typeof d === 'string' && d) out.add(d.trim().toLowerCase());
  for (const d of EXTRA_FREE_MAIL_DOMAINS) out.add(d);
  return out;
}

/** Lower-case free-mail domains (exact domains, no wildcards). */
export const freeMailDomains: ReadonlySet<string> = load();

/**
 * True when the domain (or the domain of an address: anything after the last '@') is a free-mail
 * provider. Case- and trailing-dot-insensitive; subdomains are not matched (`x.gmail.com` is false).
 */
export function isFreeMailDomain(domainOrAddress: string | null | undefined): boolean {
  if (!domainOrAddress) return false;
  let d = domainOrAddress.trim().toLowerCase();
  const at = d.lastIndexOf('@');
  if (at !== -1) d = d.slice(at + 1);
  d = d.replace(/^\[|\]$/g, '').replace(/\.+$/, '');
  return d.length > 0 && freeMailDomains.has(d);
}
