import { Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { hash, randomBytes } from 'node:crypto';
import { ApiUsersService, UserForAuthentication } from '../api-users/api-users.service';
import { LastRequestService } from '../api-users/last-request.service';
import { requestMemo } from '../common/request-memo';
import { ThrottledWarning } from '../common/throttled-warning';
import { ChangeFeed } from '../change-feed/change-feed.service';
import { DatabaseStatus } from '../change-feed/database-status';
import { followingCache, ReadThroughCache } from '../change-feed/read-through-cache';
import { AppConfig } from '../config/app-config';
import { DatabaseUnavailableException } from '../database/database-unavailable.exception';
import { AuthDeniedException } from './auth-denied.exception';
import { AuthResult } from './auth-result';
import { AuthenticatedUser } from './authenticated-user';
import { MAX_AUTHORIZATION_LENGTH, WithHeaders } from './basic-credentials';
import { constantTimeEqual } from './secret-hash';
import { SecretHashService } from './secret-hash.service';

/** A stale answer is logged at most this often (ms). */
const STALE_LOG_INTERVAL_MS = 60_000;

/** An `Authorization` header that passed the full check, and what it was checked against. */
interface VerifiedHeader {
  /** The cached row it was verified against: recognised only while that row is the fresh one. */
  row: UserForAuthentication;
  user: AuthenticatedUser;
}

/**
 * What `recognise` needs of a request: its headers and, to skip the digest for a header its
 * connection sent before, the connection (Fastify's `request.socket`).
 */
export interface RecognisableRequest extends WithHeaders {
  socket?: object;
}

/**
 * The header first recognised on a connection, and its entry; null once the connection sent
 * another header (see `currentVerifiedHeader`).
 */
interface ConnectionHeader {
  header: string;
  entry: VerifiedHeader;
}
const CONNECTION_HEADER = Symbol('gatehouse.connectionHeader');
type Connection = object & { [CONNECTION_HEADER]?: ConnectionHeader | null };

/**
 * Checks a public key and secret against the stored API users (reasons 4, 5, 3 in order).
 *
 * Users are read through a cache keyed by public key (see ReadThroughCache): in the steady
 * state a request costs no database round trip, only a check of its secret (see
 * `verifiedSecrets`). The cache holds the stored row (its hash, never a secret), so a wrong
 * secret is refused from the cache too. A change to a user reaches every instance through the
 * change feed before its next request. A repeat of a header that passed is recognised by its
 * digest (`recognise`) and skips even the parse.
 */
@Injectable()
export class CredentialsService {
  private readonly users: ReadThroughCache<UserForAuthentication>;
  /**
   * For each cached user whose secret was verified: a SHA-256 of this process's random pepper
   * and that secret, base64 (a string digest is twice as fast to produce as a Buffer). A repeat
   * request then costs one SHA-256 instead of an HMAC with a new key (a fifth of the time,
   * measured), and the secret itself is kept nowhere. Keyed by the cached row, so a change to
   * the user (a new row in the cache) forgets it.
   */
  private readonly verifiedSecrets = new WeakMap<UserForAuthentication, string>();
  /**
   * Repeat requests: for each `Authorization` header that passed the full check, keyed by a
   * SHA-256 of the pepper and the header (never the header itself), the row it was checked
   * against and the user it gave. See `recognise`.
   */
  private readonly verifiedHeaders: LRUCache<string, VerifiedHeader>;
  /** Per request: the header's entry in `verifiedHeaders`, or null when it has none. */
  private readonly verifiedHeaderOf = requestMemo<VerifiedHeader | null>(
    'gatehouse.verifiedHeader',
  );
  private readonly pepper = randomBytes(32).toString('hex');
  private readonly concealReasons: boolean;
  private readonly staleWarning = new ThrottledWarning(
    new Logger('CredentialsService'),
    STALE_LOG_INTERVAL_MS,
  );

  constructor(
    private readonly apiUsers: ApiUsersService,
    private readonly lastRequests: LastRequestService,
    private readonly secrets: SecretHashService,
    config: AppConfig,
    changes: ChangeFeed,
    database: DatabaseStatus,
  ) {
    this.users = followingCache(changes, database, 'api_users', config.authCache, {
      maxEntries: config.authCache.maxEntries,
      onStale: (error) => this.logStale(error),
    });
    this.verifiedHeaders = new LRUCache({ max: config.authCache.maxEntries });
    this.concealReasons = config.authConcealReasons;
  }

  /**
   * The user of a request whose `Authorization` header, byte for byte, passed `verify` before,
   * as long as the user's row it was checked against is still the fresh one in the cache: a
   * change to the user (disabled, deleted, new secret, new roles; announced through the change
   * feed) or the TTL replaces that row, and the header goes through the full check again. Also
   * undefined while the cache is not fresh (feed down, database failing), so those rules stay
   * with `verify`. Saves a repeat request the Basic parse and the cache lookup, and on the
   * connection that sent it before also the digest; a header never verified (every failure)
   * costs one SHA-256 more, the same for all. Memoised per request:
   * the guard asks (for the lock check's public key) and then the strategy.
   */
  recognise(request: RecognisableRequest): AuthenticatedUser | undefined {
    const known = this.verifiedHeaderOf.get(request);
    // Checked on every call: a change may have arrived between the guard's and the strategy's.
    if (known !== undefined) return known && this.isCurrent(known) ? known.user : undefined;
    const found = this.currentVerifiedHeader(request);
    this.verifiedHeaderOf.set(request, found ?? null);
    return found?.user;
  }

  /** A recognised user's request counts as one like any other (last request time). */
  admitRecognised(user: AuthenticatedUser): AuthenticatedUser {
    this.lastRequests.touch(user.id);
    return user;
  }

  /**
   * The full check. `authorization`, the header the credentials came in, is remembered (as a
   * digest) on success so that `recognise` knows it next time.
   */
  async verify(
    publicKey: string,
    secret: string,
    authorization?: string | string[],
  ): Promise<AuthenticatedUser> {
    const cached = this.answeredFromCache(publicKey);
    const user = await this.find(publicKey);
    // Every outcome but a repeat success does the same work, the fingerprint and one HMAC, so
    // that unknown, disabled and wrong-secret answers cannot be told apart by their timing
    // (conceal mode relies on it).
    const fingerprint = hash('sha256', this.pepper + secret, 'base64');
    const verified = user ? this.verifiedSecrets.get(user) : undefined;
    const secretMatches =
      (verified !== undefined && constantTimeEqual(verified, fingerprint)) ||
      this.secrets.verify(secret, user?.secretHash);
    if (!user || !user.enabled || !secretMatches) {
      if (cached) await this.readAsAnUnknownKeyWould(publicKey);
      if (!user) throw new AuthDeniedException(AuthResult.UserUnknown);
      if (!user.enabled) throw new AuthDeniedException(AuthResult.UserDisabled);
      throw new AuthDeniedException(AuthResult.InvalidCredentials);
    }
    if (verified === undefined) this.verifiedSecrets.set(user, fingerprint);
    this.lastRequests.touch(user.id);
    // Frozen: a recognised header hands the same object to every request it authenticates.
    const authenticated: AuthenticatedUser = Object.freeze({
      id: user.id,
      name: user.name,
      publicKey: user.publicKey,
      roles: user.roles,
      limits: user.limits,
    });
    const digest = this.headerDigest(authorization);
    if (digest !== undefined) this.verifiedHeaders.set(digest, { row: user, user: authenticated });
    return authenticated;
  }

  /**
   * The work of `verify` (the lookup and one secret check) without its outcome or effects:
   * for a locked key in conceal mode, whose answer must take as long as a wrong secret's.
   * A database failure still answers 503, as it would for `verify`.
   */
  async verifyWithoutEffect(publicKey: string, secret: string): Promise<void> {
    const cached = this.answeredFromCache(publicKey);
    const user = await this.find(publicKey);
    this.secrets.verify(secret, user?.secretHash);
    if (cached) await this.readAsAnUnknownKeyWould(publicKey);
  }

  /** In conceal mode only: whether `find` will answer `publicKey` without a read. */
  private answeredFromCache(publicKey: string): boolean {
    return this.concealReasons && this.users.peekFresh(publicKey) !== undefined;
  }

  /**
   * In conceal mode, a failure whose user the cache answered reads the user all the same: an
   * unknown key is never cached (see ReadThroughCache), so its every failure costs a database
   * read, and a known key answered from memory would be told apart by its speed (measured by
   * review: 0.8 ms against 2.1 ms, the same 401 either way). What the read finds is not used;
   * should it fail, the answer is the one the cache gave (the database being down is not for
   * this read to report).
   */
  private async readAsAnUnknownKeyWould(publicKey: string): Promise<void> {
    await this.apiUsers.findForAuthentication(publicKey).catch(() => undefined);
  }

  private async find(publicKey: string): Promise<UserForAuthentication | null> {
    try {
      return await this.users.get(publicKey, () => this.apiUsers.findForAuthentication(publicKey));
    } catch (error) {
      // A database failure must never read as a credential failure.
      throw new DatabaseUnavailableException(error);
    }
  }

  /**
   * The request's entry in `verifiedHeaders`, if its row is the fresh one. A client on a
   * keep-alive connection sends the same header with every request, so a connection remembers
   * the header first recognised on it: the next request on it that sends exactly that header
   * (compared in constant time) skips the digest and the lookup, which were most of what a
   * repeat request's authentication still cost (README, Performance). A connection that sends
   * another header (a proxy's carries many clients', a load test's may rotate keys) remembers
   * none from then on, so that it does not pay for a comparison that fails on every request; it
   * takes the digest path, as a header whose row was replaced does. The header is held by its
   * connection only, until the connection closes or sends another; it is never written anywhere.
   */
  private currentVerifiedHeader(request: RecognisableRequest): VerifiedHeader | undefined {
    const header = request.headers.authorization;
    // Absent (or an array, which Node never makes of Authorization: it keeps the first of
    // several): never verified, so neither remembered nor in the digest table.
    if (typeof header !== 'string') return undefined;
    const connection = request.socket as Connection | undefined;
    const remembered = connection?.[CONNECTION_HEADER];
    const repeat =
      remembered && constantTimeEqual(remembered.header, header) ? remembered : undefined;
    if (repeat && this.isCurrent(repeat.entry)) return repeat.entry;
    if (remembered && !repeat) connection[CONNECTION_HEADER] = null;
    const digest = this.headerDigest(header);
    const entry = digest === undefined ? undefined : this.verifiedHeaders.get(digest);
    if (!entry || !this.isCurrent(entry)) return undefined;
    if (repeat) {
      repeat.entry = entry; // the same header, verified again against the user's newer row
    } else if (remembered === undefined && connection) {
      connection[CONNECTION_HEADER] = { header, entry };
    }
    return entry;
  }

  /** Whether the row a header was verified against is still the user's fresh one. */
  private isCurrent(entry: VerifiedHeader): boolean {
    return this.users.peekFresh(entry.row.publicKey) === entry.row;
  }

  /** The key of `verifiedHeaders`; none for a header Basic parsing would refuse outright. */
  private headerDigest(authorization: string | string[] | undefined): string | undefined {
    return typeof authorization === 'string' && authorization.length <= MAX_AUTHORIZATION_LENGTH
      ? hash('sha256', this.pepper + authorization, 'base64')
      : undefined;
  }

  private logStale(error: unknown): void {
    this.staleWarning.warn(
      () =>
        `Database unreachable; serving users verified in the last ` +
        `AUTH_CACHE_STALE_SECONDS from the cache (${String(error)})`,
    );
  }
}
