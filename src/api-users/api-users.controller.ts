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
} from '@nestjs/common';
import { AdminOnly } from '../auth/auth.decorators';
import { ApiUsersService, ApiUserView, ApiUserWithSecret } from './api-users.service';
import { CreateApiUserDto } from './dto/create-api-user.dto';
import { UpdateApiUserDto } from './dto/update-api-user.dto';

@Controller('admin/api-users')
@AdminOnly()
export class ApiUsersController {
  constructor(private readonly apiUsers: ApiUsersService) {}

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

  @Patch(':id')
  update(@Param('id') id: string, @Body() dto: UpdateApiUserDto): Promise<ApiUserView> {
    return this.apiUsers.update(id, dto);
  }

  /** A new secret; the old one stops working with the next request. */
  @Post(':id/secret')
  @HttpCode(HttpStatus.OK)
  rotateSecret(@Param('id') id: string): Promise<ApiUserWithSecret> {
    return this.apiUsers.rotateSecret(id);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  remove(@Param('id') id: string): Promise<void> {
    return this.apiUsers.remove(id);
  }
}
