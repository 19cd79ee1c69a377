import type { EntitySetModel, EdmProperty } from './edm-model';

/**
 * What the OData query parsing shares: the client error, the scope a name is resolved in, and
 * the plumbing around `@odata/parser` (its input encoding, its token tree, its errors).
 */

/** A query that cannot be served: the message is one sentence safe to show to the client. */
export class ODataQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ODataQueryError';
  }
}

/** Where a name is being resolved: for messages and lookups. */
export interface Scope {
  set: EntitySetModel;
  /** `$filter`, `$select`, ... */
  option: string;
  /** Inside an `$expand` item's parentheses. */
  nested: boolean;
  /** Inside a lambda (`Orders/any(o:...)`): its variable, through which properties are named. */
  lambda?: { variable: string; path: string };
}

export function where(scope: Scope): string {
  const inside = scope.lambda ? ` (inside ${scope.lambda.path})` : '';
  return `${scope.option} of ${scope.set.name}${scope.nested ? ' (inside $expand)' : ''}${inside}`;
}

/** Request text for a message: quoted, at most ~50 characters. */
export function excerpt(text: string, max = 50): string {
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
    if (!quoted && isDigit(char) && startsNumber(value, i)) {
      const number = NUMBER_TOKEN.exec(value.slice(i))![0];
      if (!IDENTIFIER_CHAR.test(value[i + number.length] ?? '')) {
        const spelled = spelledForParser(number);
        for (let k = 0; k < spelled.length; k++)
          emit(spelled[k], i + Math.min(k, number.length - 1));
        i += number.length - 1;
        continue;
      }
    }
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

const isDigit = (char: string) => char >= '0' && char <= '9';
/** What can stand next to a number literal within a longer token (a name, a date, a GUID). */
const IDENTIFIER_CHAR = /[A-Za-z0-9_.:-]/;
const NUMBER_TOKEN = /^[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/;

/** Whether the digit at `i` begins a number, unsigned or after a sign, not inside a longer token. */
function startsNumber(value: string, i: number): boolean {
  const before = value[i - 1] ?? '';
  if (before === '-' || before === '+') return !IDENTIFIER_CHAR.test(value[i - 2] ?? '');
  return !IDENTIFIER_CHAR.test(before);
}

/**
 * A number literal as @odata/parser 0.2.14 reads it correctly. Its Int64 check compares digit
 * strings as text ('9999999999' > '9223372036854775807', so refused), and its decimal and double
 * grammars want a point before an exponent and a lowercase `e`: `Id eq 9999999999`, `1e2` and
 * `1E2` were refused (found by review). An integer of 10 or more digits gets `.0`, an exponent a
 * point and a lowercase `e`: the same number, typed as a decimal or double.
 */
function spelledForParser(number: string): string {
  const [, whole, fraction, exponent] = /^([0-9]+)(\.[0-9]+)?(?:[eE]([+-]?[0-9]+))?$/.exec(number)!;
  if (exponent !== undefined) return `${whole}${fraction ?? '.0'}e${exponent}`;
  if (fraction === undefined && whole.length >= 10) return `${whole}.0`;
  return number;
}

export function decodeFromParser(text: string): string {
  return text.replace(/%2([56])/g, (_match, digit) => (digit === '5' ? '%' : '&'));
}

/** What the parser returns: a token tree. */
export interface Node {
  type: string;
  value: unknown;
  raw: string;
  position: number;
}

export function isNode(value: unknown): value is Node {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Node).type === 'string' &&
    typeof (value as Node).raw === 'string'
  );
}

export function asNode(value: unknown): Node {
  if (!isNode(value)) throw new ODataQueryError('The query options could not be parsed');
  return value;
}

/** A field of a node's object value. */
export function member(node: Node, key: string): unknown {
  const value = node.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return (value as Record<string, unknown>)[key];
}

export function nodes(value: unknown): Node[] {
  if (!Array.isArray(value)) throw new ODataQueryError('The query options could not be parsed');
  return value.map(asNode);
}

/**
 * Runs `parse` on `prefix` + the encoded value; a syntax error becomes a 400 that says where,
 * counted in the option value as the client sent it.
 */
export function runParser(
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
      // The parser (OData 4.0) stops at 4.01's `in`; named here, as other refusals are.
      if (/^\s+in\s*\(/.test(value.slice(position))) {
        throw new ODataQueryError(
          `${option}: 'in' is OData 4.01 and not supported (this service speaks 4.0); use eq with or`,
        );
      }
      if (position < value.length) {
        throw new ODataQueryError(
          `${option} could not be parsed near position ${position} (at ${excerpt(value.slice(position), 20)})`,
        );
      }
    }
    throw new ODataQueryError(`${option} could not be parsed`);
  }
}

/** Looks `name` up in the scope's set: exact, case-sensitive. */
export function findProperty(name: string, scope: Scope): EdmProperty {
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

export function hasType(node: Node, types: string[], depth = 0): boolean {
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

const UNSUPPORTED_OPERATORS: Record<string, string> = {
  AddExpression: 'add',
  SubExpression: 'sub',
  MulExpression: 'mul',
  DivExpression: 'div',
  ModExpression: 'mod',
};

/** A refusal naming the construct. */
export function unsupported(node: Node, scope: Scope): ODataQueryError {
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
