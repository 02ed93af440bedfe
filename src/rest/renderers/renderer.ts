/**
 * The renderer interface: port of DRF `renderers.py` `BaseRenderer`. Its own module so that the
 * renderers (json, csv, xlsx) and the list of them (index.ts) both depend on it, not on each other.
 */
import type { Readable } from 'node:stream';
import type { Negotiable } from '../negotiation.js';
import type { CompiledField } from '../../resource/declaration.js';
import type { ExportSource, Row } from '../../resource/rows.js';

export type { ExportSource, Row } from '../../resource/rows.js';

/** The page envelope of `PageNumberPagination.get_paginated_response`, minus its rows. */
export interface PageEnvelope {
  count: number;
  next: string | null;
  previous: string | null;
}

/** A page as `PageNumberPagination.get_paginated_response` shapes it. */
export interface Page extends PageEnvelope {
  results: readonly Row[];
}

/** What negotiation accepted: the media type and its parameters (DRF's `accepted_media_type`). */
export interface AcceptedMediaType {
  /** e.g. `application/json; indent=2`. */
  mediaType: string;
  /** Its parameters, names lower-cased (e.g. `{ indent: '2' }`). */
  params: Readonly<Record<string, string>>;
}

/** What a renderer is given besides the data (DRF's `renderer_context`). */
export interface RenderContext extends AcceptedMediaType {
  /** Columns of the tabular formats, in output order: the declaration's fields. */
  fields: readonly CompiledField[];
  /** What the rows are called (`customers`): the download's file name and the sheet's name. */
  title: string;
  /**
   * Ours, for a streamed export: asked before each batch it encodes, so that requests someone waits
   * on go first (http/foreground.ts). Nothing to wait for when it returns undefined.
   */
  yieldTo?: () => Promise<void> | undefined;
}

export interface Renderer extends Negotiable {
  readonly mediaType: string;
  /** The `?format=` value that selects this renderer. */
  readonly format: string;
  /** Appended to Content-Type when set; null for JSON, which has no charset parameter (RFC 4627). */
  readonly charset: string | null;
  readonly alsoAccepts?: readonly string[];
  readonly formatAliases?: readonly string[];
  render(page: Page, ctx: RenderContext): Buffer | string | Promise<Buffer | string>;
  /**
   * Ours (`limit=all`): the envelope and every row of the export as bytes. The rows are pulled only
   * as fast as the client takes the bytes, and destroying the stream ends the read. Rejects before
   * any byte when the export cannot start.
   */
  stream(envelope: PageEnvelope, source: ExportSource, ctx: RenderContext): Readable | Promise<Readable>;
  /**
   * Set for file formats (ours): the response is an attachment `<title>.<extension>`, and since
   * its body has no room for the page envelope, count and links travel in headers.
   */
  readonly download?: { readonly extension: string };
  /**
   * Ours: a setting, besides the data and the accepted media type, that changes this renderer's
   * bytes (the CSV formula guard). It is part of the ETag (rest/conditional.ts).
   */
  readonly variant?: string;
  /** Ends what the renderer keeps between requests (the XLSX export's worker threads); the app calls it when it closes. */
  close?(): Promise<void>;
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
  const [type = ''] = acceptedMediaType.split(';', 1);
  const accepted = type.trim().toLowerCase();
  return renderer.alsoAccepts?.find((type) => type.toLowerCase() === accepted) ?? contentTypeOf(renderer);
}
