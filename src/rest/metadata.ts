/**
 * Port of DRF's `SimpleMetadata` (`rest_framework/metadata.py`) as Akinon's `metadata_class`
 * varies it: no `description`, `actions.GET` instead of POST/PUT, and django-filter's
 * `filters`. Built once from the compiled declaration; replaceable like any DRF policy.
 */
import type { CompiledField, CompiledFilter, CompiledResource } from '../resource/declaration.js';
import { renderJson } from './renderers/json.js';

/** DRF's DEFAULT_PARSER_CLASSES: JSONParser, FormParser, MultiPartParser. */
export const DRF_DEFAULT_PARSES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'] as const;

export interface FieldInfo {
  type: string;
  required: boolean;
  read_only: boolean;
  label: string;
  help_text?: string;
  min_length?: number;
  max_length?: number;
  min_value?: number;
  max_value?: number;
}

export interface FilterInfo {
  label: string;
  field_name: string;
  type: string;
  lookup_expr: string[];
  extra: Record<string, unknown>;
}

export interface OptionsBody {
  name: string;
  renders: string[];
  parses: string[];
  actions: { GET: Record<string, FieldInfo> };
  filters: FilterInfo[];
}

/** What the view's OPTIONS handler needs: the body, and the same body pre-rendered compactly. */
export interface Metadata {
  readonly body: OptionsBody;
  /** DRF JSONRenderer output: compact, non-ASCII raw, U+2028/U+2029 escaped. */
  readonly json: string;
}

export interface MetadataOptions {
  /** `renderer.media_type` of each renderer, in the view's order. */
  renders: readonly string[];
  parses?: readonly string[];
}

/**
 * `get_field_info`: `type` and `required` always, then the optional attributes in DRF's order,
 * each only when set (DRF skips `None` and `''`; `read_only` and `label` are always set).
 */
export function fieldInfo(field: CompiledField): FieldInfo {
  const info: FieldInfo = { type: field.type, required: field.required, read_only: field.readOnly, label: field.label };
  if (field.helpText) info.help_text = field.helpText;
  if (field.minLength !== undefined) info.min_length = field.minLength;
  if (field.maxLength !== undefined) info.max_length = field.maxLength;
  if (field.minValue !== undefined) info.min_value = field.minValue;
  if (field.maxValue !== undefined) info.max_value = field.maxValue;
  return info;
}

/** One entry per filter, or per lookup for filters declared `per-lookup` (Akinon lists `id__gt` as "Id Gt"). */
export function filterInfo(filter: CompiledFilter): FilterInfo[] {
  if (filter.kind === 'ordering') {
    return [{
      label: filter.label,
      field_name: filter.param,
      type: filter.type,
      lookup_expr: ['exact'],
      // The ChoiceFilter's field kwargs, as django-filter hands them to the form field.
      extra: { choices: filter.choices.map(([value, label]) => [value, label]), help_text: '', null_label: null, required: false },
    }];
  }
  const entry = (label: string, lookups: string[]): FilterInfo =>
    ({ label, field_name: filter.fieldName, type: filter.type, lookup_expr: lookups, extra: { required: false } });
  if (filter.listing === 'grouped') return [entry(filter.label, filter.lookups.map((l) => l.lookup))];
  return filter.lookups.map((l) => entry(`${filter.label} ${l.lookup.charAt(0).toUpperCase()}${l.lookup.slice(1)}`, [l.lookup]));
}

function freezeDeep<T>(value: T): T {
  if (value && typeof value === 'object') for (const child of Object.values(Object.freeze(value))) freezeDeep(child);
  return value;
}

export function createMetadata(resource: CompiledResource, options: MetadataOptions): Metadata {
  const body: OptionsBody = {
    name: resource.name,
    renders: [...options.renders],
    parses: [...(options.parses ?? DRF_DEFAULT_PARSES)],
    actions: { GET: Object.fromEntries(resource.fields.map((f) => [f.name, fieldInfo(f)])) },
    filters: resource.filters.flatMap(filterInfo),
  };
  return Object.freeze({ body: freezeDeep(body), json: renderJson(body) });
}
