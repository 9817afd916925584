import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { isVigilError } from '../../src/core/index.ts';
import { needsFlushing } from '../../src/agent/index.ts';
import { TpmTools } from '../../src/agent/tpm-tools.ts';
import { hasCommand, requirePeer } from '../support/peers.ts';
import { freePortPair } from '../support/swtpm.ts';

describe('needsFlushing', () => {
  it('flushes on simulator sockets and raw TPM devices, not behind a resource manager', () => {
    for (const tcti of [
      'swtpm:host=127.0.0.1,port=2321',
      'swtpm',
      'mssim:host=localhost,port=2321',
      'device:/dev/tpm0',
    ])
      assert.equal(needsFlushing(tcti), true, tcti);
    for (const tcti of ['device:/dev/tpmrm0', 'tabrmd', 'tabrmd:bus_type=session', 'swtpmx:'])
      assert.equal(needsFlushing(tcti), false, tcti);
  });
});

describe('TpmTools', () => {
  it('names a missing tool as AGENT_TOOL_MISSING, with the package to install', async () => {
    const tools = new TpmTools('device:/dev/tpmrm0', tmpdir());
    await assert.rejects(
      tools.run('tpm2_no_such_tool_here', []),
      (error: unknown) => isVigilError(error, 'AGENT_TOOL_MISSING') && /tpm2-tools/.test(error.message),
    );
  });

  it('names a TPM nobody answers at as AGENT_TPM_UNREACHABLE', async (t) => {
    if (
      !requirePeer(
        t,
        'tpm2-tools',
        hasCommand('tpm2_getcap'),
        'apt-get install tpm2-tools libtss2-tcti-swtpm0',
      )
    )
      return;
    const port = await freePortPair();
    const tools = new TpmTools(`swtpm:host=127.0.0.1,port=${port}`, tmpdir());
    await assert.rejects(
      tools.run('tpm2_getcap', ['handles-persistent']),
      (error: unknown) =>
        isVigilError(error, 'AGENT_TPM_UNREACHABLE') && error.message.includes(String(port)),
    );
  });
});
