import { describe, expect, it } from 'vitest';
import { jsonFieldValue, renderFieldValue } from './render.js';
import { syscallFields, k8sAuditFields } from './index.js';
import type { FieldDef } from './types.js';

const def = (name: string): FieldDef => (syscallFields.lookup(name) ?? k8sAuditFields.lookup(name))!.def;

describe('renderFieldValue', () => {
  it('prints missing values as <NA>', () => {
    expect(renderFieldValue(undefined, def('proc.name'))).toBe('<NA>');
  });

  it('prints numbers in decimal, hex or padded as libsinsp formats them', () => {
    expect(renderFieldValue(1234, def('proc.pid'))).toBe('1234');
    expect(renderFieldValue(-2, def('evt.rawres'))).toBe('-2');
    expect(renderFieldValue(18446744073709551615n, def('evt.rawtime'))).toBe('18446744073709551615');
    expect(renderFieldValue(8388609, def('fd.dev'))).toBe('800001');
    expect(renderFieldValue(-1, def('fd.dev'))).toBe('FFFFFFFF');
    expect(renderFieldValue(5, def('evt.rawtime.ns'))).toBe('000000005');
    expect(renderFieldValue(0.256, def('proc.fdusage'))).toBe('0.3');
    expect(renderFieldValue(443, def('fd.sport'))).toBe('443');
  });

  it('prints booleans, strings, addresses and networks', () => {
    expect(renderFieldValue(true, def('evt.failed'))).toBe('true');
    expect(renderFieldValue(false, def('fd.connected'))).toBe('false');
    expect(renderFieldValue('/etc/passwd', def('fd.name'))).toBe('/etc/passwd');
    expect(renderFieldValue('', def('container.image'))).toBe('');
    expect(renderFieldValue('fe80::1', def('fd.sip'))).toBe('fe80::1');
    expect(renderFieldValue('10.0.0.1', def('fd.cnet'))).toBe('<IPNET>');
  });

  it('prints byte buffers with unprintable bytes as dots, at most 1023 characters', () => {
    expect(renderFieldValue(new Uint8Array([0x47, 0x45, 0x54, 0x0d, 0x0a, 0xff]), def('evt.buffer'))).toBe(
      'GET...',
    );
    expect((renderFieldValue(new Uint8Array(5000).fill(0x41), def('evt.buffer')) as string).length).toBe(
      1023,
    );
  });

  it('prints lists in parentheses and ancestor lineages as the process itself', () => {
    expect(renderFieldValue(['system:masters', 'system:authenticated'], def('ka.user.groups'))).toBe(
      '(system:masters,system:authenticated)',
    );
    expect(renderFieldValue([], def('fd.types'))).toBe('()');
    expect(renderFieldValue(['cat', 'bash', 'sshd'], def('proc.aname'))).toBe('cat');
    expect(renderFieldValue([1001, 1000], def('proc.apid'))).toBe('1001');
  });

  it('prints dynamic raw arguments by their JS type', () => {
    expect(renderFieldValue(4097, def('evt.rawarg'))).toBe('4097');
    expect(renderFieldValue('/tmp/x', def('evt.rawarg'))).toBe('/tmp/x');
    expect(renderFieldValue(new Uint8Array([0x61, 0x00]), def('evt.rawarg'))).toBe('a.');
  });
});

describe('jsonFieldValue', () => {
  it('gives null for missing values', () => {
    expect(jsonFieldValue(undefined, def('proc.name'))).toBeNull();
  });

  it('keeps numbers as numbers (exact bigint beyond 2^53) and hex as text', () => {
    expect(jsonFieldValue(1234, def('proc.pid'))).toBe(1234);
    expect(jsonFieldValue(1700000000123456789n, def('evt.rawtime'))).toBe(1700000000123456789n);
    expect(jsonFieldValue(42n, def('evt.num'))).toBe(42);
    expect(jsonFieldValue(5, def('evt.rawtime.ns'))).toBe(5);
    expect(jsonFieldValue(8388609, def('fd.dev'))).toBe('800001');
    expect(jsonFieldValue(0.25, def('proc.fdusage'))).toBe(0.25);
  });

  it('gives booleans, strings and arrays', () => {
    expect(jsonFieldValue(true, def('container.privileged'))).toBe(true);
    expect(jsonFieldValue('bash', def('proc.name'))).toBe('bash');
    expect(jsonFieldValue(['a', 'b'], def('ka.user.groups'))).toEqual(['a', 'b']);
    expect(jsonFieldValue(['cat', 'bash'], def('proc.aname'))).toBe('cat');
    expect(jsonFieldValue(new Uint8Array([0x68, 0x01]), def('evt.buffer'))).toBe('h.');
    expect(jsonFieldValue('403', def('ka.response.code'))).toBe('403');
  });
});
