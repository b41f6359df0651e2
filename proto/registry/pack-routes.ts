/**
 * The native pack API, `/v1/packs`, as a fastify plugin over a PackRegistry. Register it without
 * fastify-plugin's skip-override (plain `app.register(packRoutes, {registry, authorize})`): its
 * content-type parsers (raw zip, multipart) and its error handler (which adds a pack refusal's
 * `issues` to the body) then apply to these routes only.
 *
 *   GET    /v1/packs?name=&layer=&cloudType=&limit=&cursor=   list                      pull
 *   POST   /v1/packs?name=&force=&message=                    upload (zip or multipart) push
 *   GET    /v1/packs/:name/:ref                               pack.json, digest, tags   pull
 *   GET    /v1/packs/:name/:ref/archive                       the zip as uploaded       pull
 *   DELETE /v1/packs/:name/:version                           delete a version          delete
 *   GET    /v1/packs/:name/tags[/:tag]                        tags                      pull
 *   PUT    /v1/packs/:name/tags/:tag  {version}               set a label               push
 *   DELETE /v1/packs/:name/tags/:tag                          delete a label            delete
 *
 * `:ref` is a version, a tag or a digest. Uploads are authorised before a byte of the body is
 * read: against `packs/<name>` when `?name=` is given (the pack must then be that name), else
 * against `packs/*`. Bodies stream to a temp file (pack-spool.ts); nothing holds a whole archive.
 */
import multipart from '@fastify/multipart';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { PcgError } from '../errors.js';
import { PackError } from '../packs/pack-error.js';
import { PACK_NAME_PATTERN } from '../packs/pack-manifest.js';
import { packRepository } from './pack-artifact.js';
import type { PackIndexEntry } from './pack-index.js';
import type { PackDetails, PackRegistry } from './pack-registry.js';

export type PackAction = 'pull' | 'push' | 'delete';

/** Throws (PCG_ERR_UNAUTHENTICATED / PCG_ERR_FORBIDDEN) unless the caller may do `action` on `repository`. */
export type PackAuthorizer = (request: FastifyRequest, access: { readonly repository: string; readonly action: PackAction }) => Promise<void> | void;

export interface PackRoutesOptions {
  readonly registry: PackRegistry;
  readonly authorize: PackAuthorizer;
  /** Largest upload body (multipart framing included). @default 134217728 + 65536 */
  readonly maxUploadBytes?: number;
}

const ALL_PACKS = 'packs/*';
const Name = Type.String({ pattern: PACK_NAME_PATTERN, maxLength: 64 });
const Ref = Type.String({ minLength: 1, maxLength: 160 });
const ListQuery = Type.Object({
  name: Type.Optional(Name), layer: Type.Optional(Type.String({ maxLength: 32 })), cloudType: Type.Optional(Type.String({ maxLength: 32 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), cursor: Type.Optional(Type.String({ maxLength: 512 })),
}, { additionalProperties: false });
const UploadQuery = Type.Object({
  name: Type.Optional(Name), force: Type.Optional(Type.Boolean()), message: Type.Optional(Type.String({ maxLength: 1024 })),
}, { additionalProperties: false });
const PackParams = Type.Object({ name: Name, ref: Ref });
const TagParams = Type.Object({ name: Name, tag: Type.String({ minLength: 1, maxLength: 128 }) });
const TagBody = Type.Object({ version: Ref }, { additionalProperties: false });

export async function packRoutes(app: FastifyInstance, options: PackRoutesOptions): Promise<void> {
  const { registry, authorize } = options;
  const maxUploadBytes = options.maxUploadBytes ?? 128 * 1024 * 1024 + 65_536;
  installErrorHandler(app);
  // The raw body is handed on as the request stream: the registry spools it with its own limit.
  app.addContentTypeParser(['application/zip', 'application/octet-stream', 'application/x-zip-compressed'], (_request, payload, done) => done(null, payload));
  await app.register(multipart, { limits: { fileSize: maxUploadBytes, files: 1, fields: 0, parts: 1 } });

  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/packs', { schema: { querystring: ListQuery } }, async (request) => {
    await authorize(request, { repository: request.query.name ? packRepository(request.query.name) : ALL_PACKS, action: 'pull' });
    const page = registry.list(request.query);
    return { items: page.items.map((e) => summary(e, registry.tagsOf(e.name, e.version).filter((t) => t.kind !== 'version').map((t) => t.tag))), nextCursor: page.nextCursor };
  });

  app.post<{ Querystring: Static<typeof UploadQuery> }>('/v1/packs', { schema: { querystring: UploadQuery } }, async (request, reply) => {
    const { name, force, message } = request.query;
    await authorize(request, { repository: name ? packRepository(name) : ALL_PACKS, action: 'push' });
    let stream: NodeJS.ReadableStream;
    if (request.isMultipart()) {
      const part = await request.file();
      if (!part || part.fieldname !== 'file') throw new PcgError('PCG_ERR_BAD_REQUEST', "send the archive as the multipart part named 'file'");
      stream = part.file;
    } else {
      if (request.body === undefined || request.body === null) throw new PcgError('PCG_ERR_BAD_REQUEST', 'send the pack as an application/zip body or a multipart file part');
      stream = request.body as NodeJS.ReadableStream;
    }
    const { pack, created } = await registry.upload({ stream }, { force: force ?? false, message: message ?? null, ...(name ? { expected: { name } } : {}) });
    return reply.code(created ? 201 : 200).header('location', `/v1/packs/${pack.name}/${pack.version}`).send(details(pack));
  });

  app.get<{ Params: Static<typeof TagParams> }>('/v1/packs/:name/tags/:tag', { schema: { params: TagParams } }, async (request) => {
    await authorize(request, { repository: packRepository(request.params.name), action: 'pull' });
    return registry.getTag(request.params.name, request.params.tag);
  });

  app.get<{ Params: { name: string } }>('/v1/packs/:name/tags', { schema: { params: Type.Object({ name: Name }) } }, async (request) => {
    await authorize(request, { repository: packRepository(request.params.name), action: 'pull' });
    return { tags: registry.tagsOf(request.params.name) };
  });

  app.put<{ Params: Static<typeof TagParams>; Body: Static<typeof TagBody> }>('/v1/packs/:name/tags/:tag', { schema: { params: TagParams, body: TagBody } }, async (request) => {
    await authorize(request, { repository: packRepository(request.params.name), action: 'push' });
    return registry.setLabel(request.params.name, request.params.tag, request.body.version);
  });

  app.delete<{ Params: Static<typeof TagParams> }>('/v1/packs/:name/tags/:tag', { schema: { params: TagParams } }, async (request, reply) => {
    await authorize(request, { repository: packRepository(request.params.name), action: 'delete' });
    await registry.deleteTag(request.params.name, request.params.tag);
    return reply.code(204).send();
  });

  app.get<{ Params: Static<typeof PackParams> }>('/v1/packs/:name/:ref', { schema: { params: PackParams } }, async (request) => {
    await authorize(request, { repository: packRepository(request.params.name), action: 'pull' });
    return details(await registry.get(request.params.name, request.params.ref));
  });

  app.get<{ Params: Static<typeof PackParams> }>('/v1/packs/:name/:ref/archive', { schema: { params: PackParams } }, async (request, reply) => {
    await authorize(request, { repository: packRepository(request.params.name), action: 'pull' });
    const entry = registry.resolve(request.params.name, request.params.ref);
    const etag = `"${entry.archiveDigest}"`;
    void reply.header('docker-content-digest', entry.archiveDigest).header('etag', etag)
      .header('content-disposition', `attachment; filename="${entry.name}-${entry.version}.zip"`);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/zip').header('content-length', entry.archiveSize).send(registry.openArchive(entry));
  });

  app.delete<{ Params: Static<typeof PackParams> }>('/v1/packs/:name/:ref', { schema: { params: PackParams } }, async (request, reply) => {
    await authorize(request, { repository: packRepository(request.params.name), action: 'delete' });
    await registry.delete(request.params.name, request.params.ref);
    return reply.code(204).send();
  });
}

/** A list item: what the index holds. */
function summary(e: PackIndexEntry, tags: readonly string[]) {
  return {
    name: e.name, version: e.version, displayName: e.displayName, layer: e.layer, cloudTypes: e.cloudTypes, addonType: e.addonType,
    digest: e.archiveDigest, size: e.archiveSize, manifestDigest: e.manifestDigest, message: e.message, tags,
  };
}

function details(pack: PackDetails) {
  return { ...summary(pack, pack.tags), pack: pack.manifest };
}

/** `{code, message}` with the catalogue's status; a pack refusal adds its `issues`. */
function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | PcgError, request, reply) => {
    let error: PcgError;
    if (err instanceof PcgError) error = err;
    else if (err.code === 'FST_REQ_FILE_TOO_LARGE') error = new PackError('PCG_ERR_PACK_TOO_LARGE', [{ rule: 'archive-size', message: 'the upload is above the size limit' }]);
    else if (err.validation !== undefined || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
      error = new PcgError('PCG_ERR_BAD_REQUEST', err.message);
    } else {
      request.log.error({ err, method: request.method, route: request.routeOptions.url }, 'pack API request failed');
      error = new PcgError('PCG_ERR_INTERNAL', `request ${request.id} failed`);
    }
    const body: Record<string, unknown> = { code: error.code, message: error.message };
    if (error instanceof PackError) body.issues = error.issues;
    void reply.code(error.httpStatus).send(body);
  });
}
