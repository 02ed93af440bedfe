/**
 * Port of django-filter's `FilterSet` validation (`NumberFilter`, `CharFilter`, `DateTimeFilter`,
 * `OrderingFilter` over Django 3.2 form fields): turns the query into SQL-ready conditions and an
 * ordering, or throws an InvalidQuery whose errors are is django-filter's `{param: [message]}` with
 * every failing filter at once, keys in declaration order.
 */
import { z } from 'zod';
import { decimalDigitValue, isPyWhitespace, pyStrip } from '../lib/python.js';
import { parseDjangoDateTime } from '../lib/timestamp.js';
import { InvalidQuery, type CompiledFilter, type CompiledValueFilter, type Condition, type OrderTerm, type ParsedQuery } from './query.js';

/**
 * Django 3.2's own wording (forms.DecimalField, MaxValueValidator, forms.DateTimeField, ChoiceField,
 * ProhibitNullCharactersValidator).
 */
export const MESSAGES = {
  number: 'Enter a number.',
  // `limit_value` is a Python float formatted by str(); JS's String() agrees for 1e50 ('1e+50').
  maxValue: (limit: string) => `Ensure this value is less than or equal to ${limit}.`,
  dateTime: 'Enter a valid date/time.',
  nullCharacters: 'Null characters are not allowed.',
  invalidChoice: (value: string) => `Select a valid choice. ${value} is not one of the available choices.`,
} as const;

/** `value: undefined` means "no filter", as django-filter skips empty values. */
export type Parsed<T> = { ok: true; value: T | undefined } | { ok: false; message: string };
const none = { ok: true, value: undefined } as const;
const fail = (message: string) => ({ ok: false, message }) as const;

// ---- NumberFilter: forms.DecimalField, then the integer column's int() ----

// libmpdec's limits for Decimal(str) under CPython's exact max context (64-bit): a literal
// whose adjusted exponent exceeds EMAX, or that needs digits below ETINY, is InvalidOperation.
const EMAX = 999_999_999_999_999_999n;
const ETINY = -1_999_999_999_999_999_997n;
const BIGINT_MAX = 2n ** 63n - 1n;
const BIGINT_MIN = -(2n ** 63n);
const DECIMAL = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:e([+-]?\d+))?$/i;

/** CPython `_decimal.numeric_as_ascii`: underscores dropped, non-ASCII digits mapped, anything else fails. */
function decimalAscii(s: string): string | null {
  let out = '';
  for (const ch of s) {
    if (ch === '_') continue;
    // U+0001–U+007F; a non-BMP character starts with a surrogate and compares above.
    if (ch > '\x00' && ch <= '\x7f') out += ch;
    else if (isPyWhitespace(ch)) out += ' ';
    else {
      const digit = decimalDigitValue(ch);
      if (digit === null) return null;
      out += String(digit);
    }
  }
  return out;
}

/** A finite Python Decimal: sign, coefficient digits without leading zeros (`'0'` for zero), exponent. */
interface DecimalParts {
  negative: boolean;
  coefficient: string;
  exponent: bigint;
}

/** `Decimal(value)` as DecimalField.to_python calls it; null when it raises or is not finite. */
function parseDecimal(raw: string): DecimalParts | null {
  const ascii = decimalAscii(pyStrip(raw));
  const m = ascii === null ? null : DECIMAL.exec(ascii);
  if (!m) return null; // also inf/nan/snan: DecimalField.validate rejects non-finite values with the same message
  const [, sign, intPart = '', frac1, frac2, expPart = '0'] = m;
  const frac = frac1 ?? frac2 ?? '';
  const coefficient = (intPart + frac).replace(/^0+/, '') || '0';
  const exponent = BigInt(expPart) - BigInt(frac.length);
  if (exponent < ETINY || exponent + BigInt(coefficient.length) - 1n > EMAX) return null;
  return { negative: sign === '-', coefficient, exponent };
}

/** Digits of the integer part (can be ≤ 0 for a pure fraction). */
const integerDigits = (d: DecimalParts): bigint => BigInt(d.coefficient.length) + d.exponent;

/** The integer part's digits, for a value whose integer part has 1 to a few dozen digits (callers check). */
const integerPart = (d: DecimalParts): string =>
  d.exponent >= 0n ? d.coefficient + '0'.repeat(Number(d.exponent)) : d.coefficient.slice(0, Number(integerDigits(d)));

/** `int(d)` (truncation toward zero), as a bigint, or ±Infinity beyond 19 digits. */
function truncate(d: DecimalParts): bigint | number {
  const intDigits = integerDigits(d);
  if (d.coefficient === '0' || intDigits <= 0n) return 0n;
  if (intDigits > 19n) return d.negative ? -Infinity : Infinity;
  const whole = BigInt(integerPart(d));
  return d.negative ? -whole : whole;
}

/** `d > limit` exactly, for a positive integer limit, without materialising `10**exponent`. */
function exceeds(d: DecimalParts, limit: bigint): boolean {
  if (d.negative || d.coefficient === '0') return false;
  const intDigits = integerDigits(d);
  const limitDigits = BigInt(limit.toString().length);
  if (intDigits !== limitDigits) return intDigits > limitDigits;
  const whole = BigInt(integerPart(d));
  const fractionNonZero = d.exponent < 0n && /[1-9]/.test(d.coefficient.slice(Number(intDigits)));
  return whole > limit || (whole === limit && fractionNonZero);
}

/**
 * `int(Decimal(value))` for an integer column, as a bigint, or ±Infinity when the integer part
 * has more than 19 digits (beyond any bigint); null when Decimal() rejects the value or it is
 * not finite. Never materialises `10**exponent`.
 */
export function parseDecimalInteger(raw: string): bigint | number | null {
  const d = parseDecimal(raw);
  return d && truncate(d);
}

/**
 * django-filter 23.1 `NumberFilter.get_max_validator()` (filters.py) appends
 * `MaxValueValidator(1e50)` to the DecimalField. Python compares the Decimal with the float
 * exactly, so the limit is the double nearest 10**50 (…7629769841091887003294964970946560), and
 * the message prints it as `str(1e50)`, '1e+50'. No lower limit, and filterset generation passes
 * nothing more for a model IntegerField/AutoField (FILTER_FOR_DBFIELD_DEFAULTS has no `extra`):
 * Django 3.2 DecimalField's own DecimalValidator(None, None) only refuses non-finite values.
 */
export const NUMBER_FILTER_MAX = 1e50;
const NUMBER_FILTER_MAX_EXACT = BigInt(NUMBER_FILTER_MAX);

/**
 * A condition on a bigint parameter that compares as arithmetic says: a bound beyond the bigint
 * range becomes an always-false (`> MAX`, `< MIN`) or always-true-for-non-null (`<= MAX`,
 * `>= MIN`) comparison, so PostgreSQL never sees an out-of-range value.
 */
export function integerCondition(column: string, op: Condition['op'], n: bigint | number): Condition {
  const cond = (o: Condition['op'], v: bigint): Condition => ({ column, op: o, value: String(v), sqlType: 'bigint' });
  if (n > BIGINT_MAX) return op === '<' || op === '<=' ? cond('<=', BIGINT_MAX) : cond('>', BIGINT_MAX);
  if (n < BIGINT_MIN) return op === '>' || op === '>=' ? cond('>=', BIGINT_MIN) : cond('<', BIGINT_MIN);
  return cond(op, BigInt(n));
}

/** DecimalField.clean (to_python, validate, run_validators), then the integer column's int(). */
export function parseNumber(raw: string): Parsed<bigint | number> {
  // DecimalField tests emptiness before stripping, so a blank-but-not-empty value is "Enter a number.".
  if (raw === '') return none;
  const d = parseDecimal(raw);
  if (d === null) return fail(MESSAGES.number);
  if (exceeds(d, NUMBER_FILTER_MAX_EXACT)) return fail(MESSAGES.maxValue(String(NUMBER_FILTER_MAX)));
  return { ok: true, value: truncate(d) };
}

// ---- CharFilter: forms.CharField(strip=True) + ProhibitNullCharactersValidator ----

export function parseText(raw: string): Parsed<string> {
  const value = pyStrip(raw);
  if (value === '') return none;
  // PostgreSQL text cannot hold NUL; Django refuses it before the query is built.
  if (value.includes('\0')) return fail(MESSAGES.nullCharacters);
  return { ok: true, value };
}

// ---- DateTimeFilter: forms.DateTimeField ----

export function parseDateTime(raw: string): Parsed<string> {
  if (raw === '') return none;
  const value = parseDjangoDateTime(raw);
  return value === null ? fail(MESSAGES.dateTime) : { ok: true, value };
}

// ---- OrderingFilter: BaseCSVField + ChoiceField ----

/**
 * Splits on `,` (BaseCSVWidget) and checks each item as a ChoiceField does, unstripped; the
 * first invalid item is the one named. Empty items are valid and skipped, so `sort=` and
 * `sort=,` both mean the default ordering.
 */
export function parseOrdering(raw: string, terms: ReadonlyMap<string, OrderTerm>): Parsed<OrderTerm[]> {
  if (raw === '') return none;
  const ordering: OrderTerm[] = [];
  for (const item of raw.split(',')) {
    if (item === '') continue;
    const term = terms.get(item);
    if (!term) return fail(MESSAGES.invalidChoice(item));
    ordering.push(term);
  }
  return ordering.length ? { ok: true, value: ordering } : none;
}

/**
 * **ours**: the original leaves ties to PostgreSQL. Unless the ordering already holds the primary
 * key, append it in the direction of the last term, so `-modified_date` becomes
 * `modified_date DESC, id DESC`: one (modified_date, id) index serves both directions.
 */
export function withTieBreaker(ordering: readonly OrderTerm[], primaryKey: string): OrderTerm[] {
  // Fresh objects: the result is the caller's, never the compiled declaration's.
  const terms = ordering.map((t) => ({ ...t }));
  if (terms.some((t) => t.column === primaryKey)) return terms;
  return [...terms, { column: primaryKey, descending: terms.at(-1)?.descending ?? false }];
}

// ---- The query parser compiled from the declaration ----

type ParamOutput = { condition: Condition } | { ordering: OrderTerm[] } | undefined;

function valueParser(filter: CompiledValueFilter, op: Condition['op']): (raw: string) => Parsed<ParamOutput> {
  const { column, sqlType } = filter;
  const wrap = <T>(r: Parsed<T>, f: (v: T) => Condition): Parsed<ParamOutput> =>
    !r.ok || r.value === undefined ? r as Parsed<never> : { ok: true, value: { condition: f(r.value) } };
  switch (filter.valueKind) {
    case 'number': return (raw) => wrap(parseNumber(raw), (n) => integerCondition(column, op, n));
    case 'text': return (raw) => wrap(parseText(raw), (value) => ({ column, op, value, sqlType }));
    case 'datetime': return (raw) => wrap(parseDateTime(raw), (value) => ({ column, op, value, sqlType }));
  }
}

/**
 * Compiles the filters into one zod object schema (a transform per query parameter) and returns
 * `parseQuery`. Unknown parameters (`page`, `limit`, `format`, anything else) are ignored.
 */
export function createQueryParser(
  filters: readonly CompiledFilter[],
  defaultOrdering: readonly OrderTerm[],
  primaryKey: string,
): (query: ReadonlyMap<string, string>) => ParsedQuery {
  const parsers = new Map<string, (raw: string) => Parsed<ParamOutput>>();
  for (const filter of filters) {
    if (filter.kind === 'ordering') {
      parsers.set(filter.param, (raw) => {
        const r = parseOrdering(raw, filter.terms);
        return !r.ok || r.value === undefined ? r as Parsed<never> : { ok: true, value: { ordering: r.value } };
      });
    } else {
      for (const { param, op } of filter.lookups) parsers.set(param, valueParser(filter, op));
    }
  }
  const params = [...parsers.keys()];

  const QuerySchema = z.object(Object.fromEntries([...parsers].map(([param, parse]) => [
    param,
    z.string().optional().transform((raw, ctx): ParamOutput => {
      if (raw === undefined) return undefined;
      const r = parse(raw);
      if (r.ok) return r.value;
      ctx.issues.push({ code: 'custom', message: r.message, input: raw });
      return z.NEVER;
    }),
  ])));

  return (query) => {
    const input: Record<string, string> = {};
    for (const param of params) {
      const raw = query.get(param);
      if (raw !== undefined) input[param] = raw;
    }
    // No filter at all (page 1 of a BI pull, most of the traffic): nothing to validate.
    if (Object.keys(input).length === 0) return { conditions: [], ordering: withTieBreaker(defaultOrdering, primaryKey) };
    const result = QuerySchema.safeParse(input);
    if (!result.success) {
      const messages = new Map<string, string[]>();
      for (const issue of result.error.issues) {
        const key = String(issue.path[0]);
        messages.set(key, [...(messages.get(key) ?? []), issue.message]);
      }
      // Built in declaration order, whatever order zod or the client used.
      const errors: Record<string, string[]> = {};
      for (const param of params) {
        const list = messages.get(param);
        if (list) errors[param] = list;
      }
      throw new InvalidQuery(errors);
    }
    const conditions: Condition[] = [];
    let ordering: readonly OrderTerm[] = defaultOrdering;
    for (const param of params) {
      const out = result.data[param] as ParamOutput;
      if (out && 'condition' in out) conditions.push(out.condition);
      else if (out) ordering = out.ordering;
    }
    return { conditions, ordering: withTieBreaker(ordering, primaryKey) };
  };
}
