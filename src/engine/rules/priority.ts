/**
 * Rule priorities (Falco's `falco_common` priorities, syslog severities).
 *
 * Parsing is case-insensitive and accepts `INFO` as an alias of `INFORMATIONAL`, as Falco does for
 * historical reasons. The rank is the syslog number (0 = EMERGENCY … 7 = DEBUG): a lower rank is more
 * severe, so a minimum priority keeps rules whose rank is <= the minimum's rank.
 */

export type Priority =
  'EMERGENCY' | 'ALERT' | 'CRITICAL' | 'ERROR' | 'WARNING' | 'NOTICE' | 'INFORMATIONAL' | 'DEBUG';

/** All priorities, most severe first (index = rank). */
export const PRIORITIES: readonly Priority[] = [
  'EMERGENCY',
  'ALERT',
  'CRITICAL',
  'ERROR',
  'WARNING',
  'NOTICE',
  'INFORMATIONAL',
  'DEBUG',
];

const LABELS: Record<Priority, string> = {
  EMERGENCY: 'Emergency',
  ALERT: 'Alert',
  CRITICAL: 'Critical',
  ERROR: 'Error',
  WARNING: 'Warning',
  NOTICE: 'Notice',
  INFORMATIONAL: 'Informational',
  DEBUG: 'Debug',
};

const RANKS: Record<Priority, number> = {
  EMERGENCY: 0,
  ALERT: 1,
  CRITICAL: 2,
  ERROR: 3,
  WARNING: 4,
  NOTICE: 5,
  INFORMATIONAL: 6,
  DEBUG: 7,
};

/** Parse a priority name (case-insensitive, `INFO` accepted); undefined when unknown. */
export function parsePriority(s: string): Priority | undefined {
  const upper = s.toUpperCase();
  if (upper === 'INFO') return 'INFORMATIONAL';
  return (PRIORITIES as readonly string[]).includes(upper) ? (upper as Priority) : undefined;
}

/** Syslog rank: 0 = EMERGENCY … 7 = DEBUG. */
export function priorityRank(p: Priority): number {
  return RANKS[p];
}

/** The capitalised name Falco prints in text output (`Warning`, `Informational`, …). */
export function priorityLabel(p: Priority): string {
  return LABELS[p];
}
