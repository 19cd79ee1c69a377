import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsageModule } from '../usage/usage.module';
import { ApiUser } from './api-user.entity';
import { ApiUsersController } from './api-users.controller';
import { ApiUsersService } from './api-users.service';
import { BootstrapAdminService } from './bootstrap-admin.service';
import { LastRequestService } from './last-request.service';

@Module({
  imports: [TypeOrmModule.forFeature([ApiUser]), UsageModule],
  controllers: [ApiUsersController],
  providers: [ApiUsersService, LastRequestService, BootstrapAdminService],
  exports: [ApiUsersService, LastRequestService],
})
export class ApiUsersModule {}
