import fc from 'fast-check';
import { adminAuth, createApiUser, createTestApp, TestApp } from './support/test-app';

/**
 * Property-based tests over what the network sends: whatever the Authorization header or the
 * admin request body, the answer is a 2xx or a 4xx with the error body, never a 5xx.
 */
describe('hostile input (fast-check)', () => {
  let t: TestApp;
  let userId: string;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_LOCKOUT_ATTEMPTS: '0', AUTH_IP_BAN_ATTEMPTS: '0' });
    userId = (await createApiUser(t)).id;
  });
  afterAll(() => t.close());

  /** Characters Node lets a client put in a header value (visible Latin-1, space and tab). */
  const headerText = fc.string({
    unit: fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)),
      fc.constant('\t'),
    ),
    maxLength: 300,
  });
  const authorization = fc.oneof(
    headerText,
    headerText.map((s) => `Basic ${s}`),
    fc.string().map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
    fc
      .tuple(fc.string(), fc.string())
      .map(([k, s]) => `basic ${Buffer.from(`${k}:${s}`, 'latin1').toString('base64')}`),
  );

  it('answers any Authorization header with a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(authorization, async (header) => {
        const response = await t.http.get('/odata/v1').set('Authorization', header);
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expect(response.body.error.code).toEqual(expect.any(String));
      }),
      { numRuns: 150 },
    );
  });

  const jsonValue = fc.jsonValue({ maxDepth: 3 });
  const userBody = fc.oneof(
    jsonValue,
    fc.record(
      {
        name: fc.oneof(fc.string({ maxLength: 250 }), jsonValue),
        roles: fc.oneof(fc.array(fc.constantFrom('read', 'write', 'admin', 'root', '')), jsonValue),
        publicKey: fc.oneof(fc.string({ maxLength: 140 }), jsonValue),
        secretKey: fc.oneof(fc.string({ maxLength: 1100 }), jsonValue),
        enabled: fc.oneof(fc.boolean(), jsonValue),
      },
      { requiredKeys: [] },
    ),
  );

  it('answers any POST /admin/api-users body with 201 or a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(userBody, async (body) => {
        const response = await t.http
          .post('/admin/api-users')
          .set('Authorization', adminAuth())
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expect([201, 400, 409]).toContain(response.status);
        if (response.status !== 201) expect(response.body.error.code).toEqual(expect.any(String));
      }),
      { numRuns: 150 },
    );
  });

  it('answers any PATCH /admin/api-users/{id} body with 200 or a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(userBody, async (body) => {
        const response = await t.http
          .patch(`/admin/api-users/${userId}`)
          .set('Authorization', adminAuth())
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expect([200, 400, 409]).toContain(response.status);
      }),
      { numRuns: 150 },
    );
  });

  // OData queries from a grammar of what $filter, $orderby and $expand accept, mostly well
  // typed, with near misses mixed in (names of the other set, wrong types, odd literals). Each
  // query that parses reaches PostgreSQL, so a type or SQL mistake in the translation would
  // surface as a 500.
  type Family = 'string' | 'number' | 'boolean' | 'datetime';
  const customerNames: Record<Family, string[]> = {
    string: ['FirstName', 'LastName', 'Email', 'Company'],
    number: ['Id'],
    boolean: ['Active'],
    datetime: ['CreatedOnUtc'],
  };
  const orderNames: Record<Family, string[]> = {
    string: ['OrderNumber', 'OrderStatus'],
    number: ['Id', 'CustomerId', 'OrderTotal'],
    boolean: [],
    datetime: ['CreatedOnUtc'],
  };
  const literals: Record<Family, string[]> = {
    string: ["'x'", "'O''Brien'", "'%_\\'", "'Complete'", "''"],
    number: ['0', '-1.5', '3000000000', '1e3', '42'],
    boolean: ['true', 'false'],
    datetime: ['2024-06-01T00:00:00Z', '2024-06-01', 'now()'],
  };
  const allLiterals = Object.values(literals).flat().concat('null');
  const families: Family[] = ['string', 'number', 'boolean', 'datetime'];
  /** A value of the family: a property (maybe through `Customer/` inside a lambda) or a call. */
  const typedValue = (names: Record<Family, string[]>, prefix: string, family: Family) => {
    const own = names[family].map((n) => `${prefix}${n}`);
    const related = prefix ? customerNames[family].map((n) => `${prefix}Customer/${n}`) : [];
    const properties = [...own, ...related];
    const strings = [...names.string.map((n) => `${prefix}${n}`)];
    const calls: string[] =
      family === 'string'
        ? strings.flatMap((n) => [`tolower(${n})`, `toupper(trim(${n}))`])
        : family === 'number'
          ? [
              ...strings.map((n) => `length(${n})`),
              ...names.datetime.map((n) => `year(${prefix}${n})`),
              ...names.datetime.map((n) => `second(${prefix}${n})`),
              ...names.number.map((n) => `round(${prefix}${n})`),
              ...(names === customerNames && !prefix ? ['Orders/$count'] : []),
            ]
          : family === 'datetime'
            ? names.datetime.map((n) => `date(${prefix}${n})`)
            : [];
    const choices = [...properties, ...calls];
    return choices.length > 0 ? fc.constantFrom(...choices) : fc.constant(`${prefix}Id`);
  };
  const leaf = (names: Record<Family, string[]>, prefix: string) =>
    fc.constantFrom(...families).chain((family) =>
      fc.oneof(
        {
          weight: 6,
          arbitrary: fc
            .tuple(
              typedValue(names, prefix, family),
              fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le'),
              fc.constantFrom(...literals[family], 'null'),
            )
            .map((p) => p.join(' ')),
        },
        {
          weight: 2,
          arbitrary: fc
            .tuple(
              fc.constantFrom('contains', 'startswith', 'endswith'),
              typedValue(names, prefix, 'string'),
              fc.constantFrom(...literals.string),
            )
            .map(([fn, v, l]) => `${fn}(${v},${l})`),
        },
        {
          weight: 1,
          arbitrary: fc
            .tuple(
              typedValue(names, prefix, family),
              fc.constantFrom('eq', 'lt'),
              typedValue(names, prefix, family),
            )
            .map((p) => p.join(' ')),
        },
        // Near misses: any value against any literal.
        {
          weight: 1,
          arbitrary: fc
            .tuple(
              typedValue(names, prefix, 'string'),
              fc.constantFrom('eq', 'gt'),
              fc.constantFrom(...allLiterals),
            )
            .map((p) => p.join(' ')),
        },
      ),
    );
  const condition = (
    names: Record<Family, string[]>,
    prefix: string,
    depth: number,
  ): fc.Arbitrary<string> => {
    if (depth === 0) return leaf(names, prefix);
    const smaller = condition(names, prefix, depth - 1);
    return fc.oneof(
      { weight: 3, arbitrary: leaf(names, prefix) },
      {
        weight: 2,
        arbitrary: fc.tuple(smaller, fc.constantFrom('and', 'or'), smaller).map((p) => p.join(' ')),
      },
      { weight: 1, arbitrary: smaller.map((c) => `not (${c})`) },
      ...(names === customerNames
        ? [
            {
              weight: 2,
              arbitrary: fc
                .tuple(fc.constantFrom('any', 'all'), condition(orderNames, 'o/', depth - 1))
                .map(([q, c]) => `Orders/${q}(o:${c})`),
            },
            { weight: 1, arbitrary: fc.constant('Orders/any()') },
          ]
        : []),
    );
  };
  const orderByKey = (names: Record<Family, string[]>) =>
    fc.constantFrom(...families).chain((family) => typedValue(names, '', family));
  const filter = condition(customerNames, '', 2);
  const orderBy = fc
    .uniqueArray(fc.tuple(orderByKey(customerNames), fc.constantFrom('', ' asc', ' desc')), {
      minLength: 1,
      maxLength: 3,
      selector: ([key]) => key,
    })
    .map((keys) => keys.map(([k, d]) => `${k}${d}`).join(','));
  const expand = fc
    .tuple(condition(orderNames, '', 1), orderByKey(orderNames), fc.nat(3), fc.nat(2), fc.boolean())
    .map(
      ([f, o, top, skip, count]) =>
        `Orders($filter=${f};$orderby=${o};$top=${top};$skip=${skip};$count=${count})`,
    );
  // One option at a time mostly (each may be refused on its own), sometimes all three.
  const customersQuery = fc.oneof(
    filter.map(($filter) => ({ $filter })),
    orderBy.map(($orderby) => ({ $orderby })),
    expand.map(($expand) => ({ $expand })),
    fc.record({ $filter: filter, $orderby: orderBy, $expand: expand }, { requiredKeys: [] }),
  );

  it('answers any generated OData query with 200 or 400, never a 5xx', async () => {
    const reader = await createApiUser(t, { roles: ['read'] });
    const auth = `Basic ${Buffer.from(`${reader.publicKey}:${reader.secretKey}`).toString('base64')}`;
    let served = 0;
    await fc.assert(
      fc.asyncProperty(customersQuery, async (query) => {
        const response = await t.http
          .get('/odata/v1/Customers')
          .query({ ...query, $top: '5' })
          .set('Authorization', auth);
        // The query in the failure message, to reproduce it.
        expect({ query, ok: [200, 400].includes(response.status) }).toEqual({ query, ok: true });
        if (response.status === 200) served += 1;
        else expect(response.body.error.code).toBe('InvalidQuery');
      }),
      { numRuns: 300 },
    );
    // The grammar must reach the database often enough to mean something.
    expect(served).toBeGreaterThan(100);
  });

  it('answers any PATCH /admin/settings body with 200 or 400, never a 5xx', async () => {
    const settingsBody = fc.oneof(
      jsonValue,
      fc.record(
        { apiEnabled: jsonValue, maxTop: fc.oneof(fc.integer(), jsonValue) },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(settingsBody, async (body) => {
        const response = await t.http
          .patch('/admin/settings')
          .set('Authorization', adminAuth())
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expect([200, 400]).toContain(response.status);
      }),
      { numRuns: 150 },
    );
    // Whatever was accepted, the API must be usable again for the other tests.
    await t.http
      .patch('/admin/settings')
      .set('Authorization', adminAuth())
      .send({ apiEnabled: true, maxTop: 120 })
      .expect(200);
  });
});
