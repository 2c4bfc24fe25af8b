import { z } from 'zod';
import { SourceError } from '../../../core/errors.js';
import type { InventoryEntity, InventoryKind } from '../../../core/inventory.js';
import type { InventorySource } from '../../source.js';
import { isRouteMissing } from '../client.js';
import { Lifecycle } from '../lifecycle.js';
import { listAllCursorPages, listResult } from '../paginate.js';
import { CLOUDFLARE_DATASETS } from './catalogue.js';
import { nameOf, type InventorySourceOptions } from './list-inventory.js';

export const PHYSICAL_DEVICES_PATH = '/devices/physical-devices';
export const DEPRECATED_DEVICES_PATH = '/devices';

const deviceSchema = z.looseObject({ id: z.string().min(1) });

/**
 * The account's devices. Reads `devices/physical-devices` (cursor-paged) with `active_registrations=include`:
 * its default, `only`, hides a device once its last registration is revoked, and a revocation must show up as a
 * change rather than as the device vanishing. Where that endpoint is missing (older API, 404 or "No route") it
 * falls back to the deprecated `/devices` list for the rest of the process's life, so that device ids (which
 * differ between the two endpoints) do not flip between snapshots.
 */
export class DevicesSource implements InventorySource {
  readonly dataset = 'devices';
  readonly kinds: readonly InventoryKind[] = ['device'];
  readonly #options: InventorySourceOptions;
  readonly #lifecycle = new Lifecycle('devices');
  #deprecatedOnly = false;

  constructor(options: InventorySourceOptions) {
    this.#options = options;
  }

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  async snapshot(signal: AbortSignal): Promise<readonly InventoryEntity[]> {
    const combined = this.#lifecycle.signal(signal);
    const { client, logger, pageSize } = this.#options;
    const permission = CLOUDFLARE_DATASETS.devices.permission;
    let devices: readonly z.output<typeof deviceSchema>[] | undefined;
    if (!this.#deprecatedOnly) {
      try {
        devices = await listAllCursorPages(client, client.accountPath(PHYSICAL_DEVICES_PATH), deviceSchema, {
          dataset: this.dataset,
          permission,
          signal: combined,
          pageSize,
          query: { active_registrations: 'include' },
        });
      } catch (error) {
        if (!isRouteMissing(error)) throw error;
        this.#deprecatedOnly = true;
        logger.warn(
          { dataset: this.dataset, err: error },
          'Physical devices endpoint not available; reading the deprecated device list',
        );
      }
    }
    // The deprecated list is not paged (SDK SinglePage) and keeps revoked registrations with revoked_at.
    if (devices === undefined) {
      const answer = await client.get(
        client.accountPath(DEPRECATED_DEVICES_PATH),
        {},
        listResult(deviceSchema),
        combined,
        { permission },
      );
      // spec-2024 gives it result_info: an answer that says it holds more than it sent would record the rest as
      // removed devices.
      const total = answer.resultInfo?.totalCount;
      if (total !== undefined && total > answer.result.length) {
        throw new SourceError('SOURCE_RESPONSE_INVALID', {
          message: `Cloudflare sent ${answer.result.length} of ${total} devices; the snapshot is discarded and will be taken again.`,
          details: { dataset: this.dataset, received: answer.result.length, expected: total },
        });
      }
      devices = answer.result;
    }
    logger.debug({ items: devices.length }, 'Inventory read');
    return devices.map((device) => ({
      kind: 'device',
      id: device.id,
      name: nameOf(device, ['name']),
      attributes: device,
    }));
  }
}
