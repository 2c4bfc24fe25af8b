import type { Command } from 'commander';
import { z } from 'zod';
import type { App } from '../../app.js';
import { AppError } from '../../core/errors.js';
import type { InventoryKind } from '../../core/inventory.js';
import type { StoredInventoryEntity } from '../../store/store.js';
import { parseFlags, type CommandContext } from '../context.js';
import { writeLine } from '../io.js';
import { renderTable, visible } from '../output.js';
import { unknownSource } from './source.js';

/** The names `zerotrail inventory KIND` accepts, as analysts say them, and the stored kind each means. */
const INVENTORY_COMMAND_KINDS = {
  users: 'user',
  identity_providers: 'identity_provider',
  groups: 'group',
  organization: 'organization',
  gateway: 'gateway_account',
  gateway_configuration: 'gateway_configuration',
  gateway_rules: 'gateway_rule',
  devices: 'device',
  apps: 'app',
  policies: 'policy',
} as const satisfies Record<string, InventoryKind>;
type InventoryCommandKind = keyof typeof INVENTORY_COMMAND_KINDS;
const COMMAND_KINDS = Object.keys(INVENTORY_COMMAND_KINDS) as [InventoryCommandKind, ...InventoryCommandKind[]];

// The attributes worth a column for each kind, by path, or by path and header where the path's own name would
// repeat a header before it (a user's entity name is the e-mail; its `name` attribute is the person's);
// everything else is in --format json.
type Column = string | readonly [path: string, header: string];
const COLUMNS: Readonly<Record<InventoryKind, readonly Column[]>> = {
  user: ['email', ['name', 'full_name'], 'access_seat', 'gateway_seat', 'last_successful_login'],
  organization: ['auth_domain', 'session_duration', 'warp_auth_session_duration', 'is_ui_read_only'],
  identity_provider: ['type', 'scim_config.enabled'],
  group: ['include', 'exclude', 'require'],
  gateway_account: ['gateway_tag', 'provider_name'],
  gateway_configuration: ['updated_at'],
  gateway_rule: ['action', 'enabled', 'precedence', 'traffic'],
  device: ['device_type', 'os_version', 'active_registrations', 'last_seen_at', 'revoked_at'],
  app: ['type', 'domain', 'aud'],
  policy: ['decision', 'reusable', 'app_count', 'session_duration'],
};

const flagsSchema = z.object({
  source: z.string().min(1).optional(),
  format: z.enum(['table', 'json']).default('table'),
});

export function registerInventoryCommand(program: Command, context: CommandContext): void {
  program
    .command('inventory')
    .description('Show the current Zero Trust inventory of one kind, as the last snapshot saw it')
    .argument('<kind>', COMMAND_KINDS.join(', '))
    .option('--source <name>', 'only this data source')
    .option('--format <format>', 'table or json (default table)')
    .action(async (kindArgument: string, rawFlags: Record<string, unknown>) => {
      const kind = parseKind(kindArgument);
      const flags = parseFlags(flagsSchema, rawFlags);
      const noEntities = (): void =>
        writeLine(
          context.io.stdout,
          flags.format === 'json'
            ? '[]'
            : `No ${kind} in the inventory yet. Run zerotrail collect --once to take a snapshot; zerotrail source test NAME shows whether the token may read them.`,
        );
      const show = async (app: App): Promise<void> => {
        if (flags.source !== undefined && (await app.store.getSource(flags.source)) === undefined) {
          throw unknownSource(flags.source, await app.store.listSources());
        }
        const entities = await app.store.listInventory(INVENTORY_COMMAND_KINDS[kind], flags.source);
        if (flags.format === 'json') {
          writeLine(context.io.stdout, JSON.stringify(entities.map(entityToRecord), null, 2));
          return;
        }
        if (entities.length === 0) {
          noEntities();
          return;
        }
        const columns = COLUMNS[INVENTORY_COMMAND_KINDS[kind]].map((column) =>
          typeof column === 'string' ? { path: column, header: column } : { path: column[0], header: column[1] },
        );
        const rows = entities.map((entity) => [
          visible(entity.sourceName),
          visible(entity.id),
          truncate(visible(entity.name), 48),
          ...columns.map(({ path }) => truncate(visible(cellText(valueAt(entity.attributes, path))), 48)),
        ]);
        writeLine(
          context.io.stdout,
          renderTable(['source', 'id', 'name', ...columns.map(({ header }) => header)], rows),
        );
        const newest = Math.max(...entities.map((entity) => entity.takenAt));
        writeLine(context.io.stdout, `${entities.length} ${kind}; snapshot taken ${new Date(newest).toISOString()}.`);
      };
      const source = flags.source;
      if (source === undefined) await context.withStoredApp(show, noEntities);
      else {
        await context.withExistingApp(show, () => {
          throw unknownSource(source, []);
        });
      }
    });
}

function parseKind(text: string): InventoryCommandKind {
  const normalized = text.trim().toLowerCase().replace(/-/g, '_');
  if (normalized in INVENTORY_COMMAND_KINDS) return normalized as InventoryCommandKind;
  throw new AppError('CLI_USAGE', {
    message: `There is no inventory kind "${visible(text).slice(0, 40)}".`,
    hint: `Choose one of: ${COMMAND_KINDS.join(', ')}.`,
  });
}

function entityToRecord(entity: StoredInventoryEntity): Record<string, unknown> {
  return {
    source: entity.sourceName,
    dataset: entity.dataset,
    kind: entity.kind,
    id: entity.id,
    name: entity.name,
    snapshot_taken_at: new Date(entity.takenAt).toISOString(),
    attributes: entity.attributes,
  };
}

function valueAt(attributes: Readonly<Record<string, unknown>>, path: string): unknown {
  let current: unknown = attributes;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.length === 0) return '-';
  return JSON.stringify(value);
}

function truncate(text: string, maxWidth: number): string {
  return text.length > maxWidth ? `${text.slice(0, maxWidth - 1)}…` : text;
}
