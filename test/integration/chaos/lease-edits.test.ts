// Fault suite: the Lease edited from outside (S1, S2, C1). See e2e/chaos/scenarios.ts.
import { inject, it } from 'vitest';
import { chaosContext, expectScenario } from './suite.ts';

const ctx = chaosContext(inject('kube'));

it.each(['lease-names-standby', 'lease-names-ghost', 'lease-deleted', 'lease-duration'])('%s', (id) => expectScenario(id, ctx), 120_000);
