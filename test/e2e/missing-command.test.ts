import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary, runInProcess } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const COMMANDS =
  'source, collect, search, alerts, rules, notify, inventory, investigate, simulate, demo, serve, user, apikey or store';

describe('a command line that names no command to run', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = makeTempDir('missing-command');
    env = { ZEROTRAIL_DATA_DIR: join(dir.path, 'data') };
  });
  afterAll(() => dir.remove());

  it.each([
    [[], `error[CLI_USAGE]: a command is required: zerotrail <command>, where <command> is ${COMMANDS}`],
    [
      ['source'],
      'error[CLI_USAGE]: a command is required: zerotrail source <command>, where <command> is add, list, test, status, set-token or remove',
    ],
    [
      ['alerts'],
      'error[CLI_USAGE]: a command is required: zerotrail alerts <command>, where <command> is list, show, ack, close, reopen, assign or comment',
    ],
    [['help', 'nope'], `error[CLI_USAGE]: 'nope' is not a command of zerotrail; its commands are ${COMMANDS}`],
  ])('zerotrail %j gets the help, then says what is missing', async (args, message) => {
    const result = await runInProcess(args, { env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Usage: zerotrail/);
    expect(result.stderr).not.toContain('(outputHelp)');
    expect(result.stderr).toContain(`\n${message}\n`);
  });

  it('still shows the help it was asked for and exits 0', async () => {
    for (const args of [['--help'], ['help'], ['help', 'source']]) {
      const result = await runInProcess(args, { env });
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
      expect(result.stdout).toMatch(/^Usage: zerotrail/);
    }
  });

  it('exits with the usage status from the binary too', async () => {
    const result = await runBinary([], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error[CLI_USAGE]: a command is required');
  });
});
