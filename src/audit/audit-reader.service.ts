import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { parseClientAddress } from '../common/ip-address';
import { AuditEvent } from './audit-event.entity';
import { AuditQueryDto, instant } from './audit-query.dto';
import type { AuditRecord } from './audit-record';

/** An audit event as `GET /admin/audit` shows it: the record as written, with its id. */
export type AuditEventView = Omit<AuditRecord, 'kind'> & { id: string; kind: string };

/** The audit trail's reader: filters, newest first, keyset paging. */
@Injectable()
export class AuditReader {
  constructor(@InjectRepository(AuditEvent) private readonly repository: Repository<AuditEvent>) {}

  /**
   * At most `limit` events matching every given filter, newest first (`occurred_at`, then
   * `id`). With `before`, only events that sort after that event; an unknown `before` (an
   * event retention has deleted) gives none.
   */
  async list(query: AuditQueryDto, limit: number): Promise<AuditEventView[]> {
    const qb = this.repository.createQueryBuilder('e');
    if (query.from) qb.andWhere('e.occurredAt >= :from', { from: instant(query.from) });
    if (query.to) qb.andWhere('e.occurredAt < :to', { to: instant(query.to) });
    if (query.kind) qb.andWhere('e.kind = :kind', { kind: query.kind });
    if (query.publicKey) qb.andWhere('e.publicKey = :publicKey', { publicKey: query.publicKey });
    if (query.reason) qb.andWhere('e.reason = :reason', { reason: query.reason });
    if (query.action) qb.andWhere('e.action = :action', { action: query.action });
    if (query.clientAddress) {
      // <<= : the address is the one given, or inside the network given.
      qb.andWhere('e.clientAddress <<= CAST(:network AS inet)', {
        network: storedSpelling(query.clientAddress),
      });
    }
    if (query.before) {
      qb.andWhere(
        `(e.occurredAt, e.id) < (SELECT b."occurred_at", b."id" FROM "audit_events" b WHERE b."id" = :before)`,
        { before: query.before },
      );
    }
    const events = await qb
      .orderBy('e.occurredAt', 'DESC')
      .addOrderBy('e.id', 'DESC')
      .limit(limit)
      .getMany();
    return events.map(view);
  }
}

/**
 * The filter as addresses are stored: an IPv4-mapped IPv6 address or network (`::ffff:10.0.0.1`,
 * `::ffff:10.0.0.0/104`) as its IPv4 one, since recorded addresses are (parseClientAddress);
 * written as mapped, it found nothing (found by review).
 */
function storedSpelling(addressOrNetwork: string): string {
  const [address, prefix] = addressOrNetwork.split('/');
  const parsed = parseClientAddress(address);
  if (parsed?.kind() !== 'ipv4' || !address.includes(':')) return addressOrNetwork;
  if (prefix === undefined) return parsed.toString();
  // A mapped network narrower than the mapped range is an IPv4 network; a wider one is IPv6.
  const bits = Number(prefix) - 96;
  return bits >= 0 ? `${parsed.toString()}/${bits}` : addressOrNetwork;
}

function view(e: AuditEvent): AuditEventView {
  return {
    id: e.id,
    occurredAt: e.occurredAt,
    kind: e.kind,
    publicKey: e.publicKey,
    clientAddress: e.clientAddress,
    reason: e.reason,
    action: e.action,
    target: e.target,
    actor: e.actor,
    details: e.details,
  };
}
