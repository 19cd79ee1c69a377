import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

export class UpdateSettingsDto {
  /** Off answers every non-admin request with reason 0 (ApiDisabled). */
  @IsOptional()
  @IsBoolean()
  apiEnabled?: boolean;

  /** The largest page the OData API serves (Smartstore's default: 120). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10000)
  maxTop?: number;
}
