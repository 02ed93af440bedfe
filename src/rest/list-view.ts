/**
 * A read-only list endpoint: port of DRF's `ListAPIView` request cycle
 * (`views.py` `APIView.dispatch`/`initial`). The order of checks is the
 * original's and is written once, in `initial()`: negotiate (404/406), then
 * authenticate (401), then throttle (429), then the method (405); the GET handler then filters
 * (400), paginates (404) and renders. Ours: `limit=all` streams every
 * matching row instead of a page, the file formats carry the page's
 * count and links in headers, and after the filters an If-None-Match is
 * answered from the data version alone (304, conditional.ts).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import type { CompiledResource, Condition, OrderTerm } from '../resource/declaration.js';
import type { ExportRows, ListRepository } from '../repository/list-repository.js';
import type { TokenAuthentication, AuthUser } from './authentication.js';
import type { Page, PageNumberPagination } from './pagination.js';
import type { Row } from '../resource/rows.js';
import { createMetadata, type Metadata } from './metadata.js';
import { responseContentType, type AcceptedMediaType, type PageEnvelope, type Renderer, type RenderContext } from './renderers/index.js';
import { getIndent, jsonRenderer, renderJson } from './renderers/json.js';
import { createNegotiator } from './negotiation.js';
import { filterQuery } from './filters.js';
import { createConditionalGet, sendNotModified } from './conditional.js';
import { ApiError, AuthenticationFailed, MethodNotAllowed, NotAuthenticated, Throttled } from './exceptions.js';
import type { ViewThrottling } from './throttling.js';
import type { ExportSlots } from './export-slots.js';
import type { Foreground } from '../http/foreground.js';
import { parseQuery, splitRequestTarget } from '../lib/querystring.js';
import { linkHost } from '../http/host.js';
import { timeRepository, type QueryTimer } from '../repository/timed-repository.js';

/** A page's rendered body is already its bytes' text (list-view's sendPage). */
const asIs = (body: string): string => body;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The accepted media type when negotiation chose JSON (DRF's `request.accepted_media_type`,
     * e.g. `application/json; indent=2`), else null. DRF renders every Response of the view, errors
     * and OPTIONS included, with the accepted renderer and media type; here errors and OPTIONS
     * are always JSON, so they take the indent from this. Null when negotiation failed (404 for
     * `?format=`, 406) or never ran: DRF then falls back to `renderers[0].media_type` with no
     * parameters (views.py `perform_content_negotiation(force=True)`, 3.14), which is compact.
     * Null too when CSV/XLSX was negotiated: the JSON that stands in for them is compact (ours).
     */
    acceptedJson: AcceptedMediaType | null;
    /** The `format` of the renderer negotiation chose; null when it failed or never ran (read by the metrics). */
    renderedFormat: string | null;
    /** A `limit=all` GET about to stream: its row count; null otherwise (read by the metrics). */
    exportCount: number | null;
  }
}

/**
 * The policies every list view of the service shares (DRF's `api_settings` defaults), built once
 * (plugins/list-policies.ts): a resource's view adds only its path, declaration and repository.
 */
export interface ListPolicies {
  renderers: readonly Renderer[];
  authentication: TokenAuthentication;
  pagination: PageNumberPagination;
  /** Most rows a `limit=all` export may return; none when unset. */
  exportMaxRows?: number;
  /** Rate throttles (DRF's `throttle_classes`); none when unset, DRF's default. */
  throttling?: ViewThrottling;
  /** Caps on concurrent `limit=all` exports; none when unset. */
  exportSlots?: ExportSlots;
  /** Requests in flight, which a streaming export lets go first (http/foreground.ts); none when unset. */
  foreground?: Foreground;
  /** Times the repository's queries (the metrics); none when unset. */
  timeQuery?: QueryTimer;
}

export interface ListViewOptions extends ListPolicies {
  /** Route path inside the scope, with its trailing slash (`/list-simple/`). */
  path: string;
  resource: CompiledResource;
  /** Where the rows come from (repository/list-repository.ts builds one from a declaration). */
  repository: ListRepository;
  /** The OPTIONS body; by default built from the declaration and the renderers (DRF's SimpleMetadata). */
  metadata?: Metadata;
  /** Names downloads (`customers.csv`) and spreadsheet sheets; defaults to the resource name. */
  downloadName?: string;
}

/**
 * The wait told to an export refused by a cap. A running download's end cannot be predicted
 * (it goes at its client's pace), so the client is told to try again in the shortest wait
 * DRF's wording allows rather than given a made-up estimate.
 */
export const EXPORT_RETRY_AFTER_SECONDS = 1;

/** The page-size value that asks for every row in one response (ours). */
export const EXPORT_ALL = 'all';

export const ALLOWED_METHODS = ['GET', 'HEAD', 'OPTIONS'] as const;

/** DRF's `default_response_headers`, on every response of the view whatever its status. */
export const VIEW_HEADERS = { allow: ALLOWED_METHODS.join(', '), vary: 'Accept' };

export interface Initialised {
  renderer: Renderer;
  accepted: AcceptedMediaType;
  user: AuthUser;
  query: Map<string, string>;
  rawQuery: string;
}

/** What a page's 200 is made of. */
interface PageToSend {
  renderer: Renderer;
  renderCtx: RenderContext;
  rawQuery: string;
  count: number;
  page: Page;
  results: readonly Row[];
  etag: string | null;
}

export function registerListView(scope: FastifyInstance, view: ListViewOptions): void {
  const { path, resource, renderers, authentication, pagination } = view;
  const repository = view.timeQuery ? timeRepository(view.repository, view.timeQuery) : view.repository;
  const metadata = view.metadata ?? createMetadata(resource, { renders: renderers.map((r) => r.mediaType) });
  const downloadName = view.downloadName ?? resource.name;
  const fullPath = `${scope.prefix}${path}`;
  const metadataBody = Buffer.from(metadata.json);
  const conditional = createConditionalGet({ repository, pagination, exportMaxRows: view.exportMaxRows });
  const negotiateRenderer = createNegotiator(renderers);

  if (!scope.hasRequestDecorator('acceptedJson')) scope.decorateRequest('acceptedJson', null);
  if (!scope.hasRequestDecorator('renderedFormat')) scope.decorateRequest('renderedFormat', null);
  if (!scope.hasRequestDecorator('exportCount')) scope.decorateRequest('exportCount', null);

  /** On the view's routes (not the slash redirect), before the route-level hooks the plugins add. */
  const viewHeaders: onSendHookHandler = (_request, reply, payload, done) => {
    const vary = reply.getHeader('vary');
    reply.header('vary', vary ? `${String(vary)}, ${VIEW_HEADERS.vary}` : VIEW_HEADERS.vary);
    reply.header('allow', VIEW_HEADERS.allow);
    done(null, payload);
  };

  /** Content negotiation (404 for an unknown `format`, 406), its outcome kept on the request. */
  function negotiate(request: FastifyRequest, query: ReadonlyMap<string, string>): { renderer: Renderer; accepted: AcceptedMediaType } {
    const negotiated = negotiateRenderer(request.headers.accept, query.get('format'));
    const accepted: AcceptedMediaType = { mediaType: negotiated.mediaType, params: negotiated.params };
    if (negotiated.renderer.mediaType === jsonRenderer.mediaType) request.acceptedJson = accepted;
    request.renderedFormat = negotiated.renderer.format;
    return { renderer: negotiated.renderer, accepted };
  }

  /** `APIView.initial`: content negotiation, then authentication, then throttles. */
  async function initial(request: FastifyRequest): Promise<Initialised> {
    const { rawQuery } = splitRequestTarget(request.url);
    const query = parseQuery(rawQuery);
    const { renderer, accepted } = negotiate(request, query);
    const user = await authenticateAndThrottle(request);
    return { renderer, accepted, user, query, rawQuery };
  }

  /**
   * DRF's order for a valid token: look it up, then count the request against its user. A
   * request without a valid token counts against its address (request.ip, which honours
   * TRUST_PROXY) and gets 429 rather than 401 once that is spent; DRF would answer 401 forever,
   * its permission check coming before its throttles, which leaves token guessing unthrottled.
   */
  async function authenticateAndThrottle(request: FastifyRequest): Promise<AuthUser> {
    const { throttling } = view;
    const address = request.ip ?? '';
    await throttling?.beforeAuthentication(address);
    let user: AuthUser | null;
    try {
      user = await authentication.authenticate(request.headers.authorization);
    } catch (error) {
      if (error instanceof AuthenticationFailed) await throttling?.anonymous(address);
      throw error;
    }
    if (!user) {
      await throttling?.anonymous(address);
      throw new NotAuthenticated(undefined, authentication.authenticateHeader());
    }
    await throttling?.authenticated(user.userId);
    return user;
  }

  async function list(request: FastifyRequest, reply: FastifyReply) {
    const { rawQuery } = splitRequestTarget(request.url);
    const query = parseQuery(rawQuery);
    const { renderer, accepted } = negotiate(request, query);
    const renderCtx: RenderContext = { ...accepted, fields: resource.fields, title: downloadName };
    const oneStatement = await readInOneStatement(request, { renderer, accepted, query });
    if (oneStatement) return sendPage(request, reply, { renderer, renderCtx, rawQuery, ...oneStatement });

    // Step by step, in DRF's order: the token (and throttles), the filters, the version, the count, the page.
    const user = await authenticateAndThrottle(request);
    const { conditions, ordering } = filterQuery(resource, query);
    const pageSize = query.get(pagination.pageSizeQueryParam) === EXPORT_ALL ? EXPORT_ALL : pagination.getPageSize(query);
    // Ours: If-None-Match is answered from the data version alone, before any count, page or snapshot.
    const { etag, notModified, version } = await conditional.validate(request.headers['if-none-match'], {
      renderer, accepted, conditions, ordering, query, pageSize,
    });
    if (notModified) return sendNotModified(reply, etag);
    if (pageSize === EXPORT_ALL) {
      return exportAll(request, reply, { renderer, ctx: renderCtx, query, conditions, ordering, user, etag });
    }
    // Counted once per data version and filter: the next page of the set, at the same version, reuses it.
    const count = await repository.count(conditions, { version });
    const page = pagination.getPage(query, count, pageSize);
    const results = count === 0 ? [] : await repository.findPage({ conditions, ordering, offset: page.offset, limit: pageSize });
    return sendPage(request, reply, { renderer, renderCtx, rawQuery, count, page, results, etag });
  }

  /**
   * A plain page in one round trip (repository.readPage): the token's user, the version, the count
   * and the rows in one statement, and the answers DRF's order gives decided from them afterwards,
   * token first. Null for a request that goes step by step: with throttles (they count a request
   * between its token and its filters), for a filter the filterset refuses (its 400 comes after
   * the token's check), for If-None-Match (a 304 needs the version alone) and for `limit=all`.
   */
  async function readInOneStatement(
    request: FastifyRequest,
    { renderer, accepted, query }: { renderer: Renderer; accepted: AcceptedMediaType; query: Map<string, string> },
  ): Promise<Omit<PageToSend, 'renderer' | 'renderCtx' | 'rawQuery'> | null> {
    if (view.throttling || request.headers['if-none-match'] !== undefined) return null;
    if (query.get(pagination.pageSizeQueryParam) === EXPORT_ALL) return null;
    const key = authentication.credentials(request.headers.authorization);
    if (key === null) throw new NotAuthenticated(undefined, authentication.authenticateHeader());
    const lookup = authentication.lookup(key);
    if (!lookup) return null;
    let filtered: ReturnType<typeof filterQuery>;
    try {
      filtered = filterQuery(resource, query);
    } catch {
      return null;
    }
    const { conditions, ordering } = filtered;
    const pageSize = pagination.getPageSize(query);
    const asked = pagination.requestedPage(query);
    const read = await repository.readPage({
      conditions, ordering, limit: pageSize, gate: lookup.statement,
      // A page below 1 or not a number is a 404 whatever the count: read none.
      page: asked === 'last' || (asked !== null && asked >= 1n) ? asked : null,
    });
    authentication.admit(read.gate === null ? null : lookup.decode(read.gate));
    const count = read.count ?? 0;
    const page = pagination.getPage(query, count, pageSize);
    const etag = conditional.etag(read.version, { renderer, accepted, conditions, ordering, query, pageSize });
    return { count, page, results: read.rows, etag };
  }

  /**
   * A page's 200: its links, the body, and the headers. Sent at once when the renderer answers at
   * once (JSON, CSV): no promise to wait through on every page.
   */
  function sendPage(
    request: FastifyRequest,
    reply: FastifyReply,
    { renderer, renderCtx, rawQuery, count, page, results, etag }: PageToSend,
  ): FastifyReply | Promise<FastifyReply> {
    const { next, previous } = pagination.getLinks(
      // Only a validated host reaches a link; the scheme is one of two, as Django's `scheme` is.
      { scheme: request.protocol === 'https' ? 'https' : 'http', host: linkHost(request), path: fullPath, rawQuery },
      page,
    );
    // A string goes out as it is: the identity serializer keeps Fastify from adding `; charset=utf-8`
    // to a JSON type (DRF sends none), and Node writes it with the headers, with no Buffer made for it.
    const send = (body: Buffer | string) =>
      finalize(reply, renderer, renderCtx, { count, next, previous }, etag).serializer(asIs).send(body);
    const body = renderer.render({ count, next, previous, results }, renderCtx);
    return typeof body === 'string' || Buffer.isBuffer(body) ? send(body) : body.then(send);
  }

  /**
   * Ours: `limit=all` is the one page of every matching row (so `page` may be 1 or `last`), counted
   * and then streamed from one snapshot with backpressure. Every check answers before the first byte.
   */
  async function exportAll(
    request: FastifyRequest,
    reply: FastifyReply,
    { renderer, ctx, query, conditions, ordering, user, etag }: {
      renderer: Renderer; ctx: RenderContext; query: Map<string, string>;
      conditions: readonly Condition[]; ordering: readonly OrderTerm[]; user: AuthUser; etag: string | null;
    },
  ) {
    // Before the snapshot takes a connection; freed when the response ends, however it ends.
    const release = view.exportSlots ? view.exportSlots.acquire(String(user.userId)) : () => {};
    if (!release) throw new Throttled(EXPORT_RETRY_AFTER_SECONDS);
    // The client going away stops the query and hands the connection back, whatever is in progress.
    const gone = new AbortController();
    const hangUp = () => {
      gone.abort();
      release();
    };
    // A client that left during authentication has already closed the response: 'close' is past.
    if (reply.raw.destroyed) hangUp();
    else reply.raw.once('close', hangUp);
    let rows: ExportRows;
    try {
      rows = await repository.openExport(conditions, ordering, { signal: gone.signal });
    } catch (error) {
      release();
      throw error;
    }
    const envelope: PageEnvelope = { count: rows.count, next: null, previous: null };
    let body: Readable;
    try {
      pagination.getPage(query, rows.count, Math.max(rows.count, 1));
      if (view.exportMaxRows !== undefined && rows.count > view.exportMaxRows) {
        throw new ApiError(400, `This export would return ${rows.count} rows, more than the ${view.exportMaxRows} allowed. ` +
          'Narrow it with filters, or fetch it in pages with limit and page.');
      }
      // HEAD: the headers of the export without running it.
      if (request.method === 'HEAD') {
        await rows.close();
        release();
        return finalize(reply, renderer, ctx, envelope, etag).send(Readable.from([]));
      }
      // From here the export is background work: other requests no longer wait for it, it yields to them.
      request.leaveForeground?.();
      body = await renderer.stream(envelope, rows, view.foreground ? { ...ctx, yieldTo: view.foreground.yieldTo } : ctx);
      request.exportCount = rows.count;
    } catch (error) {
      await rows.close();
      release();
      throw error;
    }
    return finalize(reply, renderer, ctx, envelope, etag).send(body);
  }

  /** Content-Type and the ETag, and for file formats (ours) the attachment name and the envelope as headers. */
  function finalize(
    reply: FastifyReply, renderer: Renderer, ctx: RenderContext, { count, next, previous }: PageEnvelope, etag: string | null,
  ): FastifyReply {
    reply.type(responseContentType(renderer, ctx.mediaType));
    if (etag) reply.header('etag', etag);
    if (!renderer.download) return reply;
    reply.header('content-disposition', `attachment; filename="${downloadName}.${renderer.download.extension}"`);
    reply.header('x-total-count', String(count));
    // RFC 8288: the same URLs the JSON body would carry in `next` and `previous`.
    const links = [next && `<${next}>; rel="next"`, previous && `<${previous}>; rel="prev"`].filter(Boolean);
    if (links.length > 0) reply.header('link', links.join(', '));
    return reply;
  }

  async function options(request: FastifyRequest, reply: FastifyReply) {
    await initial(request);
    // Ours: metadata is always JSON (the original flattened it into one CSV/XLSX row). DRF renders
    // it with the accepted media type, so `Accept: application/json; indent=2` pretty-prints it.
    const accepted = request.acceptedJson;
    const body = accepted && getIndent(accepted) !== null ? Buffer.from(renderJson(metadata.body, accepted)) : metadataBody;
    return reply.type('application/json').send(body);
  }

  async function methodNotAllowed(request: FastifyRequest) {
    await initial(request);
    throw new MethodNotAllowed(request.method);
  }

  /** Django's APPEND_SLASH: the path without its slash is a 301 to it, query kept as sent, for any method. */
  async function appendSlash(request: FastifyRequest, reply: FastifyReply) {
    const { rawQuery } = splitRequestTarget(request.url);
    const location = rawQuery === '' ? fullPath : `${fullPath}?${rawQuery}`;
    return reply.code(301).header('location', location).type('text/html; charset=utf-8').send('');
  }

  const otherMethods = scope.supportedMethods.filter((m) => !(ALLOWED_METHODS as readonly string[]).includes(m));
  scope.get(path, { onSend: viewHeaders }, list);
  scope.options(path, { onSend: viewHeaders }, options);
  scope.route({ method: otherMethods, url: path, onSend: viewHeaders, handler: methodNotAllowed });
  scope.route({ method: scope.supportedMethods, url: path.replace(/\/$/, ''), handler: appendSlash });
}
