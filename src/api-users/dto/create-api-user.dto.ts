import { ArrayUnique, IsArray, IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { Role, ROLES } from '../api-user.entity';
import { PUBLIC_KEY_PATTERN, PUBLIC_KEY_RULE, SECRET_PATTERN, SECRET_RULE } from '../api-keys';

export class CreateApiUserDto {
  @IsString()
  @Length(1, 200)
  name: string;

  /** Defaults to `["read"]`. */
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @IsIn(ROLES, { each: true, message: `each value in roles must be one of ${ROLES.join(', ')}` })
  roles?: Role[];

  /** Only to import an existing key (e.g. from Smartstore); generated otherwise. */
  @IsOptional()
  @IsString()
  @Matches(PUBLIC_KEY_PATTERN, { message: `publicKey ${PUBLIC_KEY_RULE}` })
  publicKey?: string;

  /** Only to import an existing secret; generated otherwise. */
  @IsOptional()
  @IsString()
  @Matches(SECRET_PATTERN, { message: `secretKey ${SECRET_RULE}` })
  secretKey?: string;
}
