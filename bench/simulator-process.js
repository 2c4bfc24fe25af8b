// A Cloudflare API simulator in a process of its own (dist/simulator/child.js), so that its CPU is not the
// measured process's. It writes a JSON line when it listens (base URL, token, account id) and another with its
// stats when SIGTERM stops it; `nextLine` reads the next one.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '..');

export async function startSimulatorProcess(options) {
  const child = spawn(process.execPath, [join(root, 'dist/simulator/child.js')], {
    env: { ...process.env, ZEROTRAIL_SIMULATOR_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const nextLine = () => new Promise((resolveLine) => lines.once('line', (line) => resolveLine(JSON.parse(line))));
  return { child, nextLine, ...(await nextLine()) };
}
