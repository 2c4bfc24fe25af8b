import type { Inventory } from './inventory.js';
import type { InventoryChange } from './inventory-changes.js';

interface Step {
  readonly atMs: number;
  readonly apply: (inventory: Inventory) => Inventory;
}

/**
 * The inventory as a function of time: the state before every scheduled change, then the scheduled changes and the
 * test updates in time order, each from its time on. A test update takes effect at the clock time it was made;
 * steps are re-applied whenever the state is rebuilt, so updates must be pure.
 */
export class InventoryTimeline {
  readonly #before: Inventory;
  readonly #steps: Step[];
  #cache: { applied: number; steps: number; inventory: Inventory } | undefined;

  /** `current` is the inventory at the start; changes that lie before the start are undone to find the past. */
  constructor(
    current: Inventory,
    changes: readonly Pick<InventoryChange, 'atMs' | 'apply' | 'undo'>[],
    startMs: number,
  ) {
    let before = current;
    for (const change of [...changes].reverse())
      if (change.atMs <= startMs && change.undo) before = change.undo(before);
    this.#before = before;
    this.#steps = [...changes].sort((a, b) => a.atMs - b.atMs);
  }

  #applied(ms: number): number {
    let applied = 0;
    while (applied < this.#steps.length && (this.#steps[applied]?.atMs ?? Infinity) <= ms) applied++;
    return applied;
  }

  at(ms: number): Inventory {
    const applied = this.#applied(ms);
    const cached = this.#cache;
    if (cached !== undefined && cached.applied === applied && cached.steps === this.#steps.length)
      return cached.inventory;
    let inventory = this.#before;
    for (const step of this.#steps.slice(0, applied)) inventory = step.apply(inventory);
    this.#cache = { applied, steps: this.#steps.length, inventory };
    return inventory;
  }

  /** Applies a test update to the inventory at `nowMs` and keeps it from then on; a throwing update is not kept. */
  update(change: (current: Inventory) => Inventory, nowMs: number): void {
    const inventory = change(this.at(nowMs));
    // After every step up to now, which the update has seen, and before any later one.
    const index = this.#applied(nowMs);
    this.#steps.splice(index, 0, { atMs: nowMs, apply: change });
    this.#cache = { applied: index + 1, steps: this.#steps.length, inventory };
  }
}
