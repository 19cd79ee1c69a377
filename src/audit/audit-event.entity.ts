import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { AuditKind } from './audit-record';

/**
 * One audit event: a denied request or a successful admin action. Written only in batches by
 * `AuditService`; read by `GET /admin/audit`. Never holds a secret (see audit-record.ts).
 * The indexes are in the migration (1764000000000-CreateAuditEvents).
 */
@Entity({ name: 'audit_events' })
export class AuditEvent {
  /** bigint: the driver returns it as a string, which is also how the API shows it. */
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id: string;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;

  @Column({ type: 'varchar', length: 10 })
  kind: AuditKind;

  /** The public key the request presented (denials) or the acting admin's (admin actions). */
  @Column({ name: 'public_key', type: 'varchar', length: 128, nullable: true })
  publicKey: string | null;

  @Column({ name: 'client_address', type: 'inet', nullable: true })
  clientAddress: string | null;

  /** Denials: the AuthResult name (the true one, also in conceal mode), or `Forbidden`. */
  @Column({ type: 'varchar', length: 40, nullable: true })
  reason: string | null;

  /** Admin actions: `<resource>.<verb>`, e.g. `api-users.create`. */
  @Column({ type: 'varchar', length: 100, nullable: true })
  action: string | null;

  /** Admin actions: the id of the thing acted on (route `:id`, or the id of what was created). */
  @Column({ type: 'varchar', length: 100, nullable: true })
  target: string | null;

  /** Admin actions: the acting admin's public key. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  actor: string | null;

  @Column({ type: 'jsonb', nullable: true })
  details: Record<string, unknown> | null;
}
