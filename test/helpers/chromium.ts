// A real browser for the tests: the system's Chromium (Debian's `chromium` package, which
// .ci/run installs), driven by playwright-core, which never downloads a browser of its own.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Chromium may be: CHROMIUM_PATH if set, else Debian's and Ubuntu's binaries. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/**
 * The Chromium binary to drive, or why there is none (then the caller skips, saying why).
 * Synchronous, so that a `describe` can be skipped with the reason.
 */
export function findChromium(): { path: string } | { missing: string } {
  const wanted = process.env['CHROMIUM_PATH'];
  if (wanted) return existsSync(wanted) ? { path: wanted } : { missing: `CHROMIUM_PATH=${wanted} does not exist` };
  const path = CANDIDATES.find((candidate) => existsSync(candidate));
  if (path) return { path };
  return { missing: `needs Chromium (apt-get install chromium, or CHROMIUM_PATH); looked at ${CANDIDATES.join(', ')}` };
}

/**
 * Headless Chromium in its sandbox, except as root, where the sandbox cannot start
 * (playwright then passes `--no-sandbox`); the pages it opens are the tests' own, on loopback.
 */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, chromiumSandbox: process.getuid?.() !== 0 });
}
