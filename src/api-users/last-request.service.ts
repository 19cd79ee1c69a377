import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicFlush } from '../common/periodic-flush';
import { AppConfig } from '../config/app-config';

/**
 * Remembers each API user's last request in memory and writes them in one statement every
 * `LAST_REQUEST_FLUSH_MS` and at shutdown, so authenticating costs no database write.
 */
@Injectable()
export class LastRequestService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('LastRequestService');
  /** Epoch milliseconds: a number per request rather than a Date object. */
  private pending = new Map<string, number>();
  private readonly flushes = new PeriodicFlush(() => this.write());

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.flushes.start(this.config.lastRequestFlushMs);
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.flushes.stop();
  }

  touch(userId: string, at = Date.now()): void {
    this.pending.set(userId, at);
  }

  /** The not yet written time, so that admins see it before the next flush. */
  pendingFor(userId: string): Date | undefined {
    const at = this.pending.get(userId);
    return at === undefined ? undefined : new Date(at);
  }

  /** Writes the pending times; resolves once this and every earlier write ended. */
  flush(): Promise<void> {
    return this.flushes.run();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.dataSource.query(
        `UPDATE "api_users" AS u
            SET "last_request_at" = GREATEST(u."last_request_at", v.at)
           FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at)
          WHERE u."id" = v.id`,
        [[...batch.keys()], [...batch.values()].map((at) => new Date(at).toISOString())],
      );
    } catch (error) {
      // Keep the times for the next attempt, unless a newer request replaced them meanwhile.
      for (const [id, at] of batch) {
        const newer = this.pending.get(id);
        if (!newer || newer < at) this.pending.set(id, at);
      }
      this.logger.warn(
        `Could not write last-request times (${batch.size} users): ${String(error)}`,
      );
    }
  }
}
