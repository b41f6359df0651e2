import type { FastifyError, FastifyInstance } from 'fastify';
import { PcgError } from '../../proto/errors.js';

/** Every error leaves the API as `{code, message}` with the catalogue's status. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | PcgError, request, reply) => {
    let error: PcgError;
    const status = err instanceof PcgError ? undefined : err.statusCode;
    if (err instanceof PcgError) error = err;
    else if (err.validation) error = new PcgError('PCG_ERR_BAD_REQUEST', `${err.validationContext ?? 'body'}${err.message.replace(/^(body|querystring|params|headers)/, '')}`);
    else if (status === 413) error = new PcgError('PCG_ERR_BAD_REQUEST', 'request body too large');
    else if (status !== undefined && status < 500) error = new PcgError('PCG_ERR_BAD_REQUEST', err.message);
    else {
      request.log.error({ err }, 'request failed');
      error = new PcgError('PCG_ERR_INTERNAL', `request ${request.id} failed`);
    }
    void reply.code(error.httpStatus).send({ code: error.code, message: error.message });
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new PcgError('PCG_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
    void reply.code(404).send({ code: error.code, message: error.message });
  });
}
