import type { GatewayHttpsApp } from '../http/gateway-https-server.js';
import { PcgError } from '../../proto/errors.js';
import { NODE_READY_PATH, type NodeReadinessService } from './node-readiness-service.js';
import type { NodeTokens } from './node-tokens.js';

/**
 * `POST /v1/nodes/ready?token=…` (or `Authorization: Bearer <token>`): a node says it booted.
 * The caller is cloud-init's phone_home module, which posts form fields (instance_id, hostname,
 * fqdn, pub_key_*) as application/x-www-form-urlencoded; JSON is accepted too. The body is not
 * needed to decide anything: the token names the node. 200 `{ok:true}`; a bad token 401
 * PCG_ERR_NODE_TOKEN. Registered in its own scope, so its form parser touches no other route.
 */
export function registerNodeReadyRoute(app: GatewayHttpsApp, tokens: NodeTokens, readiness: NodeReadinessService): void {
  app.register((scope, _options, done) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, parsed) => {
      parsed(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.post<{ Querystring: { token?: string } }>(NODE_READY_PATH, async (request, reply) => {
      const token = bearer(request.headers.authorization) ?? (typeof request.query.token === 'string' ? request.query.token : undefined);
      const node = token ? tokens.verify(token) : undefined;
      if (!node) {
        const error = new PcgError('PCG_ERR_NODE_TOKEN', token ? 'the node token is not valid' : 'no node token: pass ?token= or Authorization: Bearer');
        return reply.code(error.httpStatus).send({ code: error.code, message: error.message });
      }
      readiness.ready(node);
      return reply.code(200).send({ ok: true });
    });
    done();
  });
}

function bearer(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}
