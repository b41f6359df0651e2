import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../gateway/status/status-file.js';
import { GATEWAY_PID_FILE, isGatewayProcess, ProcessLauncher } from '../../installer-ova/setup/process-launcher.js';
import { SystemdLauncher } from '../../installer-ova/setup/systemd-launcher.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

describe('installer: gateway launchers', () => {
  let dir: { path: string; remove: () => void };
  const children: ChildProcess[] = [];
  beforeEach(() => (dir = tempDir('launcher')));
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    dir.remove();
  });

  /** `node <dir>/<script> …args` that idles until signalled. */
  const idle = (script: string, args: string[]): ChildProcess => {
    const file = join(dir.path, script);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'setInterval(() => undefined, 1000);\n');
    const child = spawn(process.execPath, [file, ...args], { stdio: 'ignore' });
    children.push(child);
    return child;
  };
  const spawned = (child: ChildProcess): Promise<number> => new Promise((resolve) => child.once('spawn', () => resolve(child.pid!)));

  it('systemd: start is `systemctl enable` then `restart` (a running gateway takes the new settings); stop is `disable --now`', async () => {
    const calls = join(dir.path, 'calls');
    const systemctl = join(dir.path, 'systemctl');
    writeFileSync(systemctl, `#!/bin/sh\necho "$*" >> ${calls}\n`);
    chmodSync(systemctl, 0o755);
    const launcher = new SystemdLauncher(systemctl);
    await launcher.start({ configFile: '/etc/pcg/gateway.json', env: {} });
    await launcher.start({ configFile: '/etc/pcg/gateway.json', env: {} });
    await launcher.stop();
    assert.equal(readFileSync(calls, 'utf8'), [
      'enable pcg-gateway.service', 'restart pcg-gateway.service', 'enable pcg-gateway.service', 'restart pcg-gateway.service', 'disable --now pcg-gateway.service', '',
    ].join('\n'));
  });

  it('systemd: a failing systemctl is PCG_ERR_INTERNAL naming the command and its first stderr line', async () => {
    const systemctl = join(dir.path, 'systemctl');
    writeFileSync(systemctl, '#!/bin/sh\necho "Failed to restart pcg-gateway.service: Unit not found." >&2\necho more >&2\nexit 5\n');
    chmodSync(systemctl, 0o755);
    await assert.rejects(new SystemdLauncher(systemctl).start({ configFile: '/etc/pcg/gateway.json', env: {} }),
      /^PCG_ERR_INTERNAL: systemctl enable pcg-gateway.service failed: Failed to restart pcg-gateway.service: Unit not found\./);
  });

  it('process: stop() ends the gateway gateway.pid names, and never signals a pid that is no longer a gateway', async () => {
    const installerDir = join(dir.path, 'installer');
    mkdirSync(installerDir);
    const gateway = idle('dist/gateway/cli.js', ['run', '--config', join(dir.path, 'gateway.json')]);
    const gatewayPid = await spawned(gateway);
    assert.equal(isGatewayProcess(gatewayPid), true);
    writeFileSync(join(installerDir, GATEWAY_PID_FILE), `${gatewayPid}\n`);
    await new ProcessLauncher(installerDir).stop();
    await waitFor('the gateway reaped', () => gateway.signalCode === 'SIGTERM');
    assert.equal(existsSync(join(installerDir, GATEWAY_PID_FILE)), false);

    // The pid was reused by something else (after a reboot, say): left alone, the stale pid file dropped.
    const other = idle('other/server.js', ['run']);
    const otherPid = await spawned(other);
    assert.equal(isGatewayProcess(otherPid), false);
    writeFileSync(join(installerDir, GATEWAY_PID_FILE), `${otherPid}\n`);
    await new ProcessLauncher(installerDir).stop();
    assert.equal(processAlive(otherPid), true);
    assert.equal(other.exitCode, null);
    assert.equal(existsSync(join(installerDir, GATEWAY_PID_FILE)), false);
    await new ProcessLauncher(installerDir).stop();
  });
});
