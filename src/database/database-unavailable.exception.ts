import { ServiceUnavailableException } from '@nestjs/common';

/** The database could not answer; the client gets a 503, the cause goes to the log only. */
export class DatabaseUnavailableException extends ServiceUnavailableException {
  constructor(cause?: unknown) {
    super(
      { code: 'DatabaseUnavailable', message: 'The database is unavailable; try again later.' },
      { cause },
    );
  }
}
