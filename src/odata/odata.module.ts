import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { SettingsModule } from '../settings/settings.module';
import { ODataHeadersMiddleware } from './odata-headers.middleware';
import { ODataController } from './odata.controller';
import { ODataService } from './odata.service';

@Module({
  imports: [SettingsModule],
  controllers: [ODataController],
  providers: [ODataService],
})
export class ODataModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ODataHeadersMiddleware).forRoutes(ODataController);
  }
}
