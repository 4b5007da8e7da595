/**
 * IP addresses and networks for the IPADDR / IPNET field types (`fd.ip`, `fd.sip`, `fd.net`,
 * `fd.snet in (rfc_1918_addresses)`).
 *
 * Semantics follow libsinsp's `flt_compare` for these types: addresses of different families never
 * compare equal (so `!=` is true and every other operator false), a network matches an address of
 * its family when the masked bits agree. Field values reach the compiler as text (`10.0.0.1`,
 * `2001:db8::1`); they are parsed per evaluation, which costs a few hundred nanoseconds and only
 * happens on network events.
 */

/** An IPv4 address as an unsigned 32-bit number, or an IPv6 address as four 32-bit words. */
export type IpAddr = number | readonly [number, number, number, number];

/** A network: address plus prefix length, with the mask already applied to the address. */
export type IpNet =
  | { v6: false; net: number; mask: number }
  | {
      v6: true;
      net: readonly [number, number, number, number];
      mask: readonly [number, number, number, number];
    };

/** Strict dotted quad (inet_pton AF_INET): four decimal parts 0-255, no leading zeros. */
export function parseIpv4(s: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; /* virtual final '.' */
    if (c === 46) {
      if (digits === 0 || parts === 4) return undefined;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined; // leading zero
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value >>> 0 : undefined;
}

/** IPv6 text (RFC 4291 forms, `::` compression, trailing dotted quad) to four 32-bit words. */
export function parseIpv6(s: string): [number, number, number, number] | undefined {
  if (s.length < 2) return undefined;
  const pct = s.indexOf('%'); // zone id: not part of the address
  if (pct >= 0) s = s.slice(0, pct);
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseGroups = (text: string, allowV4Tail: boolean): number[] | undefined => {
    if (text === '') return [];
    const groups = text.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (allowV4Tail && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let hextets: number[];
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl), false);
    const tail = parseGroups(s.slice(dbl + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    hextets = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(s, true);
    if (!all || all.length !== 8) return undefined;
    hextets = all;
  }
  const w = (i: number): number => (((hextets[i] as number) << 16) | (hextets[i + 1] as number)) >>> 0;
  return [w(0), w(2), w(4), w(6)];
}

/** Parses an address of either family (`:` decides the family). */
export function parseIp(s: string): IpAddr | undefined {
  return s.includes(':') ? parseIpv6(s) : parseIpv4(s);
}

function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** `a.b.c.d/n` or `v6/n`; a bare address is a host network (/32 or /128). */
export function parseCidr(s: string): IpNet | undefined {
  const slash = s.indexOf('/');
  const addrText = slash >= 0 ? s.slice(0, slash) : s;
  const addr = parseIp(addrText);
  if (addr === undefined) return undefined;
  const max = typeof addr === 'number' ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = s.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(b)) return undefined;
    bits = Number(b);
    if (bits > max) return undefined;
  }
  if (typeof addr === 'number') {
    const mask = maskWord(bits);
    return { v6: false, net: (addr & mask) >>> 0, mask };
  }
  const mask = [maskWord(bits), maskWord(bits - 32), maskWord(bits - 64), maskWord(bits - 96)] as const;
  const net = [
    (addr[0] & mask[0]) >>> 0,
    (addr[1] & mask[1]) >>> 0,
    (addr[2] & mask[2]) >>> 0,
    (addr[3] & mask[3]) >>> 0,
  ] as const;
  return { v6: true, net, mask };
}

/** Same family and same bits. */
export function ipEquals(a: IpAddr, b: IpAddr): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** Is `a` inside `n`? False across families. */
export function inNet(a: IpAddr, n: IpNet): boolean {
  if (typeof a === 'number') return !n.v6 && (a & n.mask) >>> 0 === n.net;
  if (!n.v6) return false;
  return (
    (a[0] & n.mask[0]) >>> 0 === n.net[0] &&
    (a[1] & n.mask[1]) >>> 0 === n.net[1] &&
    (a[2] & n.mask[2]) >>> 0 === n.net[2] &&
    (a[3] & n.mask[3]) >>> 0 === n.net[3]
  );
}

/** Text of a field value as an address: strings are parsed, numbers taken as IPv4. */
export function toIp(v: unknown): IpAddr | undefined {
  if (typeof v === 'string') return parseIp(v);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v;
  return undefined;
}
