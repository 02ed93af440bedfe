/**
 * The parts of a list view's OpenAPI document that describe transport rather than data (ours):
 * conditional GET as rest/conditional.ts answers it (the `If-None-Match` header, the `ETag` of a
 * 200, the bodiless 304) and response compression, which is no parameter and so only a note.
 */
import { ETAG_PATTERN } from './conditional.js';
import { VIEW_HEADERS } from './list-view.js';
import type { JsonSchema } from './openapi-schemas.js';

/** What the app's compression does, for the note; absent when compression is off. */
export interface CompressionDescription {
  /** Content codings in the service's order of preference on a tie. */
  encodings: readonly string[];
  /** Bodies below this many bytes go out as they are. */
  threshold: number;
  /** The view's response media types that are compressed. */
  mediaTypes: readonly string[];
}

export const IF_NONE_MATCH = 'IfNoneMatch';
export const ETAG = 'ETag';
export const NOT_MODIFIED = 'NotModified';

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

export const ifNoneMatchParameter: JsonSchema = {
  name: 'If-None-Match', in: 'header',
  description: 'The `ETag` of an earlier 200 (or a list of tags, or `*`): while the data has not changed, the answer ' +
    'is a 304 without a body. Compared weakly (RFC 9110 §13.1.2); members that are not entity-tags are ignored.',
  schema: { type: 'string' },
};

export const etagHeader: JsonSchema = {
  description: 'A weak validator: the data version, then a digest of the request as parsed (filters, ordering, page, ' +
    'page size, format and media type). Every spelling of one request shares it; any committed write changes it.',
  schema: { type: 'string', pattern: ETAG_PATTERN },
};

/** The 304 (RFC 9110 §15.4.5): no body, no Content-Length; the tag, and the view's own headers. */
export const notModifiedResponse: JsonSchema = {
  description: '`If-None-Match` matched: the 200 would be the one the client holds. No body.',
  headers: {
    ETag: ref('headers', ETAG),
    Vary: { description: `\`${VIEW_HEADERS.vary}\`, as on every answer of the view.`, schema: { type: 'string' } },
  },
};

/** One sentence for the operation's description: compression changes the bytes on the wire, nothing else. */
export function compressionNote({ encodings, threshold, mediaTypes }: CompressionDescription): string {
  const list = (items: readonly string[]) => items.map((i) => `\`${i}\``).join(', ');
  return `Bodies in ${list(mediaTypes)} of ${threshold} bytes or more are compressed with ${list(encodings)} ` +
    `as \`Accept-Encoding\` prefers (\`Content-Encoding\`, \`Vary: Accept-Encoding\`); other media types never. ` +
    'The `ETag` is the same compressed or not.';
}

export const conditionalRefs = {
  parameter: ref('parameters', IF_NONE_MATCH),
  etag: ref('headers', ETAG),
  notModified: ref('responses', NOT_MODIFIED),
};
