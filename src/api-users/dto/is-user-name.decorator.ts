import { applyDecorators } from '@nestjs/common';
import { IsString, Matches } from 'class-validator';

/**
 * What the `varchar(200)` column holds: 1-200 characters counted as PostgreSQL counts them, in
 * code points (the `u` flag makes the quantifier count them; @Length's isLength does not count
 * U+FE0E/U+FE0F, so 400 code points passed it and failed in the database with a 500). No
 * control characters (PostgreSQL refuses NUL in text) and no lone surrogates (which would be
 * stored as U+FFFD, another name than the one sent).
 */
const NAME_PATTERN = /^[^\p{Cc}\p{Cs}]{1,200}$/u;
const NAME_RULE = 'name must be 1-200 characters (Unicode code points) without control characters';

/** An API user's `name`. */
export const IsUserName = () =>
  applyDecorators(IsString(), Matches(NAME_PATTERN, { message: NAME_RULE }));
