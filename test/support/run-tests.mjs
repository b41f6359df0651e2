// Runs every compiled test with mocha's spec reporter and ends with the one summary line CI
// reads: `N passed, N failed` (`, N skipped` when any). Exit code 1 when anything failed.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

function collect(dir) {
  const out = [];
  if (!existsSync(dir)) return [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const root = new URL('../../dist/test/', import.meta.url).pathname;
const only = process.argv.slice(2);
const files = ['unit', 'store', 'integration'].flatMap((d) => collect(join(root, d)))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
const mocha = new Mocha({ timeout: 60_000, slow: 5_000, reporter: 'spec' });
for (const file of files) mocha.addFile(file);
await mocha.loadFilesAsync();
const runner = mocha.run();
runner.on('end', () => {
  const { passes = 0, failures = 0, pending = 0 } = runner.stats ?? {};
  console.log(`\n${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`);
  process.exit(failures > 0 ? 1 : 0);
});
