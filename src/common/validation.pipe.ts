import {
  ArgumentMetadata,
  BadRequestException,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';

type InvalidPart = 'body' | 'query';

/** The 400's code and fallback message, by the part of the request that was invalid. */
const INVALID: Record<InvalidPart, { code: string; message: string }> = {
  body: { code: 'InvalidRequestBody', message: 'The request body is invalid.' },
  query: { code: 'InvalidQuery', message: 'The query string is invalid.' },
};

/** A validation failure, kept with its errors so that it can be re-coded for the query. */
class InvalidInputException extends BadRequestException {
  constructor(
    part: InvalidPart,
    private readonly errors: ValidationError[],
  ) {
    const details = flatten(errors);
    super({
      code: INVALID[part].code,
      message: details.map((d) => d.message).join('; ') || INVALID[part].message,
      target: details[0]?.target,
      details,
    });
  }

  in(part: InvalidPart): InvalidInputException {
    return new InvalidInputException(part, this.errors);
  }
}

/**
 * Input nesting deeper than this is refused before class-transformer sees it: it recurses,
 * and a body of a few thousand nested arrays (10 KB) overflowed the stack, a 500 (found by
 * review). No DTO here nests more than two levels.
 */
const MAX_DEPTH = 32;

/** Whether `value` has objects or arrays nested more than `max` levels deep (no recursion). */
function nestsDeeper(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * The global validation (APP_PIPE) of DTO classes in bodies and query strings: unknown fields
 * are refused, and the 400 names each offending field in `message`, `target` and `details`.
 * Its code says which part was invalid, `InvalidRequestBody` or `InvalidQuery` (as the
 * handlers that check their query themselves answer): ValidationPipe's exceptionFactory sees
 * only the errors, so the code is set here, where the argument's metadata is known.
 */
export class RequestValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors: ValidationError[]) => new InvalidInputException('body', errors),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'body' && metadata.type !== 'query') {
      return super.transform(value, metadata);
    }
    const part = metadata.type;
    if (nestsDeeper(value, MAX_DEPTH)) {
      throw new BadRequestException({
        code: INVALID[part].code,
        message: `The ${part === 'body' ? 'request body' : 'query string'} nests deeper than ${MAX_DEPTH} levels.`,
      });
    }
    const inherited = this.toValidate(metadata) ? inheritedNames(value) : [];
    if (inherited.length > 0) throw new InvalidInputException(part, inherited.map(unknownField));
    try {
      return await super.transform(value, metadata);
    } catch (error) {
      if (error instanceof InvalidInputException && part === 'query') throw error.in('query');
      throw error;
    }
  }
}

/**
 * The names, as paths, of fields named like something every object inherits (`toString`,
 * `constructor`, `__proto__`...): class-validator's whitelist looks names up in a plain
 * object, where these are found, so `?toString=1` passed as a known field (found by review).
 */
function inheritedNames(value: unknown, path = ''): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value).flatMap((name) => {
    const at = Array.isArray(value) ? `${path}[${name}]` : `${path}${path ? '.' : ''}${name}`;
    return name in Object.prototype
      ? [at]
      : inheritedNames((value as Record<string, unknown>)[name], at);
  });
}

/** A field the DTO does not have, as the whitelist reports one. */
function unknownField(path: string): ValidationError {
  return {
    property: path,
    constraints: { whitelistValidation: `property ${path} should not exist` },
    children: [],
  };
}

function flatten(
  errors: ValidationError[],
  prefix = '',
): { code: string; target: string; message: string }[] {
  return errors.flatMap((error) => {
    const target = prefix + error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      code: 'InvalidValue',
      target,
      message: message.startsWith('property ') ? `${target} is not a known field` : message,
    }));
    return [...own, ...flatten(error.children ?? [], `${target}.`)];
  });
}
