import type { Command } from 'commander';
import { z } from 'zod';
import { openAuthStore, type App } from '../../app.js';
import { addUser } from '../../server/auth/accounts.js';
import { checkPasswordPolicy } from '../../server/auth/passwords.js';
import { describeUser, USER_NAME, USER_ROLE } from '../../server/routes/users.js';
import type { AuthStore } from '../../store/auth-store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { readAll, writeLine } from '../io.js';
import { renderTable, visible } from '../output.js';

const addSchema = z.object({ name: USER_NAME, role: USER_ROLE });
const listSchema = z.object({ format: z.enum(['table', 'json']).default('table') });

export function registerUserCommand(program: Command, context: CommandContext): void {
  const user = program.command('user').description('Manage the people who may sign in to the web UI and API');

  user
    .command('add')
    .description('Add a user; the password is read from standard input (at least 12 characters)')
    .argument('<name>', 'sign-in name, e.g. alice@example.com')
    .requiredOption('--role <role>', 'admin (sources, users), analyst (search, export) or viewer (read only)')
    .action(async (name: string, rawFlags: Record<string, unknown>) => {
      const flags = parseFlags(addSchema, { ...rawFlags, name });
      // Only the line ending a pipe or heredoc adds is removed; every other character belongs to the password.
      const password = (await readAll(context.io.stdin)).replace(/\r?\n$/, '');
      // Checked before the installation opens, so a refused password creates nothing.
      checkPasswordPolicy(password);
      await withAuthStore(context, async (app, auth) => {
        const created = await addUser(auth, { name: flags.name, role: flags.role, password }, app.clock.now());
        await auth.appendAudit({
          at: app.clock.now(),
          actor: null,
          action: 'user_added',
          target: created.name,
          outcome: 'success',
          ip: null,
          details: { role: created.role, via: 'cli' },
        });
        writeLine(context.io.stdout, `Added user "${visible(created.name)}" with role ${created.role}.`);
      });
    });

  user
    .command('list')
    .description('List users and their roles')
    .option('--format <format>', 'table or json (default table)')
    .action(async (rawFlags: Record<string, unknown>) => {
      const { format } = parseFlags(listSchema, rawFlags);
      const noUsers = (): void =>
        writeLine(
          context.io.stdout,
          format === 'json' ? '[]' : 'No users yet. Add the first admin with: zerotrail user add NAME --role admin',
        );
      await withAuthStore(
        context,
        async (_app, auth) => {
          const users = await auth.listUsers();
          if (format === 'json') {
            writeLine(context.io.stdout, JSON.stringify(users.map(describeUser), null, 2));
            return;
          }
          if (users.length === 0) {
            noUsers();
            return;
          }
          const rows = users.map((entry) => [visible(entry.name), entry.role, new Date(entry.createdAt).toISOString()]);
          writeLine(context.io.stdout, renderTable(['name', 'role', 'created'], rows));
        },
        { readOnly: noUsers },
      );
    });
}

/**
 * Opens the installation (migrating it) and the auth tables beside it, and closes both afterwards. While nothing is
 * stored, a command about a stored user or key runs `missing` instead (its refusal), and a command that only reads
 * runs `readOnly` (the empty result) after saying there is no installation; neither creates anything.
 */
export async function withAuthStore<T>(
  context: CommandContext,
  work: (app: App, auth: AuthStore) => Promise<T>,
  otherwise?: { readonly missing: () => T } | { readonly readOnly: () => T },
): Promise<T> {
  const withAuth = async (app: App): Promise<T> => {
    const auth = await openAuthStore(app);
    try {
      return await work(app, auth);
    } finally {
      await auth.close();
    }
  };
  if (otherwise === undefined) return context.withApp(withAuth);
  return 'missing' in otherwise
    ? context.withExistingApp(withAuth, otherwise.missing)
    : context.withStoredApp(withAuth, otherwise.readOnly);
}
