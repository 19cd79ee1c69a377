import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

/**
 * The global body validation (APP_PIPE): unknown fields are refused, and the 400 names each
 * offending field in `message`, `target` and `details`.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors: ValidationError[]) => {
      const details = flatten(errors);
      return new BadRequestException({
        code: 'InvalidRequestBody',
        message: details.map((d) => d.message).join('; ') || 'The request body is invalid.',
        target: details[0]?.target,
        details,
      });
    },
  });
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
