import type { Command } from 'commander';
import { z } from 'zod';
import { NotFoundError } from '../../core/errors.js';
import { apiKeyNotFound, apiKeysWithOwners, issueApiKey, revokeApiKey } from '../../server/auth/accounts.js';
import { USER_NAME } from '../../server/routes/users.js';
import { parseArgument, parseFlags, type CommandContext } from '../context.js';
import { wholeNumberText } from '../../core/number-text.js';
import { writeLine } from '../io.js';
import { renderTable, visible } from '../output.js';
import { withAuthStore } from './user.js';

const createSchema = z.object({ user: USER_NAME, label: z.string().trim().max(100).default('') });
const listSchema = z.object({ format: z.enum(['table', 'json']).default('table') });
const keyIdSchema = wholeNumberText((n) => n.min(1), 'a key id, a whole number');

export function registerApiKeyCommand(program: Command, context: CommandContext): void {
  const apikey = program.command('apikey').description('Manage API keys for scripts (sent as Authorization: Bearer)');

  apikey
    .command('create')
    .description("Create an API key carrying the user's role; the key is printed once and never again")
    .requiredOption('--user <name>', 'the user the key acts as')
    .option('--label <label>', 'what the key is for, e.g. "SIEM export"')
    .action(async (rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(createSchema, rawFlags);
      await withAuthStore(
        context,
        async (app, auth) => {
          const owner = await auth.userByName(flags.user);
          if (owner === undefined) throw unknownUser(flags.user);
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
        },
        {
          missing: () => {
            throw unknownUser(flags.user);
          },
        },
      );
    });

  apikey
    .command('list')
    .description('API keys with their id, owner, label, prefix and last use (never the key)')
    .option('--format <format>', 'table or json (default table)')
    .action(async (rawFlags: Record<string, unknown>) => {
      const { format } = parseFlags(listSchema, rawFlags);
      const noKeys = (): void =>
        writeLine(
          context.io.stdout,
          format === 'json' ? '[]' : 'No API keys. Create one with: zerotrail apikey create --user NAME',
        );
      await withAuthStore(
        context,
        async (_app, auth) => {
          const keys = (await apiKeysWithOwners(auth)).map(({ key, owner }) => ({
            id: key.id,
            user: owner?.name ?? null,
            role: owner?.role ?? null,
            label: key.label,
            prefix: key.keyPrefix,
            created_at: new Date(key.createdAt).toISOString(),
            last_used_at: key.lastUsedAt === null ? null : new Date(key.lastUsedAt).toISOString(),
          }));
          if (format === 'json') {
            writeLine(context.io.stdout, JSON.stringify(keys, null, 2));
            return;
          }
          if (keys.length === 0) {
            noKeys();
            return;
          }
          const rows = keys.map((key) => [
            String(key.id),
            visible(key.user ?? '-'),
            key.role ?? '-',
            `${key.prefix}…`,
            visible(key.label === '' ? '-' : key.label),
            key.created_at,
            key.last_used_at ?? 'never',
          ]);
          writeLine(
            context.io.stdout,
            renderTable(['id', 'user', 'role', 'key', 'label', 'created', 'last used'], rows),
          );
        },
        { readOnly: noKeys },
      );
    });

  apikey
    .command('revoke')
    .description('Revoke an API key by its id (apikey list shows it): it stops working at once')
    .argument('<id>', 'the key id')
    .action(async (rawId: string) => {
      const id = parseArgument('id', keyIdSchema, rawId);
      await withAuthStore(
        context,
        async (app, auth) => {
          const { key: stored, owner } = await revokeApiKey(auth, id, LIST_KEYS_HINT);
          await auth.appendAudit({
            at: app.clock.now(),
            actor: null,
            action: 'apikey_revoked',
            target: owner?.name ?? null,
            outcome: 'success',
            ip: null,
            details: { keyId: stored.id, label: stored.label, prefix: stored.keyPrefix, via: 'cli' },
          });
          writeLine(context.io.stdout, `API key ${stored.id} (${stored.keyPrefix}…) revoked; it no longer works.`);
        },
        {
          missing: () => {
            throw apiKeyNotFound(id, LIST_KEYS_HINT);
          },
        },
      );
    });
}

const LIST_KEYS_HINT = 'zerotrail apikey list shows the keys and their ids.';

function unknownUser(name: string): NotFoundError {
  return new NotFoundError('AUTH_USER_UNKNOWN', {
    message: `No zerotrail user is named "${visible(name)}".`,
    hint: 'zerotrail user list shows the users; zerotrail user add creates one.',
  });
}
