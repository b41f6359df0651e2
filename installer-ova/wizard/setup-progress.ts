import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { AUTO_SETUP_REPORT_FILE } from '../guest/auto-setup-settings.js';
import { CheckReport } from '../setup/check-report-schema.js';
import { setupLockHolder } from '../setup/setup-lock.js';
import { readSetupRecord } from '../setup/setup-record.js';
import type { WizardState } from './wizard-api.js';

/**
 * What the wizard learns about setup from installer-dir, whoever runs it: this wizard, the
 * unattended setup of the first boot (pcg-auto-setup.service) or `pcg-installer setup`.
 */
export interface SetupProgress {
  /** setup-complete.json exists. */
  completed(): Promise<boolean>;
  /** A live process holds setup.lock (this wizard's own setup too). */
  running(): Promise<boolean>;
  /** The unattended setup's outcome (auto-setup-report.json), once it wrote a whole report. */
  lastSetup(): Promise<WizardState['lastSetup']>;
}

export function installerDirProgress(installerDir: string): SetupProgress {
  return {
    completed: async () => (await readSetupRecord(installerDir)) !== undefined,
    running: async () => (await setupLockHolder(installerDir)) !== undefined,
    lastSetup: () => readAutoSetupOutcome(installerDir),
  };
}

/**
 * `{ ok, error }` of auto-setup-report.json (the stdout of `setup --json`). Empty while that setup
 * runs (the unit truncates it) and when it refused its settings file (exit 2, the reason in the
 * journal): nothing to show then.
 */
export async function readAutoSetupOutcome(installerDir: string): Promise<WizardState['lastSetup']> {
  let report: unknown;
  try {
    report = JSON.parse(await readFile(join(installerDir, AUTO_SETUP_REPORT_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (!Value.Check(CheckReport, report)) return undefined;
  return { ok: report.ok, ...(report.error ? { error: report.error } : {}) };
}
