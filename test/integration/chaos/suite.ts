// The fast part of the fault suite in `npm test`: one vitest test per scenario of e2e/chaos/scenarios.ts,
// with baton's timings scaled down (e2e/chaos/world.ts FAST_TIMINGS: same rules, shorter waits) and the
// verdict asserted; a failure prints every check and the polling timeline.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { KubeEndpoint, TestApiServer } from '../../kube/apiserver.ts';
import { scenario, type ScenarioContext } from '../../../e2e/chaos/scenarios.ts';
import { details } from '../../../e2e/chaos/verdict.ts';
import { FAST_TIMINGS } from '../../../e2e/chaos/world.ts';

export function chaosContext(endpoint: KubeEndpoint, server?: TestApiServer): ScenarioContext {
  const dir = mkdtempSync(join(tmpdir(), 'baton-chaos-'));
  return {
    endpoint,
    ...(server ? { server } : {}),
    dir,
    timings: FAST_TIMINGS,
    // ≥ 20 updates/s; 30 ms handlers and bursts of 40: batches of 1.2 s (up to 3 s with the backlog) in hand at the fault.
    rate: 20,
    handlerMs: 30,
    burst: 40,
    log: () => undefined,
  };
}

/** Runs one scenario and asserts its verdict. */
export async function expectScenario(id: string, ctx: ScenarioContext): Promise<void> {
  const r = await scenario(id).run(ctx);
  expect(r.error, details(r)).toBeUndefined();
  expect(r.pass, `${details(r)}\nlogs: ${ctx.dir}`).toBe(true);
}
