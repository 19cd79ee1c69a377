import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { AbuseModule } from '../abuse/abuse.module';
import { ApiUsersModule } from '../api-users/api-users.module';
import { SettingsModule } from '../settings/settings.module';
import { ApiKeyGuard } from './api-key.guard';
import { BasicStrategy } from './basic.strategy';
import { CredentialsService } from './credentials.service';
import { SecretHashService } from './secret-hash.service';

@Module({
  imports: [PassportModule, ApiUsersModule, SettingsModule, AbuseModule],
  providers: [
    BasicStrategy,
    CredentialsService,
    SecretHashService,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
})
export class AuthModule {}
