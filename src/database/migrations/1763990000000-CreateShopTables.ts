import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The business data the OData API serves. Indexes follow the demo queries: customers by
 * name and e-mail, orders by customer (the expand of Customer/Orders and its foreign key),
 * by date and by status, products by name and price.
 */
export class CreateShopTables1763990000000 implements MigrationInterface {
  name = 'CreateShopTables1763990000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "customers" (
        "id" serial PRIMARY KEY,
        "first_name" varchar(100) NOT NULL,
        "last_name" varchar(100) NOT NULL,
        "email" varchar(255) NOT NULL,
        "company" varchar(200) NULL,
        "active" boolean NOT NULL DEFAULT true,
        "created_on_utc" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX "IX_customers_last_name" ON "customers" ("last_name", "first_name")`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_customers_email" ON "customers" ("email")`);
    await queryRunner.query(
      `CREATE INDEX "IX_customers_created_on_utc" ON "customers" ("created_on_utc")`,
    );

    await queryRunner.query(`
      CREATE TABLE "orders" (
        "id" serial PRIMARY KEY,
        "order_number" varchar(40) NOT NULL,
        "customer_id" integer NOT NULL REFERENCES "customers" ("id") ON DELETE RESTRICT,
        "order_total" numeric(18, 4) NOT NULL CHECK ("order_total" >= 0),
        "order_status" varchar(20) NOT NULL
          CHECK ("order_status" IN ('Pending', 'Processing', 'Complete', 'Cancelled')),
        "created_on_utc" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_orders_order_number" ON "orders" ("order_number")`,
    );
    await queryRunner.query(`CREATE INDEX "IX_orders_customer_id" ON "orders" ("customer_id")`);
    await queryRunner.query(
      `CREATE INDEX "IX_orders_created_on_utc" ON "orders" ("created_on_utc")`,
    );
    await queryRunner.query(`CREATE INDEX "IX_orders_order_status" ON "orders" ("order_status")`);

    await queryRunner.query(`
      CREATE TABLE "products" (
        "id" serial PRIMARY KEY,
        "name" varchar(400) NOT NULL,
        "sku" varchar(100) NOT NULL,
        "price" numeric(18, 4) NOT NULL CHECK ("price" >= 0),
        "stock_quantity" integer NOT NULL DEFAULT 0,
        "published" boolean NOT NULL DEFAULT true
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_products_sku" ON "products" ("sku")`);
    await queryRunner.query(`CREATE INDEX "IX_products_name" ON "products" ("name")`);
    await queryRunner.query(`CREATE INDEX "IX_products_price" ON "products" ("price")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "orders"`);
    await queryRunner.query(`DROP TABLE "products"`);
    await queryRunner.query(`DROP TABLE "customers"`);
  }
}
