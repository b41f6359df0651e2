import pino from 'pino';
import { PcgError } from '../../proto/errors.js';
import type { Job, NodeStatus } from '../../proto/schemas/jobs.js';
import type { JobContext, JobExecutor, NodeReadiness } from '../../gateway/jobs/job-executor.js';

export const silentLog = pino({ level: 'silent' });

let counter = 0;

/** A valid job of `cluster` (ids match the Id pattern). */
export function makeJob(cluster: string, options: { id?: string; action?: 'apply' | 'delete'; nodes?: string[] } = {}): Job {
  counter++;
  return {
    id: options.id ?? `job_${String(counter).padStart(12, '0')}`,
    kind: options.action === 'delete' ? 'delete' : 'create',
    action: options.action ?? 'apply',
    attempt: 1,
    cluster: {
      clusterId: cluster, name: 'demo', template: 'ubuntu-template',
      placement: { datacenter: 'DC0', folder: 'vm', computeResource: 'DC0_C0', datastore: 'LocalDS_0', network: 'VM Network' },
      nodes: (options.nodes ?? ['cp-0']).map((name) => ({ name, role: name.startsWith('cp') ? 'control-plane' as const : 'worker' as const, cpus: 2, memoryMiB: 2048, diskGiB: 20 })),
      packs: [],
    },
  };
}

export const CLUSTER_A = 'cls_aaaaaaaaaaaa';
export const CLUSTER_B = 'cls_bbbbbbbbbbbb';
export const CLUSTER_C = 'cls_cccccccccccc';

interface Execution {
  readonly context: JobContext;
  readonly finish: (nodes?: NodeStatus[]) => void;
  readonly fail: (error: unknown) => void;
}

/**
 * An executor whose executions the test settles by hand. It records every call, the most that
 * ran at once, and throws the abort reason when its signal fires (as a real executor would).
 */
export class FakeExecutor implements JobExecutor {
  readonly calls: string[] = [];
  readonly running = new Map<string, Execution>();
  maxParallel = 0;

  execute(context: JobContext): Promise<{ readonly nodes: NodeStatus[] }> {
    const jobId = context.job.id;
    this.calls.push(jobId);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.running.delete(jobId);
      };
      context.signal.addEventListener('abort', () => {
        done();
        reject(context.signal.reason instanceof PcgError ? context.signal.reason : new Error('aborted'));
      }, { once: true });
      this.running.set(jobId, {
        context,
        finish: (nodes = []) => { done(); resolve({ nodes }); },
        fail: (error) => { done(); reject(error instanceof Error ? error : new Error(String(error))); },
      });
      this.maxParallel = Math.max(this.maxParallel, this.running.size);
    });
  }

  get(jobId: string): Execution {
    const execution = this.running.get(jobId);
    if (!execution) throw new Error(`job ${jobId} is not executing (executing: ${[...this.running.keys()].join(', ') || 'none'})`);
    return execution;
  }
}

/** Readiness that nothing waits on (the runner tests do not phone home). */
export const noReadiness: NodeReadiness = {
  endpoint: { url: 'https://127.0.0.1:1', caPem: '' },
  tokenFor: (clusterId, node) => `${clusterId}.${node}.x`,
  waitReady: () => Promise.resolve(),
  forget: () => undefined,
};

/** Resolves after pending immediates and microtasks (the runner starts jobs on setImmediate). */
export const settle = async (rounds = 3): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};
