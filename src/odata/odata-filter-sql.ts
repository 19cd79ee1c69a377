import type { EdmProperty } from './edm-model';
import {
  ODataQueryError,
  type ComparisonOperator,
  type FilterExpression,
  type Operand,
} from './odata-query';

/** A condition for TypeORM's `where(sql, params)`. */
export interface SqlCondition {
  sql: string;
  params: Record<string, unknown>;
}

const SQL_OPERATORS: Record<ComparisonOperator, string> = {
  eq: '=',
  ne: '<>',
  gt: '>',
  ge: '>=',
  lt: '<',
  le: '<=',
};

/** `5 lt Price` is `Price gt 5`. */
const MIRRORED: Record<ComparisonOperator, ComparisonOperator> = {
  eq: 'eq',
  ne: 'ne',
  gt: 'lt',
  ge: 'le',
  lt: 'gt',
  le: 'ge',
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Renders a checked filter (from `parseQueryOptions`) as a PostgreSQL condition for a TypeORM
 * query builder: columns as `${alias}.${property.field}` (TypeORM quotes them), every literal as
 * a named parameter `:${prefix}0`, `:${prefix}1`, ... bound, never inlined. The SQL text is
 * built only from the model's field names, fixed keywords and those placeholders.
 *
 * OData's null semantics are kept: a comparison with a null value is false (`ne`: true) rather
 * than SQL's unknown, so that `not` flips it the way OData says.
 *
 * `prefix` must not make names that clash with the query's other parameters (`f` and `f1` do:
 * `f10` is both); one prefix per query builder is the simple way.
 */
export function filterToSql(
  expression: FilterExpression,
  alias: string,
  prefix = 'f',
): SqlCondition {
  if (!IDENTIFIER.test(alias)) throw new TypeError(`Invalid alias ${alias}`);
  if (!IDENTIFIER.test(prefix)) throw new TypeError(`Invalid parameter prefix ${prefix}`);
  const params: Record<string, unknown> = {};

  const bind = (value: unknown): string => {
    const name = `${prefix}${Object.keys(params).length}`;
    params[name] = value;
    return `:${name}`;
  };

  const column = (property: EdmProperty): string => {
    if (!IDENTIFIER.test(property.field)) throw new TypeError(`Invalid field ${property.field}`);
    return `${alias}.${property.field}`;
  };

  /** Adds `AND column IS NOT NULL` for each nullable property, so a null compares false. */
  const notNull = (sql: string, ...properties: EdmProperty[]): string => {
    const guards = properties.filter((p) => p.nullable).map((p) => `${column(p)} IS NOT NULL`);
    return guards.length === 0 ? sql : `(${[sql, ...guards].join(' AND ')})`;
  };

  const compare = (operator: ComparisonOperator, left: Operand, right: Operand): string => {
    if (left.kind === 'literal') {
      if (right.kind === 'literal') {
        throw new ODataQueryError('A comparison in $filter must involve a property');
      }
      return compare(MIRRORED[operator], right, left);
    }
    const property = left.property;
    const field = column(property);
    const sqlOperator = SQL_OPERATORS[operator];
    if (right.kind === 'property') {
      const other = column(right.property);
      if (operator === 'eq') return `${field} IS NOT DISTINCT FROM ${other}`;
      if (operator === 'ne') return `${field} IS DISTINCT FROM ${other}`;
      return notNull(`${field} ${sqlOperator} ${other}`, property, right.property);
    }
    const value = right.value;
    if (value === null) {
      if (operator === 'eq') return `${field} IS NULL`;
      if (operator === 'ne') return `${field} IS NOT NULL`;
      throw new ODataQueryError(
        `null can only be compared with eq or ne (property '${property.name}' in $filter)`,
      );
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ODataQueryError(`Only finite numbers can be compared with '${property.name}'`);
    }
    // An integer column would make PostgreSQL read the parameter as an integer too, and fail
    // on 1.5 or 3000000000; compared as numeric, `Id gt 1.5` means what it says.
    const parameter =
      property.type === 'Edm.Int32' &&
      typeof value === 'number' &&
      !(Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX)
        ? `CAST(${bind(value)} AS numeric)`
        : bind(value);
    if (operator === 'ne') {
      return property.nullable
        ? `(${field} <> ${parameter} OR ${field} IS NULL)`
        : `${field} <> ${parameter}`;
    }
    return notNull(`${field} ${sqlOperator} ${parameter}`, property);
  };

  const render = (node: FilterExpression): string => {
    switch (node.kind) {
      case 'and':
        return `(${render(node.left)} AND ${render(node.right)})`;
      case 'or':
        return `(${render(node.left)} OR ${render(node.right)})`;
      case 'not':
        return `NOT (${render(node.operand)})`;
      case 'compare':
        return compare(node.operator, node.left, node.right);
      case 'text': {
        const escaped = node.value.replace(/[\\%_]/g, (char) => `\\${char}`);
        const pattern =
          node.fn === 'contains'
            ? `%${escaped}%`
            : node.fn === 'startswith'
              ? `${escaped}%`
              : `%${escaped}`;
        return notNull(`${column(node.property)} LIKE ${bind(pattern)} ESCAPE '\\'`, node.property);
      }
      case 'boolean':
        return notNull(`${column(node.property)} = true`, node.property);
    }
  };

  return { sql: render(expression), params };
}
