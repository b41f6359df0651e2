import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runTool } from '../../installer-ova/image/run-tool.js';

export interface QemuVmOptions {
  /** The appliance disk (vmdk); never written: the VM runs on a qcow2 overlay in workDir. */
  readonly disk: string;
  /** An ISO attached as a CD (the OVF environment), or none. */
  readonly cdrom?: string;
  readonly workDir: string;
  /** Kept as test output: kernel, systemd and journal lines (the image forwards the journal to ttyS0). */
  readonly serialLog: string;
  /** Host ports forwarded to guest ports, on 127.0.0.1. */
  readonly hostForwards: ReadonlyArray<{ hostPort: number; guestPort: number }>;
  /** Guest connections to 10.0.2.100:port go to 127.0.0.1:port on the host (one nc per connection). */
  readonly guestForwards: readonly number[];
  /** @default 1024 */
  readonly memoryMiB?: number;
  /**
   * Boot the overlay an earlier start left in workDir: a restart, the guest's disk as it was when
   * that VM stopped. @default false (a fresh overlay of `disk`)
   */
  readonly reuseOverlay?: boolean;
}

/** The address the guest dials for `guestForwards` (inside slirp's 10.0.2.0/24). */
export const GUEST_FORWARD_ADDRESS = '10.0.2.100';

/** Every VM started and not yet stopped: killed on process exit, whatever ended the tests. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const proc of running) if (proc.pid !== undefined) try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ }
});

/**
 * The appliance under qemu, as close to vSphere as TCG allows: a SCSI disk and CD (virtio-scsi;
 * the cloud kernel has no AHCI or IDE-speed path worth testing), virtio-net, user networking with
 * restrict=on (no way out but the forwards), the serial console to a file. Never KVM: not there.
 */
export class QemuVm {
  private constructor(readonly proc: ChildProcess, readonly options: QemuVmOptions, private stderr: string[]) {}

  static async start(options: QemuVmOptions): Promise<QemuVm> {
    const overlay = join(options.workDir, 'disk.qcow2');
    if (!options.reuseOverlay) await runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', options.disk, '-F', 'vmdk', overlay]);
    else if (!existsSync(overlay)) throw new Error(`QemuVm: no overlay to restart from in ${options.workDir} (the first boot did not run)`);
    const forwards = [
      ...options.hostForwards.map((f) => `hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`),
      // `-cmd:` runs nc per connection; `tcp:` would serve the first connection only.
      ...options.guestForwards.map((p) => `guestfwd=tcp:${GUEST_FORWARD_ADDRESS}:${p}-cmd:nc 127.0.0.1 ${p}`),
    ];
    const args = [
      '-machine', 'q35', '-cpu', 'max', '-smp', '2', '-m', String(options.memoryMiB ?? 1024),
      '-nographic', '-monitor', 'none', '-serial', `file:${options.serialLog}`, '-no-reboot',
      '-device', 'virtio-scsi-pci,id=scsi0',
      '-drive', `file=${overlay},if=none,id=disk0,format=qcow2`,
      '-device', 'scsi-hd,drive=disk0,bus=scsi0.0,bootindex=0',
      ...(options.cdrom ? ['-drive', `file=${options.cdrom},if=none,id=cd0,format=raw,media=cdrom,readonly=on`, '-device', 'scsi-cd,drive=cd0,bus=scsi0.0'] : []),
      '-netdev', ['user,id=n0,restrict=on', ...forwards].join(','),
      '-device', 'virtio-net-pci,netdev=n0',
    ];
    const proc = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: string[] = [];
    proc.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    await new Promise<void>((resolve, reject) => {
      proc.once('spawn', resolve);
      proc.once('error', reject);
    });
    return new QemuVm(proc, options, stderr);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** qemu's own complaints (bad options, a forward that could not bind). */
  get errors(): string {
    return this.stderr.join('');
  }

  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }

  /** Kills qemu by its PID (the guest's state is thrown away with the overlay); idempotent. */
  async stop(): Promise<void> {
    if (this.exited || this.proc.pid === undefined) return;
    const gone = new Promise((resolve) => this.proc.once('exit', resolve));
    process.kill(this.proc.pid, 'SIGKILL');
    await gone;
  }
}
