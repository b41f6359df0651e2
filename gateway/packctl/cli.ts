#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { createProgram, runProgram } from '../../proto/cli-support.js';
import { buildCommand } from './build-command.js';
import { loginCommand } from './login-command.js';
import { lsCommand } from './ls-command.js';
import type { PackctlGlobals } from './packctl-context.js';
import { pullCommand } from './pull-command.js';
import { pushCommand } from './push-command.js';
import { rmCommand } from './rm-command.js';
import { tagAddCommand, tagDeleteCommand } from './tag-commands.js';

const program = createProgram('packctl', 'Build, push, pull, list, tag and delete packs in a PCG pack registry (the gateway\'s or the relay\'s).')
  .option('--registry <host>', 'registry to use (default: the one saved by login --default)')
  .option('--ca-file <file>', "PEM bundle with the registry's CA (default: the one saved at login, else the system CAs)")
  .option('--insecure', 'skip TLS certificate verification (only for a registry you reach over a network you trust)')
  .addHelpText('after', `Credentials: $XDG_CONFIG_HOME/pcg/packctl.json (else ~/.config/pcg/packctl.json), mode 0600.`);

const globals = (command: Command) => command.optsWithGlobals<PackctlGlobals>();

program.command('login')
  .description('Check credentials against a registry and save them (a token where the registry issues one).')
  .argument('<host>', 'registry address, host:port or https://host:port')
  .option('-u, --username <user>', 'user name (asked on a terminal when absent)')
  .option('--password-stdin', 'read the password from stdin')
  .option('--default', 'make this the default registry (the first login always is)')
  .action((host: string, options: { username?: string; passwordStdin?: boolean; default?: boolean }, command: Command) => {
    const g = globals(command);
    return loginCommand(host, { ...options, ...(g.caFile !== undefined ? { caFile: g.caFile } : {}), insecure: g.insecure === true });
  });

program.command('build')
  .description('Zip a pack folder deterministically and check it as a registry would.')
  .argument('<name>', 'the name the pack.json must declare')
  .argument('<dir>', 'the pack folder')
  .option('-o, --output <file>', 'where to write the zip (default: NAME-VERSION.zip here)')
  .action((name: string, dir: string, options: { output?: string }) => buildCommand(name, dir, options));

program.command('push')
  .description('Check a pack (folder or zip) and upload it; a progress bar on a terminal.')
  .argument('<path>', 'pack folder or zip')
  .option('--force', 'replace a version that exists with other content')
  .option('--message <text>', 'a note kept with the version')
  .action((path: string, options: { force?: boolean; message?: string }, command: Command) => pushCommand(path, options, globals(command)));

program.command('pull')
  .description('Download a pack as NAME-VERSION.zip, verified by digest and by the pack checks.')
  .argument('<ref>', 'NAME, NAME:VERSION, NAME:TAG (14.x, lts__14.4.3) or NAME@sha256:…')
  .option('-o, --output <dir>', 'folder to write into', '.')
  .action((ref: string, options: { output?: string }, command: Command) => pullCommand(ref, options, globals(command)));

program.command('ls')
  .description('List packs.')
  .option('--name <name>', 'only this pack')
  .option('--layer <layer>', 'only this layer (kernel, os, k8s, cni, csi, addon)')
  .option('--cloud-type <type>', 'only packs for this cloud type (packs for "all" included)')
  .option('--json', 'print one JSON array')
  .action((options: { name?: string; layer?: string; cloudType?: string; json?: boolean }, command: Command) => lsCommand(options, globals(command)));

const tag = program.command('tag').description('Label tags: GROUP__LABEL pointing at a version. Parent tags (14.x) are kept by the registry.');
tag.command('add')
  .description('Point a label at a version (creates or moves it).')
  .argument('<ref>', 'NAME:VERSION')
  .argument('<label>', 'the label')
  .addOption(new Option('--group <group>', 'the group: the tag is GROUP__LABEL'))
  .action((ref: string, label: string, options: { group?: string }, command: Command) => tagAddCommand(ref, label, options, globals(command)));
tag.command('delete')
  .description('Delete a label.')
  .argument('<name>', 'pack name')
  .argument('<label>', 'the label, or the whole tag GROUP__LABEL')
  .addOption(new Option('--group <group>', 'the group of the label'))
  .action((name: string, label: string, options: { group?: string }, command: Command) => tagDeleteCommand(name, label, options, globals(command)));

program.command('rm')
  .description('Delete a pack version; parent tags move to the next newest.')
  .argument('<ref>', 'NAME:VERSION')
  .action((ref: string, _options: unknown, command: Command) => rmCommand(ref, globals(command)));

program.command('version')
  .description('Print the version of packctl.')
  .action(() => {
    // dist/gateway/packctl/cli.js: package.json is three levels up.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`packctl ${pkg.version}\n`);
  });

await runProgram(program, process.argv.slice(2));
