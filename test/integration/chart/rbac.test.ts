// The chart's RBAC and admission policy as rendered (helm template, no API server): when the policy is
// rendered (auto/true/false, --api-versions), what rbac.podLabel changes, and the token file's mode of
// each layout. chart/apiserver.test.ts applies and runs them; kube/admission-policy.test.ts proves the policy.
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART_BASE_VALUES, CHART_DIR, ensureHelm, helm, helmTemplate, parseObjects, type KubeObject } from '../../kube/helm.ts';

const POLICY_API = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';
let helmBin: string;

beforeAll(async () => {
  helmBin = await ensureHelm();
}, 900_000);

async function render(...args: string[]): Promise<KubeObject[]> {
  return parseObjects(await helmTemplate(helmBin, ['r', CHART_DIR, '--namespace', 'bots', '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES, ...args]));
}
const kinds = (objects: KubeObject[]) => objects.map((o) => o.kind);
type Policy = KubeObject & {
  spec: { matchConditions: { expression: string }[]; validations: { expression: string; messageExpression: string; reason: string }[]; failurePolicy: string };
};
type Role = KubeObject & { rules: { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[] };
type Deployment = KubeObject & {
  spec: {
    template: {
      spec: { containers: { name: string; env?: { name: string; value?: string }[] }[]; volumes?: { name: string; projected?: { defaultMode?: number } }[] };
    };
  };
};

describe('the admission policy is rendered', () => {
  it('auto: only when the API server serves ValidatingAdmissionPolicy (offline: --api-versions)', async () => {
    expect(kinds(await render())).not.toContain('ValidatingAdmissionPolicy');
    const withApi = await render('--api-versions', POLICY_API);
    expect(kinds(withApi)).toEqual(expect.arrayContaining(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']));
    // The group/version alone (what helm knows offline) is not enough: the kind must be served.
    expect(kinds(await render('--api-versions', 'admissionregistration.k8s.io/v1'))).not.toContain('ValidatingAdmissionPolicy');
  });

  it('true forces it, false leaves it out; anything else is refused by the schema', async () => {
    expect(kinds(await render('--set', 'rbac.admissionPolicy.enabled=true'))).toContain('ValidatingAdmissionPolicyBinding');
    expect(kinds(await render('--api-versions', POLICY_API, '--set', 'rbac.admissionPolicy.enabled=false'))).not.toContain('ValidatingAdmissionPolicy');
    const bad = await helm(helmBin, [
      'template',
      'r',
      CHART_DIR,
      '--kube-version',
      '1.37.2',
      '-f',
      CHART_BASE_VALUES,
      '--set',
      'rbac.admissionPolicy.enabled=yes',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/rbac\.admissionPolicy\.enabled|admissionPolicy/);
  });

  it("names the release's ServiceAccount and Lease, fails closed, and answers 403", async () => {
    const objects = await render('--api-versions', POLICY_API, '--set', 'leaseName=tg');
    const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy') as Policy;
    const binding = objects.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding') as KubeObject & {
      spec: { policyName: string; validationActions: string[] };
    };
    expect(policy.metadata.name).toBe('baton.bots.r-baton');
    expect(binding.spec).toEqual({ policyName: 'baton.bots.r-baton', validationActions: ['Deny'] });
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConditions[0]!.expression).toBe('request.userInfo.username == "system:serviceaccount:bots:r-baton"');
    expect(policy.spec.validations.every((v) => v.reason === 'Forbidden')).toBe(true);
    expect(policy.spec.validations.some((v) => v.expression.includes("variables.name == 'tg'"))).toBe(true);
  });
});

describe('rbac.podLabel', () => {
  it('true (default): patch pods in the Role, BATON_POD_LABEL=true, the policy allows the label', async () => {
    const objects = await render('--api-versions', POLICY_API);
    const role = objects.find((o) => o.kind === 'Role') as Role;
    expect(role.rules.find((r) => r.resources.includes('pods'))?.verbs).toEqual(['list', 'watch', 'patch']);
    const sidecar = (objects.find((o) => o.kind === 'Deployment') as Deployment).spec.template.spec.containers.find((c) => c.name === 'baton')!;
    expect(sidecar.env?.find((e) => e.name === 'BATON_POD_LABEL')?.value).toBe('true');
    const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy') as Policy;
    expect(policy.spec.validations.map((v) => v.messageExpression).join('\n')).toContain('may only set the label baton/role of its own Pod');
  });

  it('false: no patch pods, BATON_POD_LABEL=false, the policy refuses every pod write', async () => {
    const objects = await render('--api-versions', POLICY_API, '--set', 'rbac.podLabel=false');
    const role = objects.find((o) => o.kind === 'Role') as Role;
    expect(role.rules.find((r) => r.resources.includes('pods'))?.verbs).toEqual(['list', 'watch']);
    expect(role.rules.flatMap((r) => r.verbs)).not.toContain('patch');
    const sidecar = (objects.find((o) => o.kind === 'Deployment') as Deployment).spec.template.spec.containers.find((c) => c.name === 'baton')!;
    expect(sidecar.env?.find((e) => e.name === 'BATON_POD_LABEL')?.value).toBe('false');
    const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy') as Policy;
    const messages = policy.spec.validations.map((v) => v.messageExpression).join('\n');
    expect(messages).toContain('writes no pod (rbac.podLabel is false)');
    expect(messages).not.toContain('may only set the label');
  });
});

describe('the token volume', () => {
  it("0444 in the default layout (the kubelet makes the token 0600 and the shared UID's), 0400 in the hardened one", async () => {
    // Read from the text: Kubernetes reads YAML 1.1, where 0400 is octal; js-yaml (YAML 1.2) would read 400.
    const mode = async (...args: string[]) =>
      /name: baton-token\n\s+projected:\n(?:\s+#.*\n)*\s+defaultMode: (0[0-7]{3})\n/.exec(
        await helmTemplate(helmBin, ['r', CHART_DIR, '--namespace', 'bots', '--kube-version', '1.37.2', '-f', CHART_BASE_VALUES, ...args]),
      )?.[1];
    expect(await mode()).toBe('0444');
    expect(await mode('--set', 'sidecar.capKill=true')).toBe('0400');
  });
});
