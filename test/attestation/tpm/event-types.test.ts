import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventTypeName, eventTypes } from '../../../src/attestation/tpm/index.ts';

describe('eventTypeName', () => {
  it('names PFP event types as tpm2_eventlog does', () => {
    assert.equal(eventTypeName(0x03), 'EV_NO_ACTION');
    assert.equal(eventTypeName(0x80000001), 'EV_EFI_VARIABLE_DRIVER_CONFIG');
    assert.equal(eventTypeName(0x800000e0), 'EV_EFI_VARIABLE_AUTHORITY');
    assert.equal(eventTypes.EV_SEPARATOR, 4);
  });

  it('renders an undefined event type as hex', () => {
    assert.equal(eventTypeName(0x12345678), '0x12345678');
  });
});
