import { describe, expect, it } from 'vitest';
import { checkPluginRequirement, implicitEngineVersion, isCompatible, parseSemver } from './versions.js';

describe('versions', () => {
  it('parses major.minor.patch and ignores what follows', () => {
    expect(parseSemver('0.57.0')).toEqual({ major: 0, minor: 57, patch: 0 });
    expect(parseSemver('1.2.3-rc1')).toEqual({ major: 1, minor: 2, patch: 3 });
    expect(parseSemver('seven')).toBeUndefined();
    expect(parseSemver('1.2')).toBeUndefined();
  });

  it('is compatible with the same major and a version not older', () => {
    const engine = { major: 0, minor: 63, patch: 0 };
    expect(isCompatible(engine, { major: 0, minor: 26, patch: 0 })).toBe(true);
    expect(isCompatible(engine, { major: 0, minor: 63, patch: 1 })).toBe(false);
    expect(isCompatible(engine, { major: 1, minor: 0, patch: 0 })).toBe(false);
    expect(isCompatible(engine, implicitEngineVersion(9999999))).toBe(false);
    expect(implicitEngineVersion(15)).toEqual({ major: 0, minor: 15, patch: 0 });
  });

  it('checks plugin requirements in the order of the alternatives', () => {
    const provided = { k8saudit: '0.18.0', json: '0.7.0' };
    expect(checkPluginRequirement([{ name: 'k8saudit', version: '0.7.0' }], provided)).toEqual({
      status: 'ok',
      plugin: 'k8saudit',
    });
    expect(
      checkPluginRequirement(
        [
          { name: 'k8saudit-eks', version: '0.1.0' },
          { name: 'k8saudit', version: '0.19.0' },
        ],
        provided,
      ),
    ).toEqual({
      status: 'incompatible',
      message: "Plugin 'k8saudit' version '0.18.0' is not compatible with required plugin version '0.19.0'",
    });
    expect(checkPluginRequirement([{ name: 'cloudtrail', version: '0.1.0' }], provided)).toEqual({
      status: 'not-provided',
    });
  });
});
