import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** The one row (id 1) of run-time settings an admin can change without a restart. */
@Entity({ name: 'settings' })
export class Settings {
  @PrimaryColumn({ type: 'smallint' })
  id: number;

  @Column({ name: 'api_enabled', type: 'boolean' })
  apiEnabled: boolean;

  @Column({ name: 'max_top', type: 'integer' })
  maxTop: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
