import { BadRequestException, ConflictException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError, SelectQueryBuilder } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { AnswerBudget } from './answer-budget';
import { EdmProperty, EntitySetModel, keyProperty } from './edm-model';
import { entityFieldsFromBody, WriteMode } from './odata-body';
import { filterToSql, joinSql, SubqueryRenderer, valueToSql } from './odata-filter-sql';
import { ExpandItem, QueryOptions } from './odata-query';
import { DecimalForm, Row, toJsonValue, toRow } from './odata-row';

export interface Page {
  rows: Row[];
  count?: number;
  /** Rows beyond this page exist that the request asked for (the page size cut them off). */
  more: boolean;
}

/** A restriction to the entities related to one entity (`Customers(42)/Orders`). */
export interface Scope {
  property: EdmProperty;
  value: unknown;
}

/**
 * Runs OData requests against PostgreSQL through TypeORM query builders. A list is one
 * statement, plus one for `$count`; each `$expand` level adds one statement for all parents
 * together (`= ANY(:keys)`), and one more for a nested `$count`, never one per parent. Every
 * value is a bound parameter and every identifier comes from the model.
 */
@Injectable()
export class ODataService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /**
   * The subqueries of `any`/`all`, of `Navigation/$count` and of a sort key one navigation
   * away; its builder turns `alias.field` into the column.
   */
  private readonly subquery: SubqueryRenderer = (set, alias, where, select = '1') =>
    this.dataSource
      .createQueryBuilder()
      .select(select)
      .from(set.entity, alias)
      .where(where)
      .getQuery();

  async list(
    set: EntitySetModel,
    options: QueryOptions,
    pageSize: number,
    scope?: Scope,
  ): Promise<Page> {
    const take = Math.min(options.top ?? pageSize, pageSize);
    // Rows beyond the page that the request asks for (all of them, or up to $top).
    const wantsMore = options.top === undefined || options.top > take;
    const query = this.selectQuery(set, options, scope)
      .offset(options.skip ?? 0)
      // One row more than the page tells whether a next page exists.
      .limit(wantsMore ? take + 1 : take);
    const [entities, count] = await Promise.all([
      query.getMany(),
      options.count ? this.filteredQuery(set, options, scope).getCount() : undefined,
    ]);
    const more = wantsMore && entities.length > take;
    const rows = this.rowsOf(set, entities.slice(0, take), options);
    await this.expand(rows, options.expand, this.budget(rows));
    return { rows, count, more };
  }

  /** The entity with that key; `within`: only if it also belongs there (`Customers(42)/Orders(7)`). */
  async get(
    set: EntitySetModel,
    key: number,
    options: QueryOptions,
    within?: Scope,
  ): Promise<Row | undefined> {
    const scope = { property: keyProperty(set), value: key };
    const query = this.selectQuery(set, options, scope);
    if (within) query.andWhere(`e.${within.property.field} = :within`, { within: within.value });
    const entity = await query.getOne();
    if (!entity) return undefined;
    const rows = this.rowsOf(set, [entity], options);
    await this.expand(rows, options.expand, this.budget(rows));
    return rows[0];
  }

  /** `$count` as a path segment: the number of entities the filter selects. */
  count(set: EntitySetModel, options: QueryOptions, scope?: Scope): Promise<number> {
    return this.filteredQuery(set, options, scope).getCount();
  }

  async exists(set: EntitySetModel, key: number): Promise<boolean> {
    return this.dataSource.getRepository(set.entity).exists({ where: { id: key } });
  }

  /**
   * The new entity as stored, from the INSERT itself (`RETURNING`): a read after it could find
   * it deleted already by another request, and the entity was created all the same (found by
   * review: a POST racing a DELETE of the new key answered 500).
   */
  async create(set: EntitySetModel, body: unknown): Promise<Row> {
    const fields = entityFieldsFromBody(set, body, 'create');
    const result = await this.write(set, () =>
      this.dataSource
        .createQueryBuilder()
        .insert()
        .into(set.entity)
        .values(fields)
        .returning(this.returning(set))
        .updateEntity(false)
        .execute(),
    );
    return toRow((result.raw as Record<string, unknown>[])[0], set.properties);
  }

  /**
   * PATCH (`update`) or PUT (`replace`): the entity as written, from the UPDATE itself
   * (`RETURNING`, as for create); undefined when no such entity.
   */
  async change(
    set: EntitySetModel,
    key: number,
    body: unknown,
    mode: WriteMode,
  ): Promise<Row | undefined> {
    const fields = entityFieldsFromBody(set, body, mode);
    // Nothing to write: the entity as it is, in one statement too.
    if (Object.keys(fields).length === 0) return this.get(set, key, emptyOptions());
    const result = await this.write(set, () =>
      this.dataSource
        .createQueryBuilder()
        .update(set.entity)
        .set(fields)
        .where({ id: key })
        .returning(this.returning(set))
        .updateEntity(false)
        .execute(),
    );
    const written = (result.raw as Record<string, unknown>[])[0];
    return written && toRow(written, set.properties);
  }

  /** Every property of `set`, each column named as its entity field (as toRow reads them). */
  private returning(set: EntitySetModel): string {
    const metadata = this.dataSource.getMetadata(set.entity);
    return set.properties
      .map((p) => `"${metadata.findColumnWithPropertyName(p.field)!.databaseName}" AS "${p.field}"`)
      .join(', ');
  }

  async remove(set: EntitySetModel, key: number): Promise<boolean> {
    const result = await this.write(set, () =>
      this.dataSource.getRepository(set.entity).delete({ id: key }),
    );
    return (result.affected ?? 0) > 0;
  }

  /** The properties of a row as OData JSON, with its expanded navigations. */
  serialize(
    set: EntitySetModel,
    row: Row,
    options: QueryOptions,
    decimals: DecimalForm = 'number',
  ): Record<string, unknown> {
    const json: Record<string, unknown> = {};
    for (const property of options.select ?? set.properties) {
      json[property.name] = toJsonValue(property, row[property.name], decimals);
    }
    for (const item of options.expand) {
      const countKey = `${item.navigation.name}@odata.count`;
      if (item.options.count) json[countKey] = row[countKey] ?? 0;
      const related = row[item.navigation.name] as Row | Row[] | null;
      json[item.navigation.name] = Array.isArray(related)
        ? related.map((r) => this.serialize(item.target, r, item.options, decimals))
        : related
          ? this.serialize(item.target, related, item.options, decimals)
          : null;
    }
    return json;
  }

  private filteredQuery(set: EntitySetModel, options: QueryOptions, scope?: Scope, alias = 'e') {
    const query = this.dataSource.getRepository(set.entity).createQueryBuilder(alias);
    if (options.filter) {
      const condition = filterToSql(options.filter, alias, 'f', this.subquery);
      query.where(`(${condition.sql})`, condition.params);
    }
    if (scope) {
      const values = Array.isArray(scope.value) ? scope.value : [scope.value];
      query.andWhere(`${alias}.${scope.property.field} = ANY(:scope)`, { scope: values });
    }
    return query;
  }

  private selectQuery(
    set: EntitySetModel,
    options: QueryOptions,
    scope?: Scope,
  ): SelectQueryBuilder<object> {
    return this.selectInOrder(set, options, this.filteredQuery(set, options, scope));
  }

  /** Selects what is needed from `e`, in the requested order. */
  private selectInOrder(
    set: EntitySetModel,
    options: QueryOptions,
    query: SelectQueryBuilder<object>,
  ): SelectQueryBuilder<object> {
    query.select(this.fieldsToRead(set, options).map((p) => `e.${p.field}`));
    for (const { sql, direction, nulls } of sortKeys(set, options, 'e', this.subquery)) {
      query.addOrderBy(sql, direction, nulls);
    }
    return query;
  }

  /**
   * The related entities of an expansion with `$top`/`$skip`, which count per parent entity:
   * the rows are numbered within each parent in the expansion's order (`ROW_NUMBER() OVER
   * (PARTITION BY` the join key`)`) and those numbered skip+1 to skip+top kept. Still one
   * statement for all the parents.
   */
  private pagedPerParent(
    set: EntitySetModel,
    options: QueryOptions,
    scope: Scope,
  ): SelectQueryBuilder<object> {
    const key = keyProperty(set);
    const order = sortKeys(set, options, 'r', this.subquery)
      .map(({ sql, direction, nulls }) => `${sql} ${direction} ${nulls ?? ''}`.trim())
      .join(', ');
    const numbered = this.filteredQuery(set, options, scope, 'r')
      .select(`r.${key.field}`, 'entity_key')
      .addSelect(
        `ROW_NUMBER() OVER (PARTITION BY r.${scope.property.field} ORDER BY ${order})`,
        'position',
      );
    const skip = options.skip ?? 0;
    const upTo = options.top === undefined ? '' : ' AND numbered.position <= :positionEnd';
    const query = this.dataSource
      .getRepository(set.entity)
      .createQueryBuilder('e')
      .where(
        `e.${key.field} IN (SELECT numbered.entity_key FROM (${numbered.getQuery()}) numbered` +
          ` WHERE numbered.position > :positionSkip${upTo})`,
      )
      .setParameters({
        ...numbered.getParameters(),
        positionSkip: skip,
        positionEnd: skip + (options.top ?? 0),
      });
    return this.selectInOrder(set, options, query);
  }

  /** What $select asks for, plus the key and the properties expands join on. */
  private fieldsToRead(set: EntitySetModel, options: QueryOptions): EdmProperty[] {
    const wanted = new Set(options.select ?? set.properties);
    wanted.add(keyProperty(set));
    for (const item of options.expand) {
      wanted.add(set.properties.find((p) => p.name === item.navigation.sourceProperty)!);
    }
    return [...wanted];
  }

  private rowsOf(set: EntitySetModel, entities: object[], options: QueryOptions): Row[] {
    const properties = this.fieldsToRead(set, options);
    return entities.map((e) => toRow(e as Record<string, unknown>, properties));
  }

  /** Counts the entities of an answer from its top rows on (see AnswerBudget). */
  private budget(rows: Row[]): AnswerBudget {
    const budget = new AnswerBudget(this.config.odataMaxAnswerEntities);
    budget.top(rows);
    return budget;
  }

  /**
   * One query per navigation for all the rows, then recursively for theirs. Each level is
   * counted into `budget` before the next is read, so an answer too large is refused early.
   */
  private async expand(rows: Row[], items: ExpandItem[], budget: AnswerBudget): Promise<void> {
    for (const item of items) {
      const { navigation, target, options } = item;
      const keys = [
        ...new Set(rows.map((r) => r[navigation.sourceProperty]).filter((v) => v != null)),
      ];
      const targetProperty = target.properties.find((p) => p.name === navigation.targetProperty)!;
      const withJoinKey: QueryOptions = {
        ...options,
        select: options.select && [...new Set([...options.select, targetProperty])],
      };
      const scope = { property: targetProperty, value: keys };
      const paged = options.top !== undefined || options.skip !== undefined;
      // Every row read belongs under at least one parent, so more rows than the budget has left
      // are refused anyway: reading one more than that bounds what a single level holds.
      const related =
        keys.length === 0
          ? []
          : this.rowsOf(
              target,
              await (
                paged
                  ? this.pagedPerParent(target, withJoinKey, scope)
                  : this.selectQuery(target, withJoinKey, scope)
              )
                .limit(budget.left + 1)
                .getMany(),
              withJoinKey,
            );
      if (options.count && keys.length > 0) {
        // OData's `Orders@odata.count`: all the related rows the nested filter selects, as
        // `$count=true` counts at the top level, whatever $top and $skip cut.
        const counts = await this.filteredQuery(target, options, scope)
          .select(`e.${targetProperty.field}`, 'parent')
          .addSelect('COUNT(*)', 'n')
          .groupBy(`e.${targetProperty.field}`)
          .getRawMany<{ parent: unknown; n: string }>();
        const byParent = new Map(counts.map(({ parent, n }) => [parent, Number(n)]));
        for (const row of rows) {
          row[`${navigation.name}@odata.count`] = byParent.get(row[navigation.sourceProperty]) ?? 0;
        }
      }
      const byKey = new Map<unknown, Row[]>();
      for (const r of related) {
        const k = r[navigation.targetProperty];
        // Appended in place: a copy per row was quadratic in one parent's related rows.
        const group = byKey.get(k);
        if (group) group.push(r);
        else byKey.set(k, [r]);
      }
      for (const row of rows) {
        const matches = byKey.get(row[navigation.sourceProperty]) ?? [];
        row[navigation.name] = navigation.collection ? matches : (matches[0] ?? null);
        budget.attach(row, navigation.collection ? matches : matches.slice(0, 1));
      }
      await this.expand(related, options.expand, budget);
    }
  }

  /** Turns constraint violations into the client errors they are. */
  private async write<T>(set: EntitySetModel, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const code =
        (error instanceof QueryFailedError && (error.driverError as { code?: string }).code) || '';
      const constraint =
        (error as { driverError?: { constraint?: string } }).driverError?.constraint ?? '';
      if (code === '23505') {
        throw new ConflictException({
          code: 'Conflict',
          message: `A ${set.typeName} with this ${uniqueProperty(constraint)} already exists.`,
        });
      }
      if (code === '23503' || code === '23001') {
        // foreign_key_violation or restrict_violation: an order of an unknown customer, or a
        // customer deleted while it has orders.
        if (set.name === 'Customers') {
          throw new ConflictException({
            code: 'Conflict',
            message: 'The customer has orders; delete them first.',
          });
        }
        throw new BadRequestException({
          code: 'InvalidRequestBody',
          message: 'CustomerId does not name an existing customer.',
          target: 'CustomerId',
        });
      }
      if (code === '23514') {
        throw new BadRequestException({
          code: 'InvalidRequestBody',
          message: 'A value is out of range.',
        });
      }
      throw error;
    }
  }
}

function uniqueProperty(constraint: string): string {
  if (constraint.includes('email')) return 'Email';
  if (constraint.includes('sku')) return 'Sku';
  if (constraint.includes('order_number')) return 'OrderNumber';
  return 'key';
}

/**
 * The ORDER BY of a query: the requested properties, then the key, so that pages are stable
 * whatever else the order is. OData puts nulls first in ascending order, last in descending.
 */
function sortKeys(
  set: EntitySetModel,
  options: QueryOptions,
  alias: string,
  subquery: SubqueryRenderer,
): SortKey[] {
  const keys = options.orderBy.map(({ value, descending, via }, index): SortKey => {
    // One navigation away: the related entity's value, by a scalar subquery.
    const inner = `${alias}s${index}`;
    const sql = via
      ? `(${subquery(
          via.target,
          inner,
          joinSql(via.join, inner, alias),
          valueToSql(value, inner, subquery),
        )})`
      : valueToSql(value, alias, subquery);
    return descending
      ? { sql, direction: 'DESC', nulls: 'NULLS LAST' }
      : { sql, direction: 'ASC', nulls: 'NULLS FIRST' };
  });
  const key = keyProperty(set);
  const keyIsSorted = options.orderBy.some(
    (o) => !o.via && o.value.kind === 'property' && o.value.property === key,
  );
  if (!keyIsSorted) keys.push({ sql: `${alias}.${key.field}`, direction: 'ASC' });
  return keys;
}

interface SortKey {
  /** A column or an expression over one, with the query's alias. */
  sql: string;
  direction: 'ASC' | 'DESC';
  nulls?: 'NULLS FIRST' | 'NULLS LAST';
}

export function emptyOptions(): QueryOptions {
  return { orderBy: [], count: false, expand: [] };
}
