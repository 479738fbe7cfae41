// Where outbound email goes: Resend through its official SDK when RESEND_API_KEY is set, otherwise a
// local sink that writes each message as an .eml file under MAIL_OUT_DIR. Both take the composed email
// and an idempotency key; both answer with the provider's id or throw an OutboundError that says
// whether a retry can help.
import type { Resend } from 'resend';
import { config, type Config } from '../config.js';
import { sinkName, writeSinkFile } from '../local-sink.js';
import { formatAddress, threadingHeaders, toRfc822, type ComposedEmail } from './compose.js';

export const SENDING_DOMAIN_STATUSES = ['not_started', 'pending', 'verified', 'failed'] as const;
export type SendingDomainStatus = (typeof SENDING_DOMAIN_STATUSES)[number];

/** A provider refusal. `permanent`: the same request will fail again (do not retry). */
export class OutboundError extends Error {
  override name = 'OutboundError';
  constructor(
    readonly code: string,
    message: string,
    readonly permanent: boolean,
    /** The provider's HTTP status; null for network failures. */
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

export interface OutboundAdapter {
  readonly kind: 'resend' | 'local';
  /** Sends once per idempotency key: the same key and email again answer the first id. */
  send(email: ComposedEmail, options: { idempotencyKey: string }): Promise<{ providerMessageId: string }>;
  /** Whether the provider lets us send from this domain. */
  sendingDomainStatus(domain: string): Promise<SendingDomainStatus>;
}

interface ResendErrorBody {
  name?: string;
  message?: string;
  statusCode?: number | null;
}

/** Rate limits, provider outages, network failures and a concurrent twin retry; other 4xx do not. */
export function resendError(error: ResendErrorBody): OutboundError {
  const status = typeof error.statusCode === 'number' ? error.statusCode : null;
  const name = error.name ?? 'provider_error';
  const message = error.message ?? 'Resend refused the request';
  const transient = status === null || status === 408 || status === 429 || status >= 500 || name === 'concurrent_idempotent_requests';
  const code = !transient && /domain is not verified|verify your domain/i.test(message) ? 'domain_not_verified' : name;
  return new OutboundError(code, message, !transient, status);
}

type ResendDomain = {
  status: string;
  capabilities?: { sending?: string };
  records?: { record: string; status: string }[];
};

/** Resend's domain state reduced to "may we send from it": SPF and DKIM are what sending needs. */
export function sendingStatusOf(domain: ResendDomain): SendingDomainStatus {
  if (domain.capabilities?.sending === 'disabled') return 'failed';
  if (domain.status === 'verified') return 'verified';
  const records = (domain.records ?? []).filter((r) => r.record === 'SPF' || r.record === 'DKIM');
  if (records.length > 0 && (domain.status === 'partially_verified' || domain.status === 'partially_failed')) {
    if (records.every((r) => r.status === 'verified')) return 'verified';
    if (records.some((r) => r.status === 'failed')) return 'failed';
    return 'pending';
  }
  switch (domain.status) {
    case 'pending':
    case 'partially_verified':
      return 'pending';
    case 'failed':
    case 'partially_failed':
      return 'failed';
    default:
      return 'not_started';
  }
}

export function resendAdapter(options: { apiKey: string; baseUrl?: string }): OutboundAdapter {
  let client: Promise<Resend> | undefined;
  // The SDK is loaded on first use, so functions that never send do not pay for it.
  const resend = () => (client ??= import('resend').then(({ Resend: R }) => new R(options.apiKey, options.baseUrl ? { baseUrl: options.baseUrl } : undefined)));
  const call = async <T>(what: string, fn: (r: Resend) => Promise<{ data: T | null; error: ResendErrorBody | null }>): Promise<T> => {
    let result: { data: T | null; error: ResendErrorBody | null };
    try {
      result = await fn(await resend());
    } catch (error) {
      // The SDK reports HTTP failures in `error`; a throw is the network or the runtime.
      throw new OutboundError('network_error', `${what}: ${(error as Error).message}`, false, null);
    }
    if (result.error) throw resendError(result.error);
    if (result.data === null) throw new OutboundError('invalid_response', `${what}: Resend answered without data`, false, null);
    return result.data;
  };
  return {
    kind: 'resend',
    async send(email, { idempotencyKey }) {
      const payload = {
        from: formatAddress(email.from),
        to: email.to.map(formatAddress),
        ...(email.cc.length ? { cc: email.cc.map(formatAddress) } : {}),
        ...(email.bcc.length ? { bcc: email.bcc.map(formatAddress) } : {}),
        ...(email.replyTo ? { replyTo: email.replyTo } : {}),
        subject: email.subject,
        ...(email.html !== null ? { html: email.html } : {}),
        text: email.text ?? '',
        headers: threadingHeaders(email),
        ...(email.attachments.length
          ? {
              attachments: email.attachments.map((a) => ({
                filename: a.filename,
                content: a.content,
                contentType: a.contentType,
                ...(a.contentId ? { contentId: a.contentId } : {}),
              })),
            }
          : {}),
        tags: email.tags,
      };
      const data = await call('send', (r) => r.emails.send(payload, { idempotencyKey }));
      if (!data.id) throw new OutboundError('invalid_response', 'Resend answered without an email id', false, null);
      return { providerMessageId: data.id };
    },
    async sendingDomainStatus(domain) {
      const wanted = domain.toLowerCase();
      let after: string | undefined;
      for (let page = 0; page < 50; page++) {
        const list = await call('list domains', (r) => r.domains.list(after ? { limit: 100, after } : { limit: 100 }));
        const found = list.data.find((d) => d.name.toLowerCase() === wanted);
        if (found) {
          const full = await call('get domain', (r) => r.domains.get(found.id));
          return sendingStatusOf(full);
        }
        if (!list.has_more || list.data.length === 0) break;
        after = list.data[list.data.length - 1]!.id;
      }
      return 'not_started';
    },
  };
}

/** Writes `<idempotency key>.eml`: a retry overwrites the same file, so a message is "sent" once. */
export function localSinkAdapter(options: { dir: string }): OutboundAdapter {
  return {
    kind: 'local',
    async send(email, { idempotencyKey }) {
      await writeSinkFile(options.dir, idempotencyKey, 'eml', await toRfc822(email));
      return { providerMessageId: `local-${sinkName(idempotencyKey)}` };
    },
    async sendingDomainStatus() {
      return 'verified';
    },
  };
}

/** A deployment without RESEND_API_KEY: nothing may pretend to have sent (retried until configured). */
function unconfiguredAdapter(): OutboundAdapter {
  const refuse = () => {
    throw new OutboundError('email_not_configured', 'RESEND_API_KEY is not set: this deployment cannot send email', false, null);
  };
  return { kind: 'local', send: async () => refuse(), sendingDomainStatus: async () => refuse() };
}

function create(c: Config): OutboundAdapter {
  if (c.email.resendApiKey) return resendAdapter({ apiKey: c.email.resendApiKey, baseUrl: c.email.resendBaseUrl });
  if (c.deployed) return unconfiguredAdapter();
  return localSinkAdapter({ dir: c.email.mailOutDir });
}

let override: OutboundAdapter | undefined;
let cached: { config: Config; adapter: OutboundAdapter } | undefined;

/** The process's outbound adapter (follows setConfig; useOutboundAdapter overrides it). */
export function outboundAdapter(): OutboundAdapter {
  if (override) return override;
  const c = config();
  if (cached?.config !== c) cached = { config: c, adapter: create(c) };
  return cached.adapter;
}

/** Replaces the adapter (tests); undefined returns to the configured one. */
export function useOutboundAdapter(adapter: OutboundAdapter | undefined): void {
  override = adapter;
}

/** Which adapter is active, for /api/health. */
export function outboundKind(): 'resend' | 'local' | 'unconfigured' {
  const c = config();
  if (c.email.resendApiKey) return 'resend';
  return c.deployed ? 'unconfigured' : 'local';
}
