import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { AuthDeniedException } from '../auth/auth-denied.exception';
import { AuthResult } from '../auth/auth-result';
import { ThrottledWarning } from '../common/throttled-warning';
import { AppConfig, AttemptPolicy } from '../config/app-config';
import {
  addressSubject,
  AttemptRule,
  AttemptStore,
  keySubject,
  LOCK_ID_PATTERN,
  LockEntry,
  LockKind,
  LockSubject,
} from './attempt-store';
import { AttemptGate, GateTicket } from './attempt-gate';
import { countedAddress } from './client-address';
import { MemoryAttemptStore } from './memory-attempt-store';

/** The stores `LockoutService` works with (see `AbuseModule`). */
export const ATTEMPT_STORES = Symbol('ATTEMPT_STORES');

export interface AttemptStores {
  /** Redis when `REDIS_URL` is set, memory otherwise. */
  primary: AttemptStore;
  /** With Redis only: this instance's memory, used while Redis fails. */
  fallback?: MemoryAttemptStore;
}

/** Why a request is refused before its credentials are checked. */
export interface Block {
  reason: AuthResult.UserLocked | AuthResult.ClientBlocked;
  retryAfterSeconds: number;
}

/** A lock or ban as the admin API shows it. */
export interface LockView {
  id: string;
  kind: LockKind;
  publicKey?: string;
  address: string;
  lockedUntil: string;
  retryAfterSeconds: number;
}

/** The denials that count as failed attempts: unknown key, disabled user, wrong secret. */
const COUNTED = new Set([
  AuthResult.UserUnknown,
  AuthResult.UserDisabled,
  AuthResult.InvalidCredentials,
]);

/** While Redis keeps failing, one warning per this many milliseconds. */
const WARN_EVERY_MS = 30_000;

/**
 * Invalid attempts (CONTRACT.md section 3, reasons 6 and 7). Failures (3, 4, 5) are counted
 * per public key + client address (`AUTH_LOCKOUT_*`) and per client address
 * (`AUTH_IP_BAN_*`), an IPv6 client per network of `AUTH_IPV6_PREFIX_LENGTH` bits; a subject
 * that reaches its attempts within the window is locked for the duration, and the lock ends on
 * its own. Nothing here touches the database.
 *
 * When Redis fails, counting and lookups go on in this instance's memory (the `fallback`
 * store) rather than failing open or failing the request: a Redis outage neither takes the API
 * down (no 500 or 503 for every client) nor switches the protection off; it only stops being
 * shared between instances until Redis answers again. Lookups consult both stores, so a lock
 * made in memory during the outage holds after it. The admin API, which must not show a
 * partial list as if it were whole, answers 503 while Redis fails.
 */
@Injectable()
export class LockoutService {
  /** While Redis keeps failing: one warning per WARN_EVERY_MS. */
  private readonly redisFailure = new ThrottledWarning(new Logger('LockoutService'), WARN_EVERY_MS);
  private readonly keyRule?: AttemptRule;
  private readonly addressRule?: AttemptRule;
  private readonly ipv6PrefixLength: number;
  private readonly gate = new AttemptGate();

  constructor(
    config: AppConfig,
    @Inject(ATTEMPT_STORES) private readonly stores: AttemptStores,
  ) {
    this.keyRule = toRule(config.lockout);
    this.addressRule = toRule(config.ipBan);
    this.ipv6PrefixLength = config.ipv6PrefixLength;
  }

  /**
   * The ban on the address (reason 7) or the lock on the key at that address (reason 6), ban
   * first; undefined when neither applies. `publicKey` is undefined when the request carries
   * no valid Basic credentials (only a ban can apply then).
   */
  async check(address: string, publicKey: string | undefined): Promise<Block | undefined> {
    if (!this.mayBlock()) return undefined;
    const subjects = this.subjects(address, publicKey);
    if (subjects.length === 0) return undefined;
    const remaining = await this.remainingMs(subjects);
    for (const [i, subject] of subjects.entries()) {
      if (remaining[i] > 0) {
        return {
          reason: subject.kind === 'address' ? AuthResult.ClientBlocked : AuthResult.UserLocked,
          retryAfterSeconds: toSeconds(remaining[i]),
        };
      }
    }
    return undefined;
  }

  /**
   * False when `check` would find nothing whatever it is asked: no policy is on, or the stores
   * hold no lock they know of (memory: none in it; Redis: none announced that may still last,
   * see `RedisAttemptStore`). Every request asks and almost never is anything locked; a caller
   * that knows this skips the lookup, and with it hashing the subjects' ids (two SHA-256 per
   * request), a promise and, with Redis, a round trip.
   */
  mayBlock(): boolean {
    if (!this.keyRule && !this.addressRule) return false;
    return this.stores.primary.mayHoldLocks() || (this.stores.fallback?.mayHoldLocks() ?? false);
  }

  /**
   * Runs `attempt`, a check of credentials that may fail (the lock lookup, the check and the
   * count of its failure), once fewer than each rule's attempts of the same key from the same
   * address, and of the same address, are running on this instance (see `AttemptGate`): a burst
   * sent at once cannot get more than twice a rule's attempts past its lock. Synchronous when
   * there is room (almost always).
   */
  admit<T>(address: string, publicKey: string, attempt: () => T | Promise<T>): T | Promise<T> {
    if (!this.keyRule && !this.addressRule) return attempt();
    const counted = countedAddress(address, this.ipv6PrefixLength);
    const tickets: GateTicket[] = [];
    // NUL occurs in neither a public key nor an address (see lockId).
    if (this.addressRule) tickets.push({ lane: `a\0${counted}`, limit: this.addressRule.attempts });
    if (this.keyRule) {
      tickets.push({ lane: `k\0${counted}\0${publicKey}`, limit: this.keyRule.attempts });
    }
    return this.gate.run(tickets, attempt);
  }

  /** Counts the error when it is a failed attempt (reasons 3, 4, 5); never throws. */
  async recordDenial(error: unknown, publicKey: string, address: string): Promise<void> {
    if (error instanceof AuthDeniedException && COUNTED.has(error.reason)) {
      await this.recordFailure(publicKey, address);
    }
  }

  /** Counts one failed attempt of `publicKey` from `address`; never throws. */
  async recordFailure(publicKey: string, address: string): Promise<void> {
    const failures = this.subjects(address, publicKey).map((subject) => ({
      subject,
      rule: (subject.kind === 'key' ? this.keyRule : this.addressRule)!,
    }));
    if (failures.length === 0) return;
    try {
      await this.stores.primary.recordFailures(failures);
    } catch (error) {
      this.warn(error);
      await this.stores.fallback?.recordFailures(failures);
    }
  }

  /** Current locks and bans, the longest-lasting first. */
  async list(): Promise<LockView[]> {
    const entries = await this.fromPrimary((store) => store.list());
    // A subject locked in memory during a Redis outage may be locked in Redis too: one entry.
    const byId = new Map<string, LockEntry>();
    for (const entry of [...entries, ...((await this.stores.fallback?.list()) ?? [])]) {
      const known = byId.get(entry.id);
      if (!known || known.remainingMs < entry.remainingMs) byId.set(entry.id, entry);
    }
    const now = Date.now();
    return [...byId.values()]
      .sort((a, b) => b.remainingMs - a.remainingMs || a.id.localeCompare(b.id))
      .map((entry) => ({
        id: entry.id,
        kind: entry.kind,
        ...(entry.publicKey !== undefined ? { publicKey: entry.publicKey } : {}),
        address: entry.address,
        lockedUntil: new Date(now + entry.remainingMs).toISOString(),
        retryAfterSeconds: toSeconds(entry.remainingMs),
      }));
  }

  /** Lifts a lock or ban at once; false when no current one has that id. */
  async lift(id: string): Promise<boolean> {
    if (!LOCK_ID_PATTERN.test(id)) return false;
    const liftedInMemory = (await this.stores.fallback?.lift(id)) ?? false;
    const lifted = await this.fromPrimary((store) => store.lift(id));
    return lifted || liftedInMemory;
  }

  private subjects(clientAddress: string, publicKey: string | undefined): LockSubject[] {
    const subjects: LockSubject[] = [];
    const address = countedAddress(clientAddress, this.ipv6PrefixLength);
    if (this.addressRule) subjects.push(addressSubject(address));
    if (this.keyRule && publicKey !== undefined) subjects.push(keySubject(publicKey, address));
    return subjects;
  }

  private async remainingMs(subjects: LockSubject[]): Promise<number[]> {
    let remaining = subjects.map(() => 0);
    if (this.stores.primary.mayHoldLocks()) {
      try {
        remaining = await this.stores.primary.remainingMs(subjects);
      } catch (error) {
        this.warn(error);
      }
    }
    const fallback = this.stores.fallback;
    if (!fallback?.mayHoldLocks()) return remaining;
    const local = await fallback.remainingMs(subjects);
    return remaining.map((ms, i) => Math.max(ms, local[i]));
  }

  private async fromPrimary<T>(action: (store: AttemptStore) => Promise<T>): Promise<T> {
    try {
      return await action(this.stores.primary);
    } catch (error) {
      this.warn(error);
      throw new ServiceUnavailableException({
        code: 'LockStoreUnavailable',
        message: 'The store of locks and bans (Redis) is unavailable; try again later.',
      });
    }
  }

  private warn(error: unknown): void {
    this.redisFailure.warn(() => {
      const message = error instanceof Error ? error.message : String(error);
      return `Redis failed (${message}): failed attempts are counted in this instance's memory until it answers again`;
    });
  }
}

/** A policy with 0 attempts is switched off. */
function toRule(policy: AttemptPolicy): AttemptRule | undefined {
  if (policy.attempts <= 0) return undefined;
  return {
    attempts: policy.attempts,
    windowMs: policy.windowSeconds * 1000,
    durationMs: policy.durationSeconds * 1000,
  };
}

/** Whole seconds for `Retry-After`, rounded up and at least 1. */
function toSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
