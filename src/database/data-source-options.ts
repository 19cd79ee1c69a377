import { DataSourceOptions } from 'typeorm';
import { ApiUser } from '../api-users/api-user.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { Settings } from '../settings/settings.entity';
import { Customer } from '../shop/customer.entity';
import { Order } from '../shop/order.entity';
import { Product } from '../shop/product.entity';
import { ApiUsage } from '../usage/api-usage.entity';
import { CreateApiUsersAndSettings1763900000000 } from './migrations/1763900000000-CreateApiUsersAndSettings';
import { CreateShopTables1763990000000 } from './migrations/1763990000000-CreateShopTables';
import { CreateAuditEvents1764000000000 } from './migrations/1764000000000-CreateAuditEvents';
import { AddRateLimitsAndUsage1764000100000 } from './migrations/1764000100000-AddRateLimitsAndUsage';
import { NotifyAuthChanges1764100000000 } from './migrations/1764100000000-NotifyAuthChanges';
import { CreatedOnUtcInMilliseconds1764200000000 } from './migrations/1764200000000-CreatedOnUtcInMilliseconds';
import { DemoDataPending1764300000000 } from './migrations/1764300000000-DemoDataPending';
import { CreateAppliedWriteBatches1764400000000 } from './migrations/1764400000000-CreateAppliedWriteBatches';

/** How long the client waits for any answer to a query (pg's `query_timeout`). */
export const QUERY_TIMEOUT_MS = 15_000;

export interface DataSourceTuning {
  /**
   * Replaces {@link QUERY_TIMEOUT_MS}. For tests only, which need a statement to time out on
   * the client without waiting 15 s. Not a setting: the app's must stay above
   * `statement_timeout`, so that a slow query ends with the server's own error.
   */
  queryTimeoutMs?: number;
}

/**
 * The one description of Gatehouse's database, used by the app (`TypeOrmModule`), by the
 * TypeORM CLI (`ormconfig.ts`) and by the test set-up. Entities and migrations are listed,
 * not globbed, so the same list works compiled, under ts-node and under Jest's ESM mode.
 */
export function dataSourceOptions(url: string, tuning: DataSourceTuning = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [ApiUser, Settings, Customer, Order, Product, AuditEvent, ApiUsage],
    migrations: [
      CreateApiUsersAndSettings1763900000000,
      CreateShopTables1763990000000,
      CreateAuditEvents1764000000000,
      AddRateLimitsAndUsage1764000100000,
      NotifyAuthChanges1764100000000,
      CreatedOnUtcInMilliseconds1764200000000,
      DemoDataPending1764300000000,
      CreateAppliedWriteBatches1764400000000,
    ],
    migrationsTableName: 'migrations',
    synchronize: false,
    extra: {
      max: 10,
      // Fail fast when the server is away, so a request gets its 503 instead of hanging.
      connectionTimeoutMillis: 3000,
      statement_timeout: 10_000,
      // The server enforces statement_timeout; a server that stopped answering (frozen, its
      // network gone without a reset) cannot, and a query would wait for the operating system
      // to give the connection up, many minutes. The client gives up later than the server
      // would, so a slow query still ends with the server's own error. Migrations run on this
      // pool too (runMigrationsLocked), so a statement of theirs gets 10 s: one that rewrites a large
      // table needs a way around both limits (not needed yet; see the README's Health section).
      // When it fires, the statement may still commit on the server (pg neither cancels it nor
      // closes the connection): the batched writes are therefore idempotent (write-batches.ts).
      query_timeout: tuning.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
    },
  };
}
