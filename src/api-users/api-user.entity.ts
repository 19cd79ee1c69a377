import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];

@Entity({ name: 'api_users' })
export class ApiUser {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  /** Unique (index in the migration); the lookup key of every authenticated request. */
  @Column({ name: 'public_key', type: 'varchar', length: 128 })
  publicKey: string;

  /** Never the secret itself: see `auth/secret-hash.ts`. Not selected unless asked for. */
  @Column({ name: 'secret_hash', type: 'varchar', length: 200, select: false })
  secretHash: string;

  @Column({ type: 'text', array: true })
  roles: Role[];

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'last_request_at', type: 'timestamptz', nullable: true })
  lastRequestAt: Date | null;

  /** Requests per window; null: RATE_LIMIT_REQUESTS applies; 0: no rate limit (see limits.ts). */
  @Column({ name: 'rate_limit_requests', type: 'integer', nullable: true })
  rateLimitRequests: number | null;

  /** Set exactly when `rateLimitRequests` is. */
  @Column({ name: 'rate_limit_window_seconds', type: 'integer', nullable: true })
  rateLimitWindowSeconds: number | null;

  /** Requests per UTC day; null: DAILY_QUOTA applies; 0: no quota. */
  @Column({ name: 'daily_quota', type: 'integer', nullable: true })
  dailyQuota: number | null;
}
