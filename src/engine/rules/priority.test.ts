import { describe, expect, it } from 'vitest';
import { PRIORITIES, parsePriority, priorityLabel, priorityRank } from './priority.js';

describe('priorities', () => {
  it('parses names case-insensitively, with INFO as an alias', () => {
    expect(parsePriority('warning')).toBe('WARNING');
    expect(parsePriority('Critical')).toBe('CRITICAL');
    expect(parsePriority('INFO')).toBe('INFORMATIONAL');
    expect(parsePriority('info')).toBe('INFORMATIONAL');
    expect(parsePriority('informational')).toBe('INFORMATIONAL');
    expect(parsePriority('warn')).toBeUndefined();
    expect(parsePriority('')).toBeUndefined();
  });

  it('ranks by syslog severity', () => {
    expect(PRIORITIES.map(priorityRank)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(priorityRank('EMERGENCY')).toBeLessThan(priorityRank('DEBUG'));
  });

  it('labels as Falco prints them', () => {
    expect(priorityLabel('INFORMATIONAL')).toBe('Informational');
    expect(priorityLabel('WARNING')).toBe('Warning');
    expect(priorityLabel('DEBUG')).toBe('Debug');
  });
});
