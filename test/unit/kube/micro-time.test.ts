import { describe, expect, it } from 'vitest';
import { formatMicroTime, parseMicroTime } from '../../../src/kube/micro-time.ts';
import { leaseSpecOf, observedLeaseOf } from '../../../src/kube/lease-convert.ts';

describe('MicroTime', () => {
  it('writes six fractional digits', () => {
    expect(formatMicroTime(new Date('2026-11-23T12:00:06.925Z'))).toBe('2026-11-23T12:00:06.925000Z');
    expect(formatMicroTime(new Date('2026-11-23T12:00:06Z'))).toBe('2026-11-23T12:00:06.000000Z');
  });

  it('parses microseconds, nanoseconds, whole seconds and offsets', () => {
    expect(parseMicroTime('2026-11-23T12:00:06.925123Z')?.toISOString()).toBe('2026-11-23T12:00:06.925Z');
    expect(parseMicroTime('2026-11-23T12:00:06.925123456Z')?.toISOString()).toBe('2026-11-23T12:00:06.925Z');
    expect(parseMicroTime('2026-11-23T12:00:06Z')?.toISOString()).toBe('2026-11-23T12:00:06.000Z');
    expect(parseMicroTime('2026-11-23T12:00:06.5+02:00')?.toISOString()).toBe('2026-11-23T10:00:06.500Z');
  });

  it('passes absent values and Dates through and rejects garbage', () => {
    expect(parseMicroTime(undefined)).toBeUndefined();
    expect(parseMicroTime(null)).toBeUndefined();
    const d = new Date('2026-01-01T00:00:00.001Z');
    expect(parseMicroTime(d)?.getTime()).toBe(d.getTime());
    expect(() => parseMicroTime('yesterday')).toThrow(/RFC 3339/);
    expect(() => parseMicroTime(42)).toThrow(TypeError);
  });

  it('round-trips a leader record through a Lease spec', () => {
    const record = {
      holderIdentity: 'pod-a',
      leaseDurationSeconds: 15,
      acquireTime: new Date('2026-11-23T12:00:00.123Z'),
      renewTime: new Date('2026-11-23T12:00:06.925Z'),
      leaseTransitions: 3,
    };
    const spec = leaseSpecOf(record);
    expect(spec.renewTime).toBe('2026-11-23T12:00:06.925000Z');
    const lease = { metadata: { resourceVersion: '42' }, spec: spec as never };
    const observed = observedLeaseOf(lease);
    // The whole object rides along, so a write can start from exactly what was read (rule C1).
    expect(observed).toEqual({ record, resourceVersion: '42', object: lease });
    // A released Lease may lack fields: they read as client-go reads them.
    expect(observedLeaseOf({ metadata: { resourceVersion: '7' }, spec: {} }).record).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 0,
      acquireTime: undefined,
      renewTime: undefined,
      leaseTransitions: 0,
    });
  });
});
