import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpException,
  HttpStatus,
  NotFoundException,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../config/app-config';
import { rememberedSettings } from '../settings/request-settings';
import { SettingsService } from '../settings/settings.service';
import { requestScheme } from '../common/request-scheme';
import {
  EdmNavigation,
  EdmProperty,
  ENTITY_SETS,
  EntitySetModel,
  findEntitySet,
  INT32_MAX,
  KEY_SEGMENT,
} from './edm-model';
import { metadataDocument } from './odata-metadata';
import { parseQueryOptions, QueryOptions } from './odata-query';
import { ODataQueryError } from './odata-syntax';
import { DecimalForm, Row } from './odata-row';
import { wantsIeee754Compatible } from './odata-negotiation';
import { emptyOptions, ODataService, Scope } from './odata.service';

// With the charset given, Fastify leaves the type as it is (else it re-serialises it and
// quotes "minimal", which some OData clients do not recognise).
const JSON_TYPE = 'application/json; odata.metadata=minimal; charset=utf-8';
/** `Customers`, `Customers(42)` or `Customers(Id=42)`. */
const RESOURCE = new RegExp(`^([A-Za-z_][A-Za-z0-9_]*)(?:${KEY_SEGMENT})?$`);
/** The options OData allows on a single entity, and on a `/$count` segment. */
const SINGLE_ENTITY_OPTIONS = new Set(['$select', '$expand']);
const COUNT_OPTIONS = new Set(['$filter']);
/** A property or its raw value takes no system query option (but `$format`). */
const NO_OPTIONS = new Set<string>();
/** What an entity set and an entity answer to, for a 405's `Allow` (a GET route takes HEAD). */
const ENTITY_SET_METHODS = 'GET, HEAD, POST';
const ENTITY_METHODS = 'GET, HEAD, PATCH, PUT, DELETE';
/** Decimals as strings for a client that asks for `IEEE754Compatible=true`, numbers otherwise. */
function decimalForm(request: FastifyRequest): DecimalForm {
  const format = (request.query as Record<string, unknown> | undefined)?.$format;
  return wantsIeee754Compatible(format, request.headers.accept) ? 'string' : 'number';
}

/** The Content-Type of a JSON answer, saying how its decimals are written. */
function jsonType(request: FastifyRequest): string {
  return decimalForm(request) === 'string' ? `${JSON_TYPE};IEEE754Compatible=true` : JSON_TYPE;
}

type ODataQueryString = Record<string, unknown>;

/**
 * The OData v4 service (minimal metadata JSON): the service document, `$metadata`, and for
 * every entity set list, count, read, create, update (PATCH), replace (PUT) and delete, plus
 * navigation from an entity and an entity's single property (`/Name`, `/Name/$value`). The
 * guard asks `read` for GET and `write` for the rest.
 */
@Controller('odata/v1')
export class ODataController {
  private readonly metadata = metadataDocument();

  constructor(
    private readonly odata: ODataService,
    private readonly settings: SettingsService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @Header('Content-Type', JSON_TYPE)
  serviceDocument(@Req() request: FastifyRequest) {
    return {
      '@odata.context': `${serviceRoot(request)}/$metadata`,
      value: ENTITY_SETS.map((set) => ({ name: set.name, kind: 'EntitySet', url: set.name })),
    };
  }

  @Get('$metadata')
  @Header('Content-Type', 'application/xml; charset=utf-8')
  metadataDocument(): string {
    return this.metadata;
  }

  @Get(':resource')
  async read(
    @Param('resource') resource: string,
    @Query() query: ODataQueryString,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { set, key } = parseResource(resource);
    reply.header('Content-Type', jsonType(request));
    if (key === undefined) return this.list(request, reply, set, query);
    const options = this.options(set, query, request, SINGLE_ENTITY_OPTIONS);
    const row = await this.odata.get(set, key, options);
    if (!row) throw notFound(set, key);
    return this.single(request, set, row, options);
  }

  @Get(':resource/$count')
  async countSet(
    @Param('resource') resource: string,
    @Query() query: ODataQueryString,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const { set, key } = parseResource(resource);
    if (key !== undefined) throw noResource(`${resource}/$count`);
    return this.countText(set, query, request, reply);
  }

  @Get(':resource/:navigation/$count')
  async countRelated(
    @Param('resource') resource: string,
    @Param('navigation') name: string,
    @Query() query: ODataQueryString,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const { set, key, navigation, relatedKey } = parseNavigation(resource, name);
    if (!navigation.collection || relatedKey !== undefined) {
      throw noResource(`${resource}/${name}/$count`);
    }
    const target = findEntitySet(navigation.target)!;
    return this.countText(
      target,
      query,
      request,
      reply,
      await this.relatedScope(set, key, navigation),
    );
  }

  /** The raw value of a property, as text; 204 when it is null. */
  @Get(':resource/:property/$value')
  async propertyValue(
    @Param('resource') resource: string,
    @Param('property') name: string,
    @Query() query: ODataQueryString,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string | undefined> {
    // The raw value: a decimal as stored, exactly (the JSON number form may round it).
    const { value } = await this.readProperty(
      resource,
      name,
      '/$value',
      query,
      request,
      reply,
      'string',
    );
    if (value === null) return undefined;
    // The text is the client's data (a name could hold markup): never to be sniffed as HTML.
    reply.header('Content-Type', 'text/plain; charset=utf-8');
    reply.header('X-Content-Type-Options', 'nosniff');
    return String(value);
  }

  @Get(':resource/:navigation')
  async navigate(
    @Param('resource') resource: string,
    @Param('navigation') name: string,
    @Query() query: ODataQueryString,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (isStructuralProperty(resource, name)) {
      return this.property(resource, name, query, request, reply);
    }
    const { set, key, navigation, relatedKey } = parseNavigation(resource, name);
    const target = findEntitySet(navigation.target)!;
    reply.header('Content-Type', jsonType(request));
    if (relatedKey !== undefined) {
      // One of the related entities, by its key: 404 unless it is related to this one.
      const within = await this.relatedScope(set, key, navigation);
      const options = this.options(target, query, request, SINGLE_ENTITY_OPTIONS);
      const row = await this.odata.get(target, relatedKey, options, within);
      if (!row) throw notFound(target, relatedKey);
      return this.single(request, target, row, options);
    }
    if (navigation.collection) {
      return this.list(
        request,
        reply,
        target,
        query,
        await this.relatedScope(set, key, navigation),
      );
    }
    const parent = await this.odata.get(set, key, emptyOptions());
    if (!parent) throw notFound(set, key);
    const targetKey = Number(parent[navigation.sourceProperty]);
    const options = this.options(target, query, request, SINGLE_ENTITY_OPTIONS);
    const row = await this.odata.get(target, targetKey, options);
    if (!row) throw notFound(target, targetKey);
    return this.single(request, target, row, options);
  }

  @Post(':resource')
  async create(
    @Param('resource') resource: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { set, key } = parseResource(resource);
    if (key !== undefined) {
      throw methodNotAllowed(reply, 'POST', 'an entity; POST to its entity set', ENTITY_METHODS);
    }
    // The entity set is the target, and it always exists: the same rules as for an entity (it
    // ignored them, found by review: If-Match "x" created the entity).
    const failing = failingPrecondition(request);
    if (failing !== undefined) {
      throw preconditionFailed(
        failing === 'If-Match'
          ? 'If-Match: no entity tag matches, as this service has none (* matches the entity set).'
          : `If-None-Match: * fails, as the entity set ${set.name} exists.`,
      );
    }
    const row = await this.odata.create(set, body);
    const location = `${serviceRoot(request)}/${set.name}(${String(row.Id)})`;
    reply.status(HttpStatus.CREATED).header('Location', location);
    // The entity is data only the read role may see (found by review: a write-only user read
    // any entity through a write); without it, the new key in Location is the whole answer.
    if (!mayRead(request)) return undefined;
    reply.header('Content-Type', jsonType(request));
    return this.single(request, set, row, emptyOptions());
  }

  @Patch(':resource')
  update(
    @Param('resource') resource: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.change(resource, body, 'update', request, reply);
  }

  @Put(':resource')
  replace(
    @Param('resource') resource: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.change(resource, body, 'replace', request, reply);
  }

  @Delete(':resource')
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(
    @Param('resource') resource: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const { set, key } = parseResource(resource);
    if (key === undefined) {
      throw methodNotAllowed(reply, 'DELETE', 'an entity set', ENTITY_SET_METHODS);
    }
    await this.checkPreconditions(request, set, key);
    if (!(await this.odata.remove(set, key))) throw notFound(set, key);
  }

  /** `Customers(42)/Company`: `{"@odata.context", "value"}`, or 204 when the value is null. */
  private async property(
    resource: string,
    name: string,
    query: ODataQueryString,
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    const { set, key, property, value } = await this.readProperty(
      resource,
      name,
      '',
      query,
      request,
      reply,
    );
    if (value === null) return undefined;
    reply.header('Content-Type', jsonType(request));
    return {
      '@odata.context': `${serviceRoot(request)}/$metadata#${set.name}(${key})/${property.name}`,
      value,
    };
  }

  /**
   * One property of an entity in its JSON form (null already answered 204); 404 when the
   * entity or the property is missing. `suffix` completes the path in the 404's message.
   */
  private async readProperty(
    resource: string,
    name: string,
    suffix: string,
    query: ODataQueryString,
    request: FastifyRequest,
    reply: FastifyReply,
    decimals = decimalForm(request),
  ) {
    const { set, key, property } = parseProperty(resource, name, `${resource}/${name}${suffix}`);
    this.options(set, query, request, NO_OPTIONS);
    const options: QueryOptions = { ...emptyOptions(), select: [property] };
    const row = await this.odata.get(set, key, options);
    if (!row) throw notFound(set, key);
    // The JSON form of the model's types: a string, number or boolean, or null.
    const value = this.odata.serialize(set, row, options, decimals)[property.name] as
      string | number | boolean | null;
    if (value === null) reply.status(HttpStatus.NO_CONTENT);
    return { set, key, property, value };
  }

  /**
   * 204 as OData answers by default; 200 with the entity for `Prefer: return=representation`,
   * to a user who may read it.
   */
  private async change(
    resource: string,
    body: unknown,
    mode: 'update' | 'replace',
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    const { set, key } = parseResource(resource);
    if (key === undefined) {
      const method = mode === 'update' ? 'PATCH' : 'PUT';
      throw methodNotAllowed(reply, method, 'an entity set', ENTITY_SET_METHODS);
    }
    await this.checkPreconditions(request, set, key);
    // The entity as written, whatever happens to it after (a DELETE right after the write made
    // a read here find nothing: a 500 for a change that was saved; found by review).
    const row = await this.odata.change(set, key, body, mode);
    if (!row) throw notFound(set, key);
    // RFC 7240 lets a server ignore a preference: one that would show the entity to a user
    // without the read role (found by review: PATCH `{}` with it read any entity) is ignored,
    // and no Preference-Applied says it was applied.
    const representation = /return=representation/i.test(String(request.headers.prefer ?? ''));
    if (!representation || !mayRead(request)) {
      reply.status(HttpStatus.NO_CONTENT);
      return undefined;
    }
    reply
      .header('Content-Type', jsonType(request))
      .header('Preference-Applied', 'return=representation');
    return this.single(request, set, row, emptyOptions());
  }

  /**
   * If-Match and If-None-Match on a write (RFC 9110 13.1). The service has no entity tags, so
   * no tag matches: If-Match passes only as `*` (any existing entity), If-None-Match fails only
   * as `*`. A failing condition is a 412 and nothing is written, but a missing entity stays a
   * 404 (13.2.1: it is found out first); both come before the body is read.
   */
  private async checkPreconditions(
    request: FastifyRequest,
    set: EntitySetModel,
    key: number,
  ): Promise<void> {
    const failing = failingPrecondition(request);
    if (failing === undefined) return;
    if (!(await this.odata.exists(set, key))) throw notFound(set, key);
    throw preconditionFailed(
      failing === 'If-Match'
        ? 'If-Match: no entity tag matches, as this service has none (* matches any entity).'
        : `If-None-Match: * fails, as ${set.typeName} ${key} exists.`,
    );
  }

  private async list(
    request: FastifyRequest,
    reply: FastifyReply,
    set: EntitySetModel,
    query: ODataQueryString,
    scope?: Scope,
  ) {
    const maxTop = await this.maxTop(request);
    const options = this.options(set, query, request, undefined, maxTop);
    // A client may ask for smaller pages (`Prefer: odata.maxpagesize=N`), never larger ones.
    const preferred = preferredPageSize(request);
    // Nor larger than an answer may be (ODATA_MAX_ANSWER_ENTITIES may be set below maxTop):
    // a plain list was refused as too large rather than paged (found by review).
    const pageSize = Math.min(maxTop, preferred ?? maxTop, this.config.odataMaxAnswerEntities);
    if (preferred !== undefined)
      reply.header('Preference-Applied', `odata.maxpagesize=${pageSize}`);
    const page = await this.odata.list(set, options, pageSize, scope);
    const body: Record<string, unknown> = { '@odata.context': contextUrl(request, set, options) };
    if (page.count !== undefined) body['@odata.count'] = page.count;
    const decimals = decimalForm(request);
    body.value = page.rows.map((row) => this.odata.serialize(set, row, options, decimals));
    if (page.more) {
      const skip = (options.skip ?? 0) + pageSize;
      const top = options.top === undefined ? undefined : options.top - pageSize;
      body['@odata.nextLink'] = nextLink(request, query, skip, top);
    }
    return body;
  }

  /** The count as plain text, as OData's `/$count` segment answers. */
  private async countText(
    set: EntitySetModel,
    query: ODataQueryString,
    request: FastifyRequest,
    reply: FastifyReply,
    scope?: Scope,
  ): Promise<string> {
    const options = this.options(set, query, request, COUNT_OPTIONS);
    reply.header('Content-Type', 'text/plain; charset=utf-8');
    return String(await this.odata.count(set, options, scope));
  }

  private single(request: FastifyRequest, set: EntitySetModel, row: Row, options: QueryOptions) {
    return {
      '@odata.context': `${contextUrl(request, set, options)}/$entity`,
      ...this.odata.serialize(set, row, options, decimalForm(request)),
    };
  }

  /** The entities related to `set(key)` through `navigation`; 404 when that entity is missing. */
  private async relatedScope(
    set: EntitySetModel,
    key: number,
    navigation: EdmNavigation,
  ): Promise<Scope> {
    if (!(await this.odata.exists(set, key))) throw notFound(set, key);
    const target = findEntitySet(navigation.target)!;
    const property = target.properties.find((p) => p.name === navigation.targetProperty)!;
    return { property, value: key };
  }

  /**
   * Parses the query options; `allowed` limits which system options apply (all list options
   * when absent). `$format` is left out: the headers hook has checked it against what the
   * route answers with (a 406 otherwise), on every route, before authentication.
   */
  private options(
    set: EntitySetModel,
    query: ODataQueryString,
    request: FastifyRequest,
    allowed?: Set<string>,
    maxTop = rememberedSettings(request.raw)?.maxTop ?? Number.MAX_SAFE_INTEGER,
  ): QueryOptions {
    const rest = { ...query };
    delete rest.$format;
    if (allowed) {
      const other = Object.keys(rest).find((k) => k.startsWith('$') && !allowed.has(k));
      if (other) throw badQuery(`${truncate(other)} does not apply here.`);
    }
    try {
      return parseQueryOptions(rest, set, {
        maxTop,
        maxExpansionDepth: this.config.odataMaxExpansionDepth,
      });
    } catch (error) {
      if (error instanceof ODataQueryError) throw badQuery(error.message);
      throw error;
    }
  }

  private async maxTop(request: FastifyRequest): Promise<number> {
    return (rememberedSettings(request.raw) ?? (await this.settings.current())).maxTop;
  }
}

function parseResource(resource: string): { set: EntitySetModel; key?: number } {
  const match = RESOURCE.exec(resource);
  const set = match ? findEntitySet(match[1]) : undefined;
  if (!match || !set) throw noResource(resource);
  if (match[2] === undefined) return { set };
  const key = Number(match[2]);
  if (key > INT32_MAX) throw notFound(set, key);
  return { set, key };
}

function isStructuralProperty(resource: string, name: string): boolean {
  const set = findEntitySet(RESOURCE.exec(resource)?.[1] ?? '');
  return set?.properties.some((p) => p.name === name) ?? false;
}

/** `Customers(42)/Company`: an entity and one of its structural properties. */
function parseProperty(
  resource: string,
  name: string,
  path: string,
): { set: EntitySetModel; key: number; property: EdmProperty } {
  const { set, key } = parseResource(resource);
  const property = set.properties.find((p) => p.name === name);
  if (key === undefined || !property) throw noResource(path);
  return { set, key, property };
}

/** `Customers(42)/Orders`: an entity and one of its navigation properties. */
function parseNavigation(
  resource: string,
  name: string,
): { set: EntitySetModel; key: number; navigation: EdmNavigation; relatedKey?: number } {
  const { set, key } = parseResource(resource);
  const match = RESOURCE.exec(name);
  const navigation = match && set.navigations.find((n) => n.name === match[1]);
  if (key === undefined || !match || !navigation) throw noResource(`${resource}/${name}`);
  if (match[2] === undefined) return { set, key, navigation };
  // `Customers(42)/Orders(7)`: a key addresses one entity of a collection navigation only.
  if (!navigation.collection) throw noResource(`${resource}/${name}`);
  const relatedKey = Number(match[2]);
  const target = findEntitySet(navigation.target)!;
  if (relatedKey > INT32_MAX) throw notFound(target, relatedKey);
  return { set, key, navigation, relatedKey };
}

/** The read role: the guard asks it of GET, and roles are independent of each other. */
function mayRead(request: FastifyRequest): boolean {
  return request.user?.roles.includes('read') ?? false;
}

function serviceRoot(request: FastifyRequest): string {
  return `${requestScheme(request.protocol)}://${request.host}/odata/v1`;
}

/** `…/$metadata#Customers`, with the selected properties and expansions when `$select` is used. */
function contextUrl(request: FastifyRequest, set: EntitySetModel, options: QueryOptions): string {
  return `${serviceRoot(request)}/$metadata#${set.name}${selectList(options)}`;
}

function selectList(options: QueryOptions): string {
  if (!options.select) return '';
  const items = [
    ...options.select.map((p) => p.name),
    ...options.expand.map((e) => `${e.navigation.name}${selectList(e.options) || '()'}`),
  ];
  return `(${items.join(',')})`;
}

/**
 * `odata.maxpagesize` (or 4.01's `maxpagesize`) from the Prefer header: a whole number from 1;
 * anything else is ignored, as RFC 7240 has a server ignore a preference it cannot honour.
 */
function preferredPageSize(request: FastifyRequest): number | undefined {
  const header = request.headers.prefer;
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const preference of text.split(',')) {
    const match = /^\s*(?:odata\.)?maxpagesize\s*=\s*"?([0-9]{1,9})"?\s*$/i.exec(preference);
    if (match && Number(match[1]) >= 1) return Number(match[1]);
  }
  return undefined;
}

/** The same request with `$skip` moved on by one page (and `$top` down by one, when given). */
function nextLink(
  request: FastifyRequest,
  query: ODataQueryString,
  skip: number,
  top?: number,
): string {
  const moved = { ...query, $skip: String(skip), ...(top !== undefined && { $top: String(top) }) };
  const parts = Object.entries(moved).flatMap(([name, value]) =>
    typeof value === 'string' ? [`${encodeURIComponent(name)}=${encodeURIComponent(value)}`] : [],
  );
  const path = request.url.split('?')[0];
  return `${requestScheme(request.protocol)}://${request.host}${path}?${parts.join('&')}`;
}

function notFound(set: EntitySetModel, key: number): NotFoundException {
  return new NotFoundException({
    code: 'NotFound',
    message: `No ${set.typeName} has the key ${key}.`,
  });
}

function noResource(path: string): NotFoundException {
  return new NotFoundException({ code: 'NotFound', message: `No resource ${truncate(path)}.` });
}

function badQuery(message: string): BadRequestException {
  return new BadRequestException({ code: 'InvalidQuery', message });
}

/** A 405, with the `Allow` header RFC 9110 requires on one: the methods the resource takes. */
function methodNotAllowed(
  reply: FastifyReply,
  method: string,
  what: string,
  allowed: string,
): HttpException {
  reply.header('Allow', allowed);
  return new HttpException(
    { code: 'MethodNotAllowed', message: `${method} does not apply to ${what}.` },
    HttpStatus.METHOD_NOT_ALLOWED,
  );
}

function truncate(text: string): string {
  return text.length > 50 ? `${text.slice(0, 50)}…` : text;
}

/** Which condition of a write fails on a target that exists (see checkPreconditions). */
function failingPrecondition(request: FastifyRequest): 'If-Match' | 'If-None-Match' | undefined {
  const ifMatch = request.headers['if-match'];
  if (ifMatch !== undefined && ifMatch.trim() !== '*') return 'If-Match';
  return request.headers['if-none-match']?.trim() === '*' ? 'If-None-Match' : undefined;
}

function preconditionFailed(message: string): HttpException {
  return new HttpException({ code: 'PreconditionFailed', message }, HttpStatus.PRECONDITION_FAILED);
}
