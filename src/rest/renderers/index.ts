/**
 * The renderer interface and the ordered list content negotiation chooses from.
 * Port of DRF `renderers.py` `BaseRenderer` and of `APIView.renderer_classes`.
 */
import type { Negotiable } from '../negotiation.js';
import { jsonRenderer } from './json.js';

/** What a renderer learns from negotiation: the accepted media type and its parameters. */
export interface RenderContext {
  /** DRF's `accepted_media_type`, e.g. `application/json; indent=2`. */
  mediaType: string;
  /** Its parameters, names lower-cased (e.g. `{ indent: '2' }`). */
  params: Readonly<Record<string, string>>;
}

export interface Renderer extends Negotiable {
  readonly mediaType: string;
  /** The `?format=` value that selects this renderer. */
  readonly format: string;
  /** Appended to Content-Type when set; null for JSON, which has no charset parameter (RFC 4627). */
  readonly charset: string | null;
  readonly alsoAccepts?: readonly string[];
  render(data: unknown, ctx: RenderContext): Buffer | string;
}

/** Content-Type as DRF's `Response.rendered_content` builds it from the renderer, not the Accept. */
export function contentTypeOf(renderer: Pick<Renderer, 'mediaType' | 'charset'>): string {
  return renderer.charset ? `${renderer.mediaType}; charset=${renderer.charset}` : renderer.mediaType;
}

/** In preference order: the first is chosen for `*\/*` and shown first in OPTIONS `renders`. */
export const renderers: readonly Renderer[] = [jsonRenderer];
