import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
} from '@nestjs/common';
import { AdminApi } from '../audit/admin-api.decorator';
import { NoBodyDto } from '../common/no-body.dto';
import { LockoutService, LockView } from './lockout.service';
import { AuditAction } from '../audit/admin-action';

/** Current locks (reason 6) and bans (reason 7), and lifting one before it ends on its own. */
@Controller('admin/lockouts')
@AdminApi()
export class LockoutsController {
  constructor(private readonly lockouts: LockoutService) {}

  @Get()
  async list(): Promise<{ value: LockView[] }> {
    return { value: await this.lockouts.list() };
  }

  @Delete(':id')
  @AuditAction('lockouts.lift')
  @HttpCode(HttpStatus.NO_CONTENT)
  async lift(@Param('id') id: string, @Body() _body: NoBodyDto): Promise<void> {
    if (!(await this.lockouts.lift(id))) {
      throw new NotFoundException({
        code: 'NotFound',
        message: 'No current lock or ban has this id.',
      });
    }
  }
}
