import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import { BlobFileStream } from './blob-file-stream.js';
import type { Digest } from './content-store.js';
import { parseChunkRange, parseRange, uploadRange } from './http-range.js';
import { blobPath, queryValue, uploadPath, type OciContext, type OciHandler } from './oci-context.js';
import { isRepositoryName, isSha256Digest, looksLikeDigest } from './oci-grammar.js';
import type { OciEndpoint } from './oci-request-path.js';
import { RegistryError } from './registry-error.js';

type Endpoint<K extends OciEndpoint['kind']> = Extract<OciEndpoint, { kind: K }>;

const OCTET_STREAM = 'application/octet-stream';

/** A digest named by a client: malformed is DIGEST_INVALID; another algorithm can never be here. */
function requestedDigest(value: string | undefined, unknown: 'BLOB_UNKNOWN' | 'DIGEST_INVALID'): Digest {
  // A sha256 digest must be 64 lowercase hex characters (image spec, "Digests"); other algorithms just are not here.
  if (value === undefined || !looksLikeDigest(value) || (value.startsWith('sha256:') && !isSha256Digest(value))) throw new RegistryError('DIGEST_INVALID', `"${value ?? ''}" is not a digest`, { detail: { digest: value ?? null } });
  if (!isSha256Digest(value)) throw new RegistryError(unknown, `only sha256 digests are stored here, not ${value}`, { detail: { digest: value } });
  return value;
}

/** Whether the request carries a body (a final chunk on PUT, a blob on POST). */
const hasBody = (request: FastifyRequest): boolean =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? '0') > 0;

/** GET / HEAD /v2/<name>/blobs/<digest>, with single byte ranges (206, or 416 beyond the end). */
export const getBlob: OciHandler<Endpoint<'blob'>> = async (ctx, { name, digest }, request, reply) => {
  const wanted = requestedDigest(digest, 'BLOB_UNKNOWN');
  const info = await ctx.options.store.statBlob(name, wanted);
  if (!info) throw new RegistryError('BLOB_UNKNOWN', `blob ${wanted} is not in ${name}`, { detail: { digest: wanted } });
  void reply.header('docker-content-digest', info.digest).header('accept-ranges', 'bytes').type(OCTET_STREAM);
  const range = parseRange(request.headers.range, info.size);
  if (range === 'unsatisfiable') {
    void reply.code(416).header('content-range', `bytes */${info.size}`);
    throw new RegistryError('BLOB_UNKNOWN', `range ${request.headers.range} is beyond the blob's ${info.size} bytes`, { status: 416, detail: { size: info.size } });
  }
  if (range) void reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
  const length = range ? range.end - range.start + 1 : info.size;
  void reply.header('content-length', length);
  if (request.method === 'HEAD' || length === 0) return reply.send();
  const stream = ctx.options.store.readBlob(name, info.digest, range);
  if (!(stream instanceof BlobFileStream)) return reply.send(stream);
  return sendBlobFile(stream, wanted, reply);
};

/**
 * Sends a blob file past fastify's stream piping, so its buffers can be reused (BlobFileStream).
 * The file is opened before the reply is taken over: a blob collected since its stat is still a
 * 404 with an error body. After the headers are out, a failure can only cut the connection.
 */
async function sendBlobFile(stream: BlobFileStream, digest: Digest, reply: FastifyReply): Promise<FastifyReply> {
  try {
    await stream.openFile();
  } catch (err) {
    stream.destroy();
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is no longer stored`, { detail: { digest } });
    throw err;
  }
  reply.hijack();
  const res = reply.raw;
  res.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  try {
    await stream.sendTo(res);
  } catch {
    res.destroy();
  }
  return reply;
}

/** DELETE /v2/<name>/blobs/<digest>: 202, the bytes go at the next collection. */
export const deleteBlob: OciHandler<Endpoint<'blob'>> = async (ctx, { name, digest }, _request, reply) => {
  const wanted = requestedDigest(digest, 'BLOB_UNKNOWN');
  if (!(await ctx.options.store.deleteBlob(name, wanted))) throw new RegistryError('BLOB_UNKNOWN', `blob ${wanted} is not in ${name}`, { detail: { digest: wanted } });
  return reply.code(202).header('content-length', 0).send();
};

/**
 * POST /v2/<name>/blobs/uploads/: a mount (`?mount=&from=`: 201 when `from` has the blob and
 * the pusher may read it, else an upload as if no mount was asked), a monolithic push
 * (`?digest=`: 201), or a new upload session (202 with its Location).
 */
export const postUpload: OciHandler<Endpoint<'uploads'>> = async (ctx, { name }, request, reply) => {
  const { store } = ctx.options;
  const mount = queryValue(request, 'mount');
  const from = queryValue(request, 'from');
  if (mount !== undefined && from !== undefined) {
    const digest = requestedDigest(mount, 'DIGEST_INVALID');
    if (isRepositoryName(from) && ctx.canPull(from) && await store.mountBlob(name, from, digest)) {
      return created(reply, name, digest);
    }
  }
  const digest = queryValue(request, 'digest');
  if (digest !== undefined && mount === undefined) {
    const expected = requestedDigest(digest, 'DIGEST_INVALID');
    const info = await store.putBlob(name, request.raw, expected);
    return created(reply, name, info.digest);
  }
  if (hasBody(request)) request.raw.resume(); // a body without ?digest= means nothing: drained, not stored
  const id = await store.startUpload(name);
  return uploadAccepted(reply.code(202), name, id, 0);
};

/** GET /v2/<name>/blobs/uploads/<id>: 204 with where the upload stands. */
export const getUpload: OciHandler<Endpoint<'upload'>> = async (ctx, { name, id }, _request, reply) => {
  const size = await knownUpload(ctx, name, id);
  return uploadAccepted(reply.code(204), name, id, size);
};

/** PATCH /v2/<name>/blobs/uploads/<id>: one chunk, in order (else 416); 202 with the new Range. */
export const patchUpload: OciHandler<Endpoint<'upload'>> = async (ctx, { name, id }, request, reply) => {
  const size = await appendChunk(ctx, name, id, request, await knownUpload(ctx, name, id));
  return uploadAccepted(reply.code(202), name, id, size);
};

/** PUT /v2/<name>/blobs/uploads/<id>?digest=: the optional last chunk, then the blob is verified and stored (201). */
export const putUpload: OciHandler<Endpoint<'upload'>> = async (ctx, { name, id }, request, reply) => {
  let size = await knownUpload(ctx, name, id);
  const expected = requestedDigest(queryValue(request, 'digest'), 'DIGEST_INVALID');
  if (hasBody(request)) size = await appendChunk(ctx, name, id, request, size);
  const info = await ctx.options.store.commitUpload(name, id, expected);
  void size;
  return created(reply, name, info.digest);
};

/** DELETE /v2/<name>/blobs/uploads/<id>: the upload and its bytes are gone (204). */
export const deleteUpload: OciHandler<Endpoint<'upload'>> = async (ctx, { name, id }, _request, reply) => {
  await knownUpload(ctx, name, id);
  await ctx.options.store.cancelUpload(name, id);
  return reply.code(204).send();
};

async function knownUpload(ctx: OciContext, name: string, id: string): Promise<number> {
  const size = /^[0-9a-f-]{36}$/.test(id) ? await ctx.options.store.uploadSize(name, id) : undefined;
  if (size === undefined) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `no upload ${id} in ${name}`, { detail: { uploadId: id } });
  return size;
}

/** Appends the request body; a Content-Range must start where the upload ends and match the body's length (else 416). */
async function appendChunk(ctx: OciContext, name: string, id: string, request: FastifyRequest, size: number): Promise<number> {
  const range = parseChunkRange(request.headers['content-range']);
  const outOfOrder = (why: string): RegistryError => new RegistryError('BLOB_UPLOAD_INVALID', why, { status: 416, detail: { size } });
  if (range === 'invalid') throw outOfOrder(`Content-Range "${request.headers['content-range']}" is not <start>-<end>`);
  if (range && range.start !== size) throw outOfOrder(`chunk starts at ${range.start}, the upload has ${size} bytes`);
  const length = request.headers['content-length'];
  if (range && length !== undefined && Number(length) !== range.end - range.start + 1) {
    throw outOfOrder(`Content-Range ${range.start}-${range.end} is ${range.end - range.start + 1} bytes, Content-Length is ${length}`);
  }
  return ctx.options.store.appendUpload(name, id, request.raw, size);
}

function uploadAccepted(reply: FastifyReply, name: string, id: string, size: number): FastifyReply {
  return reply.header('location', uploadPath(name, id)).header('docker-upload-uuid', id).header('range', uploadRange(size))
    .header('content-length', 0).send();
}

function created(reply: FastifyReply, name: string, digest: Digest): FastifyReply {
  return reply.code(201).header('location', blobPath(name, digest)).header('docker-content-digest', digest).header('content-length', 0).send();
}
