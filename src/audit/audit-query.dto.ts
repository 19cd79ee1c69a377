import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  isISO8601,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidationArguments,
} from 'class-validator';
import { isIP } from 'node:net';
import { AUDIT_KINDS, AUDIT_REASONS, type AuditKind } from './audit-record';

/**
 * A date-time with its offset (`2025-11-24T10:00:00Z`, `…+01:00`), or a date (midnight UTC).
 * Offsets up to ±15:59, what PostgreSQL takes: `+16:00` was sent on and refused there, a 500
 * (found by review; real offsets stay within ±14:00).
 */
const DATE_TIME =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-](?:0\d|1[0-5]):[0-5]\d))?$/;
const DATE_TIME_RULE =
  'must be an ISO 8601 date-time with an offset within ±15:59 (2025-11-24T10:00:00Z) or a date';

/** The instant a `from`/`to` value names: a date alone is midnight UTC. */
export function instant(value: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
}

const IsAuditTime = () =>
  ValidateBy({
    name: 'isAuditTime',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' &&
        DATE_TIME.test(value) &&
        isISO8601(value, { strict: true }) &&
        !Number.isNaN(Date.parse(instant(value))),
      defaultMessage: (args?: ValidationArguments) => `${args?.property} ${DATE_TIME_RULE}`,
    },
  });

/** `to` must not be earlier than `from` when both are given (equal: an empty range). */
const IsAfterFrom = () =>
  ValidateBy({
    name: 'isAfterFrom',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        const from = (args?.object as { from?: unknown }).from;
        if (typeof value !== 'string' || typeof from !== 'string') return true;
        const [start, end] = [Date.parse(instant(from)), Date.parse(instant(value))];
        return Number.isNaN(start) || Number.isNaN(end) || end >= start;
      },
      defaultMessage: () => 'to must not be earlier than from',
    },
  });

/**
 * An address (`203.0.113.7`, `2001:db8::1`) or a network (`203.0.113.0/24`). Without a zone id
 * (`fe80::1%eth0`): `isIP` takes one, PostgreSQL's inet does not, and stored addresses have none.
 */
const IsAddressOrNetwork = () =>
  ValidateBy({
    name: 'isAddressOrNetwork',
    validator: {
      validate: (value: unknown) => {
        if (typeof value !== 'string' || value.includes('%')) return false;
        const [address, prefix, ...rest] = value.split('/');
        const version = isIP(address);
        if (version === 0 || rest.length > 0) return false;
        return (
          prefix === undefined ||
          (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128))
        );
      },
      defaultMessage: () =>
        'clientAddress must be an IP address or a network in CIDR notation (10.0.0.0/8), without a zone id',
    },
  });

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

/** The query of `GET /admin/audit`; every parameter is optional, unknown ones are refused. */
export class AuditQueryDto {
  /** Events at or after this instant. */
  @IsOptional()
  @IsAuditTime()
  from?: string;

  /** Events before this instant. */
  @IsOptional()
  @IsAuditTime()
  @IsAfterFrom()
  to?: string;

  @IsOptional()
  @IsIn(AUDIT_KINDS)
  kind?: AuditKind;

  /**
   * What the varchar(128) column can hold of a presented key: 1-128 code points (the `u` flag;
   * @Length did not count U+FE0E/U+FE0F) and no control characters, which the Basic parser
   * refuses in a key and PostgreSQL refuses (NUL) in a query.
   */
  @IsOptional()
  @IsString()
  @Matches(/^[^\p{Cc}]{1,128}$/u, {
    message: 'publicKey must be 1-128 characters without control characters',
  })
  publicKey?: string;

  @IsOptional()
  @IsIn(AUDIT_REASONS)
  reason?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/, {
    message: 'action must be an action name such as api-users.create',
  })
  @Length(1, 100)
  action?: string;

  /** An address, or a network that contains the address. */
  @IsOptional()
  @IsAddressOrNetwork()
  clientAddress?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_LIMIT)
  limit?: number;

  /** The cursor: events older than the event with this id (the nextLink sets it). */
  @IsOptional()
  @IsString()
  @Matches(/^[1-9][0-9]{0,17}$/, { message: 'before must be an event id' })
  before?: string;
}
