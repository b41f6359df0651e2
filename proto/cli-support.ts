import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { PcgError } from './errors.js';

/**
 * What the CLIs share: commander builds commands, help, version and usage errors; convict (gateway)
 * and the components' own options checks report configuration errors as PCG_ERR_CONFIG_INVALID.
 *
 * Exit codes: 0 ok (help and version included), 1 runtime failure, 2 usage or configuration error.
 */
const EXIT_CODES_HELP = `Exit codes: 0 ok, 1 failure (PCG_ERR_…: message on stderr), 2 usage or configuration error.`;

/** The root command of a binary: its name, description, `-V, --version` from package.json, `-h, --help`. */
export function createProgram(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);
}

/**
 * Parses `argv` (the user's arguments, without node and the script) and runs the chosen action.
 * Every error, usage or runtime, ends in {@link exitWithError}.
 */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
  prepareCommand(program, program.name());
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    exitWithError(err);
  }
}

export function requireFlag(value: string | undefined, flag: string): string {
  if (!value) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--${flag} is required`);
  return value;
}

/**
 * Prints `CODE: message` on stderr and exits non-zero; the only place a CLI turns errors into exits.
 * Commander has printed its own errors already (see prepareCommand): they only pick the exit code.
 */
export function exitWithError(err: unknown): never {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof PcgError) {
    process.stderr.write(`${err.toString()}\n`);
    process.exit(err.code === 'PCG_ERR_CONFIG_INVALID' ? 2 : 1);
  }
  process.stderr.write(`PCG_ERR_INTERNAL: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
}

/** Reads the version at run time; this file is dist/proto/cli-support.js, package.json sits beside dist/. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Applied to the whole tree once it is built, because commander copies settings to subcommands only
 * when they are created. Usage errors read `pcg-gateway: unknown option '--foo'` plus a line naming the
 * help of the command at fault, and throw instead of exiting so exitWithError picks the code.
 */
function prepareCommand(command: Command, path: string): void {
  const binary = path.split(' ')[0];
  command.exitOverride().configureOutput({
    outputError: (message, write) => write(`${binary}: ${message.replace(/^error: /, '')}Run '${path} --help' for usage.\n`),
  });
  if (command.commands.length > 0 && !command.commands.some((c) => c.name() === 'help')) addHelpCommand(command);
  for (const sub of command.commands) prepareCommand(sub, `${path} ${sub.name()}`);
}

/** `help [command...]`: unlike commander's built-in one it follows nested commands (`help vcenter check`). */
function addHelpCommand(group: Command): void {
  group.command('help')
    .description('Show help for a command.')
    .argument('[command...]', 'the command, e.g. "vcenter check"')
    .action((names: string[]) => {
      let target: Command = group;
      for (const name of names) {
        const next = target.commands.find((c) => c.name() === name);
        if (!next) target.error(`error: unknown command '${name}'`, { code: 'commander.unknownCommand', exitCode: 2 });
        target = next;
      }
      target.help();
    });
}
