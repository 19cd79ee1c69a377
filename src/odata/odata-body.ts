import { BadRequestException } from '@nestjs/common';
import {
  EdmNavigation,
  EdmProperty,
  EntitySetModel,
  INT32_MAX,
  isInt32,
  KEY_SEGMENT,
} from './edm-model';
import { decimalText } from './edm-decimal';

export type WriteMode = 'create' | 'replace' | 'update';

/** Defaults of properties that may be left out of a create or a replace. */
const DEFAULTS: Record<string, unknown> = {
  Active: true,
  Published: true,
  StockQuantity: 0,
};

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/;

function invalid(property: string, message: string): BadRequestException {
  return new BadRequestException({
    code: 'InvalidRequestBody',
    message: `${property} ${message}`,
    target: property,
  });
}

/**
 * Validates a JSON request body against the model and returns the entity fields to write.
 * Server-set properties (Id, CreatedOnUtc) and `@odata` annotations are ignored; unknown
 * properties, navigation properties and values of the wrong type are a 400 naming the field.
 * A single-valued navigation may be set by reference, as OData clients do:
 * `"Customer@odata.bind": "Customers(42)"` sets `CustomerId` to 42.
 * `create` and `replace` need every required property (`replace` resets the others to their
 * defaults, as PUT means); `update` (PATCH) takes any subset.
 */
export function entityFieldsFromBody(
  set: EntitySetModel,
  body: unknown,
  mode: WriteMode,
): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException({
      code: 'InvalidRequestBody',
      message: `The body must be a JSON object with the properties of a ${set.typeName}.`,
    });
  }
  const input = withBindings(set, body as Record<string, unknown>);
  for (const name of Object.keys(input)) {
    if (name.startsWith('@') || set.properties.some((p) => p.name === name)) continue;
    if (isPropertyAnnotation(set, name, input[name])) continue;
    if (set.navigations.some((n) => n.name === name)) {
      throw invalid(name, 'is a navigation property; create related entities on their own set');
    }
    throw invalid(name, `is not a property of ${set.typeName}`);
  }
  const fields: Record<string, unknown> = {};
  for (const property of set.properties) {
    if (property.computed) continue;
    if (Object.prototype.hasOwnProperty.call(input, property.name)) {
      fields[property.field] = convert(property, input[property.name]);
    } else if (mode !== 'update') {
      if (property.name in DEFAULTS) fields[property.field] = DEFAULTS[property.name];
      else if (property.nullable) fields[property.field] = null;
      else throw invalid(property.name, 'is required');
    }
  }
  return fields;
}

/**
 * An annotation of one of the set's properties (`"Price@odata.type": "#Decimal"`), which OData
 * JSON allows beside the property and clients write (it was a 400, "not a property"; found by
 * review). Ignored, but for an `odata.type` that names another type than the property's.
 */
function isPropertyAnnotation(set: EntitySetModel, name: string, value: unknown): boolean {
  const at = name.indexOf('@');
  const property = at > 0 ? set.properties.find((p) => p.name === name.slice(0, at)) : undefined;
  if (!property) return false;
  if (name.slice(at + 1) === 'odata.type') {
    const named = typeof value === 'string' ? value.replace(/^#/, '').replace(/^Edm\./, '') : '';
    if (`Edm.${named}` !== property.type) {
      throw invalid(name, `must name the type of ${property.name}, #${property.type.slice(4)}`);
    }
  }
  return true;
}

const BIND_SUFFIX = '@odata.bind';

/**
 * The body with each `Navigation@odata.bind` of a single-valued navigation turned into the
 * property it sets (`Customer@odata.bind: "Customers(42)"` into `CustomerId: 42`). The reference
 * is the entity's URL: `Customers(42)`, `Customers(Id=42)`, or the same under the service root
 * (`/odata/v1/Customers(42)`, `http://host/odata/v1/Customers(42)`).
 */
function withBindings(
  set: EntitySetModel,
  input: Record<string, unknown>,
): Record<string, unknown> {
  // No prototype: a body's own names only, whatever they are.
  const result = Object.create(null) as Record<string, unknown>;
  const bound: [EdmNavigation, number][] = [];
  for (const [name, value] of Object.entries(input)) {
    if (!name.endsWith(BIND_SUFFIX)) {
      result[name] = value;
      continue;
    }
    const navigation = set.navigations.find((n) => `${n.name}${BIND_SUFFIX}` === name);
    if (!navigation) throw invalid(name, `binds no navigation property of ${set.typeName}`);
    if (navigation.collection) {
      throw invalid(name, 'binds a collection; set the reference on each related entity instead');
    }
    bound.push([navigation, referencedKey(name, navigation, value)]);
  }
  for (const [navigation, key] of bound) {
    const property = navigation.sourceProperty;
    if (Object.hasOwn(result, property) && result[property] !== key) {
      throw invalid(property, `disagrees with ${navigation.name}${BIND_SUFFIX}`);
    }
    result[property] = key;
  }
  return result;
}

function referencedKey(name: string, navigation: EdmNavigation, value: unknown): number {
  const target = navigation.target;
  // The scheme in any case (RFC 3986); the rest of the URL as the service writes it.
  const pattern = new RegExp(
    `^(?:(?:[hH][tT][tT][pP][sS]?://[^/?#]+)?/odata/v1/)?${target}${KEY_SEGMENT}$`,
  );
  const match = typeof value === 'string' ? pattern.exec(value) : null;
  const key = match ? Number(match[1]) : NaN;
  if (!match || key > INT32_MAX) {
    throw invalid(name, `must be the URL of one of the ${target}, such as ${target}(42)`);
  }
  return key;
}

const UNPAIRED_SURROGATE = /\p{Cs}/u;

function convert(property: EdmProperty, value: unknown): unknown {
  const name = property.name;
  if (value === null) {
    if (property.nullable) return null;
    throw invalid(name, 'must not be null');
  }
  switch (property.type) {
    case 'Edm.String': {
      if (typeof value !== 'string') throw invalid(name, 'must be a string');
      // PostgreSQL text cannot hold U+0000 (it would refuse the write with a 500).
      if (value.includes('\u0000')) throw invalid(name, 'must not contain the character U+0000');
      // Nor an unpaired surrogate, which a JSON escape makes (`"\ud800x"`; as bytes it is not
      // UTF-8, and the body is refused whole): it has no UTF-8 form, and the driver wrote U+FFFD
      // in its place (found by review). `\p{Cs}` with `u` matches only a surrogate left unpaired.
      if (UNPAIRED_SURROGATE.test(value)) {
        throw invalid(name, 'must not contain an unpaired UTF-16 surrogate');
      }
      if (property.maxLength !== undefined && [...value].length > property.maxLength) {
        throw invalid(name, `must be at most ${property.maxLength} characters`);
      }
      if (!property.allowed && value.trim() === '') throw invalid(name, 'must not be empty');
      if (property.allowed && !property.allowed.includes(value)) {
        throw invalid(name, `must be one of ${property.allowed.join(', ')}`);
      }
      return value;
    }
    case 'Edm.Int32': {
      if (typeof value !== 'number' || !isInt32(value)) {
        throw invalid(name, 'must be a 32-bit integer');
      }
      if (property.minimum !== undefined && value < property.minimum) {
        throw invalid(name, `must be at least ${property.minimum}`);
      }
      return value;
    }
    case 'Edm.Decimal': {
      // IEEE754Compatible clients send decimals as strings, so that no double rounds them:
      // kept as exact text to the database (see edm-decimal.ts).
      const precision = property.precision ?? 18;
      const scale = property.scale ?? 4;
      const text =
        typeof value === 'string' || typeof value === 'number'
          ? decimalText(value, precision, scale)
          : undefined;
      if (text === undefined) {
        throw invalid(name, `must be a decimal number below 10^${precision - scale}`);
      }
      if (property.minimum !== undefined && Number(text) < property.minimum) {
        throw invalid(name, `must be at least ${property.minimum}`);
      }
      return text;
    }
    case 'Edm.Boolean':
      if (typeof value !== 'boolean') throw invalid(name, 'must be true or false');
      return value;
    case 'Edm.DateTimeOffset': {
      if (
        typeof value !== 'string' ||
        !ISO_DATE_TIME.test(value) ||
        Number.isNaN(Date.parse(value))
      ) {
        throw invalid(name, 'must be an ISO 8601 date-time with an offset');
      }
      return new Date(value);
    }
  }
}
