import { ValidateIf } from 'class-validator';

/**
 * Like `@IsOptional()`, but only for a missing property: `null` is still validated (and so
 * refused by the type check) instead of slipping through to a NOT NULL column as a 500.
 */
export const IsOptionalButNotNull = () => ValidateIf((_object, value) => value !== undefined);
