import type { DeployEvent } from './deploy-ova.js';

const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);

/**
 * What `pcg-installer deploy` shows while it works, on stderr: a redrawn bar on a terminal, plain
 * lines (one per 10 % of the upload) in logs and pipes. Never a property value: some are secrets.
 */
export function deployProgress(out: NodeJS.WriteStream = process.stderr, intervalMs = 100): (event: DeployEvent) => void {
  const tty = out.isTTY === true;
  let drawn = 0;
  let lastTenth = -1;
  let barOpen = false;
  const line = (text: string): void => {
    if (barOpen) out.write('\n');
    barOpen = false;
    out.write(`${text}\n`);
  };
  return (event) => {
    switch (event.step) {
      case 'verified':
        line(`verified the OVA: ${event.files} files, ${mib(event.bytes)} MiB, manifest and references match`);
        return;
      case 'import-spec':
        line('vCenter accepted the import spec');
        for (const warning of event.warnings) line(`warning from vCenter: ${warning}`);
        return;
      case 'lease-ready':
        line(`importing as ${event.vm.value}; uploading the disk`);
        return;
      case 'upload': {
        const fraction = event.total > 0 ? Math.min(1, event.sent / event.total) : 1;
        if (tty) {
          const now = Date.now();
          if (now - drawn < intervalMs && fraction < 1) return;
          drawn = now;
          const filled = Math.round(fraction * 30);
          out.write(`\r${event.file} [${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${mib(event.sent)}/${mib(event.total)} MiB`);
          barOpen = true;
          return;
        }
        const tenth = Math.floor(fraction * 10);
        if (tenth === lastTenth) return;
        lastTenth = tenth;
        line(`upload ${tenth * 10}% (${event.sent} of ${event.total} bytes)`);
        return;
      }
      case 'aborted':
        line(event.vmRemoved ? 'import aborted; the partly imported VM was removed' : 'import aborted; the partly imported VM could not be removed: delete it in the vSphere Client');
        return;
    }
  };
}
