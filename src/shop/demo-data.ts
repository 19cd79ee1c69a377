import { DataSource } from 'typeorm';
import { ORDER_STATUSES } from './order.entity';

/**
 * The demo data set: 300 customers, 3000 orders and 100 products, the same on every run
 * (a seeded pseudo-random generator and a fixed start date), so that `npm start` has something
 * to query and examples in the README give the same answers everywhere.
 */
export const DEMO_DATA_SIZE = { customers: 300, orders: 3000, products: 100 } as const;

const FIRST_NAMES = [
  'Anna',
  'Ben',
  'Clara',
  'David',
  'Emma',
  'Felix',
  'Greta',
  'Hugo',
  'Ida',
  'Jonas',
  'Karla',
  'Leon',
  'Mia',
  'Noah',
  'Olivia',
  'Paul',
  'Rosa',
  'Samuel',
  'Tilda',
  'Umar',
  'Vera',
  'William',
  'Xenia',
  'Yusuf',
  'Zoe',
];
const LAST_NAMES = [
  'Müller',
  'Schmidt',
  'Schneider',
  'Fischer',
  'Weber',
  'Meyer',
  'Wagner',
  'Becker',
  'Schulz',
  'Hoffmann',
  "O'Brien",
  'García',
  'Rossi',
  'Novak',
  'Jensen',
  'Kowalski',
  'Dubois',
  'Smith',
  'Nakamura',
  'Okafor',
];
const COMPANIES = [
  'Acme GmbH',
  'Globex AG',
  'Initech Ltd',
  'Umbrella SE',
  'Stark Industries',
  'Wayne Enterprises',
];
const PRODUCT_WORDS = ['Classic', 'Pro', 'Eco', 'Smart', 'Mini', 'Ultra', 'Travel', 'Home'];
const PRODUCT_KINDS = [
  'Kettle',
  'Backpack',
  'Lamp',
  'Headphones',
  'Notebook',
  'Mug',
  'Chair',
  'Bottle',
  'Watch',
  'Blender',
];
const START = Date.UTC(2024, 0, 1);
const DAY = 24 * 60 * 60 * 1000;

/** mulberry32: small, fast and fully determined by its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function demoData() {
  const next = random(20261123);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)];
  const customers = Array.from({ length: DEMO_DATA_SIZE.customers }, (_, i) => {
    const firstName = pick(FIRST_NAMES);
    const lastName = pick(LAST_NAMES);
    const local = `${firstName}.${lastName}`.toLowerCase().replace(/[^a-z.]/g, '');
    return {
      id: i + 1,
      firstName,
      lastName,
      email: `${local}.${i + 1}@example.com`,
      company: next() < 0.4 ? pick(COMPANIES) : null,
      active: next() < 0.9,
      createdOnUtc: new Date(START + Math.floor(next() * 365) * DAY + Math.floor(next() * DAY)),
    };
  });
  const orders = Array.from({ length: DEMO_DATA_SIZE.orders }, (_, i) => {
    const customer = customers[Math.floor(next() * customers.length)];
    const placed = customer.createdOnUtc.getTime() + Math.floor(next() * 300 * DAY);
    return {
      id: i + 1,
      orderNumber: `SO-${String(i + 1).padStart(6, '0')}`,
      customerId: customer.id,
      orderTotal: (Math.round((5 + next() * 995) * 100) / 100).toFixed(2),
      orderStatus: pick(ORDER_STATUSES),
      createdOnUtc: new Date(placed),
    };
  });
  const products = Array.from({ length: DEMO_DATA_SIZE.products }, (_, i) => ({
    id: i + 1,
    name: `${pick(PRODUCT_WORDS)} ${pick(PRODUCT_KINDS)} ${i + 1}`,
    sku: `SKU-${String(i + 1).padStart(5, '0')}`,
    price: (Math.round((2 + next() * 498) * 100) / 100).toFixed(2),
    stockQuantity: Math.floor(next() * 500),
    published: next() < 0.85,
  }));
  return { customers, orders, products };
}

/**
 * Inserts the demo data when the shop tables are empty, in one transaction, and returns whether
 * it seeded. With `onlyIfPending` (a start), only into a database still marked as new
 * (`demo_data_state`, see its migration): a database whose demo rows were deleted is not seeded
 * again at every start. Either way the mark is cleared in the same transaction, so a stop at any
 * moment leaves it pending or seeded, never marked seeded without rows.
 */
export async function seedDemoData(
  dataSource: DataSource,
  { onlyIfPending = false } = {},
): Promise<boolean> {
  return dataSource.transaction(async (manager) => {
    // Two starts at once must not both seed.
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext('gatehouse:demo-data'))`);
    const [{ pending, rows }] = await manager.query<{ pending: boolean; rows: number }[]>(
      `SELECT (SELECT pending FROM demo_data_state) AS pending,
              (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders)
            + (SELECT count(*) FROM products) AS rows`,
    );
    if (onlyIfPending && !pending) return false;
    await manager.query(`UPDATE demo_data_state SET pending = false`);
    if (Number(rows) > 0) return false;
    const { customers, orders, products } = demoData();
    const column = <T, K extends keyof T>(rows: T[], key: K) => rows.map((r) => r[key]);
    await manager.query(
      `INSERT INTO customers (id, first_name, last_name, email, company, active, created_on_utc)
       SELECT * FROM unnest($1::int[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[],
                            $6::boolean[], $7::timestamptz[])`,
      ['id', 'firstName', 'lastName', 'email', 'company', 'active', 'createdOnUtc'].map((k) =>
        column(customers, k as keyof (typeof customers)[number]),
      ),
    );
    await manager.query(
      `INSERT INTO orders (id, order_number, customer_id, order_total, order_status, created_on_utc)
       SELECT * FROM unnest($1::int[], $2::varchar[], $3::int[], $4::numeric[], $5::varchar[],
                            $6::timestamptz[])`,
      ['id', 'orderNumber', 'customerId', 'orderTotal', 'orderStatus', 'createdOnUtc'].map((k) =>
        column(orders, k as keyof (typeof orders)[number]),
      ),
    );
    await manager.query(
      `INSERT INTO products (id, name, sku, price, stock_quantity, published)
       SELECT * FROM unnest($1::int[], $2::varchar[], $3::varchar[], $4::numeric[], $5::int[],
                            $6::boolean[])`,
      ['id', 'name', 'sku', 'price', 'stockQuantity', 'published'].map((k) =>
        column(products, k as keyof (typeof products)[number]),
      ),
    );
    // Explicit ids were inserted: move the sequences past them.
    for (const table of ['customers', 'orders', 'products']) {
      await manager.query(
        `SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`,
      );
    }
    return true;
  });
}
