import { createHash } from 'node:crypto';

/**
 * Where failed authentications are counted and locks and bans kept: in memory
 * (`MemoryAttemptStore`, one instance) or in Redis (`RedisAttemptStore`, shared by every
 * instance on the same `REDIS_URL`). Secrets never reach a store: only the presented public
 * key, the client address and counts.
 */

/** `key`: a public key at one client address (reason 6); `address`: a client address (reason 7). */
export type LockKind = 'key' | 'address';

/** What a failure counter and its lock are about. */
export interface LockSubject {
  /** 32 hex characters hashed from kind, address and public key: the lock's id in the admin API. */
  id: string;
  kind: LockKind;
  /** The presented public key (kind `key` only), clipped for display. */
  publicKey?: string;
  /** The client address, clipped for display. */
  address: string;
}

export interface AttemptRule {
  /** Failures that lock the subject (at least 1). */
  attempts: number;
  /** The counting window, from the subject's first failure (a fixed window). */
  windowMs: number;
  /** How long the lock lasts; it ends on its own. */
  durationMs: number;
}

export interface LockEntry extends LockSubject {
  /** Milliseconds the lock still lasts (more than 0). */
  remainingMs: number;
}

export interface AttemptFailure {
  subject: LockSubject;
  rule: AttemptRule;
}

export interface AttemptStore {
  /**
   * False when the store can tell without a round trip that it holds no current lock, so a
   * lookup would find none: memory by looking; Redis by the locks announced to it (true while
   * it cannot hear announcements).
   */
  mayHoldLocks(): boolean;
  /** How long each subject's lock still lasts (0: not locked), in one round trip. */
  remainingMs(subjects: readonly LockSubject[]): Promise<number[]>;
  /**
   * Counts one failure against each subject. A subject whose count reaches its rule's
   * `attempts` within the window is locked for the rule's duration, and its count is reset.
   */
  recordFailures(failures: readonly AttemptFailure[]): Promise<void>;
  /** The current locks. */
  list(): Promise<LockEntry[]>;
  /** Lifts a lock (and resets its count); false when no current lock has that id. */
  lift(id: string): Promise<boolean>;
}

/** Ids are 128 bits of a SHA-256, in lowercase hex. */
export const LOCK_ID_PATTERN = /^[0-9a-f]{32}$/;

/** Longer values (a garbage `X-Forwarded-For`, an unknown key of 4000 characters) are clipped. */
const MAX_DISPLAY = 256;

function clip(text: string): string {
  return text.length > MAX_DISPLAY ? `${text.slice(0, MAX_DISPLAY - 1)}…` : text;
}

function lockId(...parts: string[]): string {
  // NUL cannot occur in a public key (control characters are refused) nor in an address.
  return createHash('sha256').update(parts.join('\0'), 'utf8').digest('hex').slice(0, 32);
}

export function keySubject(publicKey: string, address: string): LockSubject {
  return {
    id: lockId('key', address, publicKey),
    kind: 'key',
    publicKey: clip(publicKey),
    address: clip(address),
  };
}

export function addressSubject(address: string): LockSubject {
  return { id: lockId('address', address), kind: 'address', address: clip(address) };
}
