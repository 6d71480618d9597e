/**
 * The Cookie and Set-Cookie header text of the session cookie, byte for byte as the `cookies`
 * package reads and writes it (mongosess 0.4 used that package, and clients rely on its format),
 * without its per-call objects and checks: names, paths and domains are checked once, when the
 * options are resolved, and values are ids and signatures.
 */

const patterns = new Map<string, RegExp>();

/** The cookies package's pattern: the first `name=value` at the start or after a ';' and spaces. */
function patternOf(name: string): RegExp {
  let pattern = patterns.get(name);
  if (!pattern) {
    pattern = new RegExp(`(?:^|;) *${name.replace(/[\^$\\.*+?()[\]{}|]/g, '\\$&')}=([^;]*)`);
    patterns.set(name, pattern);
  }
  return pattern;
}

/** The value of cookie `name` in a Cookie header (one pair of double quotes removed), if present. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const value = patternOf(name).exec(header)?.[1];
  if (value === undefined) return undefined;
  return value[0] === '"' ? value.slice(1, -1) : value;
}

/** One Set-Cookie line: `name=value` and the attributes text (starting with "; "). */
export function setCookieLine(name: string, value: string, attributes: string): string {
  return `${name}=${value}${attributes}`;
}

/**
 * The response's Set-Cookie lines with `line` (and `sigLine`) in place of any earlier ones of the
 * same names: other cookies keep their order, ours come last.
 */
export function withCookies(
  current: number | string | readonly string[] | undefined,
  name: string,
  line: string,
  sigName: string,
  sigLine: string | undefined,
): string[] {
  // Without a signature line, a `<name>.sig` line set by other code stays (as the cookies package kept it).
  const lines = withoutCookies(current, sigLine === undefined ? [name] : [name, sigName]);
  lines.push(line);
  if (sigLine !== undefined) lines.push(sigLine);
  return lines;
}

/** The response's Set-Cookie lines, other than those of the cookies `names`. */
export function withoutCookies(current: number | string | readonly string[] | undefined, names: readonly string[]): string[] {
  if (current === undefined) return [];
  const prefixes = names.map((name) => `${name}=`);
  return (typeof current === 'object' ? current : [String(current)]).filter((existing) => !prefixes.some((p) => existing.startsWith(p)));
}
