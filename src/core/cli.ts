import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { VigilError } from './errors.ts';

/** A file named on the command line, read whole; one that cannot be read is CLI_FILE_INVALID, naming it. */
export function readArgumentFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new VigilError('CLI_FILE_INVALID', 'invalid', `${path}: ${(error as Error).message}`);
  }
}

/** A JSON file named on the command line; one that cannot be read or is not JSON is CLI_FILE_INVALID. */
export function readArgumentJson(path: string): unknown {
  try {
    return JSON.parse(readArgumentFile(path).toString('utf8')) as unknown;
  } catch (error) {
    if (error instanceof VigilError) throw error;
    throw new VigilError('CLI_FILE_INVALID', 'invalid', `${path}: ${(error as Error).message}`);
  }
}

/** How a domain command talks to a running server (implemented by `cli/`, which owns flags and output). */
export interface ApiClient {
  request<T = unknown>(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T>;
  /** A GET that returns the raw body text (for C2SP text formats). */
  text(path: string): Promise<string>;
  /** A POST of raw bytes (streamed when given a stream), answered with JSON. */
  upload<T = unknown>(
    path: string,
    body: AsyncIterable<Uint8Array> | Uint8Array | string,
    contentType: string,
  ): Promise<T>;
}

export interface CommandContext {
  /** The API client for the server named by `--url`/`VIGIL_URL`, with the token from the flags or environment. */
  client(command: Command): ApiClient;
  /** Prints `value` as JSON with `--json`, otherwise as the human rendering. */
  print(command: Command, value: unknown, human?: (value: never) => string): void;
  /** A progress bar on stderr (shown only on a terminal); results still go to stdout. */
  progress(label: string, total: number): Progress;
  /** Adds the shared client flags (`--url`, `--token-file`, `--json`) to an administrative command. */
  withClientOptions(command: Command): Command;
}

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}
