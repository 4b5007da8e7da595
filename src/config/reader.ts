/**
 * Reading configuration values (plain objects as YAML parses them) with every mistake collected
 * as `path: reason`, all at once, instead of stopping at the first. The config file loader turns
 * paths into `file:line:col`.
 */

export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `a.b` under `where` (`''` is the top). */
export function joinPath(where: string, key: string): string {
  return where === '' ? key : `${where}.${key}`;
}

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/;
const UNIT_BYTES: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

const ENV_REF_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{[^}]*\}?/g;

/**
 * Replaces `${NAME}` with the environment variable NAME (so secrets stay out of config files);
 * `$${` stands for a literal `${`. Returns the names that are not set, or that are malformed, instead
 * of a value when any is.
 */
export function expandEnvRefs(
  s: string,
  env: NodeJS.ProcessEnv,
): { value: string; problems?: undefined } | { value?: undefined; problems: string[] } {
  const problems: string[] = [];
  const value = s.replace(ENV_REF_RE, (ref: string, name: string | undefined) => {
    if (ref === '$${') return '${';
    if (name === undefined) {
      problems.push(
        `${JSON.stringify(ref)} is not a variable reference (use \${NAME}, or $\${ for a literal \${)`,
      );
      return '';
    }
    const v = env[name];
    if (v === undefined) problems.push(`environment variable ${name} is not set`);
    return v ?? '';
  });
  return problems.length > 0 ? { problems } : { value };
}

/** Parses `500ms`, `10s`, `5m`, `1h`, `30d` (or a number of seconds) into ms; undefined when invalid. */
export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = DURATION_RE.exec(v.trim());
  return m ? Math.round(Number(m[1]) * (UNIT_MS[m[2]!] ?? 1)) : undefined;
}

/** Parses `64MiB`, `1GB`, `512` (bytes); undefined when invalid. */
export function parseSizeBytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = SIZE_RE.exec(v.trim());
  return m ? Math.round(Number(m[1]) * (UNIT_BYTES[m[2] ?? 'B'] ?? 1)) : undefined;
}

/** Collects issues while reading one config value. */
export class ConfigReader {
  readonly issues: string[] = [];

  fail(path: string, reason: string): undefined {
    this.issues.push(`${path}: ${reason}`);
    return undefined;
  }

  unknownKeys(o: Obj, where: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k))
        this.fail(joinPath(where, k), `unknown key (expected one of: ${allowed.join(', ')})`);
    }
  }

  object(v: unknown, path: string): Obj | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) return this.fail(path, 'must be a mapping');
    return v;
  }

  string(v: unknown, path: string, required = false): string | undefined {
    if (v === undefined || v === null) return required ? this.fail(path, 'is required') : undefined;
    if (typeof v !== 'string' || v === '') return this.fail(path, 'must be a non-empty string');
    return v;
  }

  boolean(v: unknown, path: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return this.fail(path, 'must be true or false');
    return v;
  }

  integer(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      return this.fail(path, `must be an integer from ${min} to ${max}`);
    }
    return v;
  }

  /** `500ms`, `10s`, `5m`, `1h`, `30d`, or a number of seconds; in ms. */
  duration(v: unknown, path: string, minMs = 0): number | undefined {
    if (v === undefined || v === null) return undefined;
    const ms = parseDurationMs(v);
    if (ms === undefined)
      return this.fail(path, 'must be a duration such as 500ms, 10s, 5m, 1h, 30d (or seconds)');
    if (ms < minMs) return this.fail(path, `must be at least ${minMs}ms`);
    return ms;
  }

  /** `64MiB`, `1GB`, or a number of bytes. */
  size(v: unknown, path: string, minBytes = 0): number | undefined {
    if (v === undefined || v === null) return undefined;
    const n = parseSizeBytes(v);
    if (n === undefined) return this.fail(path, 'must be a size such as 512KiB, 64MiB, 1GiB (or bytes)');
    if (n < minBytes) return this.fail(path, `must be at least ${minBytes} bytes`);
    return n;
  }

  oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      return this.fail(path, `must be one of: ${values.join(', ')}`);
    }
    return v as T;
  }

  stringList(v: unknown, path: string): string[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) return this.fail(path, 'must be a list of strings');
    const out: string[] = [];
    v.forEach((s, i) => {
      if (typeof s !== 'string' || s === '') this.fail(`${path}[${i}]`, 'must be a non-empty string');
      else out.push(s);
    });
    return out;
  }

  /** A mapping of strings to strings (numbers and booleans are written as text, as YAML users expect). */
  stringMap(v: unknown, path: string): Record<string, string> | undefined {
    const o = this.object(v, path);
    if (!o) return undefined;
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(o)) {
      if (typeof val === 'string') out[k] = val;
      else if (typeof val === 'number' || typeof val === 'boolean') out[k] = String(val);
      else this.fail(joinPath(path, k), 'must be a string');
    }
    return out;
  }

  /** `host:port` (IPv6 hosts in brackets); port 0 picks a free one. */
  listen(v: unknown, path: string): { host: string; port: number } | undefined {
    const s = this.string(v, path);
    if (s === undefined) return undefined;
    const parsed = parseListen(s);
    if (!parsed) return this.fail(path, 'must be HOST:PORT, e.g. 127.0.0.1:7878 or [::1]:7878 or :7878');
    return parsed;
  }
}

/** Parses `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseListen(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  return { host, port };
}
