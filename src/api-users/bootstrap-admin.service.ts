import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { serviceUrl } from '../config/startup-checks';
import { ApiUsersService } from './api-users.service';

/**
 * On a database without an enabled admin, creates one at start: from ADMIN_PUBLIC_KEY /
 * ADMIN_SECRET_KEY, or with generated keys printed once on the console. Printing that one
 * secret is deliberate (it is the only way to learn it) and goes to stdout, not the logger.
 */
@Injectable()
export class BootstrapAdminService implements OnApplicationBootstrap {
  constructor(
    private readonly apiUsers: ApiUsersService,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { adminPublicKey, adminSecretKey } = this.config;
    const keys =
      adminPublicKey && adminSecretKey
        ? { publicKey: adminPublicKey, secretKey: adminSecretKey }
        : undefined;
    let created: Awaited<ReturnType<ApiUsersService['ensureBootstrapAdmin']>>;
    try {
      created = await this.apiUsers.ensureBootstrapAdmin(keys);
    } catch (error) {
      if (error instanceof QueryFailedError && /unique/i.test(error.message)) {
        throw new Error(
          'ADMIN_PUBLIC_KEY belongs to an API user who is not an enabled admin; enable that user or choose another key',
          { cause: error },
        );
      }
      throw error;
    }
    if (created?.generated) {
      process.stdout.write(
        [
          '',
          '================ Gatehouse bootstrap admin (shown only this once) ================',
          `  public key:  ${created.publicKey}`,
          `  secret key:  ${created.secretKey}`,
          '  Try it:',
          `  curl -u ${created.publicKey}:${created.secretKey} ${serviceUrl(this.config.tls ? 'https' : 'http', this.config.host, this.config.port)}/admin/settings`,
          '=================================================================================',
          '',
        ].join('\n') + '\n',
      );
    }
  }
}
