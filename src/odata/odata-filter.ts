import { defaultParser } from '@odata/parser';
import {
  findEntitySet,
  type EdmNavigation,
  type EdmProperty,
  type EntitySetModel,
} from './edm-model';
import { inexactDecimal } from './edm-decimal';
import {
  asNode,
  decodeFromParser,
  excerpt,
  findProperty,
  hasType,
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
 * `$filter`: the checked tree a filter becomes (rendered as SQL by `odata-filter-sql.ts`), and
 * its parsing from `@odata/parser`'s tokens. Every name in the tree is a model object.
 */

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
  | 'date'
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
  // OData's date() gives an Edm.Date; here it is midnight UTC of that day, a date-time, which
  // compares with a date literal (`2024-06-01`, also midnight UTC) as the client means.
  date: { argument: 'Edm.DateTimeOffset', result: 'Edm.DateTimeOffset' },
  round: { argument: 'number' },
  floor: { argument: 'number' },
  ceiling: { argument: 'number' },
};

/** A value computed from one property: the property itself or functions applied to it. */
export type ValueExpression =
  | { kind: 'property'; property: EdmProperty }
  | { kind: 'call'; fn: ValueFunction; argument: ValueExpression }
  /** `Orders/$count`: how many entities a collection navigation leads to (never null). */
  | { kind: 'count'; related: RelatedEntity };

export type Operand =
  | ValueExpression
  | {
      kind: 'literal';
      value: string | number | boolean | Date | null;
      /**
       * A number literal's exact decimal text, when the double `value` rounds it; a date-time
       * literal's text to its last digit (see `preciseDateTime`), when the Date `value` cuts it
       * to the millisecond.
       */
      exact?: string;
    };

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type TextFunction = 'contains' | 'startswith' | 'endswith';

/** The property a value expression is computed from. */
export function baseProperty(expression: ValueExpression): EdmProperty {
  if (expression.kind === 'property') return expression.property;
  // A count is computed from the entity's key side of the join, which is never null.
  if (expression.kind === 'count') return expression.related.join.outer;
  return baseProperty(expression.argument);
}

/** The EDM type of a value expression's result. */
export function expressionType(expression: ValueExpression): EdmProperty['type'] {
  if (expression.kind === 'property') return expression.property.type;
  if (expression.kind === 'count') return 'Edm.Int32';
  return VALUE_FUNCTIONS[expression.fn].result ?? expressionType(expression.argument);
}

/** The expression as OData text, for messages: `Name`, `tolower(trim(Name))`, `Orders/$count`. */
export function expressionText(expression: ValueExpression): string {
  if (expression.kind === 'property') return expression.property.name;
  if (expression.kind === 'count') return `${expression.related.navigation.name}/$count`;
  return `${expression.fn}(${expressionText(expression.argument)})`;
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

/** The entity (or entities) a navigation leads to, and how its rows join this entity's. */
export interface RelatedEntity {
  navigation: EdmNavigation;
  target: EntitySetModel;
  /** Related rows: those whose `inner` (of the target) equals this entity's `outer`. */
  join: { outer: EdmProperty; inner: EdmProperty };
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

export function parseFilter(value: string, scope: Scope): FilterExpression {
  return condition(
    runParser('$filter', value, '', (text) => defaultParser.filter(text)),
    scope,
  );
}

/** A node in boolean position. */
export function condition(node: Node, scope: Scope): FilterExpression {
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
export interface PathUse {
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
export function relatedEntity(use: PathUse, scope: Scope): RelatedEntity | undefined {
  return use.navigation && relatedThrough(use.navigation, scope.set);
}

/** What `navigation` of `set` leads to, and how the rows join. */
export function relatedThrough(navigation: EdmNavigation, set: EntitySetModel): RelatedEntity {
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
  if (expression.kind !== 'property') return `'${expressionText(expression)}'`;
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
  if (node.type === 'FirstMemberExpression') return memberValue(node, scope, use);
  if (node.type === 'Literal') {
    const value = literal(node, scope);
    const raw = decodeFromParser(node.raw);
    const exact =
      typeof value === 'number'
        ? inexactDecimal(raw, value)
        : value instanceof Date
          ? preciseDateTime(raw)
          : undefined;
    return exact === undefined ? { kind: 'literal', value } : { kind: 'literal', value, exact };
  }
  // now(): the time the request is parsed, compared as a date-time literal.
  if (node.type === 'MethodCallExpression' && member(node, 'method') === 'now') {
    if (callArguments(node).length > 0) throw unsupported(node, scope);
    return { kind: 'literal', value: new Date() };
  }
  if (node.type === 'MethodCallExpression') return valueCall(node, scope, use);
  throw unsupported(node, scope);
}

/** A property (see filterProperty), or `Navigation/$count` on a collection navigation. */
export function memberValue(node: Node, scope: Scope, use?: PathUse): ValueExpression {
  const path = memberPath(node, scope);
  const current = isNode(path) ? member(path, 'current') : undefined;
  const next = isNode(path) ? member(path, 'next') : undefined;
  if (isNode(next) && isNode(next.value) && next.value.type === 'CountExpression') {
    const navigation = scope.set.navigations.find(
      (n) => isNode(current) && n.name === member(current, 'name'),
    );
    const text = excerpt(decodeFromParser(node.raw));
    if (!navigation?.collection) {
      throw new ODataQueryError(
        `$count applies to a collection navigation property of ${scope.set.name}: ${text} in ${where(scope)}`,
      );
    }
    // A value of this entity's, like its own properties.
    if (use?.navigation) throw mixedPaths(text, use.navigation, scope);
    if (use) use.own = true;
    return { kind: 'count', related: relatedThrough(navigation, scope.set) };
  }
  return { kind: 'property', property: filterProperty(node, scope, use) };
}

function isValueFunction(name: unknown): name is ValueFunction {
  return typeof name === 'string' && Object.hasOwn(VALUE_FUNCTIONS, name);
}

function callArguments(node: Node): Node[] {
  const parameters = member(node, 'parameters');
  return Array.isArray(parameters) ? nodes(parameters) : [];
}

/** `tolower(Name)`, `year(CreatedOnUtc)`, `round(Price)`, `length(trim(Name))`, ... */
export function valueCall(node: Node, scope: Scope, use?: PathUse): ValueExpression {
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
export function filterProperty(node: Node, scope: Scope, use?: PathUse): EdmProperty {
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

/** `'…'` with each quote inside doubled. */
const STRING_LITERAL = /^'(?:[^']|'')*'$/;

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
    // @odata/parser ends a literal at a last quote it cannot pair ('O''Brien'' was O'Brien'):
    // inside the quotes, every quote must be doubled, else the literal is unterminated.
    if (!STRING_LITERAL.test(raw)) throw invalid();
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
 * field by field (no February 30th), years 0001-9999. A Date holds milliseconds: a finer
 * fraction is cut here, and kept by `preciseDateTime`.
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

/**
 * A date-time literal (valid: `parseDate` read it) with a digit other than 0 below the
 * millisecond, as text PostgreSQL reads (`2024-05-10T11:54:47.9231Z`, seconds written out, the
 * offset kept); undefined for the others, which the Date holds exactly. Up to 12 digits are
 * kept: the SQL decides what to make of those below the microsecond, which timestamptz does
 * not hold. Cutting them all to the millisecond made `eq …47.9231Z` match …47.923 (review).
 */
function preciseDateTime(raw: string): string | undefined {
  const match = DATE_TIME.exec(raw);
  if (!match || !/[1-9]/.test(match[7]?.slice(3) ?? '')) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  return `${year}-${month}-${day}T${hour}:${minute}:${second}.${fraction}${zone}`;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
