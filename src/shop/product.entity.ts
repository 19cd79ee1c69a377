import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'products' })
export class Product {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 400 })
  name: string;

  @Column({ type: 'varchar', length: 100 })
  sku: string;

  /** numeric(18,4); the pg driver returns it as a string, the OData layer as a number. */
  @Column({ type: 'numeric', precision: 18, scale: 4 })
  price: string;

  @Column({ name: 'stock_quantity', type: 'integer', default: 0 })
  stockQuantity: number;

  @Column({ type: 'boolean', default: true })
  published: boolean;
}
