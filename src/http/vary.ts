/** Adding a field name to a response's `Vary` once, whatever case or form the header already has. */
import type { FastifyReply } from 'fastify';

export function addVary(reply: FastifyReply, field: string): void {
  const current = reply.getHeader('vary');
  const names = (Array.isArray(current) ? current : current === undefined ? [] : [String(current)])
    .flatMap((value) => value.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '' && name.toLowerCase() !== field.toLowerCase());
  reply.header('vary', [...names, field].join(', '));
}
