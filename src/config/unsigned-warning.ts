import { warning } from '../edge/errors.js';

/** Whether this process was already warned about unsigned cookies in production. */
let warned = false;

/**
 * Without `keys` a client may present any well-formed session id, so fixation defence rests on
 * `regenerate()` alone. Under NODE_ENV=production that is most likely an oversight: say so, once
 * per process. Session options are resolved apart from `connect()` and its `warn`, so this goes
 * to `process.emitWarning` (type 'MongoSessWarning'), where the default `warn` sends its warnings.
 */
export function warnIfUnsignedInProduction(): void {
  if (warned || process.env['NODE_ENV'] !== 'production') return;
  warned = true;
  process.emitWarning(
    warning(
      'sessions are created without keys under NODE_ENV=production, so session cookies are not signed and a ' +
        'client can present any id it likes. Pass keys: [secret] (from a secret store) in the session options.',
    ),
    'MongoSessWarning',
  );
}
