import { describe, expect, it } from 'vitest';
import { haveFixtures, FALCO_FIXTURES } from './helpers/fixtures.js';

describe('test setup', () => {
  it.skipIf(!haveFixtures)('finds the shared Falco fixtures', () => {
    expect(FALCO_FIXTURES).toMatch(/fixtures[/\\]falco$/);
  });
});
