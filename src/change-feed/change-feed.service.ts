import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client, Notification } from 'pg';
import { AppConfig } from '../config/app-config';

/** The channel the database triggers announce changes on (migration 1764100000000). */
export const CHANGES_CHANNEL = 'gatehouse_changes';

/** What a trigger announces: the table, and for API users the public keys the change touches. */
export interface Change {
  table: 'api_users' | 'settings';
  /** Absent for a TRUNCATE: every key. */
  keys?: string[];
}

export interface ChangeSubscriber {
  /** A change committed by any instance (or by anyone with SQL access). */
  onChange(change: Change): void;
  /** Notifications may have been missed: forget everything. */
  onReset(): void;
}

/** The application_name of every instance's LISTEN connection, by which `settle()` finds them. */
export const FEED_APPLICATION_NAME = 'gatehouse-change-feed';

/** How long `settle()` waits for the instances' acknowledgements before giving up (ms). */
const SETTLE_TIMEOUT_MS = 2000;
/** While it waits, how often `settle()` looks which of the awaited instances are still there. */
const SETTLE_RECHECK_MS = 200;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

/**
 * The instance's ear on the database: one dedicated connection that LISTENs to the change
 * triggers and tells the caches. While it is not connected, the caches must not trust what
 * they hold (`listening` is false) and read the database instead; when it connects again they
 * are reset, since whatever was announced in between was missed.
 *
 * `version` moves on every announced change and every (dis)connection. A cache records it before
 * it reads the database and keeps what it read only if it has not moved: otherwise a change
 * announced while the read was under way could be overwritten by the older row the read saw.
 */
@Injectable()
export class ChangeFeed implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ChangeFeed');
  private readonly subscribers: ChangeSubscriber[] = [];
  private readonly settling = new Map<string, Settling>();
  private client?: Client;
  private reconnectTimer?: NodeJS.Timeout;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private stopped = false;
  private connected = false;
  private currentVersion = 0;

  constructor(private readonly config: AppConfig) {}

  get listening(): boolean {
    return this.connected;
  }

  get version(): number {
    return this.currentVersion;
  }

  subscribe(subscriber: ChangeSubscriber): void {
    this.subscribers.push(subscriber);
  }

  async onApplicationBootstrap(): Promise<void> {
    // Awaited, so that the first requests are already served from the caches.
    await this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    this.setDisconnected();
    await client?.end().catch(() => undefined);
  }

  /**
   * Resolves once every instance has received every change committed before the call, so
   * that an admin write that awaits it before it answers is in effect everywhere by the time
   * the client hears of it. It sends a notification of its own (a nonce), which PostgreSQL
   * delivers to each listener after those of earlier commits; every instance that receives it
   * answers with an acknowledgement, and this one waits until its own copy and an answer from
   * each other instance listening at the start (all found by the LISTEN connections'
   * application_name, and told apart by their process ids) are in, or until the awaited
   * instances have gone, or for at most SETTLE_TIMEOUT_MS. Without
   * a connection there is nothing to wait for: the caches are not trusted then.
   */
  async settle(): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) return;
    const nonce = randomUUID();
    let done!: () => void;
    const settled = new Promise<void>((resolve) => (done = resolve));
    const settling: Settling = { awaited: new Set(), done };
    let recheck: NodeJS.Timeout | undefined;
    const timeout = setTimeout(() => {
      this.logger.warn(
        `Change delivery unconfirmed after ${SETTLE_TIMEOUT_MS} ms ` +
          `(${settling.awaited.size} LISTEN connection(s) awaited)`,
      );
      done();
    }, SETTLE_TIMEOUT_MS);
    try {
      // Listed before the nonce is sent: an instance that starts listening later cannot be
      // waited for (it would never see the nonce), and it starts with empty caches anyway.
      // This instance's own connection is among them: its copy of the nonce is awaited too.
      const { rows } = await client.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1`,
        [FEED_APPLICATION_NAME],
      );
      for (const { pid } of rows) settling.awaited.add(pid);
      this.settling.set(nonce, settling);
      await notify(client, { nonce });
      recheck = setInterval(() => void this.forgetGone(client, settling), SETTLE_RECHECK_MS);
      await settled;
    } catch (error) {
      this.logger.warn(`Could not confirm change delivery: ${String(error)}`);
    } finally {
      clearTimeout(timeout);
      clearInterval(recheck);
      this.settling.delete(nonce);
    }
  }

  /** Stops waiting for awaited instances whose connection has gone (stopped, crashed). */
  private async forgetGone(client: Client, settling: Settling): Promise<void> {
    if (settling.awaited.size === 0) return;
    try {
      const { rows } = await client.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])',
        [[...settling.awaited]],
      );
      const present = new Set(rows.map((row) => row.pid));
      for (const pid of settling.awaited) if (!present.has(pid)) settling.awaited.delete(pid);
      if (settling.awaited.size === 0) settling.done();
    } catch {
      // The connection failed: `lost` ends every wait.
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped || !this.config.databaseUrl) return;
    const client = new Client({
      connectionString: this.config.databaseUrl,
      connectionTimeoutMillis: 3000,
      // Half-open connections (a dead server, a cut network) are noticed by TCP keepalive.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: FEED_APPLICATION_NAME,
    });
    client.on('notification', (message) => this.receive(message));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.client !== client) return; // lost (or stopped) while connecting
    this.reconnectDelayMs = RECONNECT_MIN_MS;
    this.connected = true;
    this.currentVersion++;
    // Anything cached before this point may have missed a notification.
    for (const subscriber of this.subscribers) subscriber.onReset();
  }

  private lost(client: Client, error?: Error): void {
    if (this.client !== client) return; // an old client's late event
    this.client = undefined;
    const wasConnected = this.connected;
    this.setDisconnected();
    client.end().catch(() => undefined);
    if (this.stopped) return;
    if (wasConnected) {
      this.logger.warn(`Lost the change feed (${error?.message ?? 'connection ended'})`);
    }
    this.reconnectTimer = setTimeout(() => void this.connect(), this.reconnectDelayMs);
    this.reconnectTimer.unref();
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, RECONNECT_MAX_MS);
  }

  private setDisconnected(): void {
    this.connected = false;
    this.currentVersion++;
    for (const settling of this.settling.values()) settling.done();
  }

  private receive(message: Notification): void {
    if (message.channel !== CHANGES_CHANNEL || !message.payload) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.payload);
    } catch {
      parsed = undefined;
    }
    const { nonce, ack } = (parsed ?? {}) as { nonce?: unknown; ack?: unknown };
    if (typeof nonce === 'string') {
      // An admin write is committed: a read that started before it must not be joined by the
      // requests that come after its answer. A new user announces nothing, so without this a
      // request made after the 201 could share an earlier read that did not find the key, and
      // get 401 UserUnknown on this instance (found by review).
      this.currentVersion++;
      // Ours (every change before it has arrived here), or another instance's, which waits for
      // our acknowledgement (sent on this connection, so that its process id is the one that
      // instance listed us by).
      if (this.settling.has(nonce)) this.confirmed(nonce, message.processId);
      else if (this.client && this.connected) {
        notify(this.client, { ack: nonce }).catch(() => undefined); // a lost connection: `lost`
      }
      return;
    }
    if (typeof ack === 'string') {
      this.confirmed(ack, message.processId);
      return;
    }
    this.currentVersion++;
    const change = toChange(parsed);
    for (const subscriber of this.subscribers) {
      // Something we cannot read could have been anything: forget everything.
      if (change) subscriber.onChange(change);
      else subscriber.onReset();
    }
  }

  /** The LISTEN connection `pid` has received `settle()`'s `nonce` (its own or an ack). */
  private confirmed(nonce: string, pid: number): void {
    const settling = this.settling.get(nonce);
    if (!settling) return;
    settling.awaited.delete(pid);
    if (settling.awaited.size === 0) settling.done();
  }
}

/** A `settle()` in progress. */
interface Settling {
  /** The LISTEN connections (backend process ids), this instance's too, yet to confirm. */
  awaited: Set<number>;
  done(): void;
}

function notify(client: Client, payload: { nonce: string } | { ack: string }): Promise<unknown> {
  return client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(payload)]);
}

function toChange(payload: unknown): Change | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { table, keys } = payload as { table?: unknown; keys?: unknown };
  if (table !== 'api_users' && table !== 'settings') return undefined;
  if (keys === undefined || keys === null) return { table };
  if (!Array.isArray(keys)) return undefined;
  return { table, keys: keys.filter((k): k is string => typeof k === 'string') };
}
