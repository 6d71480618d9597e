import { MongoSessConfigError } from '../edge/errors.js';

/** Small checks shared by the two option resolvers; each throws a MongoSessConfigError. */

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export function fail(message: string): never {
  throw new MongoSessConfigError(`${message}`);
}

export function checkObject(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(`${name} must be an object, got: ${describe(value)}`);
  return value as Record<string, unknown>;
}

export function checkKnownKeys(name: string, options: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) fail(`unknown ${name} option "${key}"; the options are: ${known.join(', ')}`);
  }
}

/**
 * The last instant a cookie's Expires can name (the end of year 9999: HTTP dates have four-digit
 * years) and a BSON date can hold. Durations are added to "now", so they must stay below it.
 */
const LAST_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

export function milliseconds(name: string, value: unknown, fallback: number, { allowZero = true } = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    fail(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of ms, got: ${describe(value)}`);
  }
  const longest = LAST_DATE_MS - Date.now();
  if (value > longest) fail(`${name} must be at most ${longest} ms (a date past the year 9999 is no valid cookie date), got: ${value}`);
  return value;
}

export function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    fail(`${name} must be a positive integer, got: ${describe(value)}`);
  }
  return value;
}

export function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(`${name} must be true or false, got: ${describe(value)}`);
  return value;
}

export function nonEmptyString(name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) fail(`${name} must be a non-empty string, got: ${describe(value)}`);
  return value;
}

export function oneOf<T extends string>(name: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!choices.includes(value as T)) {
    fail(`${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got: ${describe(value)}`);
  }
  return value as T;
}

export function fn<T>(name: string, value: unknown, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') fail(`${name} must be a function, got: ${describe(value)}`);
  return value as T;
}

/** One option: its default, and the check that turns a given value (or undefined) into a resolved one. */
export interface OptionSpec<T> {
  readonly default: T;
  read(name: string, value: unknown): T;
}

/** An option entry from a default and one of the checks above (each takes name, value, fallback). */
export function option<T>(fallback: T, check: (name: string, value: unknown, fallback: T) => T): OptionSpec<T> {
  return { default: fallback, read: (name, value) => check(name, value, fallback) };
}

/** An option passed through as given (checked later, with the options it depends on). */
export function raw<T>(): OptionSpec<T | undefined> {
  return { default: undefined, read: (_name, value) => value as T | undefined };
}

type Resolved<Table> = { -readonly [K in keyof Table]: Table[K] extends OptionSpec<infer T> ? T : never };

/**
 * Reads an options object against its table: unknown names are refused (listing the known
 * ones), and each option is checked, or given its default. The table is the one list of names.
 */
export function readOptions<Table extends Record<string, OptionSpec<unknown>>>(
  label: string,
  input: unknown,
  table: Table,
): Resolved<Table> {
  const options = checkObject(`${label} options`, input);
  const names = Object.keys(table);
  checkKnownKeys(label, options, names);
  const resolved: Record<string, unknown> = {};
  for (const name of names) resolved[name] = table[name]?.read(name, options[name]);
  return resolved as Resolved<Table>;
}
