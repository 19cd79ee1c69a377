import { isInt32, type EdmProperty, type EntitySetModel } from './edm-model';
import {
  baseProperty,
  expressionType,
  type ComparisonOperator,
  type FilterExpression,
  type Operand,
  type RelatedEntity,
  type ValueExpression,
  type ValueFunction,
} from './odata-filter';
import { ODataQueryError } from './odata-syntax';

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

/**
 * The SQL of each function, around its argument's SQL. Date parts are read in UTC, as the
 * values are served; `second` drops the fraction (a cast alone would round 59.9 up to 60).
 */
const FUNCTION_SQL: Record<ValueFunction, (argument: string) => string> = {
  tolower: (x) => `LOWER(${x})`,
  toupper: (x) => `UPPER(${x})`,
  trim: (x) => `BTRIM(${x})`,
  length: (x) => `CHAR_LENGTH(${x})`,
  year: (x) => datePart('YEAR', x),
  month: (x) => datePart('MONTH', x),
  day: (x) => datePart('DAY', x),
  hour: (x) => datePart('HOUR', x),
  minute: (x) => datePart('MINUTE', x),
  second: (x) => `CAST(FLOOR(EXTRACT(SECOND FROM ${x} AT TIME ZONE 'UTC')) AS integer)`,
  date: (x) => `(CAST(CAST(${x} AT TIME ZONE 'UTC' AS date) AS timestamp) AT TIME ZONE 'UTC')`,
  round: (x) => `ROUND(${x})`,
  floor: (x) => `FLOOR(${x})`,
  ceiling: (x) => `CEIL(${x})`,
};

function datePart(field: string, x: string): string {
  return `CAST(EXTRACT(${field} FROM ${x} AT TIME ZONE 'UTC') AS integer)`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `${alias}.${field}`, which TypeORM turns into the quoted column. */
function columnSql(property: EdmProperty, alias: string): string {
  if (!IDENTIFIER.test(alias)) throw new TypeError(`Invalid alias ${alias}`);
  if (!IDENTIFIER.test(property.field)) throw new TypeError(`Invalid field ${property.field}`);
  return `${alias}.${property.field}`;
}

/** The condition tying a related row (alias `inner`) to the entity (alias `outer`). */
export function joinSql(join: RelatedEntity['join'], inner: string, outer: string): string {
  return `${columnSql(join.inner, inner)} = ${columnSql(join.outer, outer)}`;
}

/**
 * A value expression (a property, functions of one, a count of related entities) as SQL over
 * `alias`: for `$filter` and `$orderby`. Only model names and fixed function names, never
 * request text. A count is a scalar subquery and needs `subquery`.
 */
export function valueToSql(
  expression: ValueExpression,
  alias: string,
  subquery?: SubqueryRenderer,
): string {
  switch (expression.kind) {
    case 'property':
      return columnSql(expression.property, alias);
    case 'call':
      return FUNCTION_SQL[expression.fn](valueToSql(expression.argument, alias, subquery));
    case 'count': {
      if (!subquery) throw new TypeError('A $count of related entities needs a subquery renderer');
      const { target, join } = expression.related;
      const inner = `${alias}_count`;
      return `(${subquery(target, inner, joinSql(join, inner, alias), 'COUNT(*)')})`;
    }
  }
}

/**
 * Makes the subquery of a lambda (`any`, `all`), of `Navigation/$count` or of a sort key one
 * navigation away: `SELECT <select, by default 1> FROM <the set's table> <alias> WHERE <where>`,
 * with `alias.field` turned into columns as TypeORM does (the service builds it with a query
 * builder). `where` also names the outer alias, which the outer builder resolves.
 */
export type SubqueryRenderer = (
  set: EntitySetModel,
  alias: string,
  where: string,
  select?: string,
) => string;

/**
 * A date-time literal's text (`…47.9231239Z`, from the filter's parsing) cut to the microsecond
 * (`…47.923123Z`), and whether that is the literal itself (no digit other than 0 was cut).
 */
function toMicrosecond(text: string): { text: string; exact: boolean } {
  const match = /^([^.]*\.)([0-9]+)(.*)$/.exec(text);
  if (!match) throw new TypeError(`Not a date-time with a fraction: ${text}`);
  const [, head, fraction, zone] = match;
  return { text: `${head}${fraction.slice(0, 6)}${zone}`, exact: !/[1-9]/.test(fraction.slice(6)) };
}

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
 * `f10` is both); one prefix per query builder is the simple way. Lambdas (`Orders/any(...)`)
 * become `EXISTS (subquery)` with the aliases `${prefix}l0`, `${prefix}l1`, ..., and need
 * `subquery`.
 */
export function filterToSql(
  expression: FilterExpression,
  alias: string,
  prefix = 'f',
  subquery?: SubqueryRenderer,
): SqlCondition {
  if (!IDENTIFIER.test(alias)) throw new TypeError(`Invalid alias ${alias}`);
  if (!IDENTIFIER.test(prefix)) throw new TypeError(`Invalid parameter prefix ${prefix}`);
  const params: Record<string, unknown> = {};
  let lambdas = 0;

  const bind = (value: unknown): string => {
    const name = `${prefix}${Object.keys(params).length}`;
    params[name] = value;
    return `:${name}`;
  };

  /**
   * Adds `AND column IS NOT NULL` for each nullable property the values are computed from, so
   * that a null compares false (every function here gives null exactly for a null argument).
   */
  const notNull = (at: string, sql: string, ...values: ValueExpression[]): string => {
    const guards = values
      .map(baseProperty)
      .filter((p) => p.nullable)
      .map((p) => `${columnSql(p, at)} IS NOT NULL`);
    return guards.length === 0 ? sql : `(${[sql, ...guards].join(' AND ')})`;
  };

  const compare = (
    at: string,
    operator: ComparisonOperator,
    left: Operand,
    right: Operand,
  ): string => {
    if (left.kind === 'literal') {
      if (right.kind === 'literal') {
        throw new ODataQueryError('A comparison in $filter must involve a property');
      }
      return compare(at, MIRRORED[operator], right, left);
    }
    const field = valueToSql(left, at, subquery);
    if (right.kind !== 'literal') {
      const other = valueToSql(right, at, subquery);
      if (operator === 'eq') return `${field} IS NOT DISTINCT FROM ${other}`;
      if (operator === 'ne') return `${field} IS DISTINCT FROM ${other}`;
      return notNull(at, `${field} ${SQL_OPERATORS[operator]} ${other}`, left, right);
    }
    const value = right.value;
    const base = baseProperty(left);
    if (value === null) {
      const guard = columnSql(base, at);
      if (operator === 'eq') return `${guard} IS NULL`;
      if (operator === 'ne') return `${guard} IS NOT NULL`;
      throw new ODataQueryError(
        `null can only be compared with eq or ne (property '${base.name}' in $filter)`,
      );
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ODataQueryError(`Only finite numbers can be compared with '${base.name}'`);
    }
    let sqlOperator = SQL_OPERATORS[operator];
    let parameter: string;
    if (value instanceof Date && right.exact !== undefined) {
      // A date-time finer than a millisecond, which a Date would cut (`eq …47.9231Z` matched
      // …47.923, found by review): bound as its text, which timestamptz reads exactly to the
      // microsecond. Finer still, PostgreSQL would round it; the values compared are whole
      // microseconds, so such a literal lies strictly between the microsecond m below it and
      // m + 1 µs: `lt` and `le` are `<= m`, `gt` and `ge` are `> m`, `eq` never holds, `ne`
      // always does (a null too, as OData's `ne` below).
      const { text, exact } = toMicrosecond(right.exact);
      if (!exact && operator === 'eq') return 'FALSE';
      if (!exact && operator === 'ne') return 'TRUE';
      if (!exact) sqlOperator = operator === 'lt' || operator === 'le' ? '<=' : '>';
      parameter = `CAST(${bind(text)} AS timestamptz)`;
    } else {
      // An integer column would make PostgreSQL read the parameter as an integer too, and fail
      // on 1.5 or 3000000000; compared as numeric, `Id gt 1.5` means what it says. A number
      // with more digits than a double holds is bound as its exact text, also as numeric.
      parameter =
        right.exact !== undefined
          ? `CAST(${bind(right.exact)} AS numeric)`
          : expressionType(left) === 'Edm.Int32' && typeof value === 'number' && !isInt32(value)
            ? `CAST(${bind(value)} AS numeric)`
            : bind(value);
    }
    if (operator === 'ne') {
      return base.nullable
        ? `(${field} <> ${parameter} OR ${columnSql(base, at)} IS NULL)`
        : `${field} <> ${parameter}`;
    }
    return notNull(at, `${field} ${sqlOperator} ${parameter}`, left);
  };

  /**
   * any: some related row satisfies the predicate; all: none fails it. The predicate renders
   * null comparisons as false, so `NOT (predicate)` is true for them, as OData's all wants.
   */
  const quantified = (at: string, node: Extract<FilterExpression, { kind: 'lambda' }>): string => {
    if (!subquery) throw new TypeError('A filter with any or all needs a subquery renderer');
    const inner = `${prefix}l${lambdas++}`;
    const link = joinSql(node.join, inner, at);
    const predicate = node.predicate ? render(node.predicate, inner) : undefined;
    const where =
      node.quantifier === 'any'
        ? [link, predicate].filter(Boolean).join(' AND ')
        : `${link} AND NOT (${predicate ?? 'true'})`;
    const exists = `EXISTS (${subquery(node.target, inner, where)})`;
    return node.quantifier === 'any' ? exists : `NOT ${exists}`;
  };

  const render = (node: FilterExpression, at: string): string => {
    switch (node.kind) {
      case 'and':
        return `(${render(node.left, at)} AND ${render(node.right, at)})`;
      case 'or':
        return `(${render(node.left, at)} OR ${render(node.right, at)})`;
      case 'not':
        return `NOT (${render(node.operand, at)})`;
      case 'compare':
        return compare(at, node.operator, node.left, node.right);
      case 'text': {
        const escaped = node.value.replace(/[\\%_]/g, (char) => `\\${char}`);
        const pattern =
          node.fn === 'contains'
            ? `%${escaped}%`
            : node.fn === 'startswith'
              ? `${escaped}%`
              : `%${escaped}`;
        return notNull(
          at,
          `${valueToSql(node.subject, at, subquery)} LIKE ${bind(pattern)} ESCAPE '\\'`,
          node.subject,
        );
      }
      case 'boolean':
        return notNull(at, `${columnSql(node.property, at)} = true`, {
          kind: 'property',
          property: node.property,
        });
      case 'lambda':
        return quantified(at, node);
    }
  };

  return { sql: render(expression, alias), params };
}
