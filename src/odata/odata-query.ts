import { defaultParser } from '@odata/parser';
import {
  findEntitySet,
  type EdmNavigation,
  type EdmProperty,
  type EntitySetModel,
} from './edm-model';

/**
 * Parses the OData system query options of a request into a checked tree whose names all come
 * from the EDM model (`edm-model.ts`). `@odata/parser` does the syntax; everything it returns is
 * checked against the model here, so a name that reaches the tree is a model object, never
 * request text. Every refusal is an {@link ODataQueryError}: one sentence for the client (400).
 */

/** A query that cannot be served: the message is one sentence safe to show to the client. */
export class ODataQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ODataQueryError';
  }
}

/**
 * The canonical functions of one argument that `$filter` accepts (OData 4.0 Part 2, 5.1.1):
 * string, date-time and arithmetic functions over a property or over another such call.
 */
export type ValueFunction =
  | 'tolower'
  | 'toupper'
  | 'trim'
  | 'length'
  | 'year'
  | 'month'
  | 'day'
  | 'hour'
  | 'minute'
  | 'second'
  | 'round'
  | 'floor'
  | 'ceiling';

/** What a function takes and gives: `number` is Edm.Int32 or Edm.Decimal, and gives the same. */
export const VALUE_FUNCTIONS: Record<
  ValueFunction,
  { argument: 'Edm.String' | 'Edm.DateTimeOffset' | 'number'; result?: EdmProperty['type'] }
> = {
  tolower: { argument: 'Edm.String', result: 'Edm.String' },
  toupper: { argument: 'Edm.String', result: 'Edm.String' },
  trim: { argument: 'Edm.String', result: 'Edm.String' },
  length: { argument: 'Edm.String', result: 'Edm.Int32' },
  year: { argument: 'Edm.DateTimeOffset', result: 'Edm.Int32' },
  month: { argument: 'Edm.DateTimeOffset', result: 'Edm.Int32' },
  day: { argument: 'Edm.DateTimeOffset', result: 'Edm.Int32' },
  hour: { argument: 'Edm.DateTimeOffset', result: 'Edm.Int32' },
  minute: { argument: 'Edm.DateTimeOffset', result: 'Edm.Int32' },
  second: { argument: 'Edm.DateTimeOffset', result: 'Edm.Int32' },
  round: { argument: 'number' },
  floor: { argument: 'number' },
  ceiling: { argument: 'number' },
};

/** A value computed from one property: the property itself or functions applied to it. */
export type ValueExpression =
  | { kind: 'property'; property: EdmProperty }
  | { kind: 'call'; fn: ValueFunction; argument: ValueExpression };

export type Operand =
  ValueExpression | { kind: 'literal'; value: string | number | boolean | Date | null };

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type TextFunction = 'contains' | 'startswith' | 'endswith';

/** The property a value expression is computed from. */
export function baseProperty(expression: ValueExpression): EdmProperty {
  return expression.kind === 'property' ? expression.property : baseProperty(expression.argument);
}

/** The EDM type of a value expression's result. */
export function expressionType(expression: ValueExpression): EdmProperty['type'] {
  if (expression.kind === 'property') return expression.property.type;
  return VALUE_FUNCTIONS[expression.fn].result ?? expressionType(expression.argument);
}

/** The expression as OData text, for messages: `Name`, `tolower(trim(Name))`. */
export function expressionText(expression: ValueExpression): string {
  return expression.kind === 'property'
    ? expression.property.name
    : `${expression.fn}(${expressionText(expression.argument)})`;
}

export type FilterExpression =
  | { kind: 'and' | 'or'; left: FilterExpression; right: FilterExpression }
  | { kind: 'not'; operand: FilterExpression }
  | { kind: 'compare'; operator: ComparisonOperator; left: Operand; right: Operand }
  /** `contains(subject,'value')`; the subject is an Edm.String property or a call giving one. */
  | { kind: 'text'; fn: TextFunction; subject: ValueExpression; value: string }
  /** A bare Edm.Boolean property used as a condition, e.g. `$filter=Active`. */
  | { kind: 'boolean'; property: EdmProperty }
  /**
   * `Orders/any(o:o/OrderTotal gt 500)`, `Orders/all(o:...)`, `Orders/any()`: whether any (or
   * every) related entity satisfies `predicate`, a filter over the navigation's target set.
   */
  | ({ kind: 'lambda'; quantifier: 'any' | 'all'; predicate?: FilterExpression } & RelatedEntity);

export interface OrderByItem {
  /** A property, or a function of one (`tolower(LastName)`). */
  value: ValueExpression;
  descending: boolean;
  /** Set when `value` belongs to the entity a single-valued navigation leads to. */
  via?: RelatedEntity;
}

/** The entity (or entities) a navigation leads to, and how its rows join this entity's. */
export interface RelatedEntity {
  navigation: EdmNavigation;
  target: EntitySetModel;
  /** Related rows: those whose `inner` (of the target) equals this entity's `outer`. */
  join: { outer: EdmProperty; inner: EdmProperty };
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

/** Where a name is being resolved: for messages and lookups. */
interface Scope {
  set: EntitySetModel;
  /** `$filter`, `$select`, ... */
  option: string;
  /** Inside an `$expand` item's parentheses. */
  nested: boolean;
  /** Inside a lambda (`Orders/any(o:...)`): its variable, through which properties are named. */
  lambda?: { variable: string; path: string };
}

function where(scope: Scope): string {
  const inside = scope.lambda ? ` (inside ${scope.lambda.path})` : '';
  return `${scope.option} of ${scope.set.name}${scope.nested ? ' (inside $expand)' : ''}${inside}`;
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

/** Request text for a message: quoted, at most ~50 characters. */
function excerpt(text: string, max = 50): string {
  return `'${text.length > max ? `${text.slice(0, max - 1)}…` : text}'`;
}

// ---------------------------------------------------------------------------------------------
// The parser
//
// Our input is already URL-decoded, but @odata/parser also decodes: it reads `%20` as a space,
// `%27` as a quote, `%2C` as a comma and so on, even inside string literals. So before parsing,
// every `%` becomes `%25` (and `&`, which its query-option grammar splits on, `%26`); string
// literals are read back from the token's raw text with the reverse mapping.
//
// And @odata/parser 0.2.14 refuses a string literal followed by `;` (its string lexer accepts
// only `)`, `,`, `&` or a space after the closing quote), so `$expand=Orders($filter=Status eq
// 'x';$top=2)` would not parse. Inside `$expand`, each nested `$filter` value is therefore put in
// parentheses, `$filter=(Status eq 'x');$top=2`, which means the same and parses.

/** The text handed to the parser, and for each of its characters the position it came from. */
interface ParserText {
  text: string;
  origins: number[];
}

function encodeForParser(value: string, wrapNestedFilters = false): ParserText {
  let text = '';
  const origins: number[] = [];
  const emit = (chunk: string, origin: number) => {
    text += chunk;
    for (let i = 0; i < chunk.length; i++) origins.push(origin);
  };
  let depth = 0;
  let quoted = false;
  /** The depths at which a wrapped `$filter` value is open. */
  const openFilters: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (char === "'") quoted = !quoted;
    else if (!quoted && wrapNestedFilters) {
      // A `;` or `)` at the filter's own depth ends its value.
      if ((char === ';' || char === ')') && openFilters.at(-1) === depth) {
        openFilters.pop();
        emit(')', i);
      }
      if (char === '(') depth += 1;
      else if (char === ')') depth -= 1;
      if (
        depth > 0 &&
        (value[i - 1] === '(' || value[i - 1] === ';') &&
        value.startsWith('$filter=', i)
      ) {
        emit('$filter=(', i);
        openFilters.push(depth);
        i += '$filter='.length - 1;
        continue;
      }
    }
    emit(char === '%' ? '%25' : char === '&' ? '%26' : char, i);
  }
  // An unclosed filter is a syntax error either way; left open, the parser says so.
  return { text, origins };
}

function decodeFromParser(text: string): string {
  return text.replace(/%2([56])/g, (_match, digit) => (digit === '5' ? '%' : '&'));
}

/** What the parser returns: a token tree. */
interface Node {
  type: string;
  value: unknown;
  raw: string;
  position: number;
}

function isNode(value: unknown): value is Node {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Node).type === 'string' &&
    typeof (value as Node).raw === 'string'
  );
}

function asNode(value: unknown): Node {
  if (!isNode(value)) throw new ODataQueryError('The query options could not be parsed');
  return value;
}

/** A field of a node's object value. */
function member(node: Node, key: string): unknown {
  const value = node.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return (value as Record<string, unknown>)[key];
}

function nodes(value: unknown): Node[] {
  if (!Array.isArray(value)) throw new ODataQueryError('The query options could not be parsed');
  return value.map(asNode);
}

/**
 * Runs `parse` on `prefix` + the encoded value; a syntax error becomes a 400 that says where,
 * counted in the option value as the client sent it.
 */
function runParser(
  option: string,
  value: string,
  prefix: string,
  parse: (text: string) => unknown,
): Node {
  const input = encodeForParser(value, option === '$expand');
  try {
    return asNode(parse(prefix + input.text));
  } catch (error) {
    if (error instanceof ODataQueryError) throw error;
    const message = error instanceof Error ? error.message : '';
    const match = /^Unexpected character at (\d+)$/.exec(message);
    const at = match ? Number(match[1]) - prefix.length : -1;
    if (at >= 0) {
      const position = input.origins[at] ?? value.length;
      if (position < value.length) {
        throw new ODataQueryError(
          `${option} could not be parsed near position ${position} (at ${excerpt(value.slice(position), 20)})`,
        );
      }
    }
    throw new ODataQueryError(`${option} could not be parsed`);
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
      value = { kind: 'property', property: filterProperty(expression, scope, use) };
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
    if (path === '*') throw new ODataQueryError(`$expand=* is not supported (in ${where(scope)})`);
    if (
      member(item, 'ref') !== undefined ||
      member(item, 'count') !== undefined ||
      member(item, 'levels') !== undefined
    ) {
      throw unsupported(item, scope);
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

// ---------------------------------------------------------------------------------------------
// $filter

const COMPARISONS: Record<string, ComparisonOperator> = {
  EqualsExpression: 'eq',
  NotEqualsExpression: 'ne',
  GreaterThanExpression: 'gt',
  GreaterOrEqualsExpression: 'ge',
  LesserThanExpression: 'lt',
  LesserOrEqualsExpression: 'le',
};

const TEXT_FUNCTIONS: readonly TextFunction[] = ['contains', 'startswith', 'endswith'];

const NUMBER_LITERALS = [
  'Edm.SByte',
  'Edm.Byte',
  'Edm.Int16',
  'Edm.Int32',
  'Edm.Int64',
  'Edm.Decimal',
  'Edm.Double',
  'Edm.Single',
];

type Family = 'string' | 'number' | 'boolean' | 'datetime';

const FAMILIES: Record<EdmProperty['type'], Family> = {
  'Edm.String': 'string',
  'Edm.Int32': 'number',
  'Edm.Decimal': 'number',
  'Edm.Boolean': 'boolean',
  'Edm.DateTimeOffset': 'datetime',
};

function parseFilter(value: string, scope: Scope): FilterExpression {
  return condition(
    runParser('$filter', value, '', (text) => defaultParser.filter(text)),
    scope,
  );
}

/** A node in boolean position. */
function condition(node: Node, scope: Scope): FilterExpression {
  switch (node.type) {
    case 'AndExpression':
    case 'OrExpression':
    case 'NotExpression':
      return logical(node, scope);
    case 'BoolParenExpression':
    case 'ParenExpression':
    case 'CommonExpression':
    case 'LambdaPredicateExpression':
      return condition(asNode(node.value), scope);
    case 'MethodCallExpression':
      return leaf(scope, (use) => textFunction(node, scope, use));
    case 'FirstMemberExpression': {
      const quantified = lambda(node, scope);
      if (quantified) return quantified;
      return leaf(scope, (use) => {
        const property = filterProperty(node, scope, use);
        if (property.type !== 'Edm.Boolean') {
          throw new ODataQueryError(
            `Property '${property.name}' is ${property.type}, not Edm.Boolean, so it cannot be used as a condition in ${where(scope)}`,
          );
        }
        return { kind: 'boolean', property };
      });
    }
    case 'Literal':
      throw new ODataQueryError(
        `The literal ${excerpt(decodeFromParser(node.raw))} cannot be used as a condition in ${where(scope)}`,
      );
    default: {
      const operator = COMPARISONS[node.type];
      if (operator) return leaf(scope, (use) => comparison(node, operator, scope, use));
      throw unsupported(node, scope);
    }
  }
}

type LogicalPiece = 'and' | 'or' | 'not' | Node;

/**
 * and, or and not outside parentheses. @odata/parser gets `not` wrong: it reads
 * `not A or B` as `not (A or B)`, and `A and not B or C` as `A and not (B or C)`; OData
 * binds `not` tighter than `and`, and `and` tighter than `or`. So the parser's tree is read
 * back in source order (operands are comparisons, functions, properties and parenthesized
 * groups) and rebuilt with OData's precedence.
 */
function logical(node: Node, scope: Scope): FilterExpression {
  const pieces: LogicalPiece[] = [];
  const flatten = (current: Node): void => {
    if (current.type === 'AndExpression' || current.type === 'OrExpression') {
      flatten(asNode(member(current, 'left')));
      pieces.push(current.type === 'AndExpression' ? 'and' : 'or');
      flatten(asNode(member(current, 'right')));
    } else if (current.type === 'NotExpression') {
      pieces.push('not');
      flatten(asNode(current.value));
    } else if (
      current.type === 'CommonExpression' &&
      isNode(current.value) &&
      ['AndExpression', 'OrExpression', 'NotExpression'].includes(current.value.type)
    ) {
      flatten(current.value);
    } else {
      pieces.push(current);
    }
  };
  flatten(node);

  let index = 0;
  const orExpression = (): FilterExpression => {
    let left = andExpression();
    while (pieces[index] === 'or') {
      index += 1;
      left = { kind: 'or', left, right: andExpression() };
    }
    return left;
  };
  const andExpression = (): FilterExpression => {
    let left = notExpression();
    while (pieces[index] === 'and') {
      index += 1;
      left = { kind: 'and', left, right: notExpression() };
    }
    return left;
  };
  const notExpression = (): FilterExpression => {
    const piece = pieces[index++];
    if (piece === 'not') return { kind: 'not', operand: notExpression() };
    if (typeof piece !== 'object') throw new ODataQueryError(`${where(scope)} could not be parsed`);
    return condition(piece, scope);
  };
  const result = orExpression();
  if (index !== pieces.length) throw new ODataQueryError(`${where(scope)} could not be parsed`);
  return result;
}

/**
 * Which entity a condition's properties belong to: the scope's (`LastName`) or, all of them, the
 * one a single-valued navigation leads to (`Customer/LastName`).
 */
interface PathUse {
  own: boolean;
  navigation?: EdmNavigation;
}

/**
 * A comparison, text function or Boolean property. When its properties are reached through a
 * single-valued navigation, it is read in the target set and wrapped as `any` over that one
 * related entity: `Customer/LastName eq 'x'` is `EXISTS (the order's customer with that name)`.
 */
function leaf(scope: Scope, build: (use: PathUse) => FilterExpression): FilterExpression {
  const use: PathUse = { own: false };
  const expression = build(use);
  const via = relatedEntity(use, scope);
  return via ? { kind: 'lambda', quantifier: 'any', ...via, predicate: expression } : expression;
}

/** The related entity a condition's or sort key's properties were reached through, if any. */
function relatedEntity(use: PathUse, scope: Scope): RelatedEntity | undefined {
  return use.navigation && relatedThrough(use.navigation, scope.set);
}

/** What `navigation` of `set` leads to, and how the rows join. */
function relatedThrough(navigation: EdmNavigation, set: EntitySetModel): RelatedEntity {
  const target = findEntitySet(navigation.target);
  if (!target) throw new Error(`The model has no entity set ${navigation.target}`);
  return {
    navigation,
    target,
    join: {
      outer: modelProperty(set, navigation.sourceProperty),
      inner: modelProperty(target, navigation.targetProperty),
    },
  };
}

function comparison(
  node: Node,
  operator: ComparisonOperator,
  scope: Scope,
  use: PathUse,
): FilterExpression {
  const left = operand(asNode(member(node, 'left')), scope, use);
  const right = operand(asNode(member(node, 'right')), scope, use);
  const text = excerpt(decodeFromParser(node.raw));
  if (left.kind === 'literal' && right.kind === 'literal') {
    throw new ODataQueryError(`The comparison ${text} in ${where(scope)} must involve a property`);
  }
  if (left.kind !== 'literal' && right.kind !== 'literal') {
    const [typeA, typeB] = [expressionType(left), expressionType(right)];
    if (FAMILIES[typeA] !== FAMILIES[typeB]) {
      throw new ODataQueryError(
        `${named(left, true)} (${typeA}) cannot be compared with ${named(right)} (${typeB}) in ${where(scope)}`,
      );
    }
    if (typeA === 'Edm.Boolean' && operator !== 'eq' && operator !== 'ne') {
      throw new ODataQueryError(
        `Edm.Boolean properties ('${expressionText(left)}', '${expressionText(right)}') can only be compared with eq or ne in ${where(scope)}`,
      );
    }
    return { kind: 'compare', operator, left, right };
  }
  // One value expression and one literal, on either side.
  const [value, literal] =
    left.kind !== 'literal' && right.kind === 'literal'
      ? [left, right.value]
      : right.kind !== 'literal' && left.kind === 'literal'
        ? [right, left.value]
        : unreachable();
  checkLiteral(value, literal, operator, text, scope);
  return { kind: 'compare', operator, left, right };
}

function unreachable(): never {
  throw new Error('unreachable');
}

/** `Property 'Name'` or `'tolower(Name)'`, for messages. */
function named(expression: ValueExpression, sentenceStart = false): string {
  if (expression.kind === 'call') return `'${expressionText(expression)}'`;
  return `${sentenceStart ? 'Property' : 'property'} '${expression.property.name}'`;
}

function checkLiteral(
  value: ValueExpression,
  literal: string | number | boolean | Date | null,
  operator: ComparisonOperator,
  text: string,
  scope: Scope,
): void {
  if (literal === null) {
    if (operator === 'eq' || operator === 'ne') return;
    throw new ODataQueryError(
      `null can only be compared with eq or ne (${named(value)} in ${text} in ${where(scope)})`,
    );
  }
  const type = expressionType(value);
  const family = FAMILIES[type];
  const literalFamily: Family =
    literal instanceof Date
      ? 'datetime'
      : typeof literal === 'string'
        ? 'string'
        : typeof literal === 'number'
          ? 'number'
          : 'boolean';
  if (family !== literalFamily) {
    const what = {
      string: 'a string',
      number: 'a number',
      boolean: 'a boolean',
      datetime: 'a date-time',
    };
    throw new ODataQueryError(
      `${named(value, true)} (${type}) cannot be compared with ${what[literalFamily]} in ${text} in ${where(scope)}`,
    );
  }
  if (family === 'boolean' && operator !== 'eq' && operator !== 'ne') {
    throw new ODataQueryError(
      `${named(value, true)} is Edm.Boolean and can only be compared with eq or ne in ${where(scope)}`,
    );
  }
}

/** A comparison operand: a property of the scope's set, a function of one, or a literal. */
function operand(node: Node, scope: Scope, use?: PathUse): Operand {
  while (node.type === 'ParenExpression' || node.type === 'CommonExpression') {
    node = asNode(node.value);
  }
  if (node.type === 'FirstMemberExpression') {
    return { kind: 'property', property: filterProperty(node, scope, use) };
  }
  if (node.type === 'Literal') return { kind: 'literal', value: literal(node, scope) };
  // now(): the time the request is parsed, compared as a date-time literal.
  if (node.type === 'MethodCallExpression' && member(node, 'method') === 'now') {
    if (callArguments(node).length > 0) throw unsupported(node, scope);
    return { kind: 'literal', value: new Date() };
  }
  if (node.type === 'MethodCallExpression') return valueCall(node, scope, use);
  throw unsupported(node, scope);
}

function isValueFunction(name: unknown): name is ValueFunction {
  return typeof name === 'string' && Object.hasOwn(VALUE_FUNCTIONS, name);
}

function callArguments(node: Node): Node[] {
  const parameters = member(node, 'parameters');
  return Array.isArray(parameters) ? nodes(parameters) : [];
}

/** `tolower(Name)`, `year(CreatedOnUtc)`, `round(Price)`, `length(trim(Name))`, ... */
function valueCall(node: Node, scope: Scope, use?: PathUse): ValueExpression {
  const fn = member(node, 'method');
  if (TEXT_FUNCTIONS.some((name) => name === fn)) {
    throw new ODataQueryError(
      `${String(fn)}(...) is a condition and cannot be compared; use it alone, as in ${String(fn)}(Name,'text'), in ${where(scope)}`,
    );
  }
  if (!isValueFunction(fn)) throw unsupported(node, scope);
  const args = callArguments(node);
  if (args.length !== 1) {
    throw new ODataQueryError(
      `${fn} takes one argument, as in ${fn}(Property), in ${where(scope)}`,
    );
  }
  const argument = operand(args[0], scope, use);
  if (argument.kind === 'literal') {
    throw new ODataQueryError(
      `The argument of ${fn} must be a property or a function of one, not a literal, in ${where(scope)}`,
    );
  }
  const wanted = VALUE_FUNCTIONS[fn].argument;
  const type = expressionType(argument);
  if (wanted === 'number' ? FAMILIES[type] !== 'number' : type !== wanted) {
    const needs = wanted === 'number' ? 'a number (Edm.Int32 or Edm.Decimal)' : `an ${wanted}`;
    throw new ODataQueryError(
      `${fn} takes ${needs}; ${named(argument)} is ${type} (in ${where(scope)})`,
    );
  }
  return { kind: 'call', fn, argument };
}

/** `contains|startswith|endswith(StringValue, 'literal')`: the value a property or a call. */
function textFunction(node: Node, scope: Scope, use: PathUse): FilterExpression {
  const method = member(node, 'method');
  const fn = TEXT_FUNCTIONS.find((name) => name === method);
  if (!fn) {
    if (isValueFunction(method)) {
      throw new ODataQueryError(
        `${method}(...) is a value, not a condition; compare it, as in ${method}(Property) eq ..., in ${where(scope)}`,
      );
    }
    throw unsupported(node, scope);
  }
  const args = callArguments(node);
  const shape = `${fn}(StringProperty,'text')`;
  if (args.length !== 2) {
    throw new ODataQueryError(`${fn} takes two arguments, as in ${shape}, in ${where(scope)}`);
  }
  const [first, second] = args.map((arg) => operand(arg, scope, use));
  if (first.kind === 'literal' || expressionType(first) !== 'Edm.String') {
    const what =
      first.kind === 'literal' ? '' : ` ('${expressionText(first)}' is ${expressionType(first)})`;
    throw new ODataQueryError(
      `The first argument of ${fn} must be an Edm.String property or a function giving one${what}, as in ${shape}, in ${where(scope)}`,
    );
  }
  if (second.kind !== 'literal' || typeof second.value !== 'string') {
    throw new ODataQueryError(
      `The second argument of ${fn} must be a string literal, as in ${shape} ('${expressionText(first)}' in ${where(scope)})`,
    );
  }
  return { kind: 'text', fn, subject: first, value: second.value };
}

/**
 * `Navigation/any(v:predicate)`, `Navigation/all(v:predicate)` or `Navigation/any()` on a
 * collection navigation of the scope's set (`v/Navigation/...` inside a lambda); undefined
 * when `node` is not a lambda. The predicate names properties through `v` only.
 */
function lambda(node: Node, scope: Scope): FilterExpression | undefined {
  const path = memberPath(node, scope);
  if (!isNode(path) || path.type !== 'PropertyPathExpression') return undefined;
  const next = member(path, 'next');
  if (!isNode(next) || next.type !== 'CollectionPathExpression' || !isNode(next.value)) {
    return undefined;
  }
  const call = next.value;
  if (call.type !== 'AnyExpression' && call.type !== 'AllExpression') return undefined;
  const quantifier = call.type === 'AnyExpression' ? 'any' : 'all';
  const current = member(path, 'current');
  const name = isNode(current) ? member(current, 'name') : undefined;
  const navigation = scope.set.navigations.find((candidate) => candidate.name === name);
  const text = excerpt(decodeFromParser(node.raw));
  if (!navigation || !navigation.collection) {
    throw new ODataQueryError(
      `${quantifier} applies to a collection navigation property of ${scope.set.name} (such as ${scope.set.navigations.find((n) => n.collection)?.name ?? 'none here'}): ${text} in ${where(scope)}`,
    );
  }
  const related = relatedThrough(navigation, scope.set);
  const variableNode = member(call, 'variable');
  const predicateNode = member(call, 'predicate');
  if (variableNode === undefined && predicateNode === undefined) {
    if (quantifier === 'all') {
      throw new ODataQueryError(`all needs a condition, as in ${navigation.name}/all(x:x/...)`);
    }
    return { kind: 'lambda', quantifier, ...related };
  }
  const variable = isNode(variableNode) ? member(variableNode, 'name') : undefined;
  if (typeof variable !== 'string' || !isNode(predicateNode)) {
    throw new ODataQueryError(`${text} could not be parsed in ${where(scope)}`);
  }
  if (scope.lambda?.variable === variable) {
    throw new ODataQueryError(
      `The lambda variable '${variable}' is already in use in ${where(scope)}; choose another name`,
    );
  }
  const inner: Scope = {
    set: related.target,
    option: scope.option,
    nested: scope.nested,
    lambda: { variable, path: `${navigation.name}/${quantifier}` },
  };
  return { kind: 'lambda', quantifier, ...related, predicate: condition(predicateNode, inner) };
}

function modelProperty(set: EntitySetModel, name: string): EdmProperty {
  const property = set.properties.find((candidate) => candidate.name === name);
  if (!property) throw new Error(`The model's ${set.name} has no property ${name}`);
  return property;
}

/**
 * The `PropertyPathExpression` of a member expression: `Name` outside a lambda, `v/Name`
 * inside one (where a name without the variable is refused).
 */
function memberPath(node: Node, scope?: Scope): Node | undefined {
  const value = node.value;
  if (!scope?.lambda) {
    if (!isNode(value) || value.type !== 'MemberExpression') return undefined;
    return isNode(value.value) ? value.value : undefined;
  }
  const { variable } = scope.lambda;
  const parts: unknown[] = Array.isArray(value) ? value : [];
  const [head, memberExpression] = parts;
  if (parts.length !== 2 || !isNode(head) || !isNode(memberExpression)) {
    throw new ODataQueryError(
      `Inside ${scope.lambda.path}, name properties through the variable, as in ${variable}/Id: ${excerpt(decodeFromParser(node.raw))} in ${where(scope)}`,
    );
  }
  if (head.type !== 'LambdaVariableExpression' || member(head, 'name') !== variable) {
    throw new ODataQueryError(
      `Only the innermost lambda variable '${variable}' can be used in ${where(scope)}: ${excerpt(decodeFromParser(node.raw))}`,
    );
  }
  if (memberExpression.type !== 'MemberExpression') return undefined;
  return isNode(memberExpression.value) ? memberExpression.value : undefined;
}

/** The one name of `FirstMemberExpression > MemberExpression > PropertyPathExpression > ODataIdentifier`. */
function memberName(node: Node, scope?: Scope): string | undefined {
  const path = memberPath(node, scope);
  if (!isNode(path) || path.type !== 'PropertyPathExpression') return undefined;
  const identifier = path.value;
  if (!isNode(identifier) || identifier.type !== 'ODataIdentifier') return undefined;
  const name = member(identifier, 'name');
  return typeof name === 'string' ? name : undefined;
}

/**
 * A property named in $filter: a name of the scope's set or, where `use` allows it, a
 * `Navigation/Name` through a single-valued navigation; all of one condition's properties
 * must come from the same one.
 */
function filterProperty(node: Node, scope: Scope, use?: PathUse): EdmProperty {
  const text = excerpt(decodeFromParser(node.raw));
  const name = memberName(node, scope);
  if (name !== undefined) {
    if (use?.navigation) throw mixedPaths(text, use.navigation, scope);
    if (use) use.own = true;
    return findProperty(name, scope);
  }
  const related = use && navigationPath(node, scope);
  if (related) {
    const { navigation, target, name: relatedName } = related;
    if (use.own || (use.navigation && use.navigation !== navigation)) {
      throw mixedPaths(text, use.navigation ?? navigation, scope);
    }
    use.navigation = navigation;
    return findProperty(relatedName, { ...scope, set: target });
  }
  if (hasType(node, ['AnyExpression', 'AllExpression'])) {
    throw new ODataQueryError(
      `any and all are conditions and cannot be compared: ${text} in ${where(scope)}`,
    );
  }
  if (hasType(node, ['ImplicitVariableExpression', 'RootExpression'])) {
    throw new ODataQueryError(`$it and $root are not supported: ${text} in ${where(scope)}`);
  }
  const first = scope.set.navigations.find((n) => text.startsWith(`'${n.name}/`));
  if (first?.collection && use && scope.option === '$filter') {
    throw new ODataQueryError(
      `${first.name} is a collection: ask with any or all, as in ${first.name}/any(x:x/Id gt 0), not ${text}, in ${where(scope)}`,
    );
  }
  throw new ODataQueryError(
    `Paths such as ${text} are not supported in ${where(scope)}; use a property of ${scope.set.name}${use ? ' or of an entity one navigation away' : ''}`,
  );
}

/** `Customer/LastName`: a single-valued navigation of the scope's set and a name after it. */
function navigationPath(
  node: Node,
  scope: Scope,
): { navigation: EdmNavigation; target: EntitySetModel; name: string } | undefined {
  const path = memberPath(node, scope);
  if (!isNode(path) || path.type !== 'PropertyPathExpression') return undefined;
  const current = member(path, 'current');
  const next = member(path, 'next');
  if (!isNode(current) || !isNode(next) || next.type !== 'SingleNavigationExpression') {
    return undefined;
  }
  const navigation = scope.set.navigations.find((n) => n.name === member(current, 'name'));
  const memberExpression = next.value;
  if (!navigation || navigation.collection || !isNode(memberExpression)) return undefined;
  const name = memberName({ ...node, value: memberExpression });
  const target = findEntitySet(navigation.target);
  if (name === undefined || !target) return undefined;
  return { navigation, target, name };
}

function mixedPaths(text: string, navigation: EdmNavigation, scope: Scope): ODataQueryError {
  return new ODataQueryError(
    `A condition compares properties of one entity at a time: ${text} mixes ${navigation.name}/... with ${scope.set.name}'s own or another's in ${where(scope)}`,
  );
}

/** Looks `name` up in the scope's set: exact, case-sensitive. */
function findProperty(name: string, scope: Scope): EdmProperty {
  const property = scope.set.properties.find((candidate) => candidate.name === name);
  if (property) return property;
  if (scope.set.navigations.some((navigation) => navigation.name === name)) {
    const hint = scope.option === '$select' ? '; use $expand to include it' : '';
    throw new ODataQueryError(
      `'${name}' is a navigation property and cannot be used in ${where(scope)}${hint}`,
    );
  }
  throw new ODataQueryError(`Unknown property ${excerpt(name)} in ${where(scope)}`);
}

function hasType(node: Node, types: string[], depth = 0): boolean {
  if (types.includes(node.type)) return true;
  if (depth > 50) return false;
  const value = node.value;
  const children: unknown[] = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null
      ? Object.values(value)
      : [];
  return children.some((child) => isNode(child) && hasType(child, types, depth + 1));
}

/** The value of a literal the model can compare with. */
function literal(node: Node, scope: Scope): string | number | boolean | Date | null {
  const type = typeof node.value === 'string' ? node.value : '';
  const raw = decodeFromParser(node.raw);
  const invalid = () =>
    new ODataQueryError(`The ${type} literal ${excerpt(raw)} in ${where(scope)} is not valid`);
  if (type === 'null') return null;
  if (type === 'Edm.Boolean') {
    if (raw !== 'true' && raw !== 'false') throw invalid();
    return raw === 'true';
  }
  if (type === 'Edm.String') {
    if (raw.length < 2 || !raw.startsWith("'") || !raw.endsWith("'")) throw invalid();
    return raw.slice(1, -1).replace(/''/g, "'");
  }
  if (NUMBER_LITERALS.includes(type)) {
    const number = /^[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isFinite(number)) {
      throw new ODataQueryError(
        `The number ${excerpt(raw)} in ${where(scope)} is not supported (only finite numbers are)`,
      );
    }
    return number;
  }
  if (type === 'Edm.DateTimeOffset' || type === 'Edm.Date') {
    const date = parseDate(raw, type === 'Edm.Date');
    if (!date) throw invalid();
    return date;
  }
  throw new ODataQueryError(
    `Literals of type ${type || 'unknown'} such as ${excerpt(raw)} are not supported in ${where(scope)}`,
  );
}

const DATE_TIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,12}))?)?(Z|[+-][0-9]{2}:[0-9]{2})$/;
const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

/**
 * `2024-01-01T10:00:00.123+02:00` or, as an Edm.Date, `2024-01-01` (midnight UTC). Checked
 * field by field (no February 30th), years 0001-9999; fractions beyond milliseconds are cut.
 */
function parseDate(raw: string, dateOnly: boolean): Date | undefined {
  const match = (dateOnly ? DATE : DATE_TIME).exec(raw);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const [hour, minute, second] = dateOnly
    ? [0, 0, 0]
    : [Number(match[4]), Number(match[5]), Number(match[6] ?? 0)];
  const millisecond = dateOnly ? 0 : Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const zone = dateOnly ? 'Z' : match[8];
  let offset = 0;
  if (zone !== 'Z') {
    const [hours, minutes] = [Number(zone.slice(1, 3)), Number(zone.slice(4, 6))];
    if (minutes > 59 || hours * 60 + minutes > 14 * 60) return undefined;
    offset = (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate(); // leap years below
  if (
    year < 1 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > (month === 2 ? (isLeapYear(year) ? 29 : 28) : daysInMonth) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return undefined;
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC: it maps years 0-99 to 1900-1999
  date.setUTCHours(hour, minute, second, millisecond);
  return new Date(date.getTime() - offset * 60_000);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const UNSUPPORTED_OPERATORS: Record<string, string> = {
  AddExpression: 'add',
  SubExpression: 'sub',
  MulExpression: 'mul',
  DivExpression: 'div',
  ModExpression: 'mod',
};

/** A refusal naming the construct. */
function unsupported(node: Node, scope: Scope): ODataQueryError {
  const text = excerpt(decodeFromParser(node.raw));
  const arithmetic = UNSUPPORTED_OPERATORS[node.type];
  if (arithmetic) {
    return new ODataQueryError(
      `The arithmetic operator '${arithmetic}' is not supported: ${text} in ${where(scope)}`,
    );
  }
  switch (node.type) {
    case 'MethodCallExpression': {
      const method = member(node, 'method');
      const name = typeof method === 'string' ? excerpt(method) : text;
      return new ODataQueryError(`The function ${name} is not supported in ${where(scope)}`);
    }
    case 'NegateExpression':
      return new ODataQueryError(`Negation (${text}) is not supported in ${where(scope)}`);
    case 'HasExpression':
      return new ODataQueryError(`The operator 'has' is not supported: ${text} in ${where(scope)}`);
    case 'InExpression':
      return new ODataQueryError(`The operator 'in' is not supported: ${text} in ${where(scope)}`);
    case 'IsOfExpression':
    case 'CastExpression':
      return new ODataQueryError(`isof and cast are not supported: ${text} in ${where(scope)}`);
    case 'ParameterAlias':
      return new ODataQueryError(
        `Parameter aliases such as ${text} are not supported in ${where(scope)}`,
      );
    case 'Enum':
      return new ODataQueryError(
        `Enumeration literals such as ${text} are not supported in ${where(scope)}`,
      );
    default:
      return new ODataQueryError(`${text} is not supported in ${where(scope)}`);
  }
}
