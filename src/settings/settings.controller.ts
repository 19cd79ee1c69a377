import { Body, Controller, Get, Patch, UseInterceptors } from '@nestjs/common';
import { AdminAuditInterceptor } from '../audit/admin-audit.interceptor';
import { AdminOnly } from '../auth/auth.decorators';
import { UpdateSettingsDto } from './dto/update-settings.dto';
import { SettingsService, SettingsView } from './settings.service';

@Controller('admin/settings')
@AdminOnly()
@UseInterceptors(AdminAuditInterceptor)
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
