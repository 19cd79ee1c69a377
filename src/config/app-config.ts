import proxyAddr from '@fastify/proxy-addr';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import {
  CREDENTIALS_RULE,
  fitsAuthorizationHeader,
  PUBLIC_KEY_PATTERN,
  PUBLIC_KEY_RULE,
  SECRET_PATTERN,
  SECRET_RULE,
} from '../api-users/api-keys';

/**
 * The whole runtime configuration, read once from the environment and validated at start.
 * Every variable is documented in the README; a bad value stops the start with one line.
 */
export abstract class AppConfig {
  abstract readonly port: number;
  abstract readonly host: string;
  abstract readonly nodeEnv: 'development' | 'production' | 'test';
  /** Unset means: start the embedded PostgreSQL. */
  abstract readonly databaseUrl: string | undefined;
  abstract readonly dataDir: string;
  abstract readonly authRealm: string;
  /** Passed to Fastify's `trustProxy`: false, true, a hop count, or addresses/CIDRs. */
  abstract readonly trustProxy: boolean | number | string[];
  abstract readonly authResponseMode: 'smartstore' | 'mashery';
  abstract readonly keepMasheryDefaultResponseCode: boolean;
  abstract readonly authConcealReasons: boolean;
  abstract readonly adminPublicKey: string | undefined;
  abstract readonly adminSecretKey: string | undefined;
  abstract readonly tls: { cert: Buffer; key: Buffer } | undefined;
  /** How often the batched "last request" times are written to the database. */
  abstract readonly lastRequestFlushMs: number;
  /** How deep `$expand` may nest (Smartstore's MaxExpansionDepth). */
  abstract readonly odataMaxExpansionDepth: number;
  /**
   * How many entities one OData answer may hold, counted with repeats (an entity expanded
   * under several parents counts under each): nested expansions multiply, and an answer past
   * this is refused before it is built.
   */
  abstract readonly odataMaxAnswerEntities: number;
  /**
   * Invalid attempts (reasons 3, 4, 5): `lockout` counts them per public key and client address
   * and answers reason 6 while locked; `ipBan` counts them per client address and answers
   * reason 7 while banned. `attempts` 0 switches one off.
   */
  abstract readonly lockout: AttemptPolicy;
  abstract readonly ipBan: AttemptPolicy;
  /** Both count an IPv6 client per network of this many bits (see `countedAddress`). */
  abstract readonly ipv6PrefixLength: number;
  /** Per-API-user defaults (null: no limit); each user may have its own through the admin API. */
  abstract readonly rateLimit: { requests: number | null; windowSeconds: number };
  abstract readonly dailyQuota: number | null;
  /** Shared counters, locks and bans across instances; unset: in memory, per instance. */
  abstract readonly redisUrl: string | undefined;
  /** Audit events older than this are deleted. */
  abstract readonly auditRetentionDays: number;
  /** The credential and settings caches (src/change-feed/read-through-cache.ts). */
  abstract readonly authCache: AuthCachePolicy;
}

export interface AuthCachePolicy {
  /** A cached entry answers without a database read this long (0: always read). */
  ttlSeconds: number;
  /** While the database is down, an entry read this recently still answers (0: never). */
  staleSeconds: number;
  maxEntries: number;
}

export interface AttemptPolicy {
  attempts: number;
  windowSeconds: number;
  durationSeconds: number;
}

/** Raised for the first invalid variable; its message is the one line printed at start. */
export class ConfigError extends Error {}

/** Decimal digits only: `Number()` would also take ' ', '0x50' and '1e3'. */
const wholeNumber = (message: string) =>
  z
    .string()
    .regex(/^\d{1,10}$/, message)
    .transform(Number);

/** 1 second to 30 days. */
const seconds = wholeNumber('must be a whole number of seconds 1-2592000').refine(
  (n) => n >= 1 && n <= 2_592_000,
  'must be a whole number of seconds 1-2592000',
);
const positive = wholeNumber('must be a whole number of at least 1').refine(
  (n) => n >= 1,
  'must be a whole number of at least 1',
);

const booleanString = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

const CIDR_OR_ADDRESS = (entry: string): boolean => {
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (version === 4 ? 32 : 128);
};

const trustProxy = z.string().transform((value, ctx): boolean | number | string[] => {
  const v = value.trim();
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^\d+$/.test(v)) return Number(v);
  const entries = v.split(',').map((e) => e.trim());
  const bad = entries.find((e) => !CIDR_OR_ADDRESS(e));
  if (bad !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `must be true, false, a hop count or a comma-separated list of addresses/CIDRs ("${bad}" is none of these)`,
    });
    return z.NEVER;
  }
  // Fastify compiles the list with proxy-addr when the app is created; what it refuses would
  // stop the start there without naming the variable. It refuses a /0 range, which is refused
  // here too rather than read as `true`: `0.0.0.0/0` says nothing of IPv6 clients.
  const refused = entries.find((e) => !compiles(e));
  if (refused !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: /\/0+$/.test(refused)
        ? `"${refused}" (every address) is refused: use true to believe any proxy`
        : `"${refused}" is refused by proxy-addr`,
    });
    return z.NEVER;
  }
  return entries;
});

function compiles(entry: string): boolean {
  try {
    proxyAddr.compile(entry);
    return true;
  } catch {
    return false;
  }
}

/**
 * TypeORM (DriverUtils.parseConnectionUrl) decodes the user name and password, split at the
 * last "@" before the first "/" after "//", with `decodeURIComponent`: a bad escape (`%zz`, or
 * one that is no UTF-8) would stop the start with "URI malformed" and a stack trace.
 */
function credentialsDecode(url: string): boolean {
  const authority = url.slice(url.indexOf('//') + 2).split('/')[0];
  const at = authority.lastIndexOf('@');
  try {
    decodeURIComponent(at === -1 ? '' : authority.slice(0, at));
    return true;
  } catch {
    return false;
  }
}

const schema = z
  .object({
    PORT: wholeNumber('must be a port number 0-65535')
      .refine((n) => n <= 65535, 'must be a port number 0-65535')
      .default(3000),
    HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
    NODE_ENV: z
      .enum(['development', 'production', 'test'], {
        error: 'must be development, production or test',
      })
      .default('development'),
    // Never echoed in a message: it may hold the password.
    DATABASE_URL: z
      .string()
      .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// connection string')
      // pg reads it with `new URL` (pg-connection-string).
      .refine((v) => URL.canParse(v), 'must be a postgres:// connection string that is a valid URL')
      .refine(
        credentialsDecode,
        'must percent-encode its user name and password as UTF-8 (a % is written %25)',
      )
      .optional(),
    DATA_DIR: z.string().min(1, 'must not be empty').default('.data'),
    AUTH_REALM: z
      .string()
      .regex(/^[\x20-\x7e]{1,100}$/, 'must be 1-100 printable ASCII characters')
      .refine((v) => !/["\\]/.test(v), 'must not contain quotes or backslashes')
      .default('Smartstore.WebApi'),
    TRUST_PROXY: trustProxy.default(false),
    AUTH_RESPONSE_MODE: z
      .enum(['smartstore', 'mashery'], { error: 'must be smartstore or mashery' })
      .default('smartstore'),
    KEEP_MASHERY_DEFAULT_RESPONSE_CODE: booleanString.default(false),
    AUTH_CONCEAL_REASONS: booleanString.default(false),
    ADMIN_PUBLIC_KEY: z.string().regex(PUBLIC_KEY_PATTERN, PUBLIC_KEY_RULE).optional(),
    ADMIN_SECRET_KEY: z.string().regex(SECRET_PATTERN, SECRET_RULE).optional(),
    TLS_CERT_FILE: z.string().min(1).optional(),
    TLS_KEY_FILE: z.string().min(1).optional(),
    LAST_REQUEST_FLUSH_MS: wholeNumber('must be a whole number of milliseconds')
      .refine((n) => n >= 100 && n <= 3_600_000, 'must be 100-3600000')
      .default(5000),
    ODATA_MAX_EXPANSION_DEPTH: wholeNumber('must be a whole number 1-32')
      .refine((n) => n >= 1 && n <= 32, 'must be a whole number 1-32')
      .default(8),
    ODATA_MAX_ANSWER_ENTITIES: wholeNumber('must be a whole number 1-10000000')
      .refine((n) => n >= 1 && n <= 10_000_000, 'must be a whole number 1-10000000')
      .default(100_000),
    AUTH_LOCKOUT_ATTEMPTS: wholeNumber('must be a whole number (0 switches lockout off)').default(
      10,
    ),
    AUTH_LOCKOUT_WINDOW_SECONDS: seconds.default(300),
    AUTH_LOCKOUT_DURATION_SECONDS: seconds.default(900),
    AUTH_IP_BAN_ATTEMPTS: wholeNumber('must be a whole number (0 switches bans off)').default(100),
    AUTH_IP_BAN_WINDOW_SECONDS: seconds.default(300),
    AUTH_IP_BAN_DURATION_SECONDS: seconds.default(3600),
    AUTH_IPV6_PREFIX_LENGTH: wholeNumber('must be a whole number 32-128')
      .refine((n) => n >= 32 && n <= 128, 'must be a whole number 32-128')
      .default(64),
    RATE_LIMIT_REQUESTS: positive.optional(),
    RATE_LIMIT_WINDOW_SECONDS: seconds.default(60),
    DAILY_QUOTA: positive.optional(),
    REDIS_URL: z
      .string()
      .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL')
      // Gatehouse starts while Redis does not answer, so a URL ioredis cannot use (a bad port,
      // a database that is no number, a bad escape) must stop it here, not be retried for ever.
      .refine(
        (v) => URL.canParse(v) && /^\/?\d*$/.test(new URL(v).pathname),
        'must be a redis:// or rediss:// URL that is a valid URL, with a database number as its path',
      )
      .refine(
        credentialsDecode,
        'must percent-encode its user name and password as UTF-8 (a % is written %25)',
      )
      .optional(),
    AUDIT_RETENTION_DAYS: wholeNumber('must be a whole number of days 1-3650')
      .refine((n) => n >= 1 && n <= 3650, 'must be a whole number of days 1-3650')
      .default(90),
    AUTH_CACHE_TTL_SECONDS: wholeNumber('must be a whole number of seconds 0-3600')
      .refine((n) => n <= 3600, 'must be a whole number of seconds 0-3600')
      .default(60),
    AUTH_CACHE_STALE_SECONDS: wholeNumber('must be a whole number of seconds 0-86400')
      .refine((n) => n <= 86_400, 'must be a whole number of seconds 0-86400')
      .default(300),
    AUTH_CACHE_MAX_ENTRIES: wholeNumber('must be a whole number 1-10000000')
      .refine((n) => n >= 1 && n <= 10_000_000, 'must be a whole number 1-10000000')
      .default(100_000),
  })
  .superRefine((env, ctx) => {
    const pairs = [
      ['ADMIN_PUBLIC_KEY', 'ADMIN_SECRET_KEY'],
      ['TLS_CERT_FILE', 'TLS_KEY_FILE'],
    ] as const;
    for (const [a, b] of pairs) {
      if ((env[a] === undefined) !== (env[b] === undefined)) {
        const missing = env[a] === undefined ? a : b;
        ctx.addIssue({
          code: 'custom',
          path: [missing],
          message: `must be set together with ${missing === a ? b : a}`,
        });
      }
    }
    // Else the bootstrap admin could never sign in (every request a malformed header).
    if (
      env.ADMIN_PUBLIC_KEY !== undefined &&
      env.ADMIN_SECRET_KEY !== undefined &&
      !fitsAuthorizationHeader(env.ADMIN_PUBLIC_KEY, env.ADMIN_SECRET_KEY)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_SECRET_KEY'],
        message: CREDENTIALS_RULE,
      });
    }
  });

/** The names of every configuration variable (the benchmark keeps the caller's out of its targets). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

function readFileOrFail(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`${variable}: cannot read ${path} (${code})`);
  }
}

/** The first line of what `check` throws (OpenSSL's reason, e.g. "PEM routines::no start line"). */
function failureOf(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)).split('\n')[0];
  }
}

/**
 * The certificate and key as the HTTPS server will take them (`createSecureContext`), so that
 * a readable file that is no PEM certificate or key, or a key of another certificate, stops
 * the start naming its variable instead of failing later in OpenSSL. The pair is matched with
 * `checkPrivateKey` too: OpenSSL takes a key of another type (RSA for an EC certificate)
 * without a word and only fails the handshakes.
 */
function checkTls(certFile: string, cert: Buffer, keyFile: string, key: Buffer): void {
  const certFailure = failureOf(() => createSecureContext({ cert }));
  if (certFailure !== undefined) {
    throw new ConfigError(`TLS_CERT_FILE: ${certFile} is not a PEM certificate (${certFailure})`);
  }
  const keyFailure = failureOf(() => createSecureContext({ key }));
  if (keyFailure !== undefined) {
    throw new ConfigError(`TLS_KEY_FILE: ${keyFile} is not a PEM private key (${keyFailure})`);
  }
  const pairFailure = failureOf(() => {
    if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
      throw new Error('key values mismatch');
    }
    createSecureContext({ cert, key });
  });
  if (pairFailure !== undefined) {
    throw new ConfigError(
      `TLS_KEY_FILE: ${keyFile} is not the key of the certificate in TLS_CERT_FILE (${pairFailure})`,
    );
  }
}

/**
 * Validates the environment and returns the typed configuration.
 * Empty strings count as unset, as shells and `.env` files commonly produce them.
 * @throws ConfigError naming the first bad variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = schema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`${variable}: ${issue.message}`);
  }
  const e = result.data;
  let tls: AppConfig['tls'];
  if (e.TLS_CERT_FILE && e.TLS_KEY_FILE) {
    tls = {
      cert: readFileOrFail('TLS_CERT_FILE', e.TLS_CERT_FILE),
      key: readFileOrFail('TLS_KEY_FILE', e.TLS_KEY_FILE),
    };
    checkTls(e.TLS_CERT_FILE, tls.cert, e.TLS_KEY_FILE, tls.key);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    nodeEnv: e.NODE_ENV,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    authRealm: e.AUTH_REALM,
    trustProxy: e.TRUST_PROXY,
    authResponseMode: e.AUTH_RESPONSE_MODE,
    keepMasheryDefaultResponseCode: e.KEEP_MASHERY_DEFAULT_RESPONSE_CODE,
    authConcealReasons: e.AUTH_CONCEAL_REASONS,
    adminPublicKey: e.ADMIN_PUBLIC_KEY,
    adminSecretKey: e.ADMIN_SECRET_KEY,
    tls,
    lastRequestFlushMs: e.LAST_REQUEST_FLUSH_MS,
    odataMaxExpansionDepth: e.ODATA_MAX_EXPANSION_DEPTH,
    odataMaxAnswerEntities: e.ODATA_MAX_ANSWER_ENTITIES,
    lockout: {
      attempts: e.AUTH_LOCKOUT_ATTEMPTS,
      windowSeconds: e.AUTH_LOCKOUT_WINDOW_SECONDS,
      durationSeconds: e.AUTH_LOCKOUT_DURATION_SECONDS,
    },
    ipBan: {
      attempts: e.AUTH_IP_BAN_ATTEMPTS,
      windowSeconds: e.AUTH_IP_BAN_WINDOW_SECONDS,
      durationSeconds: e.AUTH_IP_BAN_DURATION_SECONDS,
    },
    ipv6PrefixLength: e.AUTH_IPV6_PREFIX_LENGTH,
    rateLimit: {
      requests: e.RATE_LIMIT_REQUESTS ?? null,
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
    },
    dailyQuota: e.DAILY_QUOTA ?? null,
    redisUrl: e.REDIS_URL,
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    authCache: {
      ttlSeconds: e.AUTH_CACHE_TTL_SECONDS,
      staleSeconds: e.AUTH_CACHE_STALE_SECONDS,
      maxEntries: e.AUTH_CACHE_MAX_ENTRIES,
    },
  };
}
