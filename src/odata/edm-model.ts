import { Customer } from '../shop/customer.entity';
import { Order, ORDER_STATUSES } from '../shop/order.entity';
import { Product } from '../shop/product.entity';

/**
 * The OData model: the only names a request may use. Each property maps an OData (PascalCase)
 * name to the TypeORM entity field behind it; the query translator and the serializer take
 * names from here and nowhere else, so no request text ever becomes an SQL identifier.
 */
export type EdmType =
  'Edm.Int32' | 'Edm.String' | 'Edm.Boolean' | 'Edm.Decimal' | 'Edm.DateTimeOffset';

export interface EdmProperty {
  /** The OData name, as in JSON and in query options. */
  name: string;
  /** The TypeORM entity field. */
  field: string;
  type: EdmType;
  nullable: boolean;
  maxLength?: number;
  /** Decimal precision and scale; for a date-time, the digits of its fractional seconds. */
  precision?: number;
  scale?: number;
  /** The entity key (always Edm.Int32 here). */
  key?: true;
  /** Set by the server (key, creation time); refused in request bodies. */
  computed?: true;
  /** The values a string property accepts. */
  allowed?: readonly string[];
  /** The smallest value a number accepts. */
  minimum?: number;
}

export interface EdmNavigation {
  name: string;
  /** The entity set the navigation leads to. */
  target: string;
  collection: boolean;
  /** Related rows are those whose `targetProperty` equals this entity's `sourceProperty`. */
  sourceProperty: string;
  targetProperty: string;
}

export interface EntitySetModel {
  name: string;
  typeName: string;
  entity: new () => object;
  properties: EdmProperty[];
  navigations: EdmNavigation[];
}

export const NAMESPACE = 'Gatehouse';

const id: EdmProperty = {
  name: 'Id',
  field: 'id',
  type: 'Edm.Int32',
  nullable: false,
  key: true,
  computed: true,
};
const createdOnUtc: EdmProperty = {
  name: 'CreatedOnUtc',
  field: 'createdOnUtc',
  type: 'Edm.DateTimeOffset',
  nullable: false,
  // Milliseconds, as stored (timestamptz(3)) and served; CSDL reads no Precision as seconds.
  precision: 3,
  computed: true,
};
const money = { type: 'Edm.Decimal', precision: 18, scale: 4, minimum: 0 } as const;

export const ENTITY_SETS: readonly EntitySetModel[] = [
  {
    name: 'Customers',
    typeName: 'Customer',
    entity: Customer,
    properties: [
      id,
      {
        name: 'FirstName',
        field: 'firstName',
        type: 'Edm.String',
        nullable: false,
        maxLength: 100,
      },
      { name: 'LastName', field: 'lastName', type: 'Edm.String', nullable: false, maxLength: 100 },
      { name: 'Email', field: 'email', type: 'Edm.String', nullable: false, maxLength: 255 },
      { name: 'Company', field: 'company', type: 'Edm.String', nullable: true, maxLength: 200 },
      { name: 'Active', field: 'active', type: 'Edm.Boolean', nullable: false },
      createdOnUtc,
    ],
    navigations: [
      {
        name: 'Orders',
        target: 'Orders',
        collection: true,
        sourceProperty: 'Id',
        targetProperty: 'CustomerId',
      },
    ],
  },
  {
    name: 'Orders',
    typeName: 'Order',
    entity: Order,
    properties: [
      id,
      {
        name: 'OrderNumber',
        field: 'orderNumber',
        type: 'Edm.String',
        nullable: false,
        maxLength: 40,
      },
      { name: 'CustomerId', field: 'customerId', type: 'Edm.Int32', nullable: false, minimum: 1 },
      { name: 'OrderTotal', field: 'orderTotal', nullable: false, ...money },
      {
        name: 'OrderStatus',
        field: 'orderStatus',
        type: 'Edm.String',
        nullable: false,
        maxLength: 20,
        allowed: ORDER_STATUSES,
      },
      createdOnUtc,
    ],
    navigations: [
      {
        name: 'Customer',
        target: 'Customers',
        collection: false,
        sourceProperty: 'CustomerId',
        targetProperty: 'Id',
      },
    ],
  },
  {
    name: 'Products',
    typeName: 'Product',
    entity: Product,
    properties: [
      id,
      { name: 'Name', field: 'name', type: 'Edm.String', nullable: false, maxLength: 400 },
      { name: 'Sku', field: 'sku', type: 'Edm.String', nullable: false, maxLength: 100 },
      { name: 'Price', field: 'price', nullable: false, ...money },
      { name: 'StockQuantity', field: 'stockQuantity', type: 'Edm.Int32', nullable: false },
      { name: 'Published', field: 'published', type: 'Edm.Boolean', nullable: false },
    ],
    navigations: [],
  },
];

/**
 * An entity's key in a URL, as OData writes it: `(42)` or `(Id=42)`, the digits its one capturing
 * group. At most 10 digits, so a caller can compare the key with the Int32 range as a Number.
 */
/** Edm.Int32's range: keys, and the integer properties. */
const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;

export function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}

export const KEY_SEGMENT = String.raw`\((?:Id=)?(\d{1,10})\)`;

export function findEntitySet(name: string): EntitySetModel | undefined {
  return ENTITY_SETS.find((set) => set.name === name);
}

export function entitySet(name: string): EntitySetModel {
  const set = findEntitySet(name);
  if (!set) throw new Error(`No entity set ${name}`);
  return set;
}

export function keyProperty(set: EntitySetModel): EdmProperty {
  return set.properties.find((p) => p.key)!;
}
