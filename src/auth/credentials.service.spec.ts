import { ApiUsersService, UserForAuthentication } from '../api-users/api-users.service';
import { LastRequestService } from '../api-users/last-request.service';
import { Change, ChangeFeed, ChangeSubscriber } from '../change-feed/change-feed.service';
import { DatabaseStatus } from '../change-feed/database-status';
import { AppConfig } from '../config/app-config';
import { DatabaseUnavailableException } from '../database/database-unavailable.exception';
import { AuthDeniedException } from './auth-denied.exception';
import { AuthResult } from './auth-result';
import { CredentialsService } from './credentials.service';
import { hashSecret } from './secret-hash';
import { SecretHashService } from './secret-hash.service';

const SECRET = 'the-right-secret-0123456789';
const enabledUser: UserForAuthentication = {
  id: '6f1c2b1e-0000-4000-8000-000000000001',
  name: 'connector',
  publicKey: 'known-public-key',
  roles: ['read'],
  enabled: true,
  secretHash: hashSecret(SECRET),
  limits: { rateLimitRequests: null, rateLimitWindowSeconds: null, dailyQuota: null },
};

const config = {
  authCache: { ttlSeconds: 60, staleSeconds: 300, maxEntries: 100 },
} as AppConfig;

/** A change feed that listens and lets the test announce changes. */
function fakeFeed() {
  const subscribers: ChangeSubscriber[] = [];
  const feed = {
    listening: true,
    version: 0,
    subscribe: (subscriber: ChangeSubscriber) => subscribers.push(subscriber),
    announce(change: Change) {
      feed.version++;
      for (const subscriber of subscribers) subscriber.onChange(change);
    },
  };
  return feed;
}

function setUp(initial: UserForAuthentication | null | Error, options = { conceal: false }) {
  let found = initial;
  const lookups: string[] = [];
  const apiUsers = {
    findForAuthentication: (publicKey: string) => {
      lookups.push(publicKey);
      return found instanceof Error ? Promise.reject(found) : Promise.resolve(found);
    },
  } as unknown as ApiUsersService;
  const touched: string[] = [];
  const lastRequests = { touch: (id: string) => touched.push(id) } as unknown as LastRequestService;
  const secrets = new SecretHashService();
  const verifications: (string | undefined)[] = [];
  const verify = secrets.verify.bind(secrets);
  secrets.verify = (secret, stored) => {
    verifications.push(stored);
    return verify(secret, stored);
  };
  const feed = fakeFeed();
  return {
    service: new CredentialsService(
      apiUsers,
      lastRequests,
      secrets,
      { ...config, authConcealReasons: options.conceal },
      feed as unknown as ChangeFeed,
      new DatabaseStatus(),
    ),
    verifications,
    touched,
    lookups,
    feed,
    answer: (next: UserForAuthentication | null | Error) => (found = next),
  };
}

async function reasonOf(promise: Promise<unknown>): Promise<AuthResult> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AuthDeniedException))
    throw new Error(`expected a denial, got ${String(error)}`);
  return error.reason;
}

describe('CredentialsService', () => {
  it('returns the user without its secret hash and records the request', async () => {
    const { service, touched } = setUp(enabledUser);
    await expect(service.verify('known-public-key', SECRET)).resolves.toEqual({
      id: enabledUser.id,
      name: 'connector',
      publicKey: 'known-public-key',
      roles: ['read'],
      limits: enabledUser.limits,
    });
    expect(touched).toEqual([enabledUser.id]);
  });

  it('denies in the contract order: unknown (4), disabled (5), wrong secret (3)', async () => {
    expect(await reasonOf(setUp(null).service.verify('nobody', SECRET))).toBe(
      AuthResult.UserUnknown,
    );
    const disabled = { ...enabledUser, enabled: false };
    expect(await reasonOf(setUp(disabled).service.verify('k', 'wrong-secret-000000'))).toBe(
      AuthResult.UserDisabled,
    );
    expect(await reasonOf(setUp(enabledUser).service.verify('k', 'wrong-secret-000000'))).toBe(
      AuthResult.InvalidCredentials,
    );
  });

  it('verifies exactly one secret for every outcome, so that answers take the same work', async () => {
    const outcomes = [null, { ...enabledUser, enabled: false }, enabledUser];
    for (const found of outcomes) {
      const { service, verifications, touched } = setUp(found);
      await service.verify('k', 'wrong-secret-000000').catch(() => undefined);
      expect(verifications).toHaveLength(1);
      expect(touched).toEqual([]);
    }
  });

  it('turns a failing lookup into a 503, never a credential failure', async () => {
    const { service } = setUp(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    await expect(service.verify('k', SECRET)).rejects.toBeInstanceOf(DatabaseUnavailableException);
  });

  it('answers repeated requests from the cache, wrong secrets included', async () => {
    const { service, lookups, verifications } = setUp(enabledUser);
    await service.verify('known-public-key', SECRET);
    await service.verify('known-public-key', SECRET);
    expect(await reasonOf(service.verify('known-public-key', 'wrong-secret-000000'))).toBe(
      AuthResult.InvalidCredentials,
    );
    expect(lookups).toEqual(['known-public-key']);
    // The first success verifies the HMAC; the repeat matches its fingerprint; the wrong
    // secret matches no fingerprint and is verified (and refused) by the HMAC.
    expect(verifications).toHaveLength(2);
  });

  it('forgets a verified secret when the user changes (a rotated secret is refused)', async () => {
    const t = setUp(enabledUser);
    await t.service.verify('known-public-key', SECRET);
    const rotated = { ...enabledUser, secretHash: hashSecret('the-new-secret-0123456789') };
    t.answer(rotated);
    t.feed.announce({ table: 'api_users', keys: ['known-public-key'] });
    expect(await reasonOf(t.service.verify('known-public-key', SECRET))).toBe(
      AuthResult.InvalidCredentials,
    );
    await expect(
      t.service.verify('known-public-key', 'the-new-secret-0123456789'),
    ).resolves.toMatchObject({ id: enabledUser.id });
  });

  it('reads an unknown key every time rather than caching its absence', async () => {
    const { service, lookups } = setUp(null);
    await service.verify('nobody', SECRET).catch(() => undefined);
    await service.verify('nobody', SECRET).catch(() => undefined);
    expect(lookups).toEqual(['nobody', 'nobody']);
  });

  it('in conceal mode reads a cached user on every failure, as an unknown key is read', async () => {
    // One read for each failure, whether the key is unknown, disabled or given a wrong secret,
    // and whether or not the cache held the user: their answers take the same work.
    const disabled = { ...enabledUser, enabled: false };
    for (const found of [null, disabled, enabledUser]) {
      const { service, lookups } = setUp(found, { conceal: true });
      await service.verify('k', found === enabledUser ? SECRET : 'wrong-00000000').catch(() => 0);
      for (let i = 0; i < 3; i++) {
        await service.verify('k', 'wrong-secret-000000').catch(() => undefined);
      }
      expect(lookups).toHaveLength(4);
      await service.verifyWithoutEffect('k', 'wrong-secret-000000');
      expect(lookups).toHaveLength(5);
    }
    // Outside conceal mode the cache answers them, and a success reads nothing in either mode.
    const plain = setUp(enabledUser);
    await plain.service.verify('k', 'wrong-secret-000000').catch(() => undefined);
    await plain.service.verify('k', 'wrong-secret-000000').catch(() => undefined);
    expect(plain.lookups).toHaveLength(1);
    const concealed = setUp(enabledUser, { conceal: true });
    await concealed.service.verify('k', SECRET);
    await concealed.service.verify('k', SECRET);
    expect(concealed.lookups).toHaveLength(1);
  });

  it('in conceal mode answers a cached failure as the cache says while the database fails', async () => {
    const t = setUp(enabledUser, { conceal: true });
    await t.service.verify('k', SECRET);
    t.answer(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    expect(await reasonOf(t.service.verify('k', 'wrong-secret-000000'))).toBe(
      AuthResult.InvalidCredentials,
    );
  });

  it('reads a user again after a change to its key, and only to its key', async () => {
    const { service, lookups, feed } = setUp(enabledUser);
    await service.verify('known-public-key', SECRET);
    feed.announce({ table: 'api_users', keys: ['another-key'] });
    await service.verify('known-public-key', SECRET);
    expect(lookups).toHaveLength(1);
    feed.announce({ table: 'api_users', keys: ['known-public-key'] });
    await service.verify('known-public-key', SECRET);
    feed.announce({ table: 'api_users' }); // TRUNCATE: every key
    await service.verify('known-public-key', SECRET);
    expect(lookups).toHaveLength(3);
  });

  describe('recognising a repeat Authorization header', () => {
    const HEADER = `Basic ${Buffer.from(`known-public-key:${SECRET}`).toString('base64')}`;
    const request = (authorization: string | string[] | undefined = HEADER) => ({
      headers: { authorization },
    });

    it('recognises a header only after it passed the full check', async () => {
      const { service } = setUp(enabledUser);
      expect(service.recognise(request())).toBeUndefined();
      const verified = await service.verify('known-public-key', SECRET, HEADER);
      expect(service.recognise(request())).toBe(verified);
    });

    it('does not recognise another header, a failed one, or one of different case', async () => {
      const { service } = setUp(enabledUser);
      await service.verify('known-public-key', SECRET, HEADER);
      const wrong = `Basic ${Buffer.from('known-public-key:wrong-secret-000000').toString('base64')}`;
      await service.verify('known-public-key', 'wrong-secret-000000', wrong).catch(() => null);
      expect(service.recognise(request(wrong))).toBeUndefined();
      expect(service.recognise(request(HEADER.replace('Basic', 'basic')))).toBeUndefined();
      expect(service.recognise(request([HEADER, HEADER]))).toBeUndefined();
      expect(service.recognise({ headers: {} })).toBeUndefined();
    });

    it('stops recognising it once the user changes, until the new row passes', async () => {
      const t = setUp(enabledUser);
      await t.service.verify('known-public-key', SECRET, HEADER);
      t.answer({ ...enabledUser, enabled: false });
      t.feed.announce({ table: 'api_users', keys: ['known-public-key'] });
      expect(t.service.recognise(request())).toBeUndefined();
      expect(await reasonOf(t.service.verify('known-public-key', SECRET, HEADER))).toBe(
        AuthResult.UserDisabled,
      );
      expect(t.service.recognise(request())).toBeUndefined();
    });

    it('rechecks on every call, so a change between the guard and the strategy counts', async () => {
      const t = setUp(enabledUser);
      await t.service.verify('known-public-key', SECRET, HEADER);
      const sameRequest = request();
      expect(t.service.recognise(sameRequest)).toBeDefined();
      t.feed.announce({ table: 'api_users', keys: ['known-public-key'] });
      expect(t.service.recognise(sameRequest)).toBeUndefined();
    });

    it('does not recognise while the change feed is down', async () => {
      const t = setUp(enabledUser);
      await t.service.verify('known-public-key', SECRET, HEADER);
      t.feed.listening = false;
      expect(t.service.recognise(request())).toBeUndefined();
    });

    it('hands out a frozen user, since every recognised request shares it', async () => {
      const { service } = setUp(enabledUser);
      await service.verify('known-public-key', SECRET, HEADER);
      expect(Object.isFrozen(service.recognise(request()))).toBe(true);
    });

    it('counts a recognised request as a request of its user', async () => {
      const { service, touched } = setUp(enabledUser);
      const user = await service.verify('known-public-key', SECRET, HEADER);
      expect(service.admitRecognised(user)).toBe(user);
      expect(touched).toEqual([enabledUser.id, enabledUser.id]);
    });

    describe('on a keep-alive connection (the header it sent before, without the digest)', () => {
      const OTHER_SECRET = SECRET.replace('right', 'wrong'); // the same length
      const OTHER = `Basic ${Buffer.from(`known-public-key:${OTHER_SECRET}`).toString('base64')}`;
      const onConnection = (socket: object, authorization = HEADER) => ({
        headers: { authorization },
        socket,
      });

      it('does not take another header of the same length for it', async () => {
        const t = setUp(enabledUser);
        const socket = {};
        await t.service.verify('known-public-key', SECRET, HEADER);
        expect(t.service.recognise(onConnection(socket))).toBeDefined();
        expect(OTHER).toHaveLength(HEADER.length);
        expect(t.service.recognise(onConnection(socket, OTHER))).toBeUndefined();
        expect(t.service.recognise(onConnection(socket, HEADER.toLowerCase()))).toBeUndefined();
      });

      /** Verifies 100 other headers: maxEntries is 100, so the digest table forgets HEADER. */
      async function pushOutOfDigestTable(t: ReturnType<typeof setUp>) {
        for (let i = 0; i < 100; i++) {
          await t.service.verify('known-public-key', SECRET, `${HEADER} ${i}`);
        }
      }

      it('recognises the repeat even once the digest table has forgotten it', async () => {
        const t = setUp(enabledUser);
        const socket = {};
        const verified = await t.service.verify('known-public-key', SECRET, HEADER);
        expect(t.service.recognise(onConnection(socket))).toBe(verified);
        await pushOutOfDigestTable(t);
        expect(t.service.recognise(onConnection({}))).toBeUndefined();
        expect(t.service.recognise(onConnection(socket))).toBe(verified);
      });

      it("answers each client's header as its own on a shared connection, remembering none", async () => {
        const other = { ...enabledUser, id: 'other-id', publicKey: 'other-public-key' };
        const t = setUp(enabledUser);
        const otherHeader = `Basic ${Buffer.from(`other-public-key:${SECRET}`).toString('base64')}`;
        const first = await t.service.verify('known-public-key', SECRET, HEADER);
        t.answer(other);
        const second = await t.service.verify('other-public-key', SECRET, otherHeader);
        const socket = {};
        for (let round = 0; round < 2; round++) {
          expect(t.service.recognise(onConnection(socket))).toBe(first);
          expect(t.service.recognise(onConnection(socket, otherHeader))).toBe(second);
        }
        // From the other header on, the connection remembers none: only the digest table knew it.
        await pushOutOfDigestTable(t);
        expect(t.service.recognise(onConnection(socket))).toBeUndefined();
      });

      it('stops recognising it once the user changes, then gives the new row, not the old', async () => {
        const t = setUp(enabledUser);
        const socket = {};
        await t.service.verify('known-public-key', SECRET, HEADER);
        expect(t.service.recognise(onConnection(socket))?.roles).toEqual(['read']);
        t.answer({ ...enabledUser, roles: ['write'] });
        t.feed.announce({ table: 'api_users', keys: ['known-public-key'] });
        expect(t.service.recognise(onConnection(socket))).toBeUndefined();
        await t.service.verify('known-public-key', SECRET, HEADER);
        expect(t.service.recognise(onConnection(socket))?.roles).toEqual(['write']);
        // The connection remembers the newer row (not only the digest table).
        await pushOutOfDigestTable(t);
        expect(t.service.recognise(onConnection(socket))?.roles).toEqual(['write']);
      });

      it('does not recognise it while the change feed is down', async () => {
        const t = setUp(enabledUser);
        const socket = {};
        await t.service.verify('known-public-key', SECRET, HEADER);
        expect(t.service.recognise(onConnection(socket))).toBeDefined();
        t.feed.listening = false;
        expect(t.service.recognise(onConnection(socket))).toBeUndefined();
      });
    });
  });
});
