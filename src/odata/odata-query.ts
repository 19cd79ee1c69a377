import { defaultParser } from '@odata/parser';
import {
  findEntitySet,
  type EdmNavigation,
  type EdmProperty,
  type EntitySetModel,
} from './edm-model';
import {
  condition,
  expressionText,
  memberValue,
  parseFilter,
  relatedEntity,
  relatedThrough,
  valueCall,
  type FilterExpression,
  type PathUse,
  type RelatedEntity,
  type ValueExpression,
} from './odata-filter';
import {
  asNode,
  decodeFromParser,
  excerpt,
  findProperty,
  isNode,
  member,
  nodes,
  ODataQueryError,
  runParser,
  unsupported,
  where,
  type Node,
  type Scope,
} from './odata-syntax';

/**
 * Parses the OData system query options of a request into a checked tree whose names all come
 * from the EDM model (`edm-model.ts`). `@odata/parser` does the syntax; everything it returns is
 * checked against the model here, so a name that reaches the tree is a model object, never
 * request text. Every refusal is an {@link ODataQueryError}: one sentence for the client (400).
 */

export interface OrderByItem {
  /** A property, or a function of one (`tolower(LastName)`). */
  value: ValueExpression;
  descending: boolean;
  /** Set when `value` belongs to the entity a single-valued navigation leads to. */
  via?: RelatedEntity;
}

export interface ExpandItem {
  navigation: EdmNavigation;
  target: EntitySetModel;
  /**
   * Inside an expansion, filter, orderBy, top, skip and count (per parent entity, collections
   * only), select and expand.
   */
  options: QueryOptions;
}

export interface QueryOptions {
  filter?: FilterExpression;
  orderBy: OrderByItem[];
  top?: number;
  skip?: number;
  count: boolean;
  /** Undefined (or `*`) = all properties; never contains duplicates. */
  select?: EdmProperty[];
  expand: ExpandItem[];
}

export interface ParseSettings {
  maxTop: number;
  /** Smartstore's MaxExpansionDepth; {@link DEFAULT_MAX_EXPANSION_DEPTH} when left out. */
  maxExpansionDepth?: number;
}

export const DEFAULT_MAX_EXPANSION_DEPTH = 8;
/** The longest value any one option may have. */
export const MAX_OPTION_LENGTH = 2000;
/**
 * The deepest parenthesis nesting an option may have. @odata/parser takes time quadratic in
 * the nesting of `((((…))))` (a second for 1000 levels), so this keeps a request cheap.
 */
export const MAX_PARENTHESIS_NESTING = 32;
const MAX_SKIP = 2147483647;

const SUPPORTED_OPTIONS = [
  '$filter',
  '$orderby',
  '$top',
  '$skip',
  '$count',
  '$select',
  '$expand',
] as const;
type SupportedOption = (typeof SUPPORTED_OPTIONS)[number];

/**
 * Parses `query`, Fastify's parsed query object (decoded values; a repeated key gives an
 * array), for the entity set `set`. Keys not starting with `$` are custom options: ignored.
 * Throws {@link ODataQueryError} and nothing else for any query.
 */
export function parseQueryOptions(
  query: Record<string, unknown>,
  set: EntitySetModel,
  settings: ParseSettings,
): QueryOptions {
  const maxTop = settings.maxTop;
  const maxExpansionDepth = settings.maxExpansionDepth ?? DEFAULT_MAX_EXPANSION_DEPTH;
  if (!Number.isSafeInteger(maxTop) || maxTop < 0) throw new TypeError('Invalid maxTop setting');
  if (!Number.isSafeInteger(maxExpansionDepth) || maxExpansionDepth < 0) {
    throw new TypeError('Invalid maxExpansionDepth setting');
  }
  try {
    return parseOptions(query, set, { maxTop, maxExpansionDepth });
  } catch (error) {
    if (error instanceof ODataQueryError) throw error;
    // A parser bug or a stack overflow on a pathological input: still the client's 400.
    throw new ODataQueryError('The query options could not be parsed');
  }
}

function parseOptions(
  query: Record<string, unknown>,
  set: EntitySetModel,
  settings: Required<ParseSettings>,
): QueryOptions {
  const values = new Map<SupportedOption, string>();
  for (const key of Object.keys(query)) {
    if (!key.startsWith('$')) continue; // a custom query option
    const option = SUPPORTED_OPTIONS.find((name) => name === key);
    if (!option) {
      const other = SUPPORTED_OPTIONS.find((name) => name === key.toLowerCase());
      const hint = other ? ` (system query option names are case-sensitive: use ${other})` : '';
      throw new ODataQueryError(`The query option ${excerpt(key)} is not supported${hint}`);
    }
    const value = query[key];
    if (Array.isArray(value)) throw new ODataQueryError(`${option} must be given only once`);
    if (typeof value !== 'string') throw new ODataQueryError(`${option} has an invalid value`);
    checkText(option, value);
    values.set(option, value);
  }

  const result: QueryOptions = { orderBy: [], count: false, expand: [] };
  const scope = (option: string): Scope => ({ set, option, nested: false });
  const select = values.get('$select');
  if (select !== undefined) result.select = parseSelect(select, scope('$select'));
  const expand = values.get('$expand');
  if (expand !== undefined) {
    result.expand = parseExpand(expand, scope('$expand'), settings);
  }
  const filter = values.get('$filter');
  if (filter !== undefined) result.filter = parseFilter(filter, scope('$filter'));
  const orderBy = values.get('$orderby');
  if (orderBy !== undefined) result.orderBy = parseOrderBy(orderBy, scope('$orderby'));
  const top = values.get('$top');
  if (top !== undefined) {
    const count = parseCount('$top', top);
    if (count > settings.maxTop) {
      throw new ODataQueryError(`$top must not exceed ${settings.maxTop} (the maxTop setting)`);
    }
    result.top = count;
  }
  const skip = values.get('$skip');
  if (skip !== undefined) {
    const count = parseCount('$skip', skip);
    if (count > MAX_SKIP) throw new ODataQueryError(`$skip must not exceed ${MAX_SKIP}`);
    result.skip = count;
  }
  const inlineCount = values.get('$count');
  if (inlineCount !== undefined) {
    if (inlineCount !== 'true' && inlineCount !== 'false') {
      throw new ODataQueryError('$count must be true or false');
    }
    result.count = inlineCount === 'true';
  }
  return result;
}

/** A non-negative integer, digits only ($top, $skip). */
function parseCount(option: '$top' | '$skip', value: string): number {
  if (!/^[0-9]+$/.test(value)) {
    throw new ODataQueryError(`${option} must be a non-negative integer, not ${excerpt(value)}`);
  }
  // More than 15 digits is beyond any limit here and beyond exact doubles.
  return value.length > 15 ? Infinity : Number(value);
}

/** Limits every option value before the parser sees it. */
function checkText(option: string, value: string): void {
  if (value.length > MAX_OPTION_LENGTH) {
    throw new ODataQueryError(
      `${option} is too long (at most ${MAX_OPTION_LENGTH} characters are accepted)`,
    );
  }
  if (value.length === 0) throw new ODataQueryError(`${option} must not be empty`);
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
    throw new ODataQueryError(`${option} contains a control character`);
  }
  let depth = 0;
  let quoted = false;
  for (const char of value) {
    if (char === "'") quoted = !quoted;
    else if (!quoted && char === '(') {
      depth += 1;
      if (depth > MAX_PARENTHESIS_NESTING) {
        throw new ODataQueryError(
          `${option} nests parentheses too deeply (at most ${MAX_PARENTHESIS_NESTING} levels)`,
        );
      }
    } else if (!quoted && char === ')') depth -= 1;
  }
}

/** Parses `$select=...` etc. with the query-options grammar; returns the one option token. */
function parseOption(option: SupportedOption, value: string, type: string): Node {
  const tree = runParser(option, value, `${option}=`, (text) => defaultParser.query(text));
  const options = nodes(member(tree, 'options'));
  if (options.length !== 1 || options[0].type !== type) {
    throw new ODataQueryError(`${option} could not be parsed`);
  }
  return options[0];
}

// ---------------------------------------------------------------------------------------------
// $select

function parseSelect(value: string, scope: Scope): EdmProperty[] | undefined {
  return selectItems(parseOption('$select', value, 'Select'), scope);
}

function selectItems(select: Node, scope: Scope): EdmProperty[] | undefined {
  const properties: EdmProperty[] = [];
  let all = false;
  for (const item of nodes(member(select, 'items'))) {
    if (item.type !== 'SelectItem') throw unsupported(item, scope);
    if (member(item, 'value') === '*') {
      if (member(item, 'namespace') !== undefined) throw unsupported(item, scope);
      all = true;
      continue;
    }
    const name = selectName(item);
    if (name === undefined) {
      throw new ODataQueryError(
        `Only property names can be used in ${where(scope)}; ${excerpt(item.raw)} is not supported`,
      );
    }
    const property = findProperty(name, scope);
    if (!properties.includes(property)) properties.push(property);
  }
  return all ? undefined : properties;
}

/** The name in `SelectItem > SelectPath > ComplexProperty {name}`, the one shape accepted. */
function selectName(item: Node): string | undefined {
  const path = item.value;
  if (!isNode(path) || path.type !== 'SelectPath') return undefined;
  const property = path.value;
  if (!isNode(property) || property.type !== 'ComplexProperty') return undefined;
  const name = member(property, 'name');
  return typeof name === 'string' ? name : undefined;
}

// ---------------------------------------------------------------------------------------------
// $orderby

function parseOrderBy(value: string, scope: Scope): OrderByItem[] {
  return orderByItems(parseOption('$orderby', value, 'OrderBy'), scope);
}

function orderByItems(orderBy: Node, scope: Scope): OrderByItem[] {
  const items: OrderByItem[] = [];
  for (const item of nodes(member(orderBy, 'items'))) {
    if (item.type !== 'OrderByItem') throw unsupported(item, scope);
    let expression = asNode(member(item, 'expr'));
    while (expression.type === 'CommonExpression') expression = asNode(expression.value);
    const use: PathUse = { own: false };
    let value: ValueExpression;
    if (expression.type === 'MethodCallExpression') {
      value = valueCall(expression, scope, use);
    } else if (expression.type === 'FirstMemberExpression') {
      value = memberValue(expression, scope, use);
    } else {
      throw new ODataQueryError(
        `Only properties and functions of one can be used in ${where(scope)}; ${excerpt(decodeFromParser(expression.raw))} is not supported`,
      );
    }
    const via = relatedEntity(use, scope);
    const text = `${via ? `${via.navigation.name}/` : ''}${expressionText(value)}`;
    if (items.some((existing) => sortText(existing) === text)) {
      throw new ODataQueryError(`'${text}' appears more than once in ${where(scope)}`);
    }
    items.push({ value, descending: member(item, 'direction') === -1, ...(via && { via }) });
  }
  return items;
}

function sortText(item: OrderByItem): string {
  return `${item.via ? `${item.via.navigation.name}/` : ''}${expressionText(item.value)}`;
}

// ---------------------------------------------------------------------------------------------
// $expand

const NESTED_OPTION_NAMES: Record<string, string> = {
  Select: '$select',
  Expand: '$expand',
  Filter: '$filter',
  OrderBy: '$orderby',
  Top: '$top',
  Skip: '$skip',
  InlineCount: '$count',
  Levels: '$levels',
  Search: '$search',
};

function parseExpand(value: string, scope: Scope, settings: Required<ParseSettings>): ExpandItem[] {
  return expandItems(parseOption('$expand', value, 'Expand'), scope, 1, settings);
}

function expandItems(
  expand: Node,
  scope: Scope,
  depth: number,
  settings: Required<ParseSettings>,
): ExpandItem[] {
  const maxDepth = settings.maxExpansionDepth;
  if (depth > maxDepth) {
    throw new ODataQueryError(
      `$expand is nested too deeply: at most ${maxDepth} levels are allowed (the MaxExpansionDepth setting)`,
    );
  }
  const items: ExpandItem[] = [];
  for (const item of nodes(member(expand, 'items'))) {
    if (item.type !== 'ExpandItem') throw unsupported(item, scope);
    const path = member(item, 'path');
    if (
      member(item, 'ref') !== undefined ||
      member(item, 'count') !== undefined ||
      member(item, 'levels') !== undefined
    ) {
      throw unsupported(item, scope);
    }
    if (path === '*') {
      // Every navigation of the set, one level, without options (the parser allows none here).
      for (const navigation of scope.set.navigations) {
        if (items.some((existing) => existing.navigation === navigation)) continue;
        items.push({
          navigation,
          target: relatedThrough(navigation, scope.set).target,
          options: { orderBy: [], count: false, expand: [] },
        });
      }
      continue;
    }
    const navigation = expandNavigation(asNode(path), scope);
    if (items.some((existing) => existing.navigation === navigation)) {
      throw new ODataQueryError(
        `Navigation property '${navigation.name}' appears more than once in ${where(scope)}`,
      );
    }
    const target = findEntitySet(navigation.target);
    if (!target) throw new Error(`The model has no entity set ${navigation.target}`);
    const options: QueryOptions = { orderBy: [], count: false, expand: [] };
    const given = new Set<string>();
    const rawOptions = member(item, 'options');
    for (const option of rawOptions === undefined ? [] : nodes(rawOptions)) {
      const name = NESTED_OPTION_NAMES[option.type] ?? excerpt(option.raw.split('=')[0]);
      if (given.has(name)) {
        throw new ODataQueryError(
          `${name} is given more than once inside $expand=${navigation.name}`,
        );
      }
      given.add(name);
      const nested: Scope = { set: target, option: name, nested: true };
      switch (option.type) {
        case 'Select':
          options.select = selectItems(option, nested);
          break;
        case 'Expand':
          options.expand = expandItems(option, nested, depth + 1, settings);
          break;
        case 'Filter':
        case 'OrderBy':
        case 'Top':
        case 'Skip':
        case 'InlineCount':
          if (!navigation.collection) {
            throw new ODataQueryError(
              `${name} inside $expand applies to collections only; ${navigation.name} is a single entity`,
            );
          }
          if (option.type === 'Filter') options.filter = condition(asNode(option.value), nested);
          else if (option.type === 'OrderBy') options.orderBy = orderByItems(option, nested);
          else if (option.type === 'Top') options.top = nestedTop(option, settings.maxTop);
          else if (option.type === 'Skip') options.skip = nestedSkip(option);
          else options.count = asNode(option.value).raw === 'true';
          break;
        default: // $levels, $search, ...
          throw new ODataQueryError(`${name} is not supported inside $expand`);
      }
    }
    items.push({ navigation, target, options });
  }
  return items;
}

/** `$top=N` inside `$expand`: per parent entity, at most maxTop as at the top level. */
function nestedTop(option: Node, maxTop: number): number {
  const count = parseCount('$top', decodeFromParser(asNode(option.value).raw));
  if (count > maxTop) {
    throw new ODataQueryError(
      `$top must not exceed ${maxTop} (the maxTop setting), also inside $expand`,
    );
  }
  return count;
}

function nestedSkip(option: Node): number {
  const count = parseCount('$skip', decodeFromParser(asNode(option.value).raw));
  if (count > MAX_SKIP) throw new ODataQueryError(`$skip must not exceed ${MAX_SKIP}`);
  return count;
}

/** `ExpandPath [EntityNavigationProperty {name}]`: one navigation of the scope's set. */
function expandNavigation(path: Node, scope: Scope): EdmNavigation {
  const segments = path.type === 'ExpandPath' && Array.isArray(path.value) ? nodes(path.value) : [];
  const name = segments.length === 1 ? member(segments[0], 'name') : undefined;
  if (segments[0]?.type !== 'EntityNavigationProperty' || typeof name !== 'string') {
    throw new ODataQueryError(
      `Only navigation property names can be used in ${where(scope)}; ${excerpt(path.raw)} is not supported`,
    );
  }
  const navigation = scope.set.navigations.find((candidate) => candidate.name === name);
  if (navigation) return navigation;
  if (scope.set.properties.some((property) => property.name === name)) {
    throw new ODataQueryError(
      `'${name}' is not a navigation property of ${scope.set.name} (in ${where(scope)})`,
    );
  }
  throw new ODataQueryError(`Unknown navigation property ${excerpt(name)} in ${where(scope)}`);
}
