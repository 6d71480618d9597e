/**
 * `mongosess/fastify`: a Fastify 5 plugin that gives every request its session as
 * `request.session`. It imports the main entry by name, so it shares the one MongoSess and
 * connection with it.
 * @packageDocumentation
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import { frameworkSessions, type FrameworkOptions } from './adapters/framework-options.js';
import type { Session } from './adapters/framework-types.js';

export type { MongoSessStore, Session, SessionOptions } from './adapters/framework-types.js';
export type { FrameworkOptions } from './adapters/framework-options.js';

/**
 * The plugin's options: the session options, `store`, and `perRequest(request)`. (Fastify calls
 * a function given as plugin options with the Fastify instance, so per-request options go in
 * `perRequest`.)
 */
export type SessionPluginOptions = FrameworkOptions<FastifyRequest>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's mongosess session (from `mongosess/fastify`). */
    session: Session;
  }
}

function plugin(fastify: FastifyInstance, options: SessionPluginOptions, done: (err?: Error) => void): void {
  let sessions: ReturnType<typeof frameworkSessions<FastifyRequest>>;
  try {
    sessions = frameworkSessions(options);
  } catch (err) {
    done(err as Error);
    return;
  }
  const { optionsFor, open } = sessions;
  fastify.decorateRequest('session', null, []);
  fastify.addHook('onRequest', (request, reply, next) => {
    try {
      request.session = open(request.raw, reply.raw, optionsFor(request));
    } catch (err) {
      next(err as Error);
      return;
    }
    next();
  });
  // The session writes its cookie on the Node response (reply.raw). A Set-Cookie header set on
  // the reply itself (reply.header, @fastify/cookie) would replace it when the head is written,
  // so the session's lines join the reply's before sending.
  fastify.addHook('onSend', (_request, reply, payload, next) => {
    const setCookie = reply.raw.getHeader('set-cookie');
    if (setCookie !== undefined && !reply.raw.headersSent) {
      reply.raw.removeHeader('set-cookie');
      reply.header('set-cookie', [setCookie].flat().map(String));
    }
    next(null, payload);
  });
  done();
}

/**
 * The plugin: `app.register(session, options)` with the options of `new MongoSess(req, res, options)`,
 * plus `store` (whose sessions, `store.session(request.raw, reply.raw, options)`) and
 * `perRequest(request)`. It is not encapsulated (as `fastify-plugin` would mark it), so
 * `request.session` exists in every route of the instance it is registered on. Connect the store
 * (`MongoSess.connect()`) before serving.
 */
export const session: FastifyPluginCallback<SessionPluginOptions> = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'mongosess',
  [Symbol.for('plugin-meta')]: { name: 'mongosess', fastify: '5.x' },
});
