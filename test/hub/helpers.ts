/** Shared by the hub tests: a hub over a fresh SQLite store in a temp dir, and alert factories. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type Hub, type HubOptions } from '../../src/hub/server.js';
import { alertToWire, type WireAlert } from '../../src/hub/wire.js';
import { openStore, type Store, type StoredAlert } from '../../src/store/index.js';
import type { Priority } from '../../src/engine/rules/index.js';

export const TOKEN = 'test-token-5f1e0c';
export const BASE_NS = 1_764_000_000_000_000_000n;

export interface TestHub {
  hub: Hub;
  store: Store;
  dir: string;
  /** `Authorization` header with the test token. */
  auth: Record<string, string>;
  close(): Promise<void>;
}

export async function startTestHub(opts: Partial<HubOptions> = {}): Promise<TestHub> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-hub-'));
  const store = await openStore({ kind: 'sqlite', path: join(dir, 'vigil.db') });
  const hub = await startHub({ store, listen: { host: '127.0.0.1', port: 0 }, tokens: [TOKEN], ...opts });
  return {
    hub,
    store,
    dir,
    auth: { Authorization: `Bearer ${TOKEN}` },
    async close() {
      await hub.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface AlertSpec {
  rule?: string;
  priority?: Priority;
  source?: string;
  hostname?: string;
  tags?: string[];
  containerId?: string;
  containerName?: string;
  namespace?: string;
  output?: string;
  time?: bigint;
}

/** Alert number `i` (time = BASE_NS + i seconds unless given). */
export function makeAlert(i: number, s: AlertSpec = {}): StoredAlert {
  const fields: Record<string, unknown> = { 'proc.name': 'bash', 'proc.pid': 1000 + i };
  if (s.containerId !== undefined) fields['container.id'] = s.containerId;
  if (s.containerName !== undefined) fields['container.name'] = s.containerName;
  if (s.namespace !== undefined) fields['k8s.ns.name'] = s.namespace;
  return {
    id: `agent-1:boot-1:${i}`,
    time: s.time ?? BASE_NS + BigInt(i) * 1_000_000_000n,
    rule: s.rule ?? 'Terminal shell in container',
    priority: s.priority ?? 'WARNING',
    source: s.source ?? 'syscall',
    hostname: s.hostname ?? 'node-a',
    output: s.output ?? `A shell was spawned (n=${i})`,
    outputFields: fields,
    tags: s.tags ?? ['container', 'shell'],
  };
}

export function wireBatch(alerts: readonly StoredAlert[]): { alerts: WireAlert[] } {
  return { alerts: alerts.map(alertToWire) };
}

export async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${url}/v1/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
