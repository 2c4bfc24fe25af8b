import { describe, expect, it } from 'vitest';
import {
  describeRange,
  exploreSearch,
  isoToLocalInput,
  localInputToIso,
  readExploreState,
  type ExploreState,
} from './explore-state.js';

describe('Explore state in the URL', () => {
  it('round-trips query, range and event, with characters that need escaping', () => {
    const state: ExploreState = {
      q: 'user:"o\'brien@example.com" AND (outcome:failure OR app:Wiki*) & #1',
      from: '2026-11-25T08:00:00Z',
      to: '2026-11-25T09:30:00+01:00',
      event: '0000019ab1c2d3e4f5a60000000000000000000000000007',
      columns: ['time', 'user', 'ray_id'],
    };
    expect(readExploreState(exploreSearch(state))).toEqual(state);
  });

  it('leaves defaults out of the link and reads a bare link as the last 24 hours', () => {
    const fallback = readExploreState('');
    expect(fallback).toEqual({ q: '', from: '-24h', to: 'now', event: null, columns: null });
    expect(exploreSearch(fallback)).toBe('');
    expect(exploreSearch({ ...fallback, q: 'outcome:failure' })).toBe('?q=outcome%3Afailure');
  });

  it('cuts oversized values from a pasted link to what the API accepts', () => {
    const state = readExploreState(`?q=${'a'.repeat(20_000)}&event=${'b'.repeat(500)}`);
    expect(state.q).toHaveLength(10_000);
    expect(state.event).toHaveLength(200);
  });

  it('keeps known columns once each, in the catalogue order, and falls back when none is known', () => {
    expect(readExploreState('?cols=ray_id,user,nope,user').columns).toEqual(['user', 'ray_id']);
    expect(readExploreState('?cols=nope,%3Cscript%3E').columns).toBeNull();
    expect(readExploreState('?cols=').columns).toBeNull();
  });

  it('names presets and spells out absolute ranges in UTC', () => {
    expect(describeRange('-7d', 'now')).toBe('Last 7 days');
    expect(describeRange('-7d', '2026-11-25T00:00:00Z')).toBe('-7d → 2026-11-25 00:00:00 UTC');
    expect(describeRange('2026-11-24T22:00:00-02:00', 'now')).toBe('2026-11-25 00:00:00 UTC → now');
  });

  it('reads datetime-local inputs as UTC and refuses incomplete ones', () => {
    expect(localInputToIso('2026-11-25T08:15')).toBe('2026-11-25T08:15:00Z');
    expect(localInputToIso('2026-11-25T08:15:30')).toBe('2026-11-25T08:15:30Z');
    expect(localInputToIso('2026-11-25')).toBeNull();
    expect(localInputToIso('')).toBeNull();
    expect(isoToLocalInput('2026-11-25T09:15:00+01:00')).toBe('2026-11-25T08:15');
    expect(isoToLocalInput('-24h')).toBe('');
    expect(isoToLocalInput('2026-11-26T19:12:09Z')).toBe('2026-11-26T19:12:09');
    expect(isoToLocalInput('2026-11-26T19:12:09.500Z')).toBe('2026-11-26T19:12:09.500');
    expect(localInputToIso('2026-11-26T19:12:09.500')).toBe('2026-11-26T19:12:09.500Z');
    expect(localInputToIso(isoToLocalInput('2026-11-26T19:12:10Z'))).toBe('2026-11-26T19:12:10Z');
  });
});
