/**
 * Shared plumbing for the PKI peer tests: runs outside tools (openssl, curl, GnuTLS, NSS) as child
 * processes, asynchronously (the installation under test runs in this same process, so a blocking
 * spawnSync would deadlock it), and enrolls devices with curl + openssl exactly as PEERS.md says.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { IdentityTestbed } from './identity.ts';
import { hasCommand, requirePeer } from './peers.ts';

/** The Debian package each peer command comes from (what CI installs). */
const packageOf: Record<string, string> = {
  openssl: 'openssl',
  curl: 'curl',
  certtool: 'gnutls-bin',
  ocsptool: 'gnutls-bin',
  'gnutls-cli': 'gnutls-bin',
  certutil: 'libnss3-tools',
  vfychain: 'libnss3-tools',
  crlutil: 'libnss3-tools',
  ocspclnt: 'libnss3-tools',
};

/** requirePeer for each command: skips loudly locally, fails under VIGIL_REQUIRE_PEERS=1. */
export function requireCommands(t: TestContext, ...commands: string[]): boolean {
  for (const command of commands) {
    const pkg = packageOf[command] ?? command;
    if (!requirePeer(t, command, hasCommand(command), `apt-get install -y --no-install-recommends ${pkg}`))
      return false;
  }
  return true;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
  /** stdout and stderr together, for assertions on what a tool said wherever it said it. */
  output: string;
}

/** Runs a command without a shell; never throws on a non-zero exit (the caller asserts). */
export function run(
  command: string,
  args: string[],
  options: { input?: string | Buffer; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      const stdout = stdoutBytes.toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({ status, stdout, stderr, stdoutBytes, output: `${stdout}\n${stderr}` });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a command that must succeed; a failure carries the tool's own words. */
export async function must(
  command: string,
  args: string[],
  options: { input?: string | Buffer; cwd?: string } = {},
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${String(result.status)}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

export function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

export interface CurlResult {
  /** curl's own exit code (0 when an HTTP answer came back; 52 "Empty reply from server", ...). */
  exitCode: number | null;
  /** The HTTP status, 0 when there was no HTTP answer. */
  status: number;
  contentType: string;
  body: Buffer;
  stderr: string;
}

/**
 * curl against the device endpoint; the HTTP status and body, whatever the status. A transport
 * failure throws, unless `allowFailure` (then exitCode and stderr tell what curl saw).
 */
export async function curl(
  dir: string,
  url: string,
  args: string[],
  options: { allowFailure?: boolean } = {},
): Promise<CurlResult> {
  const bodyFile = join(dir, `curl-${Math.random().toString(36).slice(2)}.out`);
  writeFileSync(bodyFile, '');
  const result = await run('curl', [
    '-sS',
    '-o',
    bodyFile,
    '-w',
    '%{http_code} %{content_type}',
    ...args,
    url,
  ]);
  if (result.status !== 0 && options.allowFailure !== true)
    throw new Error(`curl ${url} failed (${String(result.status)}): ${result.stderr}`);
  const [code, ...type] = result.stdout.trim().split(' ');
  return {
    exitCode: result.status,
    status: Number(code ?? 0),
    contentType: type.join(' '),
    body: readFileSync(bodyFile),
    stderr: result.stderr.trim(),
  };
}

/** The files of one enrolled device. */
export interface EnrolledDevice {
  serial: string;
  id: string;
  keyFile: string;
  certFile: string;
  certPem: string;
  /** Certificate serial as lowercase hex (what the admin API takes). */
  serialHex: string;
}

export interface PkiWorkspace {
  dir: string;
  deviceUrl: string;
  /** Root and issuing CA exactly as /cacerts returned them (PEM, read by openssl pkcs7 -print_certs). */
  bundleFile: string;
  rootFile: string;
  rootPem: string;
  issuingFile: string;
  issuingPem: string;
}

/**
 * Fetches /cacerts with curl (trusting the root the device was provisioned with) and splits the
 * bundle with openssl: the root is the self-signed one.
 */
export async function fetchCaCerts(testbed: IdentityTestbed, dir: string): Promise<PkiWorkspace> {
  const provisioned = join(dir, 'provisioned-ca.pem');
  writeFileSync(provisioned, await testbed.caPem());
  const response = await curl(dir, `${testbed.deviceUrl}/.well-known/est/cacerts`, ['--cacert', provisioned]);
  if (response.status !== 200) throw new Error(`cacerts answered ${response.status}`);
  const derFile = join(dir, 'cacerts.p7.der');
  writeFileSync(derFile, Buffer.from(response.body.toString('latin1').replace(/\s+/g, ''), 'base64'));
  const bundle = (await must('openssl', ['pkcs7', '-inform', 'DER', '-in', derFile, '-print_certs'])).stdout;
  const certificates = splitPem(bundle);
  let rootPem = '';
  let issuingPem = '';
  for (const pem of certificates) {
    const names = (
      await must('openssl', ['x509', '-noout', '-subject', '-issuer', '-nameopt', 'RFC2253'], { input: pem })
    ).stdout;
    const [subject, issuer] = names.split('\n').map((line) => line.replace(/^(subject|issuer)=/, '').trim());
    if (subject === issuer) rootPem = pem;
    else issuingPem = pem;
  }
  if (certificates.length !== 2 || rootPem === '' || issuingPem === '')
    throw new Error(`cacerts should hold a root and an issuing CA:\n${bundle}`);
  const bundleFile = join(dir, 'ca-bundle.pem');
  const rootFile = join(dir, 'root.pem');
  const issuingFile = join(dir, 'issuing.pem');
  writeFileSync(bundleFile, certificates.join(''));
  writeFileSync(rootFile, rootPem);
  writeFileSync(issuingFile, issuingPem);
  return { dir, deviceUrl: testbed.deviceUrl, bundleFile, rootFile, rootPem, issuingFile, issuingPem };
}

/** openssl makes a P-256 key and a base64 DER PKCS#10 for `commonName` (PEERS.md recipe). */
export async function opensslKeyAndCsr(
  dir: string,
  name: string,
  commonName: string,
): Promise<{ keyFile: string; csrFile: string }> {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr.b64`);
  await must('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
  const csr = await must('openssl', [
    'req',
    '-new',
    '-key',
    keyFile,
    '-subj',
    `/CN=${commonName}`,
    '-outform',
    'DER',
  ]);
  writeFileSync(csrFile, csr.stdoutBytes.toString('base64'));
  return { keyFile, csrFile };
}

/** Reads an EST certs-only response with `openssl pkcs7 -print_certs`; returns the one certificate. */
export async function readEstResponse(dir: string, name: string, body: Buffer): Promise<string> {
  const derFile = join(dir, `${name}.p7.der`);
  writeFileSync(derFile, Buffer.from(body.toString('latin1').replace(/\s+/g, ''), 'base64'));
  const printed = (await must('openssl', ['pkcs7', '-inform', 'DER', '-in', derFile, '-print_certs'])).stdout;
  const certificates = splitPem(printed);
  if (certificates.length !== 1) throw new Error(`expected one certificate in the EST response:\n${printed}`);
  return certificates[0]!;
}

export async function serialHexOf(certFile: string): Promise<string> {
  const printed = (await must('openssl', ['x509', '-in', certFile, '-noout', '-serial'])).stdout;
  return printed
    .trim()
    .replace(/^serial=/, '')
    .toLowerCase();
}

/** Registers `serial`, then openssl makes its key and CSR and curl enrolls it with the one-time secret. */
export async function enrollWithCurl(
  testbed: IdentityTestbed,
  ws: PkiWorkspace,
  serial: string,
): Promise<EnrolledDevice> {
  const registered = await testbed.register(serial);
  const { keyFile, csrFile } = await opensslKeyAndCsr(ws.dir, serial, serial);
  const response = await curl(ws.dir, `${ws.deviceUrl}/.well-known/est/simpleenroll`, [
    '--cacert',
    ws.bundleFile,
    '-u',
    `${serial}:${registered.enrollmentSecret ?? ''}`,
    '-H',
    'Content-Type: application/pkcs10',
    '--data-binary',
    `@${csrFile}`,
  ]);
  if (response.status !== 200)
    throw new Error(`simpleenroll answered ${response.status}: ${response.body.toString('utf8')}`);
  const certPem = await readEstResponse(ws.dir, serial, response.body);
  const certFile = join(ws.dir, `${serial}.pem`);
  writeFileSync(certFile, certPem);
  return { serial, id: registered.id, keyFile, certFile, certPem, serialHex: await serialHexOf(certFile) };
}

/** curl GET /device/v1/whoami with a client certificate. */
export function curlWhoami(
  ws: PkiWorkspace,
  certFile: string,
  keyFile: string,
  options: { allowFailure?: boolean } = {},
): Promise<CurlResult> {
  return curl(
    ws.dir,
    `${ws.deviceUrl}/device/v1/whoami`,
    ['--cacert', ws.bundleFile, '--cert', certFile, '--key', keyFile],
    options,
  );
}

/** The device endpoint's own TLS certificate (leaf), fetched with `openssl s_client -showcerts`. */
export async function fetchTlsCertificate(ws: PkiWorkspace): Promise<string> {
  const { port } = new URL(ws.deviceUrl);
  const shown = await must('openssl', [
    's_client',
    '-connect',
    `127.0.0.1:${port}`,
    '-servername',
    'localhost',
    '-showcerts',
    '-CAfile',
    ws.bundleFile,
  ]);
  const leaf = splitPem(shown.stdout)[0];
  if (leaf === undefined) throw new Error(`s_client showed no certificate:\n${shown.output}`);
  return leaf;
}

/** The CRL distribution point URL of a certificate, as openssl reads it. */
export async function crlUrlOf(certFile: string): Promise<string> {
  const printed = (
    await must('openssl', ['x509', '-in', certFile, '-noout', '-ext', 'crlDistributionPoints'])
  ).stdout;
  const url = /URI:(\S+)/.exec(printed)?.[1];
  if (url === undefined) throw new Error(`no CRL distribution point:\n${printed}`);
  return url;
}

/** The OCSP URL of a certificate's AIA, as openssl reads it. */
export async function ocspUrlOf(certFile: string): Promise<string> {
  return (await must('openssl', ['x509', '-in', certFile, '-noout', '-ocsp_uri'])).stdout.trim();
}

/** Every UTCTime/GeneralizedTime value in a DER file, as `openssl asn1parse` prints it. */
export async function asn1Times(derFile: string, strparse?: number): Promise<string[]> {
  const args = [
    'asn1parse',
    '-inform',
    'DER',
    '-in',
    derFile,
    ...(strparse === undefined ? [] : ['-strparse', String(strparse)]),
  ];
  const printed = (await must('openssl', args)).stdout;
  return [...printed.matchAll(/prim:\s+(UTCTIME|GENERALIZEDTIME)\s+:(\S+)/g)].map(
    (match) => `${match[1]} ${match[2]}`,
  );
}

/** The offset of the BasicOCSPResponse OCTET STRING inside an OCSPResponse (for asn1parse -strparse). */
export async function basicResponseOffset(responseDerFile: string): Promise<number> {
  const printed = (await must('openssl', ['asn1parse', '-inform', 'DER', '-in', responseDerFile])).stdout;
  const line = printed.split('\n').find((one) => /d=3 .*OCTET STRING/.test(one));
  if (line === undefined) throw new Error(`no responseBytes in the OCSP response:\n${printed}`);
  return Number(line.trim().split(':')[0]);
}

/**
 * A plain-HTTP front for the device endpoint's /ocsp, for OCSP clients that only speak http://
 * (GnuTLS `ocsptool --ask`, NSS). It forwards bytes unchanged, unless `tamper` is set: then it
 * flips one bit of producedAt so that the signature no longer holds (to show the peer checks it).
 */
export async function startOcspRelay(
  ws: PkiWorkspace,
  options: { tamper?: boolean } = {},
): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const ca = readFileSync(ws.bundleFile, 'utf8');
  const state = { requests: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      state.requests++;
      const upstream = httpsRequest(
        `${ws.deviceUrl}${request.url ?? '/ocsp'}`,
        {
          method: request.method,
          ca,
          agent: false,
          headers: { 'content-type': request.headers['content-type'] ?? 'application/ocsp-request' },
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => body.push(chunk));
          answer.on('end', () => {
            const bytes = Buffer.concat(body);
            if (options.tamper === true) {
              const at = bytes.indexOf(Buffer.from([0x18, 0x0f])); // producedAt GeneralizedTime
              if (at >= 0) bytes[at + 2 + 13] = bytes[at + 2 + 13]! ^ 1;
            }
            response.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/ocsp-response' });
            response.end(bytes);
          });
        },
      );
      upstream.on('error', () => {
        response.writeHead(502);
        response.end();
      });
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ocsp`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
