import type { NormalizedEvent } from '../core/event.js';
import type { Store } from '../store/store.js';
import type { StoredEvents } from './rule.js';

// A rule reads back a few events at a time and usually stops early (at a reprovision).
const PAGE = 200;

/** Stored events as the rules read them back, from `store`, a page at a time as the rule goes on reading. */
export function storedEvents(store: Store): StoredEvents {
  return {
    async *ofUser(user: string, fromMs: number): AsyncGenerator<NormalizedEvent> {
      const filter = { kind: 'term', field: 'user', value: user, wildcard: false } as const;
      let after: string | undefined;
      for (;;) {
        const page = await store.search(
          { filter, fromMs, order: 'asc' },
          { limit: PAGE, ...(after === undefined ? {} : { after }) },
        );
        yield* page.events;
        if (page.nextPage === null) return;
        after = page.nextPage;
      }
    },
  };
}
