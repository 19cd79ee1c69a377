import { Body, Controller, Get, Patch } from '@nestjs/common';
import { AdminApi } from '../audit/admin-api.decorator';
import { UpdateSettingsDto } from './dto/update-settings.dto';
import { SettingsService, SettingsView } from './settings.service';

@Controller('admin/settings')
@AdminApi()
export class SettingsController {
  constructor(private readonly settings: SettingsService) {}

  @Get()
  get(): Promise<SettingsView> {
    return this.settings.get();
  }

  @Patch()
  update(@Body() changes: UpdateSettingsDto): Promise<SettingsView> {
    return this.settings.update(changes);
  }
}
