/**
 * True for errors that mean "the database cannot be reached or is going away", as opposed to
 * errors in a query: those become a 503, never a 401 or a 500.
 */
// Connection exception, invalid authorization, invalid catalog (database gone), insufficient
// resources, operator intervention (shutdown, terminated backend).
const UNAVAILABLE_SQLSTATE_CLASSES = ['08', '28', '3D', '53', '57'];
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

export function isDatabaseUnavailableError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (UNAVAILABLE_NODE_CODES.has(code)) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_SQLSTATE_CLASSES.includes(code.slice(0, 2))) {
        return true;
      }
    }
    if (
      typeof message === 'string' &&
      /Connection terminated|not currently accepting connections|timeout exceeded when trying to connect|Cannot use a pool after calling end|Connection is not established|Query read timeout/i.test(
        message,
      )
    ) {
      return true;
    }
    e =
      (e as { driverError?: unknown; cause?: unknown }).driverError ??
      (e as { cause?: unknown }).cause;
  }
  return false;
}
