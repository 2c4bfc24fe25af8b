import { describe, expect, it } from 'vitest';
import { datasetJobId, isDatasetJobOf, splitJobId } from './job-id.js';

describe('dataset job ids', () => {
  it('tells the datasets of source "a" from those of source "a/b"', () => {
    expect(isDatasetJobOf(datasetJobId('a', 'access_requests'), 'a')).toBe(true);
    expect(isDatasetJobOf(datasetJobId('a/b', 'access_requests'), 'a')).toBe(false);
    expect(isDatasetJobOf(datasetJobId('a/b', 'access_requests'), 'a/b')).toBe(true);
    expect(isDatasetJobOf(datasetJobId('ab', 'access_requests'), 'a')).toBe(false);
  });
});

describe('splitJobId', () => {
  it('gives back the source name and dataset datasetJobId joined, a slash in the name included', () => {
    for (const sourceName of ['a', 'a/b', 'He said "hi"/x', '']) {
      expect(splitJobId(datasetJobId(sourceName, 'access_requests'))).toEqual({
        sourceName,
        dataset: 'access_requests',
      });
    }
  });
});
