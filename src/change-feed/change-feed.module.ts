import { Global, Module } from '@nestjs/common';
import { ChangeFeed } from './change-feed.service';

/** One LISTEN connection per instance, shared by every cache that must follow the database. */
@Global()
@Module({
  providers: [ChangeFeed],
  exports: [ChangeFeed],
})
export class ChangeFeedModule {}
