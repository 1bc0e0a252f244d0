// Fault suite: SIGTERM during an acquire (L2), shutdown with a failing label patch (L3), and the leader's
// sidecar frozen with batches in hand (the worker kit's dead-man's switch). See e2e/chaos/scenarios.ts.
import { inject, it } from 'vitest';
import { chaosContext, expectScenario } from './suite.ts';

const ctx = chaosContext(inject('kube'));

it.each(['sigterm-acquire', 'label-patch-fails', 'sidecar-freeze'])('%s', (id) => expectScenario(id, ctx), 120_000);
