// Fault suite: the leader's whole pod frozen (sidecar and bot SIGSTOPped) for LD + 10 s with a batch in hand
// (rule F1: the thawed bot handles nothing more and sends no getUpdates). See e2e/chaos/scenarios.ts.
import { inject, it } from 'vitest';
import { chaosContext, expectScenario } from './suite.ts';

const ctx = chaosContext(inject('kube'));

it('pod-freeze', () => expectScenario('pod-freeze', ctx), 120_000);
