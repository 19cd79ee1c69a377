import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ApiUser } from '../api-users/api-user.entity';

/**
 * Requests one API user made on one UTC day, for billing. Written in batches by
 * `UsageService` (one upsert per batch, each applied once: see write-batches.ts), never per
 * request.
 */
@Entity({ name: 'api_usage' })
export class ApiUsage {
  @PrimaryColumn({ name: 'api_user_id', type: 'uuid' })
  apiUserId: string;

  /** `YYYY-MM-DD`, UTC. */
  @PrimaryColumn({ type: 'date' })
  day: string;

  /** bigint: the driver hands it over as a string. */
  @Column({ type: 'bigint' })
  requests: string;

  @ManyToOne(() => ApiUser, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'api_user_id' })
  apiUser?: ApiUser;
}
