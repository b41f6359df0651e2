import { isErrorCode, PcgError } from '../../proto/errors.js';
import type { CheckStep } from './check-report-schema.js';
import type { GatewayLauncher } from './gateway-launcher.js';
import { ProcessLauncher } from './process-launcher.js';
import { readSettingsFile } from './settings-file.js';
import { runSetup } from './setup-runner.js';
import { SystemdLauncher } from './systemd-launcher.js';

export interface SetupCommandOptions {
  readonly config: string;
  readonly json?: boolean;
  readonly installerDir: string;
  readonly gatewayStateDir: string;
  readonly gatewayConfig: string;
  readonly launcher: 'systemd' | 'process';
}

export function launcherOf(kind: 'systemd' | 'process', installerDir: string): GatewayLauncher {
  return kind === 'systemd' ? new SystemdLauncher() : new ProcessLauncher(installerDir);
}

/** `ok   relay.dns  127.0.0.1 resolved…`: one line a step, as the wizard shows them. */
export function formatStep(step: CheckStep): string {
  return `${step.ok ? 'ok  ' : 'FAIL'} ${step.step.padEnd(20)} ${step.detail}\n`;
}

/**
 * `pcg-installer setup --config FILE`: the wizard's steps from a terminal. Prints each step as it
 * completes (or the whole report as one JSON object with --json), then `CODE: message` on stderr
 * when a step failed. Exit 0 when the gateway is online, 1 when a step failed, 2 when the file is
 * unreadable, not 0600, not JSON, or not valid settings (the field is named), or a value in it is
 * refused as written (PCG_ERR_CONFIG_INVALID from a check: a relay URL with a path, a bad pin).
 */
export async function setupCommand(options: SetupCommandOptions): Promise<void> {
  const settings = await readSettingsFile(options.config);
  const report = await runSetup(settings, {
    installerDir: options.installerDir, gatewayStateDir: options.gatewayStateDir, gatewayConfig: options.gatewayConfig,
    launcher: launcherOf(options.launcher, options.installerDir),
    onStep: options.json ? undefined : (step) => process.stdout.write(formatStep(step)),
  });
  if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else if (report.ok) process.stdout.write(`gateway ${String(report.facts?.gatewayId)} is online\n`);
  if (!report.ok) {
    const code = report.error && isErrorCode(report.error.code) ? report.error.code : 'PCG_ERR_INTERNAL';
    const error = PcgError.fromRemote(code, `${report.error?.field ? `${report.error.field}: ` : ''}${report.error?.message ?? 'setup failed'}`);
    throw error;
  }
}
