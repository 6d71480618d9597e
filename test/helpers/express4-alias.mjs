// `node --import ./test/helpers/express4-alias.mjs app.js` runs app.js with `express` resolved to
// Express 4 (the devDependency `express4`), so the examples are tested on Express 4 as written.
import { register } from 'node:module';

const hook = `export async function resolve(specifier, context, next) {
  return next(specifier === 'express' ? 'express4' : specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
