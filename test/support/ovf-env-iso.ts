import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatOvfEnvironment } from '../../installer-ova/guest/ovf-environment.js';
import { runTool } from '../../installer-ova/image/run-tool.js';

/**
 * The CD vSphere attaches for `ovf:transport="iso"`: volume label "OVF ENV", one file
 * ovf-env.xml in the VMware OVF environment format. Made with Debian's xorriso.
 */
export async function makeOvfEnvIso(dir: string, values: Readonly<Record<string, string>>): Promise<string> {
  const content = join(dir, 'ovf-env');
  mkdirSync(content, { recursive: true });
  writeFileSync(join(content, 'ovf-env.xml'), formatOvfEnvironment(values));
  const iso = join(dir, 'ovf-env.iso');
  // Rock Ridge and Joliet keep the lower-case name; plain ISO 9660 would show OVF_ENV.XML;1.
  await runTool('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'OVF ENV', '-r', '-J', '-o', iso, content]);
  return iso;
}
