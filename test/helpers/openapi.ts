/**
 * Checking bodies against the OpenAPI document: the document dereferenced by swagger-parser, each
 * response schema compiled by Ajv (draft 2020-12, OpenAPI 3.1's dialect) with formats asserted.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { defaultConfig } from '../../src/config.js';
import { createCustomerOpenApi } from '../../src/customers/customer.openapi.js';
import type { OpenApiDocument } from '../../src/rest/openapi.js';
import { isValidEmail } from '../../src/resource/import-rows.js';

type Node = Record<string, any>;

/** The document the app serves with the default configuration. */
export const customerDocument = (): Promise<OpenApiDocument> => createCustomerOpenApi(defaultConfig());

export interface ResponseValidator {
  /** The response object the document gives for this method, path and status; undefined if none. */
  response(method: string, path: string, status: number): Node | undefined;
  /** Ajv's errors for `body` (null when valid); throws when the document has no schema for it. */
  errors(method: string, path: string, status: number, mediaType: string, body: unknown): unknown[] | null;
  /** Ajv's errors for a response header's value (null when valid); throws when the document does not list the header. */
  headerErrors(method: string, path: string, status: number, name: string, value: unknown): unknown[] | null;
}

export async function createResponseValidator(document: OpenApiDocument): Promise<ResponseValidator> {
  const doc = (await SwaggerParser.dereference(structuredClone(document) as never)) as Node;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // A CommonJS module: its function is also its `default` property, which TypeScript sees.
  formats.default(ajv);
  // RFC 6531 addresses as the importer accepts them (Django's EmailValidator, Unicode local parts).
  ajv.addFormat('idn-email', isValidEmail);
  const compiled = new Map<object, ValidateFunction>();

  function response(method: string, path: string, status: number): Node | undefined {
    const item = doc.paths[path];
    const operation = item?.[method.toLowerCase()];
    if (operation || !item) return operation?.responses[String(status)];
    // A method the view refuses is no operation: 405 once negotiation and authentication have
    // passed, and until then the errors of those checks, as for GET.
    return status === 405 ? doc.components.responses.MethodNotAllowed : status >= 400 ? item.get?.responses[String(status)] : undefined;
  }

  function check(schema: object, value: unknown): unknown[] | null {
    let validate = compiled.get(schema);
    if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
    return validate(value) ? null : (validate.errors ?? []);
  }

  function errors(method: string, path: string, status: number, mediaType: string, body: unknown): unknown[] | null {
    const schema = response(method, path, status)?.content?.[mediaType.split(';')[0]!.trim()]?.schema;
    if (!schema) throw new Error(`the document has no schema for ${method} ${path} ${status} ${mediaType}`);
    return check(schema, body);
  }

  function headerErrors(method: string, path: string, status: number, name: string, value: unknown): unknown[] | null {
    // Header names are case-insensitive; the document spells them as HTTP does (`ETag`).
    const headers = (response(method, path, status)?.headers ?? {}) as Node;
    const schema = Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1]?.schema;
    if (!schema) throw new Error(`the document has no header ${name} for ${method} ${path} ${status}`);
    return check(schema, value);
  }

  return { response, errors, headerErrors };
}
