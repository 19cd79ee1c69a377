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

/** A stored value in its OData JSON form: numbers for decimals, ISO 8601 for times. */
export function toJsonValue(property: EdmProperty, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (property.type) {
    case 'Edm.Decimal':
      return Number(value);
    case 'Edm.DateTimeOffset':
      return (value instanceof Date ? value : new Date(value as string)).toISOString();
    default:
      return value;
  }
}

export function propertiesByName(set: EntitySetModel): Map<string, EdmProperty> {
  return new Map(set.properties.map((p) => [p.name, p]));
}
