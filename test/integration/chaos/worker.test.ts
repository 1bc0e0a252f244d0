// Fault suite: the leader's worker killed once and crash-looping (L1). See e2e/chaos/scenarios.ts.
import { inject, it } from 'vitest';
import { chaosContext, expectScenario } from './suite.ts';

const ctx = chaosContext(inject('kube'));

it.each(['worker-killed', 'worker-crashloop'])('%s', (id) => expectScenario(id, ctx), 120_000);
