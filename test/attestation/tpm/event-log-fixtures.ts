import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hasCommand } from '../../support/peers.ts';

/** Real firmware logs (tpm2-tools @ bc25f714 and keylime @ 9b1f6e6a; see shared/data/README.md). */
export const eventLogDir = fileURLToPath(new URL('../../../../shared/data/tpm/eventlogs/', import.meta.url));

export function readEventLogFile(name: string): Buffer {
  return readFileSync(eventLogDir + name);
}

/** Logs that ship with the reference tool's YAML rendering. */
export const logsWithYaml: string[] = readdirSync(eventLogDir)
  .filter((name) => name.endsWith('.bin') && readdirSync(eventLogDir).includes(`${name}.yaml`))
  .sort();

/** The well-formed keylime logs (no YAML shipped: compare with live tpm2_eventlog). */
export const keylimeLogs = [
  'keylime-binary_bios_measurements',
  'keylime-binary_bios_measurements-secureboot',
];

export interface YamlEvent {
  eventNumber: number;
  pcrIndex: number;
  eventType: string;
  digests: { algorithm: string; digest: string }[];
}

export interface YamlEventLog {
  events: YamlEvent[];
  pcrs: Record<string, Map<number, string>>;
}

/**
 * Reads just what the tests compare from `tpm2_eventlog` YAML: per event its number, PCR, type and
 * digests, and the replayed `pcrs:` section. Line-based on the tool's fixed indentation; event bodies
 * (indented deeper) are ignored.
 */
export function parseEventLogYaml(text: string): YamlEventLog {
  const events: YamlEvent[] = [];
  const pcrs: Record<string, Map<number, string>> = {};
  let current: YamlEvent | undefined;
  let pendingAlgorithm: string | undefined;
  let bank: string | undefined;
  let inPcrs = false;
  for (const line of text.split('\n')) {
    let match: RegExpMatchArray | null;
    if (line === 'pcrs:') {
      inPcrs = true;
      continue;
    }
    if (inPcrs) {
      if ((match = /^ {2}(\w+):$/.exec(line))) {
        bank = match[1]!;
        pcrs[bank] ??= new Map();
      } else if ((match = /^ {4}(\d+)\s*: 0x([0-9a-fA-F]+)$/.exec(line)) && bank !== undefined) {
        pcrs[bank]!.set(Number(match[1]), match[2]!.toLowerCase());
      }
      continue;
    }
    if ((match = /^- EventNum: (\d+)$/.exec(line))) {
      current = { eventNumber: Number(match[1]), pcrIndex: -1, eventType: '', digests: [] };
      events.push(current);
    } else if (current === undefined) {
      continue;
    } else if ((match = /^ {2}PCRIndex: (\d+)$/.exec(line))) {
      current.pcrIndex = Number(match[1]);
    } else if ((match = /^ {2}EventType: (\S+)$/.exec(line))) {
      current.eventType = match[1]!;
    } else if ((match = /^ {2}Digest: "([0-9a-f]*)"$/.exec(line))) {
      current.digests.push({ algorithm: 'sha1', digest: match[1]! });
    } else if ((match = /^ {2}- AlgorithmId: (\S+)$/.exec(line))) {
      pendingAlgorithm = match[1]!;
    } else if ((match = /^ {4}Digest: "([0-9a-f]*)"$/.exec(line)) && pendingAlgorithm !== undefined) {
      current.digests.push({ algorithm: pendingAlgorithm, digest: match[1]! });
      pendingAlgorithm = undefined;
    }
  }
  return { events, pcrs };
}

export const tpm2EventlogAvailable = hasCommand('tpm2_eventlog');

/** The installed reference tool's rendering of a log (Debian tpm2-tools). */
export function liveEventLogYaml(name: string): YamlEventLog {
  const run = spawnSync('tpm2_eventlog', [eventLogDir + name], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`tpm2_eventlog ${name} failed: ${run.stderr}`);
  return parseEventLogYaml(run.stdout);
}
