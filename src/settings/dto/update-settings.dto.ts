import { IsBoolean, IsInt, Max, Min } from 'class-validator';
import { IsOptionalButNotNull } from '../../common/is-present.decorator';

export class UpdateSettingsDto {
  /** Off answers every non-admin request with reason 0 (ApiDisabled). */
  @IsOptionalButNotNull()
  @IsBoolean()
  apiEnabled?: boolean;

  /** The largest page the OData API serves (Smartstore's default: 120). */
  @IsOptionalButNotNull()
  @IsInt()
  @Min(1)
  @Max(10000)
  maxTop?: number;
}
