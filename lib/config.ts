// The environment, validated once. A missing or bad variable stops start-up with a message that names
// each one; a deployment (Vercel, or APP_ENV=production) refuses the embedded development defaults.
import * as z from 'zod';

/** Fixed development defaults. Public on purpose: they only ever protect a developer's laptop. */
export const DEV_DEFAULTS = {
  AUTH_JWT_SECRET: 'banxway-local-development-jwt-secret-change-me-0001',
  ENCRYPTION_KEY: 'YmFueHdheS1sb2NhbC1kZXYta2V5LTMyLWJ5dGVzISE=',
  CRON_SECRET: 'banxway-local-cron-secret',
  STORAGE_SIGNING_SECRET: 'banxway-local-storage-signing-secret',
} as const;

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
const csv = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const optionalUrl = z.url().optional();
const base64Key = z.string().refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)');

export const envSchema = z
  .object({
    APP_ENV: z.enum(['development', 'test', 'production']).optional(),
    VERCEL: z.string().optional(),
    VERCEL_ENV: z.string().optional(),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    // The address npm run dev listens on: loopback by default (its development secrets are public).
    HOST: z.string().min(1).default('127.0.0.1'),
    PUBLIC_BASE_URL: optionalUrl,
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),

    DATABASE_URL: optionalUrl,
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).optional(),
    DATABASE_PREPARE: bool.optional(),
    PGLITE_DATA_DIR: z.string().default('.data/pglite'),

    AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    SUPABASE_URL: optionalUrl,
    SUPABASE_SERVICE_ROLE_KEY: z.string().optional(),
    AUTH_JWT_ISSUER: z.string().optional(),
    AUTH_JWT_AUDIENCE: z.string().default('authenticated'),

    ENCRYPTION_KEY: base64Key.optional(),
    ENCRYPTION_KEY_ID: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,16}$/)
      .default('k1'),
    ENCRYPTION_PREVIOUS_KEYS: z
      .string()
      .regex(/^([A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/=]+)(,[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/=]+)*$/, 'must be id:base64key[,id:base64key]')
      .optional(),

    CRON_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),

    QSTASH_TOKEN: z.string().optional(),
    QSTASH_URL: z.url().default('https://qstash.upstash.io'),
    QSTASH_CURRENT_SIGNING_KEY: z.string().optional(),
    QSTASH_NEXT_SIGNING_KEY: z.string().optional(),
    // Where committed jobs run: QStash deliveries, this function after its response (waitUntil, the
    // per-minute cron as sweeper), or the in-process dispatcher (development). See jobAdapterOf.
    JOBS_ADAPTER: z.enum(['qstash', 'inline', 'local']).optional(),
    // Inline mode: no job starts after this long; one that started runs to its end, so this plus the
    // longest job must stay inside the function's maxDuration (60 s for routes, 120 s for the crons).
    JOBS_INLINE_BUDGET_MS: z.coerce.number().int().min(1000).max(50_000).default(15_000),

    UPSTASH_REDIS_REST_URL: optionalUrl,
    UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
    RATE_LIMIT_PER_USER_PER_MINUTE: z.coerce.number().int().min(1).default(600),
    RATE_LIMIT_PER_API_KEY_PER_MINUTE: z.coerce.number().int().min(1).default(300),
    RATE_LIMIT_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).default(1200),

    CORS_ORIGINS: csv.default([]),
    // The web app's address, for links in mail (invitations): defaults to the first CORS origin, else PUBLIC_BASE_URL.
    APP_URL: optionalUrl,
    MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
    // Notification mail waits this long (cancelled if the member reads it or opens the thread meanwhile).
    NOTIFICATION_EMAIL_DELAY_MINUTES: z.coerce.number().int().min(0).max(1440).default(5),

    STORAGE_SIGNING_SECRET: z.string().min(16).optional(),
    // Outbound email: Resend when RESEND_API_KEY is set, else .eml files under MAIL_OUT_DIR.
    RESEND_API_KEY: z
      .string()
      .regex(/^re_\S+$/, 'must be a Resend API key (re_...)')
      .optional(),
    RESEND_WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must be the webhook signing secret (whsec_...)')
      .optional(),
    RESEND_BASE_URL: optionalUrl,
    TERMINAL49_BASE_URL: optionalUrl,
    MAIL_OUT_DIR: z.string().default('.data/mail-out'),
    // The sender of the app's own mail (invitations), e.g. "Banxway <no-reply@mail.example.com>": a domain Resend may send from.
    MAIL_SYSTEM_FROM: z.string().max(300).optional(),
    // File storage: Supabase Storage when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are set, local files otherwise.
    STORAGE_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{1,62}$/, 'must be a Supabase bucket id')
      .default('attachments'),
    STORAGE_DIR: z.string().default('.data/storage'),
    ATTACHMENT_MAX_BYTES: z.coerce.number().int().min(1024).max(104_857_600).default(26_214_400),
    // Inbound email (IMAP). Mailbox hosts that resolve to private, loopback, link-local or CGNAT
    // addresses are refused unless this is true (tests, or a mail server on the deployment's own network).
    ALLOW_PRIVATE_NETWORK_HOSTS: bool.default(false),
    EMAIL_POLL_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(50),
    EMAIL_POLL_TIME_BUDGET_MS: z.coerce.number().int().min(1000).max(280_000).default(50_000),
    // After catching up, a poll may hold the folder open with IMAP IDLE for this long (within the budget)
    // and store new mail as it arrives: seconds from arrival to inbox instead of up to a minute. 0: off.
    EMAIL_POLL_IDLE_MS: z.coerce.number().int().min(0).max(280_000).default(0),
    EMAIL_MAX_MESSAGE_BYTES: z.coerce.number().int().min(65_536).max(157_286_400).default(52_428_800),
    // Message analysis: an OpenAI-compatible chat-completions model when OPENAI_API_KEY is set, the offline rules otherwise.
    OPENAI_API_KEY: z.string().min(1).optional(),
    OPENAI_BASE_URL: z.url().default('https://api.openai.com/v1'),
    AI_MODEL: z.string().min(1).default('gpt-4o-mini'),
    AI_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(20_000),
    // AI reply drafts, summaries and suggested actions: the model's output budget per draft, the budget of thread
    // context put into one prompt (estimated at 4 characters a token; oldest messages go first), and drafts per user a minute.
    AI_MAX_OUTPUT_TOKENS: z.coerce.number().int().min(16).max(16_000).default(800),
    AI_CONTEXT_TOKENS: z.coerce.number().int().min(500).max(100_000).default(6000),
    AI_COMPOSE_PER_USER_PER_MINUTE: z.coerce.number().int().min(1).default(10),
    // Call transcription: the OpenAI-compatible /audio/transcriptions model (same key and base URL as above).
    AI_TRANSCRIPTION_MODEL: z.string().min(1).default('whisper-1'),
    // Exotel (WhatsApp, SMS, voice): 'exotel' calls https://<channel subdomain> (or EXOTEL_BASE_URL, a test
    // override); 'local' writes each request as a file under EXOTEL_OUT_DIR instead of sending it. Default: exotel when deployed or EXOTEL_BASE_URL is set.
    EXOTEL_ADAPTER: z.enum(['exotel', 'local']).optional(),
    EXOTEL_BASE_URL: optionalUrl,
    // Extra hosts (host or host:port) media and recordings may be fetched from, besides *.exotel.com and *.exotel.in (tests).
    EXOTEL_MEDIA_HOSTS: csv.default([]),
    // The local sink writes each request it would have sent to Exotel as a JSON file here.
    EXOTEL_OUT_DIR: z.string().default('.data/exotel-out'),
    DEV_CRON: bool.default(true),
    DEV_JOBS: bool.default(true),
  })
  .superRefine((env, issue) => {
    if (env.JOBS_ADAPTER === 'qstash' && !env.QSTASH_TOKEN) {
      issue.addIssue({ code: 'custom', path: ['QSTASH_TOKEN'], message: 'is required with JOBS_ADAPTER=qstash' });
    }
    const deployed = env.VERCEL === '1' || env.APP_ENV === 'production';
    if (!deployed) return;
    const required = ['DATABASE_URL', 'PUBLIC_BASE_URL', 'ENCRYPTION_KEY', 'CRON_SECRET'] as const;
    for (const name of required) {
      if (!env[name]) issue.addIssue({ code: 'custom', path: [name], message: 'is required in a deployment' });
    }
    if (!env.SUPABASE_URL && !env.AUTH_JWT_SECRET) {
      issue.addIssue({ code: 'custom', path: ['SUPABASE_URL'], message: 'or AUTH_JWT_SECRET is required in a deployment' });
    }
    // Without an issuer any token signed with the secret passes, whoever minted it for whatever service.
    if (!env.SUPABASE_URL && !env.AUTH_JWT_ISSUER) {
      issue.addIssue({ code: 'custom', path: ['AUTH_JWT_ISSUER'], message: 'is required in a deployment (or SUPABASE_URL, from which it is derived)' });
    }
    for (const [name, value] of Object.entries(DEV_DEFAULTS)) {
      if (env[name as keyof typeof DEV_DEFAULTS] === value) {
        issue.addIssue({ code: 'custom', path: [name], message: 'is the public development default; set a real secret' });
      }
    }
    if (env.JOBS_ADAPTER === 'local') {
      issue.addIssue({
        code: 'custom',
        path: ['JOBS_ADAPTER'],
        message: 'local (the in-process dispatcher of npm run dev) cannot run jobs in a deployment: use qstash or inline',
      });
    }
    if (!env.JOBS_ADAPTER && !env.QSTASH_TOKEN) {
      issue.addIssue({
        code: 'custom',
        path: ['JOBS_ADAPTER'],
        message:
          'is required in a deployment without QSTASH_TOKEN: set QSTASH_TOKEN (and its signing keys) for QStash, or JOBS_ADAPTER=inline to run jobs after each response',
      });
    }
    if (env.QSTASH_TOKEN && (!env.QSTASH_CURRENT_SIGNING_KEY || !env.QSTASH_NEXT_SIGNING_KEY)) {
      issue.addIssue({ code: 'custom', path: ['QSTASH_CURRENT_SIGNING_KEY'], message: 'and QSTASH_NEXT_SIGNING_KEY are required with QSTASH_TOKEN' });
    }
    // Invitations go through Supabase Auth's admin API, which takes the service-role key.
    if (env.SUPABASE_URL && !env.SUPABASE_SERVICE_ROLE_KEY) {
      issue.addIssue({
        code: 'custom',
        path: ['SUPABASE_SERVICE_ROLE_KEY'],
        message: 'is required with SUPABASE_URL in a deployment (invitations and storage use it)',
      });
    }
    if (env.RESEND_API_KEY && !env.MAIL_SYSTEM_FROM) {
      issue.addIssue({
        code: 'custom',
        path: ['MAIL_SYSTEM_FROM'],
        message: 'is required with RESEND_API_KEY in a deployment (invitation mail is sent from it)',
      });
    }
    if (env.RESEND_API_KEY && !env.RESEND_WEBHOOK_SECRET) {
      issue.addIssue({ code: 'custom', path: ['RESEND_WEBHOOK_SECRET'], message: 'is required with RESEND_API_KEY (delivery reports are signed with it)' });
    }
  });

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: 'development' | 'test' | 'production';
  deployed: boolean;
  port: number;
  /** Where the dev server listens. */
  host: string;
  publicBaseUrl: string;
  logLevel: Env['LOG_LEVEL'];
  database: { kind: 'postgres'; url: string; poolMax: number; prepare: boolean } | { kind: 'pglite'; dataDir: string; poolMax: number };
  auth: { secret?: string; jwksUrl?: string; issuer?: string; audience: string };
  encryption: { keyId: string; key: Buffer; previous: Map<string, Buffer> };
  cronSecret: string;
  qstash?: { token: string; url: string; currentSigningKey: string; nextSigningKey: string };
  qstashSigningKeys?: { current: string; next: string };
  /** Where committed jobs run (publishJobs): QStash, this function after its response, or the dev dispatcher. */
  jobs: { adapter: JobsAdapter; inlineBudgetMs: number };
  redis?: { url: string; token: string };
  rateLimit: { perUserPerMinute: number; perIpPerMinute: number; perApiKeyPerMinute: number };
  corsOrigins: string[];
  /** The web app's base URL (links in mail). */
  appUrl: string;
  /** Notification mail: how long it waits for the member to see the notification in the app first. */
  notifications: { emailDelayMs: number };
  maxBodyBytes: number;
  storageSigningSecret: string;
  /** Outbound email: Resend when apiKey is set, the local .eml sink otherwise. */
  email: { resendApiKey?: string; resendBaseUrl?: string; resendWebhookSecret?: string; mailOutDir: string; systemFrom: string };
  storage: { driver: 'local' | 'supabase'; bucket: string; dir: string; maxAttachmentBytes: number };
  supabase?: { url: string; serviceRoleKey?: string };
  /** Outbound connections to hosts a user configures (IMAP servers, OAuth token endpoints). */
  network: { allowPrivateHosts: boolean };
  /** Terminal49's API origin (tracking integrations, lib/tracking). */
  terminal49BaseUrl: string;
  emailPoll: { batchSize: number; timeBudgetMs: number; maxMessageBytes: number; idleMs: number };
  /** Message analysis: the LLM when apiKey is set (offline rules stand in when it fails), offline rules otherwise. */
  ai: {
    apiKey?: string;
    baseUrl: string;
    model: string;
    timeoutMs: number;
    /** Reply drafts: output tokens per draft, context tokens per prompt, drafts per user a minute. */
    maxOutputTokens: number;
    contextTokens: number;
    composePerUserPerMinute: number;
    /** Call recordings: the speech-to-text model (`/audio/transcriptions`). */
    transcriptionModel: string;
  };
  /** Exotel: the live API (per channel subdomain, or baseUrl) or the local sink; extra media hosts. */
  exotel: { adapter: 'exotel' | 'local'; baseUrl?: string; mediaHosts: string[]; outDir: string };
  dev: { cron: boolean; jobs: boolean };
}

export type JobsAdapter = 'qstash' | 'inline' | 'local';

/** The explicit JOBS_ADAPTER, else QStash when its token is set, else the in-process dispatcher (refused when deployed). */
export function jobAdapterOf(env: Pick<Env, 'JOBS_ADAPTER' | 'QSTASH_TOKEN'>): JobsAdapter {
  return env.JOBS_ADAPTER ?? (env.QSTASH_TOKEN ? 'qstash' : 'local');
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment into the typed configuration; throws ConfigError naming every bad variable. */
export function parseConfig(source: Record<string, string | undefined>): Config {
  // Empty strings are "unset": .env files and CI often export VAR= for optional values.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'} ${i.message}`));
  }
  const e = parsed.data;
  const deployed = e.VERCEL === '1' || e.APP_ENV === 'production';
  const env = e.APP_ENV ?? (deployed ? 'production' : 'development');
  const url = e.DATABASE_URL;
  // Supavisor's transaction mode (port 6543) cannot keep prepared statements between transactions.
  const pooled = url ? /:6543\b|pooler\.supabase\.com/.test(url) : false;
  const previous = new Map<string, Buffer>();
  for (const pair of e.ENCRYPTION_PREVIOUS_KEYS?.split(',') ?? []) {
    const [id, key] = pair.split(':') as [string, string];
    previous.set(id, Buffer.from(key, 'base64'));
  }
  const publicBaseUrl = (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, '');
  const issuer = e.AUTH_JWT_ISSUER ?? (e.SUPABASE_URL ? `${e.SUPABASE_URL.replace(/\/$/, '')}/auth/v1` : undefined);
  return {
    env,
    deployed,
    port: e.PORT,
    host: e.HOST,
    publicBaseUrl,
    logLevel: e.LOG_LEVEL,
    database: url
      ? { kind: 'postgres', url, poolMax: e.DATABASE_POOL_MAX ?? (deployed ? 3 : 10), prepare: e.DATABASE_PREPARE ?? !pooled }
      : // One connection whatever DATABASE_POOL_MAX says: pglite-socket interleaves concurrent ones (lib/db/client.ts).
        { kind: 'pglite', dataDir: e.PGLITE_DATA_DIR, poolMax: 1 },
    auth: {
      secret: e.AUTH_JWT_SECRET ?? (e.SUPABASE_URL ? undefined : DEV_DEFAULTS.AUTH_JWT_SECRET),
      jwksUrl: e.SUPABASE_URL ? `${e.SUPABASE_URL.replace(/\/$/, '')}/auth/v1/.well-known/jwks.json` : undefined,
      issuer,
      audience: e.AUTH_JWT_AUDIENCE,
    },
    encryption: {
      keyId: e.ENCRYPTION_KEY_ID,
      key: Buffer.from(e.ENCRYPTION_KEY ?? DEV_DEFAULTS.ENCRYPTION_KEY, 'base64'),
      previous,
    },
    cronSecret: e.CRON_SECRET ?? DEV_DEFAULTS.CRON_SECRET,
    qstash: e.QSTASH_TOKEN
      ? {
          token: e.QSTASH_TOKEN,
          url: e.QSTASH_URL,
          currentSigningKey: e.QSTASH_CURRENT_SIGNING_KEY ?? '',
          nextSigningKey: e.QSTASH_NEXT_SIGNING_KEY ?? '',
        }
      : undefined,
    qstashSigningKeys:
      e.QSTASH_CURRENT_SIGNING_KEY && e.QSTASH_NEXT_SIGNING_KEY ? { current: e.QSTASH_CURRENT_SIGNING_KEY, next: e.QSTASH_NEXT_SIGNING_KEY } : undefined,
    jobs: { adapter: jobAdapterOf(e), inlineBudgetMs: e.JOBS_INLINE_BUDGET_MS },
    redis: e.UPSTASH_REDIS_REST_URL && e.UPSTASH_REDIS_REST_TOKEN ? { url: e.UPSTASH_REDIS_REST_URL, token: e.UPSTASH_REDIS_REST_TOKEN } : undefined,
    rateLimit: {
      perUserPerMinute: e.RATE_LIMIT_PER_USER_PER_MINUTE,
      perIpPerMinute: e.RATE_LIMIT_PER_IP_PER_MINUTE,
      perApiKeyPerMinute: e.RATE_LIMIT_PER_API_KEY_PER_MINUTE,
    },
    corsOrigins: e.CORS_ORIGINS,
    appUrl: (e.APP_URL ?? e.CORS_ORIGINS[0] ?? publicBaseUrl).replace(/\/$/, ''),
    notifications: { emailDelayMs: e.NOTIFICATION_EMAIL_DELAY_MINUTES * 60_000 },
    maxBodyBytes: e.MAX_BODY_BYTES,
    storageSigningSecret: e.STORAGE_SIGNING_SECRET ?? DEV_DEFAULTS.STORAGE_SIGNING_SECRET,
    terminal49BaseUrl: (e.TERMINAL49_BASE_URL ?? 'https://api.terminal49.com/v2').replace(/\/$/, ''),
    email: {
      resendApiKey: e.RESEND_API_KEY,
      resendBaseUrl: e.RESEND_BASE_URL?.replace(/\/$/, ''),
      resendWebhookSecret: e.RESEND_WEBHOOK_SECRET,
      mailOutDir: e.MAIL_OUT_DIR,
      systemFrom: e.MAIL_SYSTEM_FROM ?? `Banxway <no-reply@${new URL(publicBaseUrl).hostname}>`,
    },
    storage: {
      driver: e.SUPABASE_URL && e.SUPABASE_SERVICE_ROLE_KEY ? 'supabase' : 'local',
      bucket: e.STORAGE_BUCKET,
      dir: e.STORAGE_DIR,
      maxAttachmentBytes: e.ATTACHMENT_MAX_BYTES,
    },
    supabase: e.SUPABASE_URL ? { url: e.SUPABASE_URL.replace(/\/$/, ''), serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY } : undefined,
    network: { allowPrivateHosts: e.ALLOW_PRIVATE_NETWORK_HOSTS },
    emailPoll: {
      batchSize: e.EMAIL_POLL_BATCH_SIZE,
      timeBudgetMs: e.EMAIL_POLL_TIME_BUDGET_MS,
      maxMessageBytes: e.EMAIL_MAX_MESSAGE_BYTES,
      idleMs: e.EMAIL_POLL_IDLE_MS,
    },
    ai: {
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL.replace(/\/$/, ''),
      model: e.AI_MODEL,
      timeoutMs: e.AI_TIMEOUT_MS,
      maxOutputTokens: e.AI_MAX_OUTPUT_TOKENS,
      contextTokens: e.AI_CONTEXT_TOKENS,
      composePerUserPerMinute: e.AI_COMPOSE_PER_USER_PER_MINUTE,
      transcriptionModel: e.AI_TRANSCRIPTION_MODEL,
    },
    exotel: {
      adapter: e.EXOTEL_ADAPTER ?? (deployed || e.EXOTEL_BASE_URL ? 'exotel' : 'local'),
      baseUrl: e.EXOTEL_BASE_URL?.replace(/\/$/, ''),
      mediaHosts: e.EXOTEL_MEDIA_HOSTS.map((h) => h.toLowerCase()),
      outDir: e.EXOTEL_OUT_DIR,
    },
    dev: { cron: e.DEV_CRON, jobs: e.DEV_JOBS },
  };
}

let current: Config | undefined;

/** The process configuration, parsed from process.env on first use. */
export function config(): Config {
  current ??= parseConfig(process.env);
  return current;
}

/** Replaces the process configuration (tests, and the dev server after it picks a port). */
export function setConfig(next: Config): void {
  current = next;
}

/** An absolute URL on this deployment for an outside service to call; never derived from a request. */
export function publicUrl(path: string): string {
  return `${config().publicBaseUrl}${path.startsWith('/') ? path : `/${path}`}`;
}
