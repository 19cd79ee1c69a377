import { ENTITY_SETS, entitySet, type EntitySetModel } from './edm-model';
import { filterToSql, type SqlCondition } from './odata-filter-sql';
import type { FilterExpression } from './odata-filter';
import { parseQueryOptions } from './odata-query';
import { ODataQueryError } from './odata-syntax';

const customers = entitySet('Customers');
const orders = entitySet('Orders');
const products = entitySet('Products');

function expressionOf(filter: string, set: EntitySetModel = customers): FilterExpression {
  const expression = parseQueryOptions({ $filter: filter }, set, { maxTop: 100 }).filter;
  if (!expression) throw new Error('test bug: no filter');
  return expression;
}

function sqlOf(filter: string, set: EntitySetModel = customers): SqlCondition {
  return filterToSql(expressionOf(filter, set), 'e');
}

function prop(set: EntitySetModel, name: string) {
  const property = set.properties.find((p) => p.name === name);
  if (!property) throw new Error(`test bug: no ${name}`);
  return property;
}

/**
 * Asserts that `sql` is made only of `alias.field` for the set's fields, `:fN` placeholders
 * (possibly as `CAST(:fN AS numeric)` or `CAST(:fN AS timestamptz)`), operators, parentheses, fixed keywords and the
 * functions `filterToSql` renders; that it has no quote, comment or statement separator besides
 * the fixed `ESCAPE '\'` and `AT TIME ZONE 'UTC'`; and that its placeholders and the
 * parameters match one to one.
 */
function expectSafe({ sql, params }: SqlCondition, set: EntitySetModel, alias = 'e'): void {
  const fields = set.properties.map((p) => p.field).join('|');
  const withoutFixedQuotes = sql
    .replace(/ LIKE (:f\d+) ESCAPE '\\'/g, ' LIKE $1')
    .replace(/ AT TIME ZONE 'UTC'/g, ' ');
  expect(withoutFixedQuotes).not.toMatch(/['"`;\\$]|--|\/\*/);
  const rest = withoutFixedQuotes
    .replace(new RegExp(`\\b${alias}\\.(?:${fields})\\b`, 'g'), ' ')
    .replace(/CAST\(:f\d+ AS (?:numeric|timestamptz)\)/g, ' ')
    .replace(/:f\d+\b/g, ' ')
    .replace(/\bEXTRACT\((?:YEAR|MONTH|DAY|HOUR|MINUTE|SECOND) FROM\b/g, ' ( ')
    .replace(/\b(?:AND|OR|NOT|IS|NULL|DISTINCT|FROM|LIKE|true|TRUE|FALSE)\b/g, ' ')
    .replace(
      /\b(?:LOWER|UPPER|BTRIM|CHAR_LENGTH|ROUND|FLOOR|CEIL|CAST|AS|integer|date|timestamp)\b/g,
      ' ',
    )
    .replace(/<>|<=|>=|[=<>()]/g, ' ');
  expect(rest.trim()).toBe('');
  const placeholders = [...sql.matchAll(/:(f\d+)/g)].map((m) => m[1]).sort();
  expect(placeholders).toEqual(Object.keys(params).sort());
}

describe('filterToSql: comparisons', () => {
  it.each([
    ['eq', '='],
    ['ne', '<>'],
    ['gt', '>'],
    ['ge', '>='],
    ['lt', '<'],
    ['le', '<='],
  ])('renders %s on a non-nullable property as plain %s', (operator, sql) => {
    expect(sqlOf(`Id ${operator} 5`)).toEqual({ sql: `e.id ${sql} :f0`, params: { f0: 5 } });
  });

  it('binds a string, never inlines it', () => {
    expect(sqlOf("LastName eq 'O''Brien'")).toEqual({
      sql: 'e.lastName = :f0',
      params: { f0: "O'Brien" },
    });
  });

  it('renders a nullable property so that null compares false, and ne true', () => {
    expect(sqlOf("Company eq 'Acme'")).toEqual({
      sql: '(e.company = :f0 AND e.company IS NOT NULL)',
      params: { f0: 'Acme' },
    });
    expect(sqlOf("Company ne 'Acme'")).toEqual({
      sql: '(e.company <> :f0 OR e.company IS NULL)',
      params: { f0: 'Acme' },
    });
    expect(sqlOf("Company gt 'A'").sql).toBe('(e.company > :f0 AND e.company IS NOT NULL)');
    expect(sqlOf("Company le 'A'").sql).toBe('(e.company <= :f0 AND e.company IS NOT NULL)');
  });

  it('negates a nullable comparison so that nulls come back (not (Company eq x))', () => {
    expect(sqlOf("not (Company eq 'Acme GmbH')")).toEqual({
      sql: 'NOT ((e.company = :f0 AND e.company IS NOT NULL))',
      params: { f0: 'Acme GmbH' },
    });
  });

  it('renders eq null and ne null as IS NULL and IS NOT NULL, with no parameter', () => {
    expect(sqlOf('Company eq null')).toEqual({ sql: 'e.company IS NULL', params: {} });
    expect(sqlOf('Company ne null')).toEqual({ sql: 'e.company IS NOT NULL', params: {} });
    expect(sqlOf('null eq Company')).toEqual({ sql: 'e.company IS NULL', params: {} });
    expect(sqlOf('FirstName ne null')).toEqual({ sql: 'e.firstName IS NOT NULL', params: {} });
  });

  it('compares two properties null-safely', () => {
    expect(sqlOf('FirstName eq LastName')).toEqual({
      sql: 'e.firstName IS NOT DISTINCT FROM e.lastName',
      params: {},
    });
    expect(sqlOf('Company ne FirstName').sql).toBe('e.company IS DISTINCT FROM e.firstName');
    expect(sqlOf('Company gt FirstName').sql).toBe(
      '(e.company > e.firstName AND e.company IS NOT NULL)',
    );
    expect(sqlOf('LastName lt Company').sql).toBe(
      '(e.lastName < e.company AND e.company IS NOT NULL)',
    );
    expect(sqlOf('OrderTotal ge CustomerId', orders).sql).toBe('e.orderTotal >= e.customerId');
  });

  it.each([
    ['5 lt Price', 'e.price > :f0'],
    ['5 le Price', 'e.price >= :f0'],
    ['5 gt Price', 'e.price < :f0'],
    ['5 ge Price', 'e.price <= :f0'],
    ['5 eq Price', 'e.price = :f0'],
    ['5 ne Price', 'e.price <> :f0'],
  ])('flips the operator for a literal on the left: %s', (filter, sql) => {
    expect(sqlOf(filter, products)).toEqual({ sql, params: { f0: 5 } });
  });

  it('flips with the nullable rendering too', () => {
    expect(sqlOf("'x' ne Company").sql).toBe('(e.company <> :f0 OR e.company IS NULL)');
    expect(sqlOf("'x' lt Company").sql).toBe('(e.company > :f0 AND e.company IS NOT NULL)');
  });

  it('binds values with their JavaScript types', () => {
    const { params } = sqlOf(
      "Active eq false and CreatedOnUtc ge 2024-06-01T00:00:00Z and CreatedOnUtc lt 2024-06-08 and Id gt -3 and FirstName eq 'x'",
    );
    expect(params.f0).toBe(false);
    expect(params.f1).toBeInstanceOf(Date);
    expect((params.f1 as Date).toISOString()).toBe('2024-06-01T00:00:00.000Z');
    expect((params.f2 as Date).toISOString()).toBe('2024-06-08T00:00:00.000Z');
    expect(params.f3).toBe(-3);
    expect(params.f4).toBe('x');
  });

  it('binds a date-time finer than a millisecond as its text, which timestamptz reads exactly', () => {
    // A Date holds milliseconds: `eq …47.9231Z` matched …47.923 (found by review).
    expect(sqlOf('CreatedOnUtc eq 2024-05-10T11:54:47.9231Z')).toEqual({
      sql: 'e.createdOnUtc = CAST(:f0 AS timestamptz)',
      params: { f0: '2024-05-10T11:54:47.9231Z' },
    });
    expect(sqlOf('CreatedOnUtc lt 2024-05-10T13:54:47.923123+02:00').params).toEqual({
      f0: '2024-05-10T13:54:47.923123+02:00',
    });
    // Zeros below the millisecond change nothing: the Date is exact.
    expect(sqlOf('CreatedOnUtc eq 2024-05-10T11:54:47.923000000Z').params.f0).toEqual(
      new Date('2024-05-10T11:54:47.923Z'),
    );
  });

  it.each([
    ['lt', 'e.createdOnUtc <= CAST(:f0 AS timestamptz)'],
    ['le', 'e.createdOnUtc <= CAST(:f0 AS timestamptz)'],
    ['gt', 'e.createdOnUtc > CAST(:f0 AS timestamptz)'],
    ['ge', 'e.createdOnUtc > CAST(:f0 AS timestamptz)'],
  ])(
    'compares %s with a date-time finer than a microsecond by the microsecond below it',
    (operator, sql) => {
      // PostgreSQL would round .9230000001 to .923, and `gt` would miss what is above it.
      expect(sqlOf(`CreatedOnUtc ${operator} 2024-05-10T11:54:47.9230000001Z`)).toEqual({
        sql,
        params: { f0: '2024-05-10T11:54:47.923000Z' },
      });
    },
  );

  it('never finds a date-time finer than a microsecond equal, and always unequal', () => {
    expect(sqlOf('CreatedOnUtc eq 2024-05-10T11:54:47.923999999999Z')).toEqual({
      sql: 'FALSE',
      params: {},
    });
    expect(sqlOf('CreatedOnUtc ne 2024-05-10T11:54:47.9230000001Z').sql).toBe('TRUE');
    // The digits below the microsecond decide, not the microsecond: this one is exact.
    expect(sqlOf('CreatedOnUtc eq 2024-05-10T11:54:47.923001000Z').sql).toBe(
      'e.createdOnUtc = CAST(:f0 AS timestamptz)',
    );
    expect(sqlOf('2024-05-10T11:54:47.9230000001Z gt CreatedOnUtc').sql).toBe(
      'e.createdOnUtc <= CAST(:f0 AS timestamptz)',
    );
  });

  it('binds numbers for decimal properties', () => {
    expect(sqlOf('OrderTotal gt 500 and OrderTotal lt 510.5', orders)).toEqual({
      sql: '(e.orderTotal > :f0 AND e.orderTotal < :f1)',
      params: { f0: 500, f1: 510.5 },
    });
  });

  it('compares an Edm.Int32 column as numeric when the literal is no int4', () => {
    expect(sqlOf('Id gt 1.5')).toEqual({
      sql: 'e.id > CAST(:f0 AS numeric)',
      params: { f0: 1.5 },
    });
    expect(sqlOf('Id eq 3000000000').sql).toBe('e.id = CAST(:f0 AS numeric)');
    expect(sqlOf('StockQuantity ge -2147483649', products).sql).toBe(
      'e.stockQuantity >= CAST(:f0 AS numeric)',
    );
    expect(sqlOf('Id eq 2147483647').sql).toBe('e.id = :f0');
    expect(sqlOf('Id eq -2147483648').sql).toBe('e.id = :f0');
    expect(sqlOf('Price gt 1.5', products).sql).toBe('e.price > :f0');
  });
});

describe('filterToSql: logic', () => {
  it('keeps precedence with parentheses', () => {
    expect(sqlOf('Id eq 1 or Id eq 2 and Id eq 3')).toEqual({
      sql: '(e.id = :f0 OR (e.id = :f1 AND e.id = :f2))',
      params: { f0: 1, f1: 2, f2: 3 },
    });
    expect(sqlOf('(Id eq 1 or Id eq 2) and Id eq 3').sql).toBe(
      '((e.id = :f0 OR e.id = :f1) AND e.id = :f2)',
    );
  });

  it('renders not around its operand', () => {
    expect(sqlOf('not (Id eq 1)').sql).toBe('NOT (e.id = :f0)');
    expect(sqlOf('not Active').sql).toBe('NOT (e.active = true)');
    expect(sqlOf('not not Active or Id eq 1').sql).toBe(
      '(NOT (NOT (e.active = true)) OR e.id = :f0)',
    );
  });

  it('renders a bare boolean property as = true', () => {
    expect(sqlOf('Active')).toEqual({ sql: 'e.active = true', params: {} });
    expect(sqlOf('Published', products)).toEqual({ sql: 'e.published = true', params: {} });
  });

  it('guards a nullable boolean property too', () => {
    const flag = { ...prop(customers, 'Active'), nullable: true };
    expect(filterToSql({ kind: 'boolean', property: flag }, 'e').sql).toBe(
      '(e.active = true AND e.active IS NOT NULL)',
    );
  });

  it('numbers parameters in order with the given alias and prefix', () => {
    expect(filterToSql(expressionOf("FirstName eq 'a' or LastName eq 'b'"), 'c', 'x')).toEqual({
      sql: '(c.firstName = :x0 OR c.lastName = :x1)',
      params: { x0: 'a', x1: 'b' },
    });
  });

  it('refuses an alias or prefix that is not an identifier', () => {
    const expression = expressionOf('Active');
    for (const bad of ['', 'e; DROP', '1e', 'e.x', '"e"']) {
      expect(() => filterToSql(expression, bad)).toThrow(TypeError);
      expect(() => filterToSql(expression, 'e', bad)).toThrow(TypeError);
    }
  });

  it('refuses a hand-made comparison of two literals', () => {
    const expression: FilterExpression = {
      kind: 'compare',
      operator: 'eq',
      left: { kind: 'literal', value: 1 },
      right: { kind: 'literal', value: 1 },
    };
    expect(() => filterToSql(expression, 'e')).toThrow(ODataQueryError);
  });

  it('refuses a hand-made gt null', () => {
    const expression: FilterExpression = {
      kind: 'compare',
      operator: 'gt',
      left: { kind: 'property', property: prop(customers, 'Company') },
      right: { kind: 'literal', value: null },
    };
    expect(() => filterToSql(expression, 'e')).toThrow(ODataQueryError);
  });
});

describe('filterToSql: functions', () => {
  it.each([
    ["tolower(LastName) eq 'x'", 'LOWER(e.lastName) = :f0', customers],
    ["toupper(LastName) eq 'X'", 'UPPER(e.lastName) = :f0', customers],
    ["trim(LastName) eq 'x'", 'BTRIM(e.lastName) = :f0', customers],
    ['length(LastName) gt 5', 'CHAR_LENGTH(e.lastName) > :f0', customers],
    [
      'year(CreatedOnUtc) eq 2024',
      "CAST(EXTRACT(YEAR FROM e.createdOnUtc AT TIME ZONE 'UTC') AS integer) = :f0",
      customers,
    ],
    [
      'month(CreatedOnUtc) le 6',
      "CAST(EXTRACT(MONTH FROM e.createdOnUtc AT TIME ZONE 'UTC') AS integer) <= :f0",
      customers,
    ],
    [
      'second(CreatedOnUtc) eq 59',
      "CAST(FLOOR(EXTRACT(SECOND FROM e.createdOnUtc AT TIME ZONE 'UTC')) AS integer) = :f0",
      customers,
    ],
    [
      'date(CreatedOnUtc) eq 2024-06-01',
      "(CAST(CAST(e.createdOnUtc AT TIME ZONE 'UTC' AS date) AS timestamp) AT TIME ZONE 'UTC') = :f0",
      customers,
    ],
    ['round(Price) eq 10', 'ROUND(e.price) = :f0', products],
    ['floor(Price) eq 10', 'FLOOR(e.price) = :f0', products],
    ['ceiling(Price) eq 10', 'CEIL(e.price) = :f0', products],
    ['length(trim(Name)) lt 10', 'CHAR_LENGTH(BTRIM(e.name)) < :f0', products],
  ])('renders %j', (filter, sql, set) => {
    const condition = sqlOf(filter, set);
    expect(condition.sql).toBe(sql);
    expectSafe(condition, set);
  });

  it('compares a function of an integer with a fraction as numeric', () => {
    expect(sqlOf('length(LastName) lt 5.5')).toEqual({
      sql: 'CHAR_LENGTH(e.lastName) < CAST(:f0 AS numeric)',
      params: { f0: 5.5 },
    });
  });

  it("keeps OData's null rules through a function of a nullable property", () => {
    expect(sqlOf("tolower(Company) eq 'acme'").sql).toBe(
      '(LOWER(e.company) = :f0 AND e.company IS NOT NULL)',
    );
    expect(sqlOf("tolower(Company) ne 'acme'").sql).toBe(
      '(LOWER(e.company) <> :f0 OR e.company IS NULL)',
    );
    expect(sqlOf('tolower(Company) eq null').sql).toBe('e.company IS NULL');
    expect(sqlOf('tolower(Company) eq tolower(LastName)').sql).toBe(
      'LOWER(e.company) IS NOT DISTINCT FROM LOWER(e.lastName)',
    );
    expect(sqlOf('length(Company) gt length(LastName)').sql).toBe(
      '(CHAR_LENGTH(e.company) > CHAR_LENGTH(e.lastName) AND e.company IS NOT NULL)',
    );
  });
});

describe('filterToSql: any and all', () => {
  const subquery = (set: EntitySetModel, alias: string, where: string, select = '1') =>
    `SELECT ${select} FROM ${set.name} ${alias} WHERE ${where}`;
  const lambdaSql = (filter: string) => filterToSql(expressionOf(filter), 'e', 'f', subquery);

  it('renders any as EXISTS over the related rows, with bound values', () => {
    expect(lambdaSql('Orders/any(o:o/OrderTotal gt 500)')).toEqual({
      sql: 'EXISTS (SELECT 1 FROM Orders fl0 WHERE fl0.customerId = e.id AND fl0.orderTotal > :f0)',
      params: { f0: 500 },
    });
    expect(lambdaSql('Orders/any()').sql).toBe(
      'EXISTS (SELECT 1 FROM Orders fl0 WHERE fl0.customerId = e.id)',
    );
  });

  it('renders all as no related row failing the predicate, nulls counting as failures', () => {
    expect(lambdaSql("Orders/all(o:o/OrderStatus eq 'Complete')").sql).toBe(
      'NOT EXISTS (SELECT 1 FROM Orders fl0 WHERE fl0.customerId = e.id AND NOT (fl0.orderStatus = :f0))',
    );
  });

  it('numbers the aliases of several lambdas and shares the parameters', () => {
    expect(
      lambdaSql("Orders/any(o:o/OrderTotal gt 5) and Orders/all(o:o/OrderNumber ne 'x')"),
    ).toEqual({
      sql: '(EXISTS (SELECT 1 FROM Orders fl0 WHERE fl0.customerId = e.id AND fl0.orderTotal > :f0) AND NOT EXISTS (SELECT 1 FROM Orders fl1 WHERE fl1.customerId = e.id AND NOT (fl1.orderNumber <> :f1)))',
      params: { f0: 5, f1: 'x' },
    });
  });

  it('renders a condition on an entity one navigation away as EXISTS over it', () => {
    expect(
      filterToSql(expressionOf("Customer/LastName eq 'x'", orders), 'e', 'f', subquery),
    ).toEqual({
      sql: 'EXISTS (SELECT 1 FROM Customers fl0 WHERE fl0.id = e.customerId AND fl0.lastName = :f0)',
      params: { f0: 'x' },
    });
  });

  it('renders Orders/$count as a scalar count of the related rows', () => {
    expect(lambdaSql('Orders/$count gt 5')).toEqual({
      sql: '(SELECT COUNT(*) FROM Orders e_count WHERE e_count.customerId = e.id) > :f0',
      params: { f0: 5 },
    });
    expect(() => filterToSql(expressionOf('Orders/$count gt 5'), 'e')).toThrow(TypeError);
  });

  it('needs a subquery renderer', () => {
    expect(() => filterToSql(expressionOf('Orders/any()'), 'e')).toThrow(TypeError);
  });
});

describe('filterToSql: text functions', () => {
  it.each([
    ['contains', '%er%'],
    ['startswith', 'er%'],
    ['endswith', '%er'],
  ])('renders %s as LIKE with a bound pattern', (fn, pattern) => {
    expect(sqlOf(`${fn}(LastName,'er')`)).toEqual({
      sql: "e.lastName LIKE :f0 ESCAPE '\\'",
      params: { f0: pattern },
    });
  });

  it('escapes %, _ and \\ in the value', () => {
    expect(sqlOf("contains(Email,'50%_a\\b')").params).toEqual({ f0: '%50\\%\\_a\\\\b%' });
    expect(sqlOf("startswith(Email,'%')").params).toEqual({ f0: '\\%%' });
    expect(sqlOf("endswith(Email,'_')").params).toEqual({ f0: '%\\_' });
    expect(sqlOf("contains(Email,'')").params).toEqual({ f0: '%%' });
  });

  it('applies functions to the subject, and guards the property under them', () => {
    expect(sqlOf("contains(tolower(LastName),'mü')")).toEqual({
      sql: "LOWER(e.lastName) LIKE :f0 ESCAPE '\\'",
      params: { f0: '%mü%' },
    });
    expect(sqlOf("startswith(toupper(trim(Company)),'AC')").sql).toBe(
      "(UPPER(BTRIM(e.company)) LIKE :f0 ESCAPE '\\' AND e.company IS NOT NULL)",
    );
  });

  it('guards a nullable property', () => {
    expect(sqlOf("contains(Company,'x')").sql).toBe(
      "(e.company LIKE :f0 ESCAPE '\\' AND e.company IS NOT NULL)",
    );
    expect(sqlOf("not endswith(Company,'x')").sql).toBe(
      "NOT ((e.company LIKE :f0 ESCAPE '\\' AND e.company IS NOT NULL))",
    );
  });
});

describe('filterToSql: hostile input', () => {
  const hostile: [string, EntitySetModel][] = [
    ["LastName eq 'x'' OR 1=1 --'", customers],
    ["LastName eq 'x''); DROP TABLE customers; --'", customers],
    ["FirstName eq 'x'' OR ''1''=''1'", customers],
    ["contains(LastName,'%'' OR ''1''=''1')", customers],
    ["FirstName eq 'Robert\"); DROP TABLE customers;--'", customers],
    ["FirstName eq '\\'' OR 1=1 --'", customers],
    ["FirstName eq '$$; DROP TABLE customers; $$'", customers],
    ["FirstName eq ':f1 OR e.id = :f0'", customers],
    ["FirstName eq 'e.id'", customers],
    ["FirstName eq 'ʼ OR 1=1 ʼ'", customers],
    ["FirstName eq 'é漢字😀'", customers],
    ["startswith(Email,'%_\\'')", customers],
    ["endswith(Company,'/* */ --')", customers],
    ["OrderNumber eq 'a;b' or OrderStatus ne 'x''y'", orders],
    ["Name eq '" + "'' OR 1=1 ".repeat(150) + "'", products],
    ['Id eq 1; DROP TABLE customers', customers],
    ['Id;DROP eq 1', customers],
    ['"Id" eq 1', customers],
    ['Id-- eq 1', customers],
    ['Id eq 1 OR 1=1', customers],
    ['Id eq (SELECT 1)', customers],
    ['pg_sleep(10)', customers],
    ['Price eq 1e3', products],
  ];

  it.each(hostile)(
    'either refuses %j or renders only model names and placeholders',
    (filter, set) => {
      let condition: SqlCondition;
      try {
        condition = sqlOf(filter, set);
      } catch (error) {
        expect(error).toBeInstanceOf(ODataQueryError);
        return;
      }
      expectSafe(condition, set);
      for (const value of Object.values(condition.params)) {
        if (typeof value === 'string' && value.length > 0) {
          expect(condition.sql).not.toContain(value);
        }
      }
    },
  );

  it('renders accepted hostile strings as parameters holding the exact text', () => {
    expect(sqlOf("LastName eq 'x''); DROP TABLE customers; --'")).toEqual({
      sql: 'e.lastName = :f0',
      params: { f0: "x'); DROP TABLE customers; --" },
    });
    expect(sqlOf("contains(LastName,'%'' OR ''1''=''1')")).toEqual({
      sql: "e.lastName LIKE :f0 ESCAPE '\\'",
      params: { f0: "%\\%' OR '1'='1%" },
    });
  });

  it('the safety check itself catches unsafe SQL', () => {
    expect(() => expectSafe({ sql: "e.id = 'x'", params: {} }, customers)).toThrow();
    expect(() =>
      expectSafe({ sql: 'e.id = 1; DROP TABLE customers', params: {} }, customers),
    ).toThrow();
    expect(() => expectSafe({ sql: 'e.password = :f0', params: { f0: 1 } }, customers)).toThrow();
    expect(() => expectSafe({ sql: 'e.id = :f0', params: { f0: 1, f1: 2 } }, customers)).toThrow();
    expect(() =>
      expectSafe({ sql: 'e.id = pg_sleep(:f0)', params: { f0: 1 } }, customers),
    ).toThrow();
  });

  it('renders only safe SQL for thousands of generated filters', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    let names: string[] = [];
    const values = [
      "'x'",
      "'a''b'",
      "'%_\\'",
      "'; DROP TABLE customers; --'",
      "'\" OR 1=1 --'",
      "'é😀'",
      '5',
      '-1.5',
      '3000000000',
      '1.5e3',
      'true',
      'false',
      'null',
      '2024-01-01T00:00:00Z',
      '2024-01-01T00:00:00.1234+02:00',
      '2024-01-01T00:00:00.0000001Z',
      '2024-01-01',
      'INF',
    ];
    const functions = [
      'tolower',
      'toupper',
      'trim',
      'length',
      'year',
      'second',
      'date',
      'round',
      'ceiling',
    ];
    const operand = (): string => {
      const r = random();
      if (r < 0.15) return `${pick(functions)}(${operand()})`;
      return r < 0.6 ? pick(names) : pick(values);
    };
    const filter = (depth: number): string => {
      const r = random();
      if (depth > 3 || r < 0.35) {
        return `${operand()} ${pick(['eq', 'ne', 'gt', 'ge', 'lt', 'le'])} ${operand()}`;
      }
      if (r < 0.45)
        return `${pick(['contains', 'startswith', 'endswith'])}(${operand()},${operand()})`;
      if (r < 0.5) return pick(names);
      if (r < 0.6) return `not ${filter(depth + 1)}`;
      if (r < 0.7) return `(${filter(depth + 1)})`;
      return `${filter(depth + 1)} ${pick(['and', 'or'])} ${filter(depth + 1)}`;
    };
    let rendered = 0;
    for (let i = 0; i < 5000; i++) {
      const set = ENTITY_SETS[i % ENTITY_SETS.length];
      // Mostly the set's own names, sometimes another set's.
      names = (random() < 0.9 ? set : pick(ENTITY_SETS)).properties.map((p) => p.name);
      const text = filter(0);
      let condition: SqlCondition;
      try {
        condition = sqlOf(text, set);
      } catch (error) {
        if (!(error instanceof ODataQueryError)) throw error;
        continue;
      }
      expectSafe(condition, set);
      rendered += 1;
    }
    // The generator must reach the renderer often enough to mean something.
    expect(rendered).toBeGreaterThan(500);
  });
});
