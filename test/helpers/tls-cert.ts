// A throwaway self-signed certificate for 127.0.0.1, made at test time with the openssl CLI.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsMaterial } from './session-app.js';

/** The certificate and its key, or the reason none could be made (no openssl CLI). */
export function selfSignedCertificate(): TlsMaterial | { unavailable: string } {
  if (spawnSync('openssl', ['version'], { stdio: 'ignore' }).status !== 0) {
    return { unavailable: 'the openssl CLI is not on PATH, so no certificate can be made for an https server' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'mongosess-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
