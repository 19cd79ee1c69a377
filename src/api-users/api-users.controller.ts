import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { AdminApi } from '../audit/admin-api.decorator';
import { NoBodyDto } from '../common/no-body.dto';
import { usageRangeOf } from '../usage/usage-range';
import { UsageReport, UsageService } from '../usage/usage.service';
import { ApiUsersService, ApiUserView, ApiUserWithSecret } from './api-users.service';
import { CreateApiUserDto } from './dto/create-api-user.dto';
import { UpdateApiUserDto } from './dto/update-api-user.dto';

@Controller('admin/api-users')
@AdminApi()
export class ApiUsersController {
  constructor(
    private readonly apiUsers: ApiUsersService,
    private readonly usage: UsageService,
  ) {}

  @Post()
  create(@Body() dto: CreateApiUserDto): Promise<ApiUserWithSecret> {
    return this.apiUsers.create(dto);
  }

  @Get()
  async list(): Promise<{ value: ApiUserView[] }> {
    return { value: await this.apiUsers.list() };
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<ApiUserView> {
    return this.apiUsers.get(id);
  }

  /**
   * Requests per UTC day from `from` to `to` (inclusive, `YYYY-MM-DD`; default: the last 30
   * days up to today), for billing.
   */
  @Get(':id/usage')
  async usageOf(
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ): Promise<UsageReport> {
    const range = usageRangeOf(query);
    await this.apiUsers.assertExists(id);
    return this.usage.report(id, range.from, range.to);
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() dto: UpdateApiUserDto): Promise<ApiUserView> {
    return this.apiUsers.update(id, dto);
  }

  /** A new secret; the old one stops working with the next request. */
  @Post(':id/secret')
  @HttpCode(HttpStatus.OK)
  rotateSecret(
    @Param('id') id: string,
    @Body() _body: NoBodyDto, // a secret of one's choice is set by import, not here
  ): Promise<ApiUserWithSecret> {
    return this.apiUsers.rotateSecret(id);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  remove(@Param('id') id: string, @Body() _body: NoBodyDto): Promise<void> {
    return this.apiUsers.remove(id);
  }
}
