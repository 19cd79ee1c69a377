import { isDatabaseUnavailableError } from './database-errors';

/** An Error shaped like the ones node-postgres raises for a server-reported error. */
function pgError(code: string, message = 'server error'): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR' });
}

/** An Error shaped like the ones Node raises for a failed socket. */
function systemError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), {
    code,
    errno: -111,
    syscall: 'connect',
    address: '127.0.0.1',
    port: 5432,
  });
}

/** An Error shaped like TypeORM's QueryFailedError, which wraps the driver's error. */
function queryFailed(driverError: unknown): Error {
  return Object.assign(new Error('query failed'), {
    name: 'QueryFailedError',
    query: 'SELECT 1',
    parameters: [],
    driverError,
  });
}

describe('isDatabaseUnavailableError', () => {
  describe('is true for errors that mean the database cannot be reached', () => {
    it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE'])(
      'a socket error %s',
      (code) => {
        expect(isDatabaseUnavailableError(systemError(code))).toBe(true);
      },
    );

    it.each([
      ['57P01', 'admin_shutdown'],
      ['57P02', 'crash_shutdown'],
      ['57P03', 'cannot_connect_now'],
      ['08006', 'connection_failure'],
      ['08001', 'sqlclient_unable_to_establish_sqlconnection'],
      ['08003', 'connection_does_not_exist'],
      ['53300', 'too_many_connections'],
      ['53100', 'disk_full'],
      // The database rejecting Gatehouse's own login, or its database being gone, is an outage
      // (503), never a credential failure of the API user.
      ['28P01', 'invalid_password'],
      ['28000', 'invalid_authorization_specification'],
      ['3D000', 'invalid_catalog_name'],
    ])('a PostgreSQL SQLSTATE %s (%s)', (code) => {
      expect(isDatabaseUnavailableError(pgError(code))).toBe(true);
    });

    it('a TypeORM-like wrapper whose driverError is unavailable', () => {
      expect(isDatabaseUnavailableError(queryFailed(pgError('57P01')))).toBe(true);
      expect(isDatabaseUnavailableError(queryFailed(systemError('ECONNREFUSED')))).toBe(true);
    });

    it('an error whose cause chain leads to an unavailable error', () => {
      const root = systemError('ECONNREFUSED');
      const middle = new Error('could not connect', { cause: root });
      const outer = new Error('request failed', { cause: middle });
      expect(isDatabaseUnavailableError(outer)).toBe(true);
    });

    it('a wrapper whose driverError in turn has an unavailable cause', () => {
      const driver = new Error('driver failed', { cause: pgError('08006') });
      expect(isDatabaseUnavailableError(queryFailed(driver))).toBe(true);
    });

    it.each([
      'Connection terminated unexpectedly',
      'Connection terminated due to connection timeout',
      'timeout exceeded when trying to connect',
      'Cannot use a pool after calling end on the pool',
      'the database system is not currently accepting connections',
      // query_timeout: the server stopped answering.
      'Query read timeout',
    ])('an error with the node-postgres message %j (no code)', (message) => {
      expect(isDatabaseUnavailableError(new Error(message))).toBe(true);
    });

    it('a plain object carrying an unavailable code', () => {
      expect(isDatabaseUnavailableError({ code: 'ECONNREFUSED' })).toBe(true);
      expect(isDatabaseUnavailableError({ code: '57P01' })).toBe(true);
    });
  });

  describe('is false for everything else', () => {
    it.each([
      ['23505', 'unique_violation'],
      ['42601', 'syntax_error'],
      ['42P01', 'undefined_table'],
      ['22P02', 'invalid_text_representation'],
      ['23503', 'foreign_key_violation'],
      ['40001', 'serialization_failure'],
    ])('a PostgreSQL SQLSTATE %s (%s)', (code) => {
      expect(isDatabaseUnavailableError(pgError(code))).toBe(false);
    });

    it('a TypeORM-like wrapper around a query error', () => {
      expect(isDatabaseUnavailableError(queryFailed(pgError('23505')))).toBe(false);
      expect(isDatabaseUnavailableError(queryFailed(pgError('42601')))).toBe(false);
    });

    it('a plain Error', () => {
      expect(isDatabaseUnavailableError(new Error('something went wrong'))).toBe(false);
      expect(isDatabaseUnavailableError(new TypeError('x is not a function'))).toBe(false);
    });

    it('an error whose cause is an ordinary error', () => {
      expect(isDatabaseUnavailableError(new Error('outer', { cause: new Error('inner') }))).toBe(
        false,
      );
      expect(isDatabaseUnavailableError(new Error('outer', { cause: pgError('23505') }))).toBe(
        false,
      );
    });

    it.each([
      null,
      undefined,
      '',
      'ECONNREFUSED',
      'Connection terminated unexpectedly',
      0,
      57,
      {},
      [],
    ])('a non-error value %j', (value) => {
      expect(isDatabaseUnavailableError(value)).toBe(false);
    });

    it.each([
      ['a lowercase code', 'econnrefused'],
      ['a numeric code', 57],
      ['a code in a string that is not a SQLSTATE', '57'],
    ])('an error with %s', (_label, code) => {
      expect(isDatabaseUnavailableError({ code })).toBe(false);
    });

    it('terminates on a cyclic cause chain', () => {
      const a = new Error('a');
      const b = new Error('b', { cause: a });
      Object.assign(a, { cause: b });
      expect(isDatabaseUnavailableError(a)).toBe(false);
    });
  });
});
