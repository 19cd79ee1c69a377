import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ChangeFeed } from '../change-feed/change-feed.service';
import { DatabaseStatus } from '../change-feed/database-status';
import { followingCache, ReadThroughCache } from '../change-feed/read-through-cache';
import { AppConfig } from '../config/app-config';
import { DatabaseUnavailableException } from '../database/database-unavailable.exception';
import { UpdateSettingsDto } from './dto/update-settings.dto';
import { Settings } from './settings.entity';

export interface SettingsView {
  apiEnabled: boolean;
  maxTop: number;
  updatedAt: Date;
}

const SETTINGS_ID = 1;
const CACHE_KEY = 'settings';

/**
 * The run-time settings row. Requests read it through a cache that the change feed empties
 * whenever the row changes, so a change made through any instance (or in psql) applies to the
 * next request on all of them; the admin API reads and writes the row itself.
 */
@Injectable()
export class SettingsService {
  private readonly cache: ReadThroughCache<SettingsView>;

  constructor(
    @InjectRepository(Settings) private readonly repository: Repository<Settings>,
    private readonly changes: ChangeFeed,
    database: DatabaseStatus,
    config: AppConfig,
  ) {
    const logger = new Logger('SettingsService');
    this.cache = followingCache(changes, database, 'settings', config.authCache, {
      maxEntries: 1,
      onStale: () => logger.debug('Database unreachable; using the cached settings'),
    });
  }

  /** The settings that apply to a request: from the cache when it can answer. */
  current(): Promise<SettingsView> {
    return this.orUnavailable(() => this.cache.get(CACHE_KEY, () => this.read()));
  }

  /**
   * The cached settings when `current` would answer with them without a read (fresh: within
   * the TTL, the change feed listening); undefined otherwise. Lets a per-request caller skip
   * `current`'s promises in the steady state.
   */
  fresh(): SettingsView | undefined {
    return this.cache.peekFresh(CACHE_KEY);
  }

  /** The settings as stored now (for the admin API). */
  get(): Promise<SettingsView> {
    return this.orUnavailable(() => this.read());
  }

  async update(changes: UpdateSettingsDto): Promise<SettingsView> {
    // The DTO's absent fields are own properties set to undefined (class fields under ES2022+),
    // so an empty PATCH counted as changes: it wrote the row, emptied every instance's cache and
    // waited for them all (found by review).
    const given = Object.fromEntries(
      Object.entries(changes).filter(([, value]) => value !== undefined),
    ) as UpdateSettingsDto;
    if (Object.keys(given).length > 0) {
      await this.repository.update({ id: SETTINGS_ID }, given);
      await this.changes.settle();
    }
    return this.get();
  }

  /** Every request reads this row: whatever stops it is the database failing, not the caller. */
  private async orUnavailable(read: () => Promise<SettingsView | null>): Promise<SettingsView> {
    try {
      const settings = await read();
      if (!settings) throw new Error('The settings row is missing');
      return settings;
    } catch (error) {
      throw new DatabaseUnavailableException(error);
    }
  }

  private async read(): Promise<SettingsView | null> {
    const settings = await this.repository.findOneBy({ id: SETTINGS_ID });
    return settings && toView(settings);
  }
}

function toView(settings: Settings): SettingsView {
  return {
    apiEnabled: settings.apiEnabled,
    maxTop: settings.maxTop,
    updatedAt: settings.updatedAt,
  };
}
