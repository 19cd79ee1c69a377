import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DatabaseUnavailableException } from '../database/database-unavailable.exception';
import { UpdateSettingsDto } from './dto/update-settings.dto';
import { Settings } from './settings.entity';

export interface SettingsView {
  apiEnabled: boolean;
  maxTop: number;
  updatedAt: Date;
}

const SETTINGS_ID = 1;

/**
 * The run-time settings row. Read from the database on every call, so a change made through
 * any instance applies to the next request on all of them.
 */
@Injectable()
export class SettingsService {
  constructor(@InjectRepository(Settings) private readonly repository: Repository<Settings>) {}

  async get(): Promise<SettingsView> {
    try {
      return toView(await this.repository.findOneByOrFail({ id: SETTINGS_ID }));
    } catch (error) {
      // Every request reads this row: whatever stops it is the database failing, not the caller.
      throw new DatabaseUnavailableException(error);
    }
  }

  async update(changes: UpdateSettingsDto): Promise<SettingsView> {
    if (Object.keys(changes).length > 0) {
      await this.repository.update({ id: SETTINGS_ID }, changes);
    }
    return this.get();
  }
}

function toView(settings: Settings): SettingsView {
  return {
    apiEnabled: settings.apiEnabled,
    maxTop: settings.maxTop,
    updatedAt: settings.updatedAt,
  };
}
