import { Column, CreateDateColumn, Entity, OneToMany, PrimaryGeneratedColumn } from 'typeorm';
import type { Order } from './order.entity';

@Entity({ name: 'customers' })
export class Customer {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'first_name', type: 'varchar', length: 100 })
  firstName: string;

  @Column({ name: 'last_name', type: 'varchar', length: 100 })
  lastName: string;

  @Column({ type: 'varchar', length: 255 })
  email: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  company: string | null;

  @Column({ type: 'boolean', default: true })
  active: boolean;

  /** timestamptz(3): milliseconds, as the OData API serves it. */
  @CreateDateColumn({ name: 'created_on_utc', type: 'timestamptz', precision: 3 })
  createdOnUtc: Date;

  @OneToMany('Order', (order: Order) => order.customer)
  orders?: Order[];
}
