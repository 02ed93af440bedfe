/**
 * `Accept-Encoding`'s wildcard spelled out (RFC 9110 §12.5.3): `*` stands for every encoding the
 * header does not name, so `gzip;q=0, *` means "anything but gzip". The result names each
 * supported encoding the wildcard covers, with the wildcard's weight, and no `*`.
 */
export function expandWildcard(header: string, supported: readonly string[]): string {
  const entries = header.split(',').map((entry) => entry.trim()).filter(Boolean);
  const named = new Set(entries.map((entry) => entry.split(';')[0]!.trim().toLowerCase()));
  return entries
    .flatMap((entry) => {
      const [coding, ...params] = entry.split(';');
      if (coding!.trim() !== '*') return [entry];
      const weight = params.length > 0 ? `;${params.join(';')}` : '';
      return supported.filter((encoding) => !named.has(encoding)).map((encoding) => `${encoding}${weight}`);
    })
    .join(', ');
}
