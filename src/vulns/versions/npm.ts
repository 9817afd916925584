import semver from 'semver';
import { checkVersionText, defineVersionScheme, invalidVersion } from './scheme.ts';

/**
 * npm versions in node-semver's own order (the `semver` package npm itself uses), strict mode: an
 * optional leading "v", no loose forms. node-semver throws a TypeError for input it refuses; here that
 * becomes VULNS_VERSION_INVALID.
 */
export function parseNpmVersion(version: string): semver.SemVer {
  checkVersionText('npm', version);
  try {
    return new semver.SemVer(version);
  } catch {
    throw invalidVersion('npm', version, 'node-semver refuses it');
  }
}

export const npmScheme = defineVersionScheme('npm', parseNpmVersion, (a, b) => a.compare(b));
