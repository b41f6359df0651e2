#!/usr/bin/env node
import { Option } from 'commander';
import { createProgram, requireFlag, runProgram } from '../proto/cli-support.js';
import { APPLIANCE_PATHS } from './appliance/appliance-paths.js';
import type { FirstBootOptions } from './guest/first-boot-command.js';
import type { DeployOptions } from './ovf/deploy-command.js';
import type { SetupCommandOptions } from './setup/setup-command.js';
import type { ServeOptions } from './wizard/serve-command.js';

// Each command's module is loaded only when it runs: on the appliance's emulated or small CPU,
// loading all four (fastify, the vim25 client, node-forge) is most of first boot's time.
const program = createProgram('pcg-installer', "The installer appliance: the setup wizard (HTTPS :5080), scripted setup, first boot, and deploying the OVA into vCenter.");

/** Where setup writes; the appliance's paths by default, a temp dir in tests. */
const pathOptions = [
  new Option('--installer-dir <dir>', 'installer state: setup token, wizard certificate').default(APPLIANCE_PATHS.installerDir),
  new Option('--gateway-state-dir <dir>', "the gateway's state dir").default(APPLIANCE_PATHS.gatewayStateDir),
  new Option('--gateway-config <file>', "the gateway's configuration file written by setup").default(APPLIANCE_PATHS.gatewayConfigFile),
  new Option('--launcher <kind>', 'how setup starts the gateway: systemd (the appliance) or process (a child of this command)').choices(['systemd', 'process']).default('systemd'),
];

const serve = program.command('serve')
  .description('Serve the setup wizard; after setup it is the gateway status page.')
  .addOption(new Option('--host <address>', 'address to listen on').default('0.0.0.0'))
  .addOption(new Option('--port <port>', 'HTTPS port; 0 picks a free one').default('5080'))
  .addOption(new Option('--setup-token-file <file>', 'file holding the setup token (0600); else the one made at first boot'));
pathOptions.forEach((o) => serve.addOption(o));
serve.action(async (options: ServeOptions) => (await import('./wizard/serve-command.js')).serveCommand(options));

const setup = program.command('setup')
  .description('Set up without a browser: every check, then pair, write the configuration and start the gateway.')
  .option('--config <file>', 'JSON file with the setup settings, mode 0600 (see README: Install a gateway) (required)')
  .option('--json', 'print the report as one JSON object');
pathOptions.forEach((o) => setup.addOption(o));
// Required flags are checked in the action, so an unknown flag is reported as such first.
setup.action(async (options: Omit<SetupCommandOptions, 'config'> & { config?: string }) => {
  const config = requireFlag(options.config, 'config');
  return (await import('./setup/setup-command.js')).setupCommand({ ...options, config });
});

const firstBoot = program.command('first-boot')
  .description('Appliance boot step: read the OVF environment, apply network, NTP, proxy and SSH key, make the setup token; pair when the properties carry a code.')
  .option('--ovf-env <file>', 'read the OVF environment from this file instead of the CD or guestinfo')
  .option('--root <dir>', 'prefix for the files written (tests)', '/');
pathOptions.forEach((o) => firstBoot.addOption(o));
firstBoot.action(async (options: FirstBootOptions) => (await import('./guest/first-boot-command.js')).firstBootCommand(options));

program.command('deploy')
  .description('Import the OVA into vCenter as an admin would (CreateImportSpec, ImportVApp, upload, complete).')
  .argument('<ova>', 'the .ova file')
  .option('--vcenter-host <host>', 'vCenter address (required)')
  .option('--vcenter-user <user>', 'vCenter user (required)')
  .option('--vcenter-password-file <file>', 'file holding the password, mode 0600 (required)')
  .option('--vcenter-thumbprint <AB:CD:…>', "SHA-256 thumbprint of vCenter's certificate")
  .option('--datacenter <name>', 'datacenter (required)')
  .option('--cluster <name>', 'compute cluster (its resource pool)')
  .option('--datastore <name>', 'datastore')
  .option('--network <name>', 'network for the NIC')
  .option('--folder <path>', 'VM folder')
  .option('--name <name>', 'VM name', 'pcg-installer')
  .option('--prop <key=value...>', 'vApp property, e.g. pcg.relayUrl=https://relay.example.com (repeatable); not for password properties')
  .option('--prop-file <file>', 'vApp properties from a file of mode 0600, JSON {"key": "value"} or key=value lines: where pcg.pairingCode and pcg.setupToken go')
  .action(async (ova: string, options: Partial<Pick<DeployOptions, 'vcenterHost' | 'vcenterUser' | 'vcenterPasswordFile' | 'datacenter'>> & Omit<DeployOptions, 'vcenterHost' | 'vcenterUser' | 'vcenterPasswordFile' | 'datacenter'>) => {
    const required = {
      vcenterHost: requireFlag(options.vcenterHost, 'vcenter-host'),
      vcenterUser: requireFlag(options.vcenterUser, 'vcenter-user'),
      vcenterPasswordFile: requireFlag(options.vcenterPasswordFile, 'vcenter-password-file'),
      datacenter: requireFlag(options.datacenter, 'datacenter'),
    };
    return (await import('./ovf/deploy-command.js')).deployCommand(ova, { ...options, ...required });
  });

await runProgram(program, process.argv.slice(2));
