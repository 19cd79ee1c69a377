import { Global, Module } from '@nestjs/common';
import { ChangeFeed } from './change-feed.service';
import { DatabaseStatus } from './database-status';

/**
 * One LISTEN connection per instance, shared by every cache that must follow the database, and
 * one notion of whether the database is failing, shared by the same caches.
 */
@Global()
@Module({
  // A factory: its one constructor argument is a clock for tests, nothing to inject.
  providers: [ChangeFeed, { provide: DatabaseStatus, useFactory: () => new DatabaseStatus() }],
  exports: [ChangeFeed, DatabaseStatus],
})
export class ChangeFeedModule {}
