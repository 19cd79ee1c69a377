import { ForbiddenException, HttpException } from '@nestjs/common';
import { parseClientAddress } from '../common/ip-address';
import { AuthDeniedException } from '../auth/auth-denied.exception';
import { AuthResult } from '../auth/auth-result';
import { parseBasicAuthorization } from '../auth/basic-credentials';

export const AUDIT_KINDS = ['denial', 'admin'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** The reason of a 403 from the role check (an authenticated user without the role). */
export const FORBIDDEN_REASON = 'Forbidden';

/** The reasons of a 429 from the per-user limits (src/rate-limit/). */
export const LIMIT_REASONS = ['RateLimitExceeded', 'QuotaExceeded'];

/** Every reason a denial can have: the AuthResult names, `Forbidden` and the limits. */
export const AUDIT_REASONS: readonly string[] = [
  ...Object.keys(AuthResult).filter((name) => Number.isNaN(Number(name))),
  FORBIDDEN_REASON,
  ...LIMIT_REASONS,
];

/**
 * An audit event before it is written. What is never in one: a secret, a header value, a query
 * string, a request body value other than booleans, numbers and role lists.
 */
export interface AuditRecord {
  occurredAt: Date;
  kind: AuditKind;
  publicKey: string | null;
  clientAddress: string | null;
  reason: string | null;
  action: string | null;
  target: string | null;
  actor: string | null;
  details: Record<string, unknown> | null;
}

/** The parts of a Fastify request the audit reads. */
export interface AuditedRequest {
  method: string;
  url: string;
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
  params?: unknown;
  body?: unknown;
  user?: { publicKey: string };
}

export const LIMITS = { publicKey: 128, reason: 40, action: 100, target: 100, path: 200 };

/** A surrogate without its other half: JSON.stringify writes it as `\ud800`, which jsonb refuses. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text as the database can hold it: no control characters (PostgreSQL refuses NUL and one bad
 * row would fail the whole batch), no lone surrogates (a body's field names reach the jsonb
 * `details`: `{"\ud800":1}` made the whole batch fail), at most `max` characters (code points,
 * as varchar counts).
 */
export function clip(text: string, max: number): string {
  const clean = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
    .replace(LONE_SURROGATE, '\ufffd');
  const chars = Array.from(clean);
  return chars.length > max ? chars.slice(0, max).join('') : clean;
}

/**
 * The client's address (Fastify's `request.ip`, which honours `TRUST_PROXY`) when it is one: a
 * proxy's garbage `X-Forwarded-For` is not, and would fail the `inet` column. Parsed as the
 * lockouts parse it (no zone id; an IPv4-mapped IPv6 address as its IPv4 address, so that
 * `clientAddress=10.0.0.0/8` finds it).
 */
export function clientAddress(ip: string | undefined): string | null {
  return (ip ? parseClientAddress(ip)?.toString() : undefined) ?? null;
}

/** Method and path of the request; never its query string (clients put API keys there). */
function requestLine(request: AuditedRequest): { method: string; path: string } {
  return {
    method: clip(request.method, 10),
    path: clip(request.url.split('?')[0], LIMITS.path),
  };
}

/**
 * The audit record of a denial, or undefined when the exception is none: every
 * `AuthDeniedException` (with its TRUE reason: conceal mode hides it from the client, not from
 * the operator) and the role check's 403 for an authenticated user. Only the public key of
 * the presented credentials is kept, never the secret.
 */
export function denialRecord(
  exception: unknown,
  request: AuditedRequest,
  occurredAt = new Date(),
): AuditRecord | undefined {
  let reason: string;
  let publicKey: string | null;
  if (exception instanceof AuthDeniedException) {
    reason = AuthResult[exception.reason] ?? String(exception.reason);
    const credentials = parseBasicAuthorization(request.headers.authorization);
    publicKey = credentials.kind === 'valid' ? credentials.publicKey : null;
  } else if (exception instanceof ForbiddenException && request.user) {
    reason = FORBIDDEN_REASON;
    publicKey = request.user.publicKey;
  } else if (limitReason(exception) && request.user) {
    reason = limitReason(exception)!;
    publicKey = request.user.publicKey;
  } else {
    return undefined;
  }
  return {
    occurredAt,
    kind: 'denial',
    publicKey: publicKey === null ? null : clip(publicKey, LIMITS.publicKey),
    clientAddress: clientAddress(request.ip),
    reason: clip(reason, LIMITS.reason),
    action: null,
    target: null,
    actor: null,
    details: requestLine(request),
  };
}

/**
 * The audit record of a successful admin action. `target` is the route's `:id`, or else the
 * `id` of the answer (what a create made). `details.fields` names the body's fields;
 * `details.values` holds only their boolean and number values and role lists: strings (names,
 * keys, secrets) are never copied.
 */
export function adminRecord(
  action: string,
  request: AuditedRequest,
  answer: unknown,
  occurredAt = new Date(),
): AuditRecord {
  const actor = request.user ? clip(request.user.publicKey, LIMITS.publicKey) : null;
  const routeId = stringProperty(request.params, 'id');
  const target = routeId ?? stringProperty(answer, 'id');
  return {
    occurredAt,
    kind: 'admin',
    publicKey: actor,
    clientAddress: clientAddress(request.ip),
    reason: null,
    action: clip(action, LIMITS.action),
    target: target === undefined ? null : clip(target, LIMITS.target),
    actor,
    details: bodyDetails(request.body),
  };
}

function stringProperty(value: unknown, name: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const property = (value as Record<string, unknown>)[name];
  return typeof property === 'string' && property !== '' ? property : undefined;
}

const MAX_FIELDS = 50;

function bodyDetails(body: unknown): Record<string, unknown> | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const entries = Object.entries(body as Record<string, unknown>).slice(0, MAX_FIELDS);
  if (entries.length === 0) return null;
  const fields = entries.map(([name]) => clip(name, 100)).sort();
  const values: Record<string, unknown> = {};
  for (const [name, value] of entries) {
    if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
      values[clip(name, 100)] = value;
    } else if (name === 'roles' && isRoleList(value)) {
      values.roles = value;
    }
  }
  return Object.keys(values).length > 0 ? { fields, values } : { fields };
}

/** Role names are a fixed vocabulary (read, write, admin), never a secret. */
function isRoleList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length <= 10 &&
    value.every((role) => typeof role === 'string' && /^[a-z]{1,20}$/.test(role))
  );
}

/** `RateLimitExceeded` or `QuotaExceeded` for the 429 of a per-user limit. */
function limitReason(exception: unknown): string | undefined {
  if (!(exception instanceof HttpException)) return undefined;
  if (exception.getStatus() !== 429) return undefined; // Too Many Requests
  const code = (exception.getResponse() as { code?: unknown }).code;
  return typeof code === 'string' && LIMIT_REASONS.includes(code) ? code : undefined;
}
