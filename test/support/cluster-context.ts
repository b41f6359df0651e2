/**
 * A minimal JobContext for driving ClusterExecutor directly: an in-memory CallJournal, a
 * NodeReadiness the test controls, checkpoints that can "crash" the run, and a guest agent that
 * plays VMware tools in vcsim (gives powered-on VMs their address). Kept in this one file so the
 * real journal (SQLite) and node-ready server can replace the fakes later.
 */
import { createHmac } from 'node:crypto';
import pino from 'pino';
import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec, Job, NodeSpec } from '../../proto/schemas/jobs.js';
import type { CallJournal, CallRecord, ClusterCa, ClusterKeys, EventLevel, JobContext, NodeReadiness, VsphereOp } from '../../gateway/jobs/job-executor.js';
import { clusterCaOf, createClusterCa } from '../../gateway/nodes/cluster-ca.js';
import { retrieveProperties, containerViewObjectSpec, withContainerView } from '../../gateway/vsphere/property-collector.js';
import { text, toArray } from '../../gateway/vsphere/soap-xml.js';
import { VimSession } from '../../gateway/vsphere/vim-session.js';
import { VmOperations } from '../../gateway/vsphere/vm-operations.js';
import type { Vcsim } from './vcsim-fixture.js';

export const silentLog = pino({ level: 'silent' });

/** The journal's contract in memory: records keyed by (cluster, node, op), written synchronously. */
export class MemoryCallJournal implements CallJournal {
  readonly records = new Map<string, CallRecord>();
  /** Every write in order, for tests that check the write-ahead discipline. */
  readonly writes: string[] = [];
  #now = 0;

  static #key(clusterId: string, node: string, op: VsphereOp): string {
    return `${clusterId}|${node}|${op}`;
  }

  intent(clusterId: string, node: string, op: VsphereOp, jobId: string): void {
    this.writes.push(`intent ${node} ${op}`);
    this.records.set(MemoryCallJournal.#key(clusterId, node, op), { clusterId, node, op, jobId, state: 'intent', task: null, target: null, at: ++this.#now });
  }

  issued(clusterId: string, node: string, op: VsphereOp, task: string): void {
    this.writes.push(`issued ${node} ${op}`);
    this.#update(clusterId, node, op, { state: 'issued', task });
  }

  finished(clusterId: string, node: string, op: VsphereOp, outcome: 'done' | 'failed', target?: string): void {
    this.writes.push(`${outcome} ${node} ${op}`);
    this.#update(clusterId, node, op, { state: outcome, target: target ?? null });
  }

  get(clusterId: string, node: string, op: VsphereOp): CallRecord | undefined {
    return this.records.get(MemoryCallJournal.#key(clusterId, node, op));
  }

  unresolved(clusterId: string): CallRecord[] {
    return [...this.records.values()].filter((r) => r.clusterId === clusterId && (r.state === 'intent' || r.state === 'issued'));
  }

  #update(clusterId: string, node: string, op: VsphereOp, change: Partial<CallRecord>): void {
    const key = MemoryCallJournal.#key(clusterId, node, op);
    const record = this.records.get(key);
    if (!record) throw new Error(`no intent journaled for ${key}`);
    this.records.set(key, { ...record, ...change, at: ++this.#now });
  }
}

// A syntactically fine PEM; nodes in these tests never dial the gateway.
export const TEST_CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTESTTESTTESTTESTTESTTESTTESTwCgYIKoZIzj0EAwIw\nEjEQMA4GA1UEAwwHcGNnLWNhMB4XDTI2MDEwMTAwMDAwMFoXDTM2MDEwMTAwMDAw\n-----END CERTIFICATE-----\n';

/**
 * Readiness the test drives: `report()` marks a node ready; with `autoReady`, the guest agent
 * reports on the node's behalf. Also the executor's ClusterKeys: a real CA per cluster, made once
 * and kept in memory (the state-dir store is tested on its own), pack tokens of their own shape.
 */
export class TestReadiness implements NodeReadiness, ClusterKeys {
  readonly endpoint = { url: 'https://gateway.test:8443', caPem: TEST_CA_PEM };
  readonly #ready = new Set<string>();
  readonly #waiters = new Map<string, Array<() => void>>();
  readonly forgotten: string[] = [];
  /** Clusters whose CA was made (once each), and those forgotten. */
  readonly casMade: string[] = [];
  readonly casForgotten: string[] = [];
  readonly #cas = new Map<string, Promise<ClusterCa>>();
  autoReady = true;

  packReadTokenFor(clusterId: string): string {
    return `${clusterId}.${createHmac('sha256', 'test-pack-token-key').update(clusterId).digest('base64url')}`;
  }

  clusterCa(clusterId: string): Promise<ClusterCa> {
    let ca = this.#cas.get(clusterId);
    if (!ca) {
      this.casMade.push(clusterId);
      ca = createClusterCa(Date.now()).then((made) => clusterCaOf(made.certPem, made.keyPem));
      this.#cas.set(clusterId, ca);
    }
    return ca;
  }

  forgetCluster(clusterId: string): Promise<void> {
    this.casForgotten.push(clusterId);
    this.#cas.delete(clusterId);
    return Promise.resolve();
  }

  tokenFor(clusterId: string, node: string): string {
    return createHmac('sha256', 'test-node-token-key').update(`${clusterId}/${node}`).digest('base64url');
  }

  report(clusterId: string, node: string): void {
    const key = `${clusterId}/${node}`;
    this.#ready.add(key);
    for (const resolve of this.#waiters.get(key) ?? []) resolve();
    this.#waiters.delete(key);
  }

  /** Nodes whose readiness someone is waiting for right now. */
  get waiting(): string[] {
    return [...this.#waiters.keys()];
  }

  isReady(clusterId: string, node: string): boolean {
    return this.#ready.has(`${clusterId}/${node}`);
  }

  waitReady(clusterId: string, node: string, options: { readonly timeoutMs: number; readonly signal: AbortSignal }): Promise<void> {
    const key = `${clusterId}/${node}`;
    if (this.#ready.has(key)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(new PcgError('PCG_ERR_NODE_TIMEOUT', `node ${node} did not report`));
      }, options.timeoutMs);
      const onAbort = (): void => {
        done();
        reject(new PcgError('PCG_ERR_JOB_CANCELLED', 'aborted'));
      };
      const done = (): void => {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', onAbort);
      };
      options.signal.addEventListener('abort', onAbort, { once: true });
      const list = this.#waiters.get(key) ?? [];
      list.push(() => {
        done();
        resolve();
      });
      this.#waiters.set(key, list);
    });
  }

  forget(clusterId: string, node: string): void {
    this.forgotten.push(node);
    this.#ready.delete(`${clusterId}/${node}`);
  }
}

/** Thrown by a checkpoint the test armed: the run stops there as a killed gateway would. */
export class SimulatedCrash extends Error {
  constructor(readonly checkpoint: string) {
    super(`simulated crash at ${checkpoint}`);
  }
}

export interface RecordedEvent {
  readonly step: string;
  readonly message: string;
  readonly node: string | undefined;
  readonly level: EventLevel;
}

export interface TestContextOptions {
  readonly journal: MemoryCallJournal;
  readonly readiness: TestReadiness;
  /** Crash at the n-th time (1-based, default 1) this checkpoint is passed. */
  readonly crashAt?: { readonly checkpoint: string; readonly nth?: number };
  readonly signal?: AbortSignal;
  /** Told every checkpoint passed (e.g. to cancel the job at an exact step). */
  readonly onCheckpoint?: (name: string) => void;
}

export interface TestContext extends JobContext {
  readonly events: RecordedEvent[];
  readonly checkpoints: string[];
}

/**
 * A JobContext around one job. A crash aborts the job's signal too: sibling steps of the run stop
 * at their next step, like the rest of a process that was killed.
 */
export function testContext(job: Job, options: TestContextOptions): TestContext {
  const crash = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, crash.signal]) : crash.signal;
  const events: RecordedEvent[] = [];
  const checkpoints: string[] = [];
  let passes = 0;
  return {
    job, signal, calls: options.journal, readiness: options.readiness, events, checkpoints,
    event: (step, message, o) => events.push({ step, message, node: o?.node, level: o?.level ?? 'info' }),
    checkpoint: (name) => {
      checkpoints.push(name);
      options.onCheckpoint?.(name);
      if (options.crashAt?.checkpoint === name && ++passes === (options.crashAt.nth ?? 1)) {
        const err = new SimulatedCrash(name);
        crash.abort(err);
        throw err;
      }
    },
  };
}

let jobCounter = 0;

export function nodeSpec(name: string, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { name, role: name.startsWith('cp-') ? 'control-plane' : 'worker', cpus: 2, memoryMiB: 2048, diskGiB: 20, ...extra };
}

/** A cluster in vcsim's default model (`Vcsim.start({ template: 1 })`). */
export function clusterSpec(clusterId: string, name: string, nodes: NodeSpec[], overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    clusterId, name, template: 'DC0_H0_VM0', nodes,
    placement: { datacenter: 'DC0', folder: 'vm', computeResource: 'DC0_C0', datastore: 'LocalDS_0', network: 'VM Network' },
    packs: [
      { layer: 'os', registry: 'public', name: 'ubuntu', version: '22.04', values: '' },
      { layer: 'k8s', registry: 'public', name: 'kubernetes', version: '1.29.3', values: 'podCIDR: 10.244.0.0/16\n' },
      { layer: 'cni', registry: 'public', name: 'calico', version: '3.27.0', values: '' },
      { layer: 'csi', registry: 'public', name: 'vsphere-csi', version: '3.1.2', values: '' },
    ],
    ...overrides,
  };
}

export function job(cluster: ClusterSpec, action: Job['action'] = 'apply', kind: Job['kind'] = action === 'delete' ? 'delete' : 'create'): Job {
  return { id: `job_${(++jobCounter).toString().padStart(10, '0')}`, kind, action, attempt: 1, cluster };
}

/**
 * Plays VMware tools and cloud-init in vcsim, which boots nothing: every powered-on VM that has
 * guestinfo.metadata and no address gets one (the static address from its metadata, else a
 * DHCP-like 10.77.x.y) through vcsim's `SET.guest.ipAddress` extraConfig alias, and with
 * `readiness.autoReady` the node reports ready. Runs on a session of its own: never counted as
 * the executor's requests.
 */
export class GuestAgent {
  #stopped = false;
  #loop: Promise<void> | undefined;
  #next = 10;

  private constructor(private readonly session: VimSession, private readonly readiness: TestReadiness) {}

  static async start(vcsim: Vcsim, readiness: TestReadiness, pollMs = 50): Promise<GuestAgent> {
    const agent = new GuestAgent(await VimSession.login(vcsim.connection()), readiness);
    agent.#loop = agent.#run(pollMs);
    return agent;
  }

  async #run(pollMs: number): Promise<void> {
    const ops = new VmOperations(this.session);
    while (!this.#stopped) {
      const vms = await this.session.renewable((scope) => withContainerView(scope, scope.content.rootFolder, ['VirtualMachine'], (view) =>
        retrieveProperties(scope, [{ type: 'VirtualMachine', paths: ['runtime.powerState', 'guest.ipAddress', 'config.extraConfig'] }], containerViewObjectSpec(view))));
      for (const vm of vms) {
        if (text(vm.props['runtime.powerState']) !== 'poweredOn' || text(vm.props['guest.ipAddress']) !== '') continue;
        const extra = Object.fromEntries(toArray((vm.props['config.extraConfig'] as { OptionValue?: unknown } | undefined)?.OptionValue as Array<{ key: unknown; value: unknown }>).map((o) => [text(o.key), text(o.value)]));
        if (!extra['guestinfo.metadata']) continue;
        const metadata = JSON.parse(Buffer.from(extra['guestinfo.metadata'], 'base64').toString('utf8')) as { 'instance-id': string; network?: { ethernets: Record<string, { addresses: string[] }> } };
        const ip = metadata.network ? Object.values(metadata.network.ethernets)[0]!.addresses[0]!.split('/')[0]! : `10.77.${Math.floor(this.#next / 250)}.${(this.#next++ % 250) + 1}`;
        await ops.reconfigureVm(vm.obj, { extraConfig: { 'SET.guest.ipAddress': ip } }).catch(() => undefined);
        if (this.readiness.autoReady) this.#report(extra);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** The node's cluster and name, read back from its phone-home token the way the gateway would. */
  #report(extra: Record<string, string>): void {
    const userdata = Buffer.from(extra['guestinfo.userdata'] ?? '', 'base64').toString('utf8');
    const token = /nodes\/ready\?token=([^\s'"]+)/.exec(userdata)?.[1];
    const owner = token ? this.tokens.get(decodeURIComponent(token)) : undefined;
    if (owner) this.readiness.report(owner.clusterId, owner.node);
  }

  /** Token → (cluster, node), registered by the test for every node it expects (a real server looks tokens up). */
  readonly tokens = new Map<string, { clusterId: string; node: string }>();

  expect(cluster: ClusterSpec): void {
    for (const n of cluster.nodes) this.tokens.set(this.readiness.tokenFor(cluster.clusterId, n.name), { clusterId: cluster.clusterId, node: n.name });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop?.catch(() => undefined);
    await this.session.close();
  }
}

export interface CensusEntry {
  readonly id: string;
  readonly name: string;
  readonly instanceUuid: string;
  readonly powerState: string;
  /** Name of the folder the VM sits in. */
  readonly folder: string;
  readonly extra: Readonly<Record<string, string>>;
}

/**
 * The test's own count of what vcsim holds, with a session and property query of its own (never
 * the executor's view): every VM with its folder, and every VM folder's name.
 */
export async function census(vcsim: Vcsim): Promise<{ vms: CensusEntry[]; folders: string[] }> {
  const session = await VimSession.login(vcsim.connection());
  try {
    return await session.renewable((scope) => withContainerView(scope, scope.content.rootFolder, ['VirtualMachine', 'Folder'], async (view) => {
      const objects = await retrieveProperties(scope, [
        { type: 'VirtualMachine', paths: ['name', 'parent', 'config.instanceUuid', 'runtime.powerState', 'config.extraConfig'] },
        { type: 'Folder', paths: ['name'] },
      ], containerViewObjectSpec(view));
      const folderNames = new Map(objects.filter((o) => o.obj.type === 'Folder').map((o) => [o.obj.value, text(o.props.name)]));
      const vms = objects.filter((o) => o.obj.type === 'VirtualMachine').map((o) => ({
        id: o.obj.value, name: text(o.props.name), instanceUuid: text(o.props['config.instanceUuid']), powerState: text(o.props['runtime.powerState']),
        folder: folderNames.get(text(o.props.parent)) ?? '',
        extra: Object.fromEntries(toArray((o.props['config.extraConfig'] as { OptionValue?: unknown } | undefined)?.OptionValue as Array<{ key: unknown; value: unknown }>).map((x) => [text(x.key), text(x.value)])),
      }));
      return { vms, folders: [...folderNames.values()] };
    }));
  } finally {
    await session.close();
  }
}
