import {
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import type { Customer } from './customer.entity';

export const ORDER_STATUSES = ['Pending', 'Processing', 'Complete', 'Cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

@Entity({ name: 'orders' })
export class Order {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'order_number', type: 'varchar', length: 40 })
  orderNumber: string;

  @Column({ name: 'customer_id', type: 'integer' })
  customerId: number;

  /** numeric(18,4); the pg driver returns it as a string, the OData layer as a number. */
  @Column({ name: 'order_total', type: 'numeric', precision: 18, scale: 4 })
  orderTotal: string;

  @Column({ name: 'order_status', type: 'varchar', length: 20 })
  orderStatus: OrderStatus;

  /** timestamptz(3): milliseconds, as the OData API serves it. */
  @CreateDateColumn({ name: 'created_on_utc', type: 'timestamptz', precision: 3 })
  createdOnUtc: Date;

  @ManyToOne('Customer', (customer: Customer) => customer.orders)
  @JoinColumn({ name: 'customer_id' })
  customer?: Customer;
}
