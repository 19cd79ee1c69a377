import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { settledWithin } from '../common/settled-within';
import { AppConfig } from '../config/app-config';

/**
 * How long /health waits for the database. A server that has stopped answering (frozen, or
 * its network gone without a reset) leaves a query waiting until the operating system gives
 * the connection up, minutes later; a health check must answer "down" well before a probe's
 * own timeout instead of hanging (found by review: no answer after 90 s).
 */
export const HEALTH_TIMEOUT_MS = 2000;

/**
 * Whether the database answers, asked on a connection of its own rather than the app's pool
 * (found by review): with every pooled connection busy on slow queries, `SELECT 1` waited its
 * turn and /health said "down" of a database that was up, so a load balancer would take
 * working instances out; and /health, which needs no credentials, could take the pool's
 * connections from authenticated requests. Concurrent checks share one question, so the
 * probe never holds more than one connection; one that failed or timed out is dropped, and
 * the next check connects afresh.
 */
@Injectable()
export class DatabaseProbe implements OnApplicationShutdown {
  private client: pg.Client | undefined;
  private asking: Promise<boolean> | undefined;

  constructor(private readonly config: AppConfig) {}

  /** True when the database answered `SELECT 1` within HEALTH_TIMEOUT_MS. */
  isUp(): Promise<boolean> {
    this.asking ??= this.ask().finally(() => (this.asking = undefined));
    return this.asking;
  }

  onApplicationShutdown(): void {
    this.drop();
  }

  private async ask(): Promise<boolean> {
    const answered = this.selectOne().then(
      () => true,
      () => false,
    );
    const up = (await settledWithin(answered, HEALTH_TIMEOUT_MS)) && (await answered);
    if (!up) this.drop();
    return up;
  }

  private async selectOne(): Promise<void> {
    if (!this.client) {
      const client = new pg.Client({
        connectionString: this.config.databaseUrl,
        application_name: 'gatehouse-health',
        connectionTimeoutMillis: HEALTH_TIMEOUT_MS,
      });
      // A connection lost between checks: the next check connects again.
      client.on('error', () => this.client === client && this.drop());
      this.client = client;
      await client.connect();
    }
    await this.client.query('SELECT 1');
  }

  /** Forgets the connection; not awaited: end() waits for a frozen server forever. */
  private drop(): void {
    const client = this.client;
    this.client = undefined;
    client?.end().catch(() => undefined);
  }
}
