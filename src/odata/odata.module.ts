import { Module } from '@nestjs/common';
import { SettingsModule } from '../settings/settings.module';
import { ODataHeadersHook } from './odata-headers.hook';
import { ODataController } from './odata.controller';
import { ODataService } from './odata.service';

@Module({
  imports: [SettingsModule],
  controllers: [ODataController],
  providers: [ODataService, ODataHeadersHook],
})
export class ODataModule {}
