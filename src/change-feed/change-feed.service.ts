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

/** How long `settle()` waits for its own notification before giving up (ms). */
const SETTLE_TIMEOUT_MS = 2000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

/**
 * The instance's ear on the database: one dedicated connection that LISTENs to the change
 * triggers and tells the caches. While it is not connected, the caches must not trust what
 * they hold (`listening` is false) and read the database instead; when it connects again they
 * are reset, since whatever was announced in between was missed.
 *
 * `version` moves on every notification and every (dis)connection. A cache records it before
 * it reads the database and keeps what it read only if it has not moved: otherwise a change
 * announced while the read was under way could be overwritten by the older row the read saw.
 */
@Injectable()
export class ChangeFeed implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ChangeFeed');
  private readonly subscribers: ChangeSubscriber[] = [];
  private readonly settling = new Map<string, () => void>();
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
   * Resolves once this instance has received every change committed before the call: it
   * sends a notification of its own and waits for it to come back, which PostgreSQL delivers
   * after those of earlier commits. Admin writes await it before they answer, so that their
   * change is in effect on this instance, and already sent to every other one, by the time
   * the client hears of it. Without a connection there is nothing to wait for: the caches
   * are not trusted then.
   */
  async settle(): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) return;
    const nonce = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const echoed = new Promise<void>((resolve) => {
      this.settling.set(nonce, resolve);
      timer = setTimeout(resolve, SETTLE_TIMEOUT_MS);
    });
    try {
      await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify({ nonce })]);
      await echoed;
    } catch (error) {
      this.logger.warn(`Could not confirm change delivery: ${String(error)}`);
    } finally {
      clearTimeout(timer);
      this.settling.delete(nonce);
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
      application_name: 'gatehouse-change-feed',
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
    for (const resolve of this.settling.values()) resolve();
  }

  private receive(message: Notification): void {
    if (message.channel !== CHANGES_CHANNEL || !message.payload) return;
    this.currentVersion++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message.payload);
    } catch {
      parsed = undefined;
    }
    const nonce = (parsed as { nonce?: unknown } | undefined)?.nonce;
    if (typeof nonce === 'string') {
      this.settling.get(nonce)?.();
      return;
    }
    const change = toChange(parsed);
    for (const subscriber of this.subscribers) {
      // Something we cannot read could have been anything: forget everything.
      if (change) subscriber.onChange(change);
      else subscriber.onReset();
    }
  }
}

function toChange(payload: unknown): Change | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { table, keys } = payload as { table?: unknown; keys?: unknown };
  if (table !== 'api_users' && table !== 'settings') return undefined;
  if (keys === undefined || keys === null) return { table };
  if (!Array.isArray(keys)) return undefined;
  return { table, keys: keys.filter((k): k is string => typeof k === 'string') };
}
