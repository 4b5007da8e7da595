/**
 * Version requirements of rules files: `required_engine_version` and `required_plugin_versions`.
 *
 * Versions follow libsinsp's `sinsp_version`: the text must start with three unsigned numbers
 * `major.minor.patch` (anything after them is ignored, as with `sscanf("%u.%u.%u")`). A provided
 * version satisfies a requirement when the majors are equal and it is not older. Legacy numeric
 * engine versions (`required_engine_version: 15`) mean `0.15.0`, as in Falco.
 */

export interface Semver {
  major: number;
  minor: number;
  patch: number;
}

const SEMVER_RE = /^\s*\+?(\d+)\.\s*\+?(\d+)\.\s*\+?(\d+)/;
const UINT32_MAX = 0xffffffff;

/** Parse `x.y.z` (trailing text ignored); undefined when the text does not start with three numbers. */
export function parseSemver(text: string): Semver | undefined {
  const m = SEMVER_RE.exec(text);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major > UINT32_MAX || minor > UINT32_MAX || patch > UINT32_MAX) return undefined;
  return { major, minor, patch };
}

export function formatSemver(v: Semver): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export function compareSemver(a: Semver, b: Semver): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** Whether `provided` satisfies `required`: same major, and not older. */
export function isCompatible(provided: Semver, required: Semver): boolean {
  return provided.major === required.major && compareSemver(provided, required) >= 0;
}

/** The semver a legacy integer engine version stands for (`15` → `0.15.0`). */
export function implicitEngineVersion(n: number): Semver {
  return { major: 0, minor: n, patch: 0 };
}

/** One `required_plugin_versions` entry: the first alternative is the entry itself. */
export interface PluginRequirement {
  name: string;
  version: string;
}

export type PluginRequirementResult =
  | { status: 'ok'; plugin: string }
  /** None of the alternatives is a plugin this engine provides. */
  | { status: 'not-provided' }
  | { status: 'incompatible'; message: string };

/**
 * Check one requirement (with its alternatives) against the plugins the engine provides, in the
 * order of the alternatives: the first provided plugin decides, as in Falco's
 * `check_plugin_requirements`.
 */
export function checkPluginRequirement(
  alternatives: readonly PluginRequirement[],
  provided: Readonly<Record<string, string>>,
): PluginRequirementResult {
  for (const req of alternatives) {
    const have = Object.prototype.hasOwnProperty.call(provided, req.name) ? provided[req.name] : undefined;
    if (have === undefined) continue;
    const haveVer = parseSemver(have);
    if (!haveVer)
      return { status: 'incompatible', message: `Plugin '${req.name}' has invalid version string '${have}'` };
    const reqVer = parseSemver(req.version);
    if (!reqVer || !isCompatible(haveVer, reqVer)) {
      return {
        status: 'incompatible',
        message: `Plugin '${req.name}' version '${have}' is not compatible with required plugin version '${req.version}'`,
      };
    }
    return { status: 'ok', plugin: req.name };
  }
  return { status: 'not-provided' };
}
