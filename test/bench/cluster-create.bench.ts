/**
 * Cluster create benchmark (issue 9, benchmarks item 2): clusters of 3 and 30 nodes (1 control
 * plane + workers, static addresses from a pool) against vcsim, measured two ways in one run:
 *
 *  (a) the whole system (ClusterLab: relay, paired gateway, cloud-init nodes): wall time from the
 *      POST to `running`, and from the DELETE to `deleted`; median of a few runs;
 *  (b) in process, the real ClusterExecutor over the real SQLite call journal (readiness and the
 *      guest played by cluster-context): vSphere requests per node by method for create and for
 *      delete, and the most CloneVM_Task in flight (issued, not yet finished) against the
 *      configured cloneConcurrency.
 *
 * Targets: requests per node at 30 ÷ at 3 ≤ 1.0 (the bench fails above 1.1), and with 30 nodes
 * exactly `cloneConcurrency` clones in flight at the peak. Machines are noisy: the ratios measured
 * in this run are the figures, not the absolute times.
 */
import { strict as assert } from 'node:assert';
import { ClusterExecutor } from '../../gateway/clusters/cluster-executor.js';
import { clusterFolderName } from '../../gateway/clusters/node-identity.js';
import { loadGatewayConfig } from '../../gateway/config/gateway-config.js';
import type { CallJournal, CallRecord, JobContext, VsphereOp } from '../../gateway/jobs/job-executor.js';
import { JobJournal } from '../../gateway/jobs/job-journal.js';
import { VimSession } from '../../gateway/vsphere/vim-session.js';
import { systemClock } from '../../proto/clock.js';
import type { ClusterSpec, Job } from '../../proto/schemas/jobs.js';
import { census, clusterSpec, GuestAgent, job, nodeSpec, silentLog, TestReadiness } from '../support/cluster-context.js';
import { ClusterLab, type ClusterView } from '../support/cluster-lab.js';
import { tempDir } from '../support/temp-dir.js';
import { Vcsim } from '../support/vcsim-fixture.js';
import { median, report, runBench } from './harness/report.js';

const SIZES = [3, 30] as const;
/** Full-stack runs per size (create + delete each), and in-process runs per size. */
const STACK_RUNS = 3;
const EXECUTOR_RUNS = 3;
/** Above this, requests per node grow with the cluster: the bench fails. */
const REQUEST_RATIO_LIMIT = 1.1;
const STATE_TIMEOUT_MS = 120_000;
/** What the gateway runs with when nothing is configured (the full stack passes no flag either). */
const CLONE_CONCURRENCY = loadGatewayConfig([], {}).jobs.cloneConcurrency;

const sum = (m: ReadonlyMap<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
const byMethod = (m: ReadonlyMap<string, number>): Record<string, number> => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));

// ---- (a) the whole system through the REST API ------------------------------------------------

/** Per run; `toIpMs` and `toReadyMs` are from the POST to the last node's `ip` and `ready` events (gateway clock, same host). */
interface StackTimes { createMs: number[]; deleteMs: number[]; toFirstEventMs: number[]; toIpMs: number[]; toReadyMs: number[] }
type StackRun = { [K in keyof StackTimes]: number };

/** Polls the cluster every 50 ms (finer than the figures) until `state` with its job finished; `failed` ends it at once. */
async function untilState(lab: ClusterLab, id: string, state: string): Promise<ClusterView> {
  const deadline = performance.now() + STATE_TIMEOUT_MS;
  for (;;) {
    const cluster = await lab.cluster(id);
    if (cluster.state === state && (!cluster.latestJob || ['succeeded', 'failed', 'cancelled'].includes(cluster.latestJob.state))) return cluster;
    if (cluster.state === 'failed') {
      const errors = (await lab.events(id)).filter((e) => e.level === 'error').map((e) => e.message);
      throw new Error(`cluster ${id} failed on the way to ${state}: ${errors.join('; ')}`);
    }
    if (performance.now() > deadline) {
      const events = (await lab.events(id)).slice(-5).map((e) => `${e.step} ${e.node ?? ''} ${e.message}`);
      throw new Error(`cluster ${id} not ${state} after ${STATE_TIMEOUT_MS} ms (state ${cluster.state}, job ${JSON.stringify(cluster.latestJob)}); `
        + `last events: ${events.join(' | ')}; gateway stderr: ${lab.gateway.stderr.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stackRun(lab: ClusterLab, profileId: string, poolId: string, size: number, name: string): Promise<StackRun> {
  const posted = Date.now();
  const started = performance.now();
  const created = await lab.createCluster(name, profileId, { workers: size - 1, poolId });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const running = await untilState(lab, created.body.id, 'running');
  const createMs = performance.now() - started;
  assert.equal(running.nodes.filter((n) => n.ready && n.ip).length, size, JSON.stringify(running.nodes));
  assert.equal((await lab.vms(name)).filter((vm) => vm.powerState === 'poweredOn').length, size);
  // Where the time went: the gateway's own work (clone, power on, address) vs the nodes' boot and phone-home.
  const events = (await lab.events(created.body.id)).filter((e) => e.jobId === running.latestJob?.id);
  const last = (step: string): number => Math.max(...events.filter((e) => e.step === step).map((e) => Date.parse(e.at))) - posted;
  const toFirstEventMs = Math.min(...events.map((e) => Date.parse(e.at))) - posted;

  const deleting = performance.now();
  const deleted = await lab.api.delete(`/v1/clusters/${created.body.id}`);
  assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
  await untilState(lab, created.body.id, 'deleted');
  const deleteMs = performance.now() - deleting;
  assert.deepEqual(await lab.vms(name), []);
  return { createMs, deleteMs, toFirstEventMs, toIpMs: last('ip'), toReadyMs: last('ready') };
}

async function fullStack(): Promise<Map<number, StackTimes>> {
  const lab = await ClusterLab.start();
  try {
    const profileId = await lab.createProfile();
    // Room for the largest cluster; every run's delete releases its addresses.
    const poolId = await lab.createPool('bench', '192.0.2.10', '192.0.2.99');
    const times = new Map<number, StackTimes>(SIZES.map((s) => [s, { createMs: [], deleteMs: [], toFirstEventMs: [], toIpMs: [], toReadyMs: [] }]));
    // Interleaved (3, 30, 3, 30, …): a slow spell of the machine hits both sizes alike.
    for (let run = 0; run < STACK_RUNS; run++) {
      for (const size of SIZES) {
        const t = await stackRun(lab, profileId, poolId, size, `bench${size}-${run}`);
        const into = times.get(size)!;
        for (const key of Object.keys(into) as Array<keyof StackTimes>) into[key].push(t[key]);
      }
    }
    return times;
  } finally {
    await lab.close();
  }
}

// ---- (b) in process: the executor's vSphere requests and clones in flight ---------------------

/** The real call journal, told which clones finish (the end of a CloneVM_Task, success or fault). */
class CloneEndingJournal implements CallJournal {
  constructor(private readonly inner: CallJournal, private readonly onCloneFinished: () => void) {}

  intent(clusterId: string, node: string, op: VsphereOp, jobId: string): void {
    this.inner.intent(clusterId, node, op, jobId);
  }

  issued(clusterId: string, node: string, op: VsphereOp, task: string): void {
    this.inner.issued(clusterId, node, op, task);
  }

  finished(clusterId: string, node: string, op: VsphereOp, outcome: 'done' | 'failed', target?: string): void {
    this.inner.finished(clusterId, node, op, outcome, target);
    if (op === 'clone') this.onCloneFinished();
  }

  get(clusterId: string, node: string, op: VsphereOp): CallRecord | undefined {
    return this.inner.get(clusterId, node, op);
  }

  unresolved(clusterId: string): CallRecord[] {
    return this.inner.unresolved(clusterId);
  }
}

interface ExecutorRun { createMs: number; deleteMs: number; create: Map<string, number>; delete: Map<string, number>; maxClones: number }

/**
 * Counts what the executor's session sends, by method, per phase. A clone is in flight from its
 * CloneVM_Task request until the journal records its end (finished follows the task's wait).
 */
class RequestTally {
  phase: Map<string, number> | undefined;
  clonesInFlight = 0;
  maxClones = 0;

  onRequest = (method: string): void => {
    if (!this.phase) return;
    this.phase.set(method, (this.phase.get(method) ?? 0) + 1);
    if (method === 'CloneVM_Task') this.maxClones = Math.max(this.maxClones, ++this.clonesInFlight);
  };

  onCloneFinished = (): void => {
    this.clonesInFlight--;
  };
}

interface Harness { vcsim: Vcsim; agent: GuestAgent; readiness: TestReadiness; journal: JobJournal; calls: CallJournal; tally: RequestTally }

/** As the job runner makes it: the job accepted and its events written to the journal's outbox (a disk write each). */
function jobContext(h: Harness, j: Job): JobContext {
  assert.ok(h.journal.accept(j));
  return {
    job: j, signal: new AbortController().signal, calls: h.calls, readiness: h.readiness,
    event: (step, message, options) => void h.journal.appendEvent(j.id, step, message, options), checkpoint: () => undefined,
  };
}

async function executorRun(h: Harness, size: number, run: number): Promise<ExecutorRun> {
  const { vcsim, tally } = h;
  const session = await VimSession.login(vcsim.connection({ onRequest: tally.onRequest }));
  try {
    const nodes = [nodeSpec('cp-0'), ...Array.from({ length: size - 1 }, (_, i) => nodeSpec(`worker-${i}`))]
      .map((n, i) => ({ ...n, address: { ip: `192.0.2.${10 + i}`, prefix: 24, gateway: '192.0.2.1', dns: ['192.0.2.53'], searchDomains: ['cluster.test'] } }));
    const cluster: ClusterSpec = clusterSpec(`cls_bench${String(size).padStart(3, '0')}run${run}`, `exec${size}-${run}`, nodes);
    h.agent.expect(cluster);
    // The daemon's executor: same bound, default address poll and task timeout.
    const executor = new ClusterExecutor({ vcenter: { session: () => Promise.resolve(session) }, clock: systemClock, log: silentLog, readyTimeoutMs: 60_000, cloneConcurrency: CLONE_CONCURRENCY, clusterKeys: h.readiness });
    const folder = clusterFolderName(cluster);

    const create = new Map<string, number>();
    tally.phase = create;
    tally.maxClones = 0;
    let started = performance.now();
    const built = await executor.execute(jobContext(h, job(cluster)));
    const createMs = performance.now() - started;
    tally.phase = undefined;
    assert.equal(built.nodes.length, size);
    assert.equal((await census(vcsim)).vms.filter((vm) => vm.folder === folder && vm.powerState === 'poweredOn').length, size);
    assert.equal(create.get('CloneVM_Task'), size);
    assert.equal(create.get('PowerOnVM_Task'), size);
    assert.equal(tally.clonesInFlight, 0, 'every clone issued finished');
    const maxClones = tally.maxClones;

    const deleted = new Map<string, number>();
    tally.phase = deleted;
    started = performance.now();
    await executor.execute(jobContext(h, job(cluster, 'delete')));
    const deleteMs = performance.now() - started;
    tally.phase = undefined;
    assert.equal((await census(vcsim)).vms.filter((vm) => vm.folder === folder).length, 0);
    assert.equal(deleted.get('Destroy_Task'), size + 1, 'every VM and the folder');
    return { createMs, deleteMs, create, delete: deleted, maxClones };
  } finally {
    tally.phase = undefined;
    await session.close();
  }
}

async function inProcess(): Promise<Map<number, ExecutorRun[]>> {
  const dir = tempDir('bench-cluster');
  const vcsim = await Vcsim.start({ template: 1 });
  const readiness = new TestReadiness();
  const journal = JobJournal.open(dir.path, systemClock);
  let agent: GuestAgent | undefined;
  try {
    agent = await GuestAgent.start(vcsim, readiness, 20);
    const tally = new RequestTally();
    const h: Harness = { vcsim, agent, readiness, journal, calls: new CloneEndingJournal(journal.calls, tally.onCloneFinished), tally };
    const runs = new Map<number, ExecutorRun[]>(SIZES.map((s) => [s, []]));
    for (let run = 0; run < EXECUTOR_RUNS; run++) {
      for (const size of SIZES) runs.get(size)!.push(await executorRun(h, size, run));
    }
    return runs;
  } finally {
    await agent?.stop();
    journal.close();
    await vcsim.stop();
    dir.remove();
  }
}

// ---- report ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const executor = await inProcess();
  const stack = await fullStack();
  const [small, large] = SIZES;

  /** Median run of a size by total requests in `phase`, so one run's methods are shown together. */
  const medianRun = (size: number, phase: 'create' | 'delete'): Map<string, number> => {
    const runs = [...executor.get(size)!].sort((a, b) => sum(a[phase]) - sum(b[phase]));
    return runs[Math.floor(runs.length / 2)]![phase];
  };
  const perNode = (size: number, phase: 'create' | 'delete'): number => sum(medianRun(size, phase)) / size;
  const stackMs = (size: number, phase: keyof StackTimes): number => median(stack.get(size)![phase]);
  const execMs = (size: number, phase: 'createMs' | 'deleteMs'): number => median(executor.get(size)!.map((r) => r[phase]));
  const maxClones = (size: number): number => Math.max(...executor.get(size)!.map((r) => r.maxClones));
  const expectedClones = (size: number): number => Math.min(size, CLONE_CONCURRENCY);

  const ratio = {
    requestsPerNodeCreate: perNode(large, 'create') / perNode(small, 'create'),
    requestsPerNodeDelete: perNode(large, 'delete') / perNode(small, 'delete'),
    stackCreateMsPerNode: (stackMs(large, 'createMs') / large) / (stackMs(small, 'createMs') / small),
    stackDeleteMsPerNode: (stackMs(large, 'deleteMs') / large) / (stackMs(small, 'deleteMs') / small),
    executorCreateMsPerNode: (execMs(large, 'createMs') / large) / (execMs(small, 'createMs') / small),
  };
  // What one more node costs (the slope between the sizes) and what a job costs whatever its size.
  const marginal = (phase: 'create' | 'delete'): number => (sum(medianRun(large, phase)) - sum(medianRun(small, phase))) / (large - small);
  const perJob = (phase: 'create' | 'delete'): number => sum(medianRun(small, phase)) - marginal(phase) * small;
  const rows: Array<[string, string | number]> = [];
  for (const size of SIZES) {
    const s = stack.get(size)!;
    rows.push(
      [`${size} nodes, API: POST → running (ms, median of ${STACK_RUNS})`, `${stackMs(size, 'createMs').toFixed(0)}  (${s.createMs.map((x) => x.toFixed(0)).join(', ')})`],
      [`${size} nodes, API: POST → job's 1st event / last ip / last ready (ms)`, ['toFirstEventMs', 'toIpMs', 'toReadyMs'].map((k) => stackMs(size, k as keyof StackTimes).toFixed(0)).join(' / ')],
      [`${size} nodes, API: DELETE → deleted (ms, median of ${STACK_RUNS})`, `${stackMs(size, 'deleteMs').toFixed(0)}  (${s.deleteMs.map((x) => x.toFixed(0)).join(', ')})`],
      [`${size} nodes, executor: create / delete (ms, median of ${EXECUTOR_RUNS})`, `${execMs(size, 'createMs').toFixed(0)} / ${execMs(size, 'deleteMs').toFixed(0)}`],
      [`${size} nodes, executor: create requests (per node)`, `${sum(medianRun(size, 'create'))} (${perNode(size, 'create').toFixed(2)})`],
      [`${size} nodes, executor: delete requests (per node)`, `${sum(medianRun(size, 'delete'))} (${perNode(size, 'delete').toFixed(2)})`],
      [`${size} nodes, executor: most clones in flight / bound`, `${maxClones(size)} / ${CLONE_CONCURRENCY}`],
    );
  }
  rows.push(
    [`ratio requests/node create ${large} ÷ ${small}`, ratio.requestsPerNodeCreate.toFixed(3)],
    [`ratio requests/node delete ${large} ÷ ${small}`, ratio.requestsPerNodeDelete.toFixed(3)],
    ['requests per extra node create / delete', `${marginal('create').toFixed(2)} / ${marginal('delete').toFixed(2)}`],
    ['requests per job, any size, create / delete', `${perJob('create').toFixed(1)} / ${perJob('delete').toFixed(1)}`],
    [`ratio API create ms/node ${large} ÷ ${small}`, ratio.stackCreateMsPerNode.toFixed(3)],
    [`ratio API delete ms/node ${large} ÷ ${small}`, ratio.stackDeleteMsPerNode.toFixed(3)],
    [`ratio executor create ms/node ${large} ÷ ${small}`, ratio.executorCreateMsPerNode.toFixed(3)],
    [`${large} nodes create by method`, JSON.stringify(byMethod(medianRun(large, 'create')))],
    [`${small} nodes create by method`, JSON.stringify(byMethod(medianRun(small, 'create')))],
    [`${large} nodes delete by method`, JSON.stringify(byMethod(medianRun(large, 'delete')))],
    [`${small} nodes delete by method`, JSON.stringify(byMethod(medianRun(small, 'delete')))],
    ['target', `requests/node ratio <= 1.0 (fail > ${REQUEST_RATIO_LIMIT}); clones in flight = min(nodes, ${CLONE_CONCURRENCY})`],
  );
  const figures = (size: number): Record<string, unknown> => ({
    nodes: size,
    apiCreateMs: stackMs(size, 'createMs'), apiDeleteMs: stackMs(size, 'deleteMs'),
    apiCreateRunsMs: stack.get(size)!.createMs.map(Math.round), apiDeleteRunsMs: stack.get(size)!.deleteMs.map(Math.round),
    apiToFirstEventMs: stackMs(size, 'toFirstEventMs'), apiToLastIpMs: stackMs(size, 'toIpMs'), apiToLastReadyMs: stackMs(size, 'toReadyMs'),
    executorCreateMs: execMs(size, 'createMs'), executorDeleteMs: execMs(size, 'deleteMs'),
    createRequests: sum(medianRun(size, 'create')), createRequestsPerNode: perNode(size, 'create'),
    deleteRequests: sum(medianRun(size, 'delete')), deleteRequestsPerNode: perNode(size, 'delete'),
    createRequestsRuns: executor.get(size)!.map((r) => sum(r.create)), deleteRequestsRuns: executor.get(size)!.map((r) => sum(r.delete)),
    createByMethod: byMethod(medianRun(size, 'create')), deleteByMethod: byMethod(medianRun(size, 'delete')),
    maxClonesInFlight: maxClones(size),
  });
  report('Cluster create against vcsim', rows, {
    cloneConcurrency: CLONE_CONCURRENCY, small: figures(small), large: figures(large), ratio,
    requestsPerExtraNode: { create: marginal('create'), delete: marginal('delete') }, requestsPerJob: { create: perJob('create'), delete: perJob('delete') },
    target: { requestsPerNodeRatio: 1.0, failAbove: REQUEST_RATIO_LIMIT, maxClonesInFlight: expectedClones(large) },
  });

  const failures: string[] = [];
  for (const phase of ['create', 'delete'] as const) {
    const r = phase === 'create' ? ratio.requestsPerNodeCreate : ratio.requestsPerNodeDelete;
    if (r > REQUEST_RATIO_LIMIT) failures.push(`${phase}: vSphere requests per node grow with the cluster (${large} ÷ ${small} = ${r.toFixed(3)} > ${REQUEST_RATIO_LIMIT})`);
  }
  for (const size of SIZES) {
    if (maxClones(size) !== expectedClones(size)) failures.push(`${size} nodes: ${maxClones(size)} clones in flight at most, expected ${expectedClones(size)} (bound ${CLONE_CONCURRENCY})`);
  }
  if (failures.length > 0) throw new Error(failures.join('\n'));
}

runBench(main);
