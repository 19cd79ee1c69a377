import { Allow } from 'class-validator';

/** Never a key of a parsed JSON body (JSON has no symbol keys). */
const NO_FIELDS: unique symbol = Symbol('no fields');

/**
 * The body of a route that takes none (`POST …/secret`, the DELETEs), as `@Body() _: NoBodyDto`:
 * without it the handler never looked at a body, so `{"secretKey": "…"}` was answered with a
 * random secret instead of the one asked for, and `{"force": true}` was silently ignored. The
 * global validation pipe refuses every field of it with 400 naming the field (no field is
 * known). No body at all, or JSON `null`, is validated as `{}` and passes, like `{}` itself.
 *
 * The one rule, on a symbol key that no body can have, is there for what is not an object:
 * ValidationPipe lets an array or a primitive (`[]`, `"x"`, `1`) pass for a class without any
 * rule, and refuses it ("object is expected") for a class with one, as for every other DTO.
 */
export class NoBodyDto {
  @Allow()
  [NO_FIELDS]?: never;
}
