/**
 * Arguments and usage of the npm commands, one shape for all: `--help`/`-h`
 * prints the usage (npm script, arguments, options, environment read) on
 * stdout and exits 0 having done nothing else; wrong arguments print what is
 * wrong and the usage on stderr and exit 2. Parsing is node:util parseArgs,
 * strict: an unknown option is an error, never an argument.
 */
import { parseArgs } from 'node:util';
import { ConfigSchema } from './config.js';

type EnvName = keyof typeof ConfigSchema.shape;

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder of a string option's value, e.g. `N`. */
  value?: string;
  text: string;
}

export interface ArgSpec {
  readonly name: string;
  readonly text: string;
  readonly optional?: boolean;
}

/** `Args` are the positional arguments, as a tuple when declared inline (see Positionals). */
export interface CommandSpec<Args extends readonly ArgSpec[] = readonly ArgSpec[]> {
  /** The npm script, e.g. `token:create` (`start` for `npm start`). */
  script: string;
  summary: string;
  args?: Args;
  options?: Readonly<Record<string, OptionSpec>>;
  /** The configuration variables it reads; their text is the config schema's description. */
  env: readonly EnvName[];
  /** Lines after the environment, e.g. how it treats an embedded database owned by a running server. */
  notes?: readonly string[];
}

/** The note of every command that opens the database. */
export const EMBEDDED_NOTE = [
  'An embedded DATA_DIR has one owner at a time: while the server runs on it, this command',
  "works through the server's database (what it writes is served at once); otherwise it",
  'owns DATA_DIR for its run, and a server started meanwhile refuses to start.',
];

const HELP: OptionSpec = { type: 'boolean', short: 'h', text: 'print this help and exit' };

const npm = (script: string) => (script === 'start' || script === 'test' ? `npm ${script}` : `npm run ${script}`);

export function usage(spec: CommandSpec): string {
  const options = { ...spec.options, help: HELP };
  const args = (spec.args ?? []).map((a) => (a.optional ? `[${a.name}]` : a.name));
  const optionList = Object.entries(options).map(([name, o]) => ({
    flags: `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`,
    text: o.text,
  }));
  const table = (rows: { flags: string; text: string }[]) => {
    const width = Math.max(...rows.map((r) => r.flags.length));
    return rows.map((r) => `  ${r.flags.padEnd(width)}  ${r.text}`);
  };
  const lines = [
    `usage: ${npm(spec.script)} -- [options]${args.length ? ` ${args.join(' ')}` : ''}`,
    '',
    spec.summary,
  ];
  if (spec.args?.length) lines.push('', 'arguments:', ...table(spec.args.map((a) => ({ flags: a.name, text: a.text }))));
  lines.push('', 'options:', ...table(optionList));
  if (spec.env.length) {
    lines.push(
      '',
      'environment (also read from .env):',
      ...table(spec.env.map((name) => ({ flags: name, text: ConfigSchema.shape[name].description ?? '' }))),
    );
  }
  if (spec.notes?.length) lines.push('', ...spec.notes);
  return `${lines.join('\n')}\n`;
}

/** The positionals of a run, one per declared argument: a required one is a `string`. */
export type Positionals<Args extends readonly ArgSpec[]> = {
  -readonly [K in keyof Args]: Args[K] extends { optional: true } ? string | undefined : string;
};

export type ParsedCommandLine<Args extends readonly ArgSpec[] = readonly ArgSpec[]> =
  | { kind: 'help'; text: string }
  | { kind: 'error'; text: string }
  | { kind: 'run'; values: Record<string, string | boolean | undefined>; positionals: Positionals<Args> };

/** Whether `positionals` fit `spec.args`: every required one given, none past the last. */
function fitsArgs<Args extends readonly ArgSpec[]>(
  positionals: readonly string[],
  spec: CommandSpec<Args>,
): positionals is Positionals<Args> {
  const declared: readonly ArgSpec[] = spec.args ?? [];
  return positionals.length >= declared.filter((a) => !a.optional).length && positionals.length <= declared.length;
}

/** Parses `argv` (the arguments after the script) against `spec`. */
export function parseCommandLine<const Args extends readonly ArgSpec[]>(
  spec: CommandSpec<Args>,
  argv: readonly string[],
): ParsedCommandLine<Args> {
  const options = Object.fromEntries(
    Object.entries({ ...spec.options, help: HELP }).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    return { kind: 'error', text: `${(error as Error).message}\n${usage(spec)}` };
  }
  if (parsed.values.help) return { kind: 'help', text: usage(spec) };
  const { positionals } = parsed;
  if (!fitsArgs(positionals, spec)) {
    const declared: readonly ArgSpec[] = spec.args ?? [];
    const missing = declared.slice(positionals.length).find((a) => !a.optional);
    const problem = missing ? `missing ${missing.name}` : `unexpected argument: ${positionals[declared.length]}`;
    return { kind: 'error', text: `${problem}\n${usage(spec)}` };
  }
  return { kind: 'run', values: parsed.values as Record<string, string | boolean | undefined>, positionals };
}

/** Where a command's help goes (out) and its usage errors (err). */
export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * For an entry point: prints help (exit 0) or the error and usage (exit 2) and returns that
 * exit code, or returns the parsed arguments to run with.
 */
export function commandLineOrExit<const Args extends readonly ArgSpec[]>(
  spec: CommandSpec<Args>,
  argv: readonly string[],
  io: CommandIo = processIo,
): { exitCode: number } | Extract<ParsedCommandLine<Args>, { kind: 'run' }> {
  const parsed = parseCommandLine(spec, argv);
  if (parsed.kind === 'help') {
    io.out(parsed.text);
    return { exitCode: 0 };
  }
  if (parsed.kind === 'error') {
    io.err(parsed.text);
    return { exitCode: 2 };
  }
  return parsed;
}

/** Whole numbers of an option, with a message naming it when not one. */
export function wholeNumber(name: string, raw: string | boolean | undefined, { min = 0 } = {}): number | string {
  const n = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (Number.isSafeInteger(n) && n >= min) return n;
  return `--${name} must be a whole number${min > Number.MIN_SAFE_INTEGER ? ` of at least ${min}` : ''} (got ${JSON.stringify(raw)})`;
}
