import { spawn } from 'node:child_process';
import { containerViewObjectSpec, retrieveProperties, withContainerView } from '../../gateway/vsphere/property-collector.js';
import { text, toArray, type MoRef } from '../../gateway/vsphere/soap-xml.js';
import { VimSession, type VcenterConnection } from '../../gateway/vsphere/vim-session.js';
import { VmOperations } from '../../gateway/vsphere/vm-operations.js';
import { Child } from './child.js';

/** Debian's python: cloud-init's modules are installed there, not in a pyenv python3 earlier on PATH. */
const SYSTEM_PYTHON = '/usr/bin/python3';
// Not compiled: resolved in the source tree from dist-*/test/support.
const NODE_PY = new URL('../../../test/fixtures/cloud-init/node.py', import.meta.url).pathname;

/** What cloud-init's VMware datasource and user-data processor made of a VM's guestinfo (node.py decode). */
export interface DecodedGuestinfo {
  /** e.g. `envvar (VMX_GUESTINFO_METADATA)`: the datasource's own name for how it read the data. */
  readonly accessMethod: string;
  /** The metadata without its `network` key. */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly instanceId: string;
  readonly hostname: string;
  readonly fqdn: string;
  readonly network: {
    /** `fallback`: no network in the metadata, a real node would DHCP on its first NIC. */
    readonly source: 'metadata' | 'fallback';
    readonly config: unknown;
    /** cloud-init's parsed network state: one entry per interface, its subnets (static, dhcp4, …). */
    readonly interfaces: ReadonlyArray<{ readonly name: string; readonly macAddress: string | null; readonly subnets: readonly NodeSubnet[] }>;
    readonly nameservers?: readonly string[];
    readonly searchDomains?: readonly string[];
  };
  /** The merged #cloud-config. */
  readonly cloudConfig: Readonly<Record<string, unknown>>;
}

export interface NodeSubnet {
  readonly type: string;
  readonly address?: string;
  readonly prefix?: number;
  readonly netmask?: string;
  readonly gateway?: string;
  readonly dns_nameservers?: readonly string[];
  readonly dns_search?: readonly string[];
}

/** How cloud-init's phone_home module fared (node.py phone-home). */
export interface PhoneHomeReport {
  /** `skipped`: the cloud-config has no phone_home. */
  readonly status: 'posted' | 'failed' | 'skipped';
  readonly attempts: number;
  readonly errors: ReadonlyArray<{ readonly code: number | null; readonly message: string }>;
  /** After $INSTANCE_ID substitution (and the token replaced, for a wrong-token node). */
  readonly url?: string;
  /** The form fields posted. */
  readonly fields?: Readonly<Record<string, string>>;
  /** Tries the module was configured with. */
  readonly tries?: number;
  readonly httpStatus?: number;
  readonly error?: string;
  readonly trustedCaCount?: number;
}

/** extraConfig of the VM: `guestinfo.metadata`, `guestinfo.userdata` and their `.encoding`s. */
export type Guestinfo = Readonly<Record<string, string>>;

export interface PhoneHomeOptions {
  /** Phone home with this token instead of the userdata's (a node holding a stale or foreign token). */
  readonly token?: string;
  /** Seconds between tries. @default 3 (fixed in cloud-init's module) */
  readonly secBetweenTries?: number;
}

/**
 * Runs node.py with `guestinfo` on stdin. `track` owns the child while it runs (close() ends it);
 * the environment is the system's bare minimum: no proxy variable of the test runner may route
 * a node's phone-home elsewhere, and no CA bundle variable may widen what it trusts.
 */
async function runNodePy(args: string[], guestinfo: Guestinfo, track?: Set<Child>): Promise<DecodedGuestinfo & { phoneHome?: PhoneHomeReport }> {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1', ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}) };
  const child = new Child(spawn(SYSTEM_PYTHON, [NODE_PY, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env }));
  track?.add(child);
  try {
    child.proc.stdin?.end(JSON.stringify(guestinfo));
    const code = await child.exited;
    if (code !== 0) throw new Error(`node.py ${args.join(' ')} exited ${code ?? child.signal}: ${child.stderr.trim()}`);
    return JSON.parse(child.stdout) as DecodedGuestinfo & { phoneHome?: PhoneHomeReport };
  } finally {
    track?.delete(child);
  }
}

/** Decodes guestinfo with cloud-init's VMware datasource, without vSphere: for checking userdata in unit tests. */
export function decodeGuestinfo(guestinfo: Guestinfo): Promise<DecodedGuestinfo> {
  return runNodePy(['decode'], guestinfo);
}

/** Runs cloud-init's phone_home module as the userdata in `guestinfo` configures it. */
export async function phoneHome(guestinfo: Guestinfo, options: PhoneHomeOptions = {}, track?: Set<Child>): Promise<PhoneHomeReport> {
  const args = ['phone-home', ...(options.token !== undefined ? ['--token', options.token] : []),
    ...(options.secBetweenTries !== undefined ? ['--sec-between', String(options.secBetweenTries)] : [])];
  const out = await runNodePy(args, guestinfo, track);
  return out.phoneHome!;
}

/** The first static address cloud-init would configure (IPv4 first): what VMware tools would report. */
export function staticAddress(decoded: DecodedGuestinfo): string | undefined {
  const addresses = decoded.network.interfaces.flatMap((i) => i.subnets).filter((s) => s.type.startsWith('static') && s.address).map((s) => s.address!);
  return addresses.find((a) => !a.includes(':')) ?? addresses[0];
}

/** A powered-on VM that carries cloud-init userdata. */
export interface SimulatedVm {
  readonly vm: MoRef;
  readonly name: string;
  readonly instanceUuid: string;
  readonly guestinfo: Guestinfo;
}

/** `silent`: boots and reports its IP, never phones home. `wrong-token`: phones home with `wrongToken`. */
export type NodeBehaviour = 'phone-home' | 'silent' | 'wrong-token';

/**
 * booting → reporting-ip → phoning-home → ready | failed; a silent node stops at `silent`.
 * `ready`: phone-home posted (or the userdata has no phone_home). `failed`: decoding, the IP report
 * or the phone-home failed, or close() ended the node first (`error` says which).
 */
export type NodeState = 'booting' | 'reporting-ip' | 'phoning-home' | 'ready' | 'silent' | 'failed';

/** What the simulator did for one VM, for assertions. */
export interface NodeRecord {
  readonly vm: MoRef;
  readonly name: string;
  readonly instanceUuid: string;
  readonly behaviour: NodeBehaviour;
  state: NodeState;
  decoded?: DecodedGuestinfo;
  /** The address reported as guest.ipAddress. */
  guestIp?: string;
  phoneHome?: PhoneHomeReport;
  error?: string;
}

export interface CloudInitNodeOptions {
  /** A session to use (left open by close()) or a connection to log in with (logged out by close()). */
  readonly vcenter: VimSession | VcenterConnection;
  /** @default 200 */
  readonly pollMs?: number;
  /** The "DHCP lease" of a node without a static address. @default 192.0.2.100, .101, … in discovery order (TEST-NET-1: data, never dialled) */
  readonly ipFor?: (vm: SimulatedVm) => string;
  /** Which VMs this simulator plays (two simulators on one vcsim must not both play a VM). @default every VM */
  readonly select?: (vm: SimulatedVm) => boolean;
  /** @default every node phones home */
  readonly behaviour?: (vm: SimulatedVm) => NodeBehaviour;
  /** @default 'not-the-node-token' */
  readonly wrongToken?: string;
  /** @default cloud-init's 3 s */
  readonly secBetweenTries?: number;
}

export type CloudInitNodeState = 'running' | 'closed';

/**
 * Plays cloud-init on every powered-on vcsim VM that carries `guestinfo.userdata`, once per VM
 * (phone_home runs once per instance): decodes its guestinfo with cloud-init's own code (node.py),
 * reports the guest IP as VMware tools would (vcsim takes `SET.guest.*` extraConfig keys), then
 * phones home as the userdata says.
 */
export class CloudInitNode {
  state: CloudInitNodeState = 'running';
  /** Errors of the property query (e.g. vcsim stopped first); polling goes on. */
  readonly pollErrors: unknown[] = [];
  readonly #records = new Map<string, NodeRecord>();
  readonly #plays = new Set<Promise<void>>();
  readonly #children = new Set<Child>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #dhcpLeases = 0;

  private constructor(
    private readonly session: VimSession,
    private readonly ownsSession: boolean,
    private readonly options: Required<Omit<CloudInitNodeOptions, 'vcenter' | 'secBetweenTries'>> & Pick<CloudInitNodeOptions, 'secBetweenTries'>,
  ) {}

  static async start(options: CloudInitNodeOptions): Promise<CloudInitNode> {
    const owns = !(options.vcenter instanceof VimSession);
    const session = options.vcenter instanceof VimSession ? options.vcenter : await VimSession.login(options.vcenter);
    const node = new CloudInitNode(session, owns, Object.freeze({
      pollMs: options.pollMs ?? 200,
      ipFor: options.ipFor ?? ((): string => `192.0.2.${100 + node.#dhcpLeases++}`),
      select: options.select ?? ((): boolean => true),
      behaviour: options.behaviour ?? ((): NodeBehaviour => 'phone-home'),
      wrongToken: options.wrongToken ?? 'not-the-node-token',
      secBetweenTries: options.secBetweenTries,
    }));
    node.#schedule(0);
    return node;
  }

  /** Every VM handled so far, in discovery order. */
  get nodes(): NodeRecord[] {
    return [...this.#records.values()];
  }

  node(name: string): NodeRecord | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  #schedule(delayMs: number): void {
    if (this.state !== 'running') return;
    this.#timer = setTimeout(() => {
      this.#polling = this.#poll().finally(() => {
        this.#polling = undefined;
        this.#schedule(this.options.pollMs);
      });
    }, delayMs);
  }

  async #poll(): Promise<void> {
    try {
      for (const vm of await this.#poweredOnWithUserdata()) {
        if (this.state !== 'running' || this.#records.has(vm.vm.value) || !this.options.select(vm)) continue;
        const play = this.#play(vm);
        this.#plays.add(play);
        void play.finally(() => this.#plays.delete(play));
      }
    } catch (err) {
      this.pollErrors.push(err);
    }
  }

  /** One property query over a view of every VM: vSphere cannot filter on extraConfig values, so we do. */
  async #poweredOnWithUserdata(): Promise<SimulatedVm[]> {
    const objects = await this.session.renewable((scope) => withContainerView(scope, scope.content.rootFolder, ['VirtualMachine'], (view) =>
      retrieveProperties(scope, [{ type: 'VirtualMachine', paths: ['name', 'runtime.powerState', 'config.instanceUuid', 'config.template', 'config.extraConfig'] }], containerViewObjectSpec(view))));
    return objects.flatMap((o) => {
      const options = toArray((o.props['config.extraConfig'] as { OptionValue?: unknown } | undefined)?.OptionValue as Array<{ key: unknown; value: unknown }> | undefined);
      const guestinfo = Object.fromEntries(options.map((opt) => [text(opt.key), text(opt.value)]).filter(([key]) => key!.startsWith('guestinfo.'))) as Guestinfo;
      const on = text(o.props['runtime.powerState']) === 'poweredOn' && text(o.props['config.template']) !== 'true';
      return on && guestinfo['guestinfo.userdata'] ? [{ vm: o.obj, name: text(o.props.name), instanceUuid: text(o.props['config.instanceUuid']), guestinfo }] : [];
    });
  }

  /** Never rejects: whatever goes wrong ends in the record as `failed` with its error. */
  async #play(vm: SimulatedVm): Promise<void> {
    const record: NodeRecord = { vm: vm.vm, name: vm.name, instanceUuid: vm.instanceUuid, behaviour: this.options.behaviour(vm), state: 'booting' };
    this.#records.set(vm.vm.value, record);
    try {
      const decoded = await runNodePy(['decode'], vm.guestinfo, this.#live());
      record.decoded = decoded;
      record.state = 'reporting-ip';
      const ip = staticAddress(decoded) ?? this.options.ipFor(vm);
      // What VMware tools report once the guest's network is up; the gateway waits for it.
      await new VmOperations(this.session).reconfigureVm(vm.vm, { extraConfig: { 'SET.guest.ipAddress': ip, 'SET.guest.hostName': decoded.hostname } });
      record.guestIp = ip;
      if (record.behaviour === 'silent') {
        record.state = 'silent';
        return;
      }
      record.state = 'phoning-home';
      const token = record.behaviour === 'wrong-token' ? this.options.wrongToken : undefined;
      record.phoneHome = await phoneHome(vm.guestinfo, { token, secBetweenTries: this.options.secBetweenTries }, this.#live());
      record.state = record.phoneHome.status === 'failed' ? 'failed' : 'ready';
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
      record.state = 'failed';
    }
  }

  /** The child registry, or a throw once closing: no node.py may start after close() reaped the others. */
  #live(): Set<Child> {
    if (this.state !== 'running') throw new Error('cloud-init node simulator closed');
    return this.#children;
  }

  /**
   * Idempotent. Stops polling, ends node.py processes still running (a node still retrying its
   * phone-home would otherwise hold close() for tries × 3 s), and waits for every node's work.
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.#timer);
    await this.#polling;
    await Promise.all([...this.#children].map((c) => c.stop()));
    await Promise.all([...this.#plays]);
    if (this.ownsSession) await this.session.close();
  }
}
