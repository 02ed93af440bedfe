/**
 * The renderer interface: port of DRF `renderers.py` `BaseRenderer`. Its own module so that the
 * renderers (json, csv, xlsx) and the list of them (index.ts) both depend on it, not on each other.
 */
import type { Readable } from 'node:stream';
import type { Negotiable } from '../negotiation.js';
import type { CompiledField } from '../../resource/declaration.js';

/** The page envelope of `PageNumberPagination.get_paginated_response`, minus its rows. */
export interface PageEnvelope {
  count: number;
  next: string | null;
  previous: string | null;
}

/** One result row: field name → value, keys in output order. */
export type Row = Readonly<Record<string, unknown>>;

/** What a renderer learns from negotiation: the accepted media type and its parameters. */
export interface RenderContext {
  /** DRF's `accepted_media_type`, e.g. `application/json; indent=2`. */
  mediaType: string;
  /** Its parameters, names lower-cased (e.g. `{ indent: '2' }`). */
  params: Readonly<Record<string, string>>;
  /** Columns of the tabular formats, in output order: the declaration's fields. */
  fields?: readonly CompiledField[];
  /** What the rows are called (`customers`): the download's file name and the sheet's name. */
  title?: string;
}

/** A format the database can write rows in (resource/csv-sql.ts), with the renderer's options. */
export interface DatabaseRowFormat {
  readonly kind: 'csv';
  readonly formulaGuard: boolean;
}

export interface Renderer extends Negotiable {
  readonly mediaType: string;
  /** The `?format=` value that selects this renderer. */
  readonly format: string;
  /** Appended to Content-Type when set; null for JSON, which has no charset parameter (RFC 4627). */
  readonly charset: string | null;
  readonly alsoAccepts?: readonly string[];
  readonly formatAliases?: readonly string[];
  render(data: unknown, ctx: RenderContext): Buffer | string | Promise<Buffer | string>;
  /**
   * Ours (`limit=all`): the envelope and every batch of `rows` as bytes. The stream pulls the next
   * batch only when the client has taken the last one, and destroying it ends the iteration.
   */
  stream?(envelope: PageEnvelope, rows: AsyncIterable<readonly Row[]>, ctx: RenderContext): Readable;
  /**
   * Ours (`limit=all`): set when the database can write this format's rows itself (COPY, several
   * times faster than rows through Node); `streamBytes` then frames those bytes as the body.
   */
  readonly databaseRows?: DatabaseRowFormat;
  streamBytes?(envelope: PageEnvelope, bytes: Readable, ctx: RenderContext): Readable;
  /**
   * Set for file formats (ours): the response is an attachment `<title>.<extension>`, and since
   * its body has no room for the page envelope, count and links travel in headers.
   */
  readonly download?: { readonly extension: string };
}

/** Content-Type as DRF's `Response.rendered_content` builds it from the renderer, not the Accept. */
export function contentTypeOf(renderer: Pick<Renderer, 'mediaType' | 'charset'>): string {
  return renderer.charset ? `${renderer.mediaType}; charset=${renderer.charset}` : renderer.mediaType;
}

/**
 * Ours: a renderer chosen through one of its `alsoAccepts` types answers with that type when the
 * client named it (`…spreadsheetml.sheet`); otherwise, as in DRF, with its own.
 */
export function responseContentType(renderer: Renderer, acceptedMediaType: string): string {
  const accepted = acceptedMediaType.split(';')[0]!.trim().toLowerCase();
  return renderer.alsoAccepts?.find((type) => type.toLowerCase() === accepted) ?? contentTypeOf(renderer);
}
