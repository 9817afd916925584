import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/**
 * Runs the real `vigil` command (bin/vigil.js) as child processes: `init`, `serve` and
 * `ledger verify`, for tests that kill, restart or multiply servers.
 */

const repoRoot = resolve(import.meta.dirname, '..', '..');
const vigilBin = join(repoRoot, 'bin', 'vigil.js');
/** Keep the last bytes of a child's output for failure messages only. */
const outputTail = 16 * 1024;

/** A TCP port that was free a moment ago on 127.0.0.1 (the CLI cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no port was assigned'))));
    });
  });
}

function childEnv(): NodeJS.ProcessEnv {
  // Flags are the only configuration: no inherited VIGIL_* variable may redirect a child.
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('VIGIL_')) env[key] = value;
  env.VIGIL_LOG_LEVEL = 'warn';
  return env;
}

function appendTail(tail: string, chunk: Buffer): string {
  const joined = tail + chunk.toString('utf8');
  return joined.length > outputTail ? joined.slice(-outputTail) : joined;
}

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `vigil <args>` to completion; kills it (and fails) after `timeoutMs`. */
export function runVigil(args: readonly string[], timeoutMs = 30_000): Promise<CommandResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [vigilBin, ...args], {
      cwd: repoRoot,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr = appendTail(stderr, chunk)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vigil ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

/** `vigil init`; returns the admin token it wrote. */
export async function initData(dataDir: string, databaseUrl: string | undefined): Promise<string> {
  const args = [
    'init',
    '--data',
    dataDir,
    '--json',
    ...(databaseUrl === undefined ? [] : ['--database', databaseUrl]),
  ];
  const result = await runVigil(args);
  if (result.code !== 0) throw new Error(`vigil init exited ${result.code}: ${result.stderr}`);
  return readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
}

/** `vigil ledger verify --data DIR [--database URL] --json`: exit code and parsed result. */
export async function verifyLedger(
  dataDir: string,
  databaseUrl: string | undefined,
): Promise<{
  code: number | null;
  result:
    | {
        ok: boolean;
        size?: number;
        checkpoints?: number;
        checkpointedSize?: number;
        firstBadIndex?: number;
        reason?: string;
      }
    | undefined;
  stderr: string;
}> {
  const args = [
    'ledger',
    'verify',
    '--data',
    dataDir,
    '--json',
    ...(databaseUrl === undefined ? [] : ['--database', databaseUrl]),
  ];
  const run = await runVigil(args);
  let result;
  try {
    result = JSON.parse(run.stdout) as { ok: boolean };
  } catch {
    result = undefined;
  }
  return { code: run.code, result, stderr: run.stderr };
}

export interface ServerProcess {
  /** Admin API base URL, e.g. http://127.0.0.1:PORT. */
  url: string;
  child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Output so far (tail), for failure messages. */
  output(): string;
  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs` if it lingers. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const started = new Set<ServerProcess>();

/** Kills every server this module started and has not yet seen exit (for `after` hooks). */
export async function killAllServers(): Promise<void> {
  await Promise.all([...started].map((server) => server.stop('SIGKILL')));
}

function spawnServe(
  dataDir: string,
  databaseUrl: string | undefined,
  port: number,
  devicePort: number,
  statusPort: number,
  readyTimeoutMs: number,
  extraArgs: readonly string[],
): Promise<ServerProcess> {
  const args = [
    vigilBin,
    'serve',
    '--data',
    dataDir,
    '--listen',
    `127.0.0.1:${port}`,
    '--device-listen',
    `127.0.0.1:${devicePort}`,
    '--status-listen',
    `127.0.0.1:${statusPort}`,
    ...(databaseUrl === undefined ? [] : ['--database', databaseUrl]),
    ...extraArgs,
  ];
  // VIGIL_PROFILE_DIR=DIR writes a V8 CPU profile of each served process there (for benchmark work).
  const profile = process.env.VIGIL_PROFILE_DIR;
  if (profile !== undefined && profile !== '') args.unshift('--cpu-prof', `--cpu-prof-dir=${profile}`);
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout = appendTail(stdout, chunk)));
  let exitState: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitState = { code, signal };
      resolveExit(exitState);
    });
    child.once('error', () => {
      exitState ??= { code: null, signal: null };
      resolveExit(exitState);
    });
  });
  const server: ServerProcess = {
    url: `http://127.0.0.1:${port}`,
    child,
    exited,
    output: () => `--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (exitState === undefined) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      started.delete(server);
    },
  };
  started.add(server);
  void exited.then(() => started.delete(server));

  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      void server.stop('SIGKILL');
      reject(new Error(`vigil serve was not listening within ${readyTimeoutMs} ms\n${server.output()}`));
    }, readyTimeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = appendTail(stderr, chunk);
      // The banner is written once both listeners are up.
      if (/admin API:\s+http/.test(stderr) && /device endpoint:\s+http/.test(stderr)) {
        clearTimeout(timer);
        resolveReady(server);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(`vigil serve exited (code ${code}, signal ${signal}) before listening\n${server.output()}`),
      );
    });
  });
}

/**
 * Starts `vigil serve` on fresh ports and resolves once it is listening. A port taken between
 * choosing and binding it (another process won the race) is retried on new ports.
 */
export async function startServe(
  dataDir: string,
  databaseUrl: string | undefined,
  // Generous: under a loaded CI machine a cold `vigil serve` (tsx compiling every module) can take long.
  readyTimeoutMs = 60_000,
  /** More `vigil serve` flags, e.g. `--device-workers 2`. */
  extraArgs: readonly string[] = [],
): Promise<ServerProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let devicePort = await freePort();
    while (devicePort === port) devicePort = await freePort();
    let statusPort = await freePort();
    while (statusPort === port || statusPort === devicePort) statusPort = await freePort();
    try {
      return await spawnServe(dataDir, databaseUrl, port, devicePort, statusPort, readyTimeoutMs, extraArgs);
    } catch (error) {
      lastError = error;
      if (!/EADDRINUSE/.test(String(error))) throw error;
    }
  }
  throw lastError;
}

export interface ApiResponse {
  status: number;
  /** Parsed JSON body (text if not JSON): shapes are asserted by the tests. */
  json: any;
}

/** One authenticated admin-API call with a deadline. */
export async function apiCall(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<ApiResponse> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

/** Polls `check` until it returns a value other than undefined; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : `: ${String(lastError)}`}`,
      );
    }
    await new Promise((wake) => setTimeout(wake, intervalMs));
  }
}

export interface LedgerEntryDocument {
  index: number;
  type: string;
  subject: string | null;
  actor: string;
  at: string;
  details: Record<string, unknown>;
}

/** Every ledger entry, decoded from its canonical-JSON leaf, paging through /api/v1/ledger/entries. */
export async function readLedger(
  baseUrl: string,
  token: string,
): Promise<{ index: number; document: LedgerEntryDocument }[]> {
  const page = 10_000;
  const all: { index: number; document: LedgerEntryDocument }[] = [];
  for (let start = 0; ; start += page) {
    const response = await apiCall(
      baseUrl,
      token,
      'GET',
      `/api/v1/ledger/entries?start=${start}&end=${start + page}`,
    );
    if (response.status !== 200)
      throw new Error(`ledger entries: HTTP ${response.status} ${JSON.stringify(response.json)}`);
    const entries = (response.json as { entries: { index: number; leaf: string }[] }).entries;
    for (const entry of entries) {
      all.push({
        index: entry.index,
        document: JSON.parse(Buffer.from(entry.leaf, 'base64').toString('utf8')) as LedgerEntryDocument,
      });
    }
    if (entries.length < page) return all;
  }
}

export interface CheckpointView {
  size: number;
  rootHash: string;
  note: string;
  createdAt: string;
}

export async function readCheckpoints(baseUrl: string, token: string): Promise<CheckpointView[]> {
  const response = await apiCall(baseUrl, token, 'GET', '/api/v1/ledger/checkpoints');
  if (response.status !== 200)
    throw new Error(`ledger checkpoints: HTTP ${response.status} ${JSON.stringify(response.json)}`);
  return (response.json as { checkpoints: CheckpointView[] }).checkpoints;
}

/** Every product, following nextCursor. */
export async function listProducts(baseUrl: string, token: string): Promise<{ id: string; name: string }[]> {
  const all: { id: string; name: string }[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const response = await apiCall(baseUrl, token, 'GET', `/api/v1/products?limit=1000${query}`);
    if (response.status !== 200)
      throw new Error(`products: HTTP ${response.status} ${JSON.stringify(response.json)}`);
    const body = response.json as { products: { id: string; name: string }[]; nextCursor: string | null };
    all.push(...body.products);
    cursor = body.nextCursor;
    if (cursor === null || body.products.length === 0) return all;
  }
  throw new Error('products: more than 1000 pages');
}

/** A valid product definition with a unique name. */
export function productBody(name: string): Record<string, unknown> {
  return {
    name,
    model: `model-${name}`,
    hardwareRevisions: [],
    regimes: [],
    supportStart: '2026-01-01',
    supportEnd: '2032-01-01',
  };
}

export interface BurstOutcome {
  /** Creations the server acknowledged with 201: name → product id. */
  acknowledged: Map<string, string>;
  /** Requests that got no answer (connection lost): the outcome is unknown. */
  unanswered: Set<string>;
  /** Answers other than 201: `name: status body`. */
  refused: string[];
  /** Names never sent because the burst was stopped. */
  unsent: number;
  /** Requests in flight when `stopAfter` fired (undefined if it never fired). */
  inFlightAtStop: number | undefined;
}

/**
 * Creates `total` products with at most `concurrency` requests in flight. When `stopAfter` is set,
 * `onStop` runs synchronously as the `stopAfter`-th acknowledgement arrives, and no further
 * request is sent after it.
 */
export async function productBurst(options: {
  url: string;
  token: string;
  prefix: string;
  total: number;
  concurrency: number;
  stopAfter?: number;
  onStop?: () => void;
}): Promise<BurstOutcome> {
  const outcome: BurstOutcome = {
    acknowledged: new Map(),
    unanswered: new Set(),
    refused: [],
    unsent: 0,
    inFlightAtStop: undefined,
  };
  let next = 0;
  let inFlight = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < options.total) {
      const name = `${options.prefix}-${String(next++).padStart(4, '0')}`;
      inFlight++;
      let response: ApiResponse | undefined;
      try {
        response = await apiCall(options.url, options.token, 'POST', '/api/v1/products', productBody(name));
      } catch {
        response = undefined;
      }
      inFlight--;
      if (response === undefined) {
        outcome.unanswered.add(name);
      } else if (response.status === 201 && typeof response.json?.id === 'string') {
        outcome.acknowledged.set(name, response.json.id as string);
        if (!stopped && options.stopAfter !== undefined && outcome.acknowledged.size >= options.stopAfter) {
          stopped = true;
          outcome.inFlightAtStop = inFlight;
          options.onStop?.();
        }
      } else {
        outcome.refused.push(`${name}: ${response.status} ${JSON.stringify(response.json)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  outcome.unsent = options.total - next;
  return outcome;
}
