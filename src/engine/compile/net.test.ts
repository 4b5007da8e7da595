import { describe, expect, it } from 'vitest';
import { inNet, ipEquals, parseCidr, parseIp, parseIpv4, parseIpv6 } from './net.js';

describe('IP parsing and matching', () => {
  it('parses dotted quads strictly', () => {
    expect(parseIpv4('127.0.0.1')).toBe(0x7f000001);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4('256.0.0.1')).toBeUndefined();
    expect(parseIpv4('1.2.3')).toBeUndefined();
    expect(parseIpv4('01.2.3.4')).toBeUndefined();
    expect(parseIpv4('1.2.3.4.5')).toBeUndefined();
    expect(parseIpv4('a.b.c.d')).toBeUndefined();
  });

  it('parses IPv6 forms', () => {
    expect(parseIpv6('::1')).toEqual([0, 0, 0, 1]);
    expect(parseIpv6('0:0:0:0:0:0:0:1')).toEqual([0, 0, 0, 1]);
    expect(parseIpv6('2001:4860:4860::8888')).toEqual([0x20014860, 0x48600000, 0, 0x8888]);
    expect(parseIpv6('::ffff:1.2.3.4')).toEqual([0, 0, 0xffff, 0x01020304]);
    expect(parseIpv6('1::2::3')).toBeUndefined();
    expect(parseIpv6('12345::1')).toBeUndefined();
  });

  it('compares within a family only', () => {
    const v4 = parseIp('10.0.0.1');
    const v6 = parseIp('::1');
    expect(v4).toBeDefined();
    expect(v6).toBeDefined();
    expect(ipEquals(v4!, parseIp('10.0.0.1')!)).toBe(true);
    expect(ipEquals(v4!, v6!)).toBe(false);
    expect(ipEquals(v6!, parseIp('0:0:0:0:0:0:0:1')!)).toBe(true);
  });

  it('matches CIDR networks', () => {
    const a = parseIp('142.251.111.147')!;
    expect(inNet(a, parseCidr('142.0.0.0/4')!)).toBe(true);
    expect(inNet(a, parseCidr('142.251.0.0/8')!)).toBe(true);
    expect(inNet(a, parseCidr('10.0.0.0/8')!)).toBe(false);
    expect(inNet(a, parseCidr('2001:db8::/32')!)).toBe(false);
    const b = parseIp('2001:4860:4860::8888')!;
    expect(inNet(b, parseCidr('2001::0/16')!)).toBe(true);
    expect(inNet(b, parseCidr('2001:4860:4860::8888/48')!)).toBe(true);
    expect(inNet(b, parseCidr('2001:db8:abcd:0012::0/64')!)).toBe(false);
    expect(inNet(b, parseCidr('10.0.0.0/8')!)).toBe(false);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0.0/x')).toBeUndefined();
    expect(inNet(parseIp('127.0.0.1')!, parseCidr('127.0.0.1')!)).toBe(true); // bare address: /32
  });
});
