import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from './app-config';

const PUBLIC_KEY = '0123456789abcdef0123456789abcdef';
const SECRET_KEY = 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210';

/**
 * A self-signed certificate (CN gatehouse-config-spec, EC P-256, valid until 2126) and its key,
 * made with `openssl req -x509` for these tests only: it protects nothing.
 */
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmDCCAT2gAwIBAgIUSAaDdd/9LmeZ/SoUTub05X+Nfq4wCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVZ2F0ZWhvdXNlLWNvbmZpZy1zcGVjMCAXDTI2MTIwMzExMTkw
MloYDzIxMjYxMTA5MTExOTAyWjAgMR4wHAYDVQQDDBVnYXRlaG91c2UtY29uZmln
LXNwZWMwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAThf/alF/oM/+GWnrUev6VQ
GpB4SMTNHODuZURO38gt2J7PMCific8p9+SXXqjSf1xb+wAM+TiNOJHEl8mL4mA/
o1MwUTAdBgNVHQ4EFgQUP8+Ergi8R4YKEfvcDOuRu64mG7swHwYDVR0jBBgwFoAU
P8+Ergi8R4YKEfvcDOuRu64mG7swDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD
AgNJADBGAiEA9qS9YHDJjgL8GXbz4QWyCF0/NkazDdAyAHyslXVl3pUCIQCb6btO
4b6Mz4B05wXQaboapJ/sfiIKWFarwa+l+RdaKA==
-----END CERTIFICATE-----
`;
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLonhhdgPkssYSIug
/tZYrZRE7zW3sBs/4hDfE39K8lKhRANCAAThf/alF/oM/+GWnrUev6VQGpB4SMTN
HODuZURO38gt2J7PMCific8p9+SXXqjSf1xb+wAM+TiNOJHEl8mL4mA/
-----END PRIVATE KEY-----
`;

/** The ConfigError thrown by loadConfig(env), failing the test if there is none. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
}

describe('loadConfig', () => {
  describe('defaults', () => {
    it('fills in every default for an empty environment', () => {
      expect(loadConfig({})).toEqual({
        port: 3000,
        host: '127.0.0.1',
        nodeEnv: 'development',
        databaseUrl: undefined,
        dataDir: '.data',
        authRealm: 'Smartstore.WebApi',
        trustProxy: false,
        authResponseMode: 'smartstore',
        keepMasheryDefaultResponseCode: false,
        authConcealReasons: false,
        adminPublicKey: undefined,
        adminSecretKey: undefined,
        tls: undefined,
        lastRequestFlushMs: 5000,
        odataMaxExpansionDepth: 8,
        odataMaxAnswerEntities: 100_000,
        lockout: { attempts: 10, windowSeconds: 300, durationSeconds: 900 },
        ipBan: { attempts: 100, windowSeconds: 300, durationSeconds: 3600 },
        ipv6PrefixLength: 64,
        rateLimit: { requests: null, windowSeconds: 60 },
        dailyQuota: null,
        redisUrl: undefined,
        auditRetentionDays: 90,
        authCache: { ttlSeconds: 60, staleSeconds: 300, maxEntries: 100_000 },
      });
    });

    it('treats empty strings as unset', () => {
      const env: NodeJS.ProcessEnv = {};
      for (const name of [
        'PORT',
        'HOST',
        'NODE_ENV',
        'DATABASE_URL',
        'DATA_DIR',
        'AUTH_REALM',
        'TRUST_PROXY',
        'AUTH_RESPONSE_MODE',
        'KEEP_MASHERY_DEFAULT_RESPONSE_CODE',
        'AUTH_CONCEAL_REASONS',
        'ADMIN_PUBLIC_KEY',
        'ADMIN_SECRET_KEY',
        'TLS_CERT_FILE',
        'TLS_KEY_FILE',
        'LAST_REQUEST_FLUSH_MS',
        'ODATA_MAX_EXPANSION_DEPTH',
        'ODATA_MAX_ANSWER_ENTITIES',
      ]) {
        env[name] = '';
      }
      expect(loadConfig(env)).toEqual(loadConfig({}));
    });

    it('ignores variables it does not know', () => {
      expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', SOMETHING: 'else' })).toEqual(
        loadConfig({}),
      );
    });
  });

  describe('valid values', () => {
    it('reads every variable', () => {
      const config = loadConfig({
        PORT: '8443',
        HOST: '0.0.0.0',
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://user:pw@db:5432/gatehouse',
        DATA_DIR: '/var/lib/gatehouse',
        AUTH_REALM: 'My Shop API',
        TRUST_PROXY: '1',
        AUTH_RESPONSE_MODE: 'mashery',
        KEEP_MASHERY_DEFAULT_RESPONSE_CODE: 'true',
        AUTH_CONCEAL_REASONS: 'true',
        ADMIN_PUBLIC_KEY: PUBLIC_KEY,
        ADMIN_SECRET_KEY: SECRET_KEY,
        LAST_REQUEST_FLUSH_MS: '250',
        ODATA_MAX_EXPANSION_DEPTH: '3',
        ODATA_MAX_ANSWER_ENTITIES: '5000',
        AUTH_LOCKOUT_ATTEMPTS: '5',
        AUTH_LOCKOUT_WINDOW_SECONDS: '60',
        AUTH_LOCKOUT_DURATION_SECONDS: '120',
        AUTH_IP_BAN_ATTEMPTS: '0',
        AUTH_IPV6_PREFIX_LENGTH: '128',
        RATE_LIMIT_REQUESTS: '100',
        RATE_LIMIT_WINDOW_SECONDS: '10',
        DAILY_QUOTA: '5000',
        REDIS_URL: 'redis://127.0.0.1:6379/2',
        AUDIT_RETENTION_DAYS: '30',
        AUTH_CACHE_TTL_SECONDS: '0',
        AUTH_CACHE_STALE_SECONDS: '30',
        AUTH_CACHE_MAX_ENTRIES: '500',
      });
      expect(config).toEqual({
        port: 8443,
        host: '0.0.0.0',
        nodeEnv: 'production',
        databaseUrl: 'postgres://user:pw@db:5432/gatehouse',
        dataDir: '/var/lib/gatehouse',
        authRealm: 'My Shop API',
        trustProxy: 1,
        authResponseMode: 'mashery',
        keepMasheryDefaultResponseCode: true,
        authConcealReasons: true,
        adminPublicKey: PUBLIC_KEY,
        adminSecretKey: SECRET_KEY,
        tls: undefined,
        lastRequestFlushMs: 250,
        odataMaxExpansionDepth: 3,
        odataMaxAnswerEntities: 5000,
        lockout: { attempts: 5, windowSeconds: 60, durationSeconds: 120 },
        ipBan: { attempts: 0, windowSeconds: 300, durationSeconds: 3600 },
        ipv6PrefixLength: 128,
        rateLimit: { requests: 100, windowSeconds: 10 },
        dailyQuota: 5000,
        redisUrl: 'redis://127.0.0.1:6379/2',
        auditRetentionDays: 30,
        authCache: { ttlSeconds: 0, staleSeconds: 30, maxEntries: 500 },
      });
    });

    it.each(['production', 'test', 'development'])('accepts NODE_ENV=%s', (value) => {
      expect(loadConfig({ NODE_ENV: value }).nodeEnv).toBe(value);
    });

    it('accepts postgresql:// as well as postgres://', () => {
      expect(loadConfig({ DATABASE_URL: 'postgresql://localhost/db' }).databaseUrl).toBe(
        'postgresql://localhost/db',
      );
    });

    it.each([
      ['true', true],
      ['1', true],
      ['false', false],
      ['0', false],
    ])('reads the boolean %s as %s', (value, expected) => {
      const config = loadConfig({
        AUTH_CONCEAL_REASONS: value,
        KEEP_MASHERY_DEFAULT_RESPONSE_CODE: value,
      });
      expect(config.authConcealReasons).toBe(expected);
      expect(config.keepMasheryDefaultResponseCode).toBe(expected);
    });

    it('accepts the port range boundaries', () => {
      expect(loadConfig({ PORT: '0' }).port).toBe(0);
      expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
    });
  });

  describe('TRUST_PROXY', () => {
    it.each([
      ['true', true],
      ['false', false],
      ['2', 2],
      ['0', 0],
      [' true ', true],
    ])('reads %j as %j', (value, expected) => {
      expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toBe(expected);
    });

    it('reads a comma-separated list of addresses and CIDRs as an array', () => {
      expect(loadConfig({ TRUST_PROXY: '10.0.0.1, 192.168.0.0/16, ::1' }).trustProxy).toEqual([
        '10.0.0.1',
        '192.168.0.0/16',
        '::1',
      ]);
    });

    it('reads a single address as a one-element list', () => {
      expect(loadConfig({ TRUST_PROXY: '127.0.0.1' }).trustProxy).toEqual(['127.0.0.1']);
    });

    it('accepts IPv6 CIDRs up to /128 and IPv4 CIDRs up to /32', () => {
      expect(loadConfig({ TRUST_PROXY: 'fd00::/8,10.0.0.0/32,::1/128' }).trustProxy).toEqual([
        'fd00::/8',
        '10.0.0.0/32',
        '::1/128',
      ]);
    });

    it.each([
      'not-an-ip',
      '10.0.0.0/33',
      '::1/129',
      '10.0.0.0/',
      '10.0.0.0/8/8',
      '10.0.0.0/-1',
      '10.0.0.1,',
      '10.0.0.1,,10.0.0.2',
      '256.0.0.1',
      'yes',
      '-1',
      '1.5',
      // proxy-addr (Fastify's) refuses a /0 range at start-up, with no variable named.
      '0.0.0.0/0',
      '::/0',
      '10.0.0.1, 192.168.0.0/00',
    ])('rejects %j naming TRUST_PROXY', (value) => {
      expect(configError({ TRUST_PROXY: value }).message).toMatch(/^TRUST_PROXY: /);
    });

    it('refuses a /0 network, pointing to true for trusting every address', () => {
      const { message } = configError({ TRUST_PROXY: '10.0.0.0/8,0.0.0.0/0' });
      expect(message).toMatch(/^TRUST_PROXY: .*"0\.0\.0\.0\/0".*\btrue\b/);
      expect(message).not.toContain('\n');
    });
  });

  describe('invalid values throw a ConfigError that starts with the variable name', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['PORT', '80.5'],
      ['NODE_ENV', 'staging'],
      ['NODE_ENV', 'Production'],
      ['DATABASE_URL', 'mysql://x'],
      ['DATABASE_URL', 'localhost:5432'],
      ['AUTH_REALM', 'My"Realm'],
      ['AUTH_REALM', 'back\\slash'],
      ['AUTH_REALM', 'x'.repeat(101)],
      ['AUTH_REALM', 'Réalm'],
      ['AUTH_REALM', 'line\nbreak'],
      ['AUTH_RESPONSE_MODE', 'other'],
      ['AUTH_CONCEAL_REASONS', 'maybe'],
      ['AUTH_CONCEAL_REASONS', 'yes'],
      ['KEEP_MASHERY_DEFAULT_RESPONSE_CODE', '2'],
      ['LAST_REQUEST_FLUSH_MS', '10'],
      ['LAST_REQUEST_FLUSH_MS', 'soon'],
      ['ODATA_MAX_EXPANSION_DEPTH', '0'],
      ['ODATA_MAX_EXPANSION_DEPTH', '33'],
      ['ODATA_MAX_ANSWER_ENTITIES', '0'],
      ['ODATA_MAX_ANSWER_ENTITIES', '10000001'],
      ['AUTH_LOCKOUT_ATTEMPTS', '-1'],
      ['AUTH_LOCKOUT_WINDOW_SECONDS', '0'],
      ['AUTH_IP_BAN_DURATION_SECONDS', 'forever'],
      ['AUTH_IPV6_PREFIX_LENGTH', '31'],
      ['AUTH_IPV6_PREFIX_LENGTH', '129'],
      ['AUTH_IPV6_PREFIX_LENGTH', '/64'],
      ['RATE_LIMIT_REQUESTS', '0'],
      ['DAILY_QUOTA', 'lots'],
      ['REDIS_URL', 'http://localhost:6379'],
      ['REDIS_URL', 'redis://127.0.0.1:99999/5'],
      ['REDIS_URL', 'redis://127.0.0.1:notaport'],
      ['REDIS_URL', 'redis://127.0.0.1:6379/abc'],
      ['REDIS_URL', 'redis://%zz@127.0.0.1:6379'],
      ['REDIS_URL', 'redis://[::1'],
      ['AUDIT_RETENTION_DAYS', '0'],
      ['AUTH_CACHE_TTL_SECONDS', '3601'],
      ['AUTH_CACHE_STALE_SECONDS', '-1'],
      ['AUTH_CACHE_MAX_ENTRIES', '0'],
    ])('%s=%j', (name, value) => {
      const error = configError({ [name]: value });
      expect(error.message).toMatch(new RegExp(`^${name}: \\S`));
      expect(error.message).not.toContain('\n');
    });

    it.each([
      // TypeORM decodes the user name and password with decodeURIComponent: "URI malformed"
      // and a stack trace at start, no variable named.
      ['a bad escape in the user name', 'postgres://%zz@x/y'],
      ['a bad escape in the password', 'postgres://user:hunter%zz2@x/y'],
      ['an escape that is no UTF-8', 'postgres://user:hunter%ff2@x/y'],
      ['a port out of range', 'postgres://user:hunter2@x:99999/y'],
    ])('rejects a DATABASE_URL with %s, without echoing it', (_, url) => {
      const { message } = configError({ DATABASE_URL: url });
      expect(message).toMatch(/^DATABASE_URL: \S/);
      expect(message).not.toContain('\n');
      expect(message).not.toContain('hunter');
    });

    it('takes a DATABASE_URL with escapes in its user name and password', () => {
      const url = 'postgres://us%40er:p%25ss%3Aw%C3%B6rd@db.example:5432/gatehouse?sslmode=require';
      expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
    });

    it('rejects a port that is only whitespace rather than listening on a random port', () => {
      expect(configError({ PORT: ' ' }).message).toMatch(/^PORT: /);
    });

    it('names the variable of the first problem when there are several', () => {
      expect(configError({ PORT: 'abc', NODE_ENV: 'staging' }).message).toMatch(
        /^(PORT|NODE_ENV): /,
      );
    });

    it('rejects ADMIN_PUBLIC_KEY without ADMIN_SECRET_KEY', () => {
      const { message } = configError({ ADMIN_PUBLIC_KEY: PUBLIC_KEY });
      expect(message).toMatch(/^ADMIN_SECRET_KEY: /);
      expect(message).toContain('ADMIN_PUBLIC_KEY');
    });

    it('rejects ADMIN_SECRET_KEY without ADMIN_PUBLIC_KEY', () => {
      const { message } = configError({ ADMIN_SECRET_KEY: SECRET_KEY });
      expect(message).toMatch(/^ADMIN_PUBLIC_KEY: /);
      expect(message).toContain('ADMIN_SECRET_KEY');
    });

    it('rejects an ADMIN_SECRET_KEY that is too short', () => {
      const { message } = configError({
        ADMIN_PUBLIC_KEY: PUBLIC_KEY,
        ADMIN_SECRET_KEY: 'short',
      });
      expect(message).toMatch(/^ADMIN_SECRET_KEY: /);
    });

    it('does not echo the admin secret in the error', () => {
      const secret = 'bad\u0001secret-value-long-enough';
      const { message } = configError({ ADMIN_PUBLIC_KEY: PUBLIC_KEY, ADMIN_SECRET_KEY: secret });
      expect(message).toMatch(/^ADMIN_SECRET_KEY: /);
      expect(message).not.toContain(secret);
    });

    it('rejects an admin key pair too long for the Authorization header, in UTF-8 bytes', () => {
      // 32 + 1 + 3034 bytes: one more than "Basic " + base64 fits in 4096 characters.
      const secret = '€'.repeat(1011) + 'x';
      const { message } = configError({ ADMIN_PUBLIC_KEY: PUBLIC_KEY, ADMIN_SECRET_KEY: secret });
      expect(message).toMatch(/^ADMIN_SECRET_KEY: .*3066 bytes/);
      expect(message).not.toContain(secret);
      const fits = '€'.repeat(1011);
      expect(
        loadConfig({ ADMIN_PUBLIC_KEY: PUBLIC_KEY, ADMIN_SECRET_KEY: fits }).adminSecretKey,
      ).toBe(fits);
    });

    it.each(['short', 'has:colon-in-it', 'has space in it', 'x'.repeat(129)])(
      'rejects the ADMIN_PUBLIC_KEY %j',
      (publicKey) => {
        const { message } = configError({
          ADMIN_PUBLIC_KEY: publicKey,
          ADMIN_SECRET_KEY: SECRET_KEY,
        });
        expect(message).toMatch(/^ADMIN_PUBLIC_KEY: /);
      },
    );

    it('rejects TLS_CERT_FILE without TLS_KEY_FILE', () => {
      const { message } = configError({ TLS_CERT_FILE: '/some/cert.pem' });
      expect(message).toMatch(/^TLS_KEY_FILE: /);
      expect(message).toContain('TLS_CERT_FILE');
    });

    it('rejects TLS_KEY_FILE without TLS_CERT_FILE', () => {
      const { message } = configError({ TLS_KEY_FILE: '/some/key.pem' });
      expect(message).toMatch(/^TLS_CERT_FILE: /);
      expect(message).toContain('TLS_KEY_FILE');
    });
  });

  describe('TLS files', () => {
    let dir: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-spec-'));
    });

    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('reads the certificate and key when both are present', () => {
      const certFile = join(dir, 'cert.pem');
      const keyFile = join(dir, 'key.pem');
      writeFileSync(certFile, TEST_CERT);
      writeFileSync(keyFile, TEST_KEY);
      const { tls } = loadConfig({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
      expect(tls).toBeDefined();
      expect(Buffer.isBuffer(tls!.cert)).toBe(true);
      expect(tls!.cert.toString()).toContain('BEGIN CERTIFICATE');
      expect(tls!.key.toString()).toContain('BEGIN PRIVATE KEY');
    });

    it('names TLS_CERT_FILE when the certificate does not exist', () => {
      const keyFile = join(dir, 'present-key.pem');
      writeFileSync(keyFile, 'key');
      const missing = join(dir, 'missing-cert.pem');
      const { message } = configError({ TLS_CERT_FILE: missing, TLS_KEY_FILE: keyFile });
      expect(message).toMatch(/^TLS_CERT_FILE: /);
      expect(message).toContain(missing);
      expect(message).toContain('ENOENT');
    });

    it('names TLS_KEY_FILE when the key does not exist', () => {
      const certFile = join(dir, 'present-cert.pem');
      writeFileSync(certFile, 'cert');
      const { message } = configError({
        TLS_CERT_FILE: certFile,
        TLS_KEY_FILE: join(dir, 'missing-key.pem'),
      });
      expect(message).toMatch(/^TLS_KEY_FILE: /);
    });

    it('names TLS_CERT_FILE when neither file exists', () => {
      const { message } = configError({
        TLS_CERT_FILE: join(dir, 'nope-cert.pem'),
        TLS_KEY_FILE: join(dir, 'nope-key.pem'),
      });
      expect(message).toMatch(/^TLS_CERT_FILE: /);
    });

    // Readable files that are no certificate or key, or do not match, passed and made
    // https.createServer fail later with an OpenSSL error that named no variable.
    const tlsError = (cert: string, key: string): string => {
      const [certFile, keyFile] = [join(dir, 'checked-cert.pem'), join(dir, 'checked-key.pem')];
      writeFileSync(certFile, cert);
      writeFileSync(keyFile, key);
      const { message } = configError({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
      expect(message).not.toContain('\n');
      return message;
    };

    it.each([
      ['text', 'not a certificate'],
      ['the key', TEST_KEY],
      ['an empty PEM block', '-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n'],
    ])('names TLS_CERT_FILE when it holds %s instead of a PEM certificate', (_, cert) => {
      expect(tlsError(cert, TEST_KEY)).toMatch(/^TLS_CERT_FILE: .*checked-cert\.pem/);
    });

    it.each([
      ['text', 'not a key'],
      ['the certificate', TEST_CERT],
      ['an empty PEM block', '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n'],
    ])('names TLS_KEY_FILE when it holds %s instead of a PEM private key', (_, key) => {
      expect(tlsError(TEST_CERT, key)).toMatch(/^TLS_KEY_FILE: .*checked-key\.pem/);
    });

    it.each([
      ['EC', { type: 'ec', namedCurve: 'prime256v1' }],
      ['RSA', { type: 'rsa', modulusLength: 2048 }],
    ] as const)(
      "names TLS_KEY_FILE when it is another %s key than the certificate's",
      (_, options) => {
        const { privateKey } =
          options.type === 'ec'
            ? generateKeyPairSync('ec', { namedCurve: options.namedCurve })
            : generateKeyPairSync('rsa', { modulusLength: options.modulusLength });
        const other = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
        expect(tlsError(TEST_CERT, other)).toMatch(/^TLS_KEY_FILE: .*TLS_CERT_FILE/);
      },
    );

    it('names the variable when the path is a directory', () => {
      const keyFile = join(dir, 'key-for-dir-test.pem');
      writeFileSync(keyFile, 'key');
      const { message } = configError({ TLS_CERT_FILE: dir, TLS_KEY_FILE: keyFile });
      expect(message).toMatch(/^TLS_CERT_FILE: /);
    });
  });

  it('lists every variable, and the README documents each of them (and no other)', () => {
    const readme = readFileSync('README.md', 'utf8'); // Jest runs in the project's root
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## What is'));
    const documented = section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .flatMap((line) => [...line.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]));
    expect([...CONFIG_VARIABLES].sort()).toEqual(documented.sort());
    expect(CONFIG_VARIABLES).toContain('AUTH_IPV6_PREFIX_LENGTH');
  });
});
