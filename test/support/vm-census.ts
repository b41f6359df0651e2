import { containerViewObjectSpec, retrieveProperties, withContainerView } from '../../gateway/vsphere/property-collector.js';
import { text } from '../../gateway/vsphere/soap-xml.js';
import { VimSession } from '../../gateway/vsphere/vim-session.js';
import type { Vcsim } from './vcsim-fixture.js';

export interface CensusVm {
  readonly id: string;
  readonly name: string;
  readonly instanceUuid: string;
  readonly powerState: string;
  readonly template: boolean;
  /** guestinfo.* keys present in extraConfig. */
  readonly guestinfo: readonly string[];
}

/**
 * The test's own look at vcsim: every VM with its name, instance UUID and power state, read with
 * a session and a property query of its own — never through the gateway's view of itself.
 */
export async function vmCensus(vcsim: Vcsim): Promise<CensusVm[]> {
  const session = await VimSession.login(vcsim.connection());
  try {
    return await session.renewable((scope) => withContainerView(scope, scope.content.rootFolder, ['VirtualMachine'], async (view) => {
      const objects = await retrieveProperties(scope, [{ type: 'VirtualMachine', paths: ['name', 'config.instanceUuid', 'runtime.powerState', 'config.template', 'config.extraConfig'] }], containerViewObjectSpec(view));
      return objects.map((o) => {
        const extra = (o.props['config.extraConfig'] as { OptionValue?: unknown } | undefined)?.OptionValue;
        const keys = (Array.isArray(extra) ? extra : extra ? [extra] : []).map((x) => text((x as { key: unknown }).key)).filter((k) => k.startsWith('guestinfo.'));
        return {
          id: o.obj.value, name: text(o.props.name), instanceUuid: text(o.props['config.instanceUuid']), powerState: text(o.props['runtime.powerState']),
          template: text(o.props['config.template']) === 'true', guestinfo: keys,
        };
      });
    }));
  } finally {
    await session.close();
  }
}
