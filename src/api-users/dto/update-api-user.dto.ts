import {
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Length,
} from 'class-validator';
import { Role, ROLES } from '../api-user.entity';

export class UpdateApiUserDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @IsIn(ROLES, { each: true, message: `each value in roles must be one of ${ROLES.join(', ')}` })
  roles?: Role[];

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}
