import type { Command } from 'commander';
import { z } from 'zod';
import { NotFoundError } from '../../core/errors.js';
import { issueApiKey } from '../../server/auth/accounts.js';
import { USER_NAME } from '../../server/routes/users.js';
import { parseFlags, type CommandContext } from '../context.js';
import { writeLine } from '../io.js';
import { visible } from '../output.js';
import { withAuthStore } from './user.js';

const createSchema = z.object({ user: USER_NAME, label: z.string().trim().max(100).default('') });

export function registerApiKeyCommand(program: Command, context: CommandContext): void {
  const apikey = program.command('apikey').description('Manage API keys for scripts (sent as Authorization: Bearer)');

  apikey
    .command('create')
    .description("Create an API key carrying the user's role; the key is printed once and never again")
    .requiredOption('--user <name>', 'the user the key acts as')
    .option('--label <label>', 'what the key is for, e.g. "SIEM export"')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(createSchema, rawFlags);
      await withAuthStore(context, async (app, auth) => {
        const owner = await auth.userByName(flags.user);
        if (owner === undefined) {
          throw new NotFoundError('AUTH_USER_UNKNOWN', {
            message: `No zerotrail user is named "${visible(flags.user)}".`,
            hint: 'zerotrail user list shows the users; zerotrail user add creates one.',
          });
        }
        const { key, record } = await issueApiKey(auth, owner, flags.label, app.clock.now());
        await auth.appendAudit({
          at: app.clock.now(),
          actor: null,
          action: 'apikey_created',
          target: owner.name,
          outcome: 'success',
          ip: null,
          details: { keyId: record.id, label: record.label, prefix: record.keyPrefix, via: 'cli' },
        });
        // The key alone on stdout, so `KEY=$(zerotrail apikey create ...)` captures exactly it.
        writeLine(context.io.stdout, key);
        writeLine(
          context.io.stderr,
          `API key ${record.keyPrefix}… created for "${visible(owner.name)}" (role ${owner.role}). Store it now: it is not shown again.`,
        );
      });
    });
}
