import { EdmProperty, EntitySetModel } from './edm-model';

/** An entity as read from the database, keyed by OData property names, values as stored. */
export type Row = Record<string, unknown>;

/** Converts an entity instance (or a raw TypeORM result) into a Row over the given properties. */
export function toRow(entity: Record<string, unknown>, properties: EdmProperty[]): Row {
  const row: Row = {};
  for (const property of properties) {
    if (property.field in entity) row[property.name] = entity[property.field];
  }
  return row;
}

/**
 * How Edm.Decimal values are written in JSON: numbers by default, or, for a client that asks
 * for `IEEE754Compatible=true`, strings holding the stored value exactly (a JSON number is
 * read as a double by most clients, which holds fewer digits than numeric(18, 4)).
 */
export type DecimalForm = 'number' | 'string';

/** A stored value in its OData JSON form: decimals per `decimals`, ISO 8601 for times. */
export function toJsonValue(
  property: EdmProperty,
  value: unknown,
  decimals: DecimalForm = 'number',
): unknown {
  if (value === null || value === undefined) return null;
  switch (property.type) {
    case 'Edm.Decimal':
      // node-postgres reads numeric as its exact text (a number only where a test built the row).
      if (decimals === 'number') return Number(value);
      return typeof value === 'string' ? value : Number(value).toString();
    case 'Edm.DateTimeOffset':
      return (value instanceof Date ? value : new Date(value as string)).toISOString();
    default:
      return value;
  }
}

export function propertiesByName(set: EntitySetModel): Map<string, EdmProperty> {
  return new Map(set.properties.map((p) => [p.name, p]));
}
