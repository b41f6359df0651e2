#!/usr/bin/env node
import { Option, type Command } from 'commander';
import { createProgram, runProgram } from '../proto/cli-support.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { configFromOptions, withConfigOptions } from './commands/config-options.js';
import { pairCommand } from './commands/pair-command.js';
import { runCommand } from './commands/run-command.js';
import { statusCommand } from './commands/status-command.js';
import { vcenterCheckCommand } from './commands/vcenter-check-command.js';

const program = createProgram('pcg-gateway', 'The on-prem side of the PCG tunnel: pairs with a relay, keeps the tunnel, talks to vCenter.')
  .addHelpText('after', 'Proxies: HTTPS_PROXY and NO_PROXY are honoured by pair and run.');

/** Every command takes the configuration flags; its action gets the convict configuration, then its own options. */
function configured<O>(command: Command, action: (config: GatewayConfig, options: O) => Promise<void>): Command {
  return withConfigOptions(command).action((options: Record<string, unknown>) => action(configFromOptions(options), options as O));
}

configured(program.command('pair')
  .description('Pair this gateway with a relay using a code from the portal; writes the identity to the state dir.')
  .addOption(new Option('--code <code>', 'pairing code XXXX-XXXX-XXXX-XXXX (required)').env('PCG_PAIRING_CODE')), pairCommand);

configured(program.command('run')
  .description('Keep the tunnel to the relay (and the vCenter session); logs JSON lines on stdout, writes status.json.'), runCommand);

configured(program.command('status')
  .description('Show pairing and tunnel state from the state dir.')
  .option('--json', 'print one JSON object'), statusCommand);

configured(program.command('vcenter').description('Tools for the vCenter connection.')
  .command('check')
  .description('Check the vCenter address, TLS and credentials and print an inventory summary.')
  .option('--json', 'print {ok, version, datacenters, counts} or {ok:false, code, message}'), vcenterCheckCommand);

await runProgram(program, process.argv.slice(2));
