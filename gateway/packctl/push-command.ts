import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { PcgError } from '../../proto/errors.js';
import { readPackArchive, type PackArchive } from '../../proto/packs/pack-archive.js';
import { buildPack } from '../../proto/packs/pack-builder.js';
import type { PackView } from './pack-view.js';
import { packScope, withRegistry, type PackctlGlobals } from './packctl-context.js';
import { progressBar } from './push-progress.js';

export interface PushOptions {
  readonly force?: boolean;
  readonly message?: string;
}

/**
 * `packctl push DIR|ZIP`: checks the pack here first, with the registry's own checks (a refused
 * pack never leaves the machine), then streams it with `?name=` so the registry authorises the
 * push against that pack's repository before reading the body.
 */
export async function pushCommand(target: string, options: PushOptions, globals: PackctlGlobals): Promise<void> {
  let info;
  try {
    info = await stat(target);
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `${target}: no such folder or zip`, { cause: err });
  }
  let archive: PackArchive;
  let body: () => Readable;
  if (info.isDirectory()) {
    const built = await buildPack(target);
    archive = built.archive;
    body = () => Readable.from([built.zip]);
  } else {
    archive = await readPackArchive({ path: target });
    body = () => createReadStream(target);
  }
  const { name, version } = archive.manifest;
  const label = `${name}:${version}`;
  const query = new URLSearchParams({ name });
  if (options.force) query.set('force', 'true');
  if (options.message !== undefined) query.set('message', options.message);
  await withRegistry(globals, [packScope(name, 'pull', 'push')], async (client) => {
    if (!process.stderr.isTTY) process.stderr.write(`pushing ${label} (${archive.size} bytes, ${archive.digest}) to ${client.options.origin}\n`);
    const response = await client.request('POST', `/v1/packs?${query.toString()}`, {
      body: body().pipe(progressBar(archive.size, `pushing ${label}`)),
      headers: { 'content-type': 'application/zip', 'content-length': String(archive.size), accept: 'application/json' },
    });
    const pack = (await response.body.json()) as PackView;
    const tags = pack.tags.length > 0 ? ` tags: ${pack.tags.join(', ')}` : '';
    process.stdout.write(`${response.status === 201 ? 'pushed' : 'unchanged'} ${pack.name}:${pack.version} ${pack.digest}${tags}\n`);
  });
}
