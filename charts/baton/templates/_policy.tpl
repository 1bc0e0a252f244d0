{{/*
=====================================================================================================
baton.admissionPolicy: a ValidatingAdmissionPolicy and its binding that hold the sidecar's
ServiceAccount to what RBAC cannot express (RBAC cannot name a pod that does not exist yet):
  pods    only UPDATE (patch) of the Pod its token is bound to
          (userInfo.extra["authentication.kubernetes.io/pod-name"], set for the kubelet's projected
          tokens), in the release's namespace, changing nothing but the label baton/role (to leader or
          standby) and the annotation controller.kubernetes.io/pod-deletion-cost (to 1000 or 0: rule
          C5, the leader is deleted last); with rbac.podLabel=false, no pod write at all. Every other pod write, subresource
          included (status, ephemeralcontainers, eviction, binding, exec...), is refused.
  leases  only the release's Lease by name; create included (RBAC cannot limit create by name)
  events  only create, and only about the Lease or its own Pod
Cluster-scoped objects: installing them needs rights on admissionregistration.k8s.io.
Rendered when rbac.admissionPolicy.enabled is true, or "auto" and the API server serves
admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy (Kubernetes >= 1.30). Offline:
  helm template ... --api-versions admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy
=====================================================================================================
*/}}

{{/* "true" when the policy is rendered, else empty. */}}
{{- define "baton.admissionPolicyEnabled" -}}
{{- $p := ((.Values.rbac | default dict).admissionPolicy | default dict) -}}
{{- $e := $p.enabled -}}
{{- if kindIs "invalid" $e -}}{{- $e = "auto" -}}{{- end -}}
{{- if kindIs "bool" $e -}}
{{- if $e -}}true{{- end -}}
{{- else if eq (toString $e) "auto" -}}
{{- if .Capabilities.APIVersions.Has "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy" -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* The policy's (and binding's) name: cluster-scoped, so it carries the namespace. */}}
{{- define "baton.admissionPolicyName" -}}
{{- printf "baton.%s.%s" .Release.Namespace (include "baton.fullname" .) | trunc 253 | trimSuffix "." -}}
{{- end -}}

{{- define "baton.admissionPolicy" -}}
{{- if include "baton.admissionPolicyEnabled" . }}
{{- $name := include "baton.admissionPolicyName" . }}
{{- $ns := .Release.Namespace }}
{{- $sa := include "baton.serviceAccountName" . }}
{{- $user := printf "system:serviceaccount:%s:%s" $ns $sa }}
{{- $lease := include "baton.leaseName" . }}
{{- $label := (.Values.rbac | default dict).podLabel | default false }}
{{- if kindIs "invalid" (.Values.rbac | default dict).podLabel }}{{ $label = true }}{{ end }}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: {{ $name }}
  labels:
    {{- include "baton.labels" . | nindent 4 }}
  annotations:
    baton/purpose: {{ printf "ServiceAccount %s/%s may write only the baton/role label and the deletion cost of its own Pod, its Lease %q, and Events about them" $ns $sa $lease | quote }}
spec:
  # An expression that cannot be evaluated refuses the request (fail closed).
  failurePolicy: Fail
  matchConstraints:
    # Equivalent: a request through another version or group of the same resource (core/v1 Events
    # for events.k8s.io) is matched too.
    matchPolicy: Equivalent
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["*"]
        operations: ["*"]
        resources: ["pods", "pods/*"]
      - apiGroups: ["coordination.k8s.io"]
        apiVersions: ["*"]
        operations: ["*"]
        resources: ["leases"]
      - apiGroups: ["events.k8s.io"]
        apiVersions: ["*"]
        operations: ["*"]
        resources: ["events"]
  matchConditions:
    # Only the sidecar's ServiceAccount: everyone else's requests are not looked at.
    - name: baton-service-account
      expression: {{ printf "request.userInfo.username == %q" $user | quote }}
  variables:
    # The request's fields are left out when empty (no subresource, no name): read them through has().
    - name: sub
      expression: "has(request.subResource) ? request.subResource : ''"
    - name: name
      expression: "has(request.name) ? request.name : ''"
    - name: ns
      expression: "has(request.namespace) ? request.namespace : ''"
    # The Pod the token is bound to (the kubelet's projected token); "" for a token bound to nothing.
    - name: pod
      expression: >-
        has(request.userInfo.extra) && 'authentication.kubernetes.io/pod-name' in request.userInfo.extra
        ? request.userInfo.extra['authentication.kubernetes.io/pod-name'][0] : ''
    - name: what
      expression: >-
        request.operation.lowerAscii() + ' of ' + request.resource.resource
        + (variables.sub != '' ? '/' + variables.sub : '')
        + (variables.name != '' ? ' "' + variables.name + '"' : '')
        + ' in namespace "' + variables.ns + '"'
    - name: labels
      expression: "has(object.metadata.labels) ? object.metadata.labels : {}"
    - name: oldLabels
      expression: "has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}"
    - name: annotations
      expression: "has(object.metadata.annotations) ? object.metadata.annotations : {}"
    - name: oldAnnotations
      expression: "has(oldObject.metadata.annotations) ? oldObject.metadata.annotations : {}"
  validations:
    # ---- pods ----
    - expression: "request.resource.resource != 'pods' || variables.pod != ''"
      reason: Forbidden
      messageExpression: >-
        'baton: ' + variables.what + ' refused: this token of ServiceAccount {{ $ns }}/{{ $sa }} is not bound to a Pod
        (no authentication.kubernetes.io/pod-name); only the sidecar\'s projected token of its own Pod may write it'
    {{- if $label }}
    - expression: >-
        request.resource.resource != 'pods' ||
        (request.operation == 'UPDATE' && variables.sub == '' && variables.ns == '{{ $ns }}' && variables.name == variables.pod)
      reason: Forbidden
      messageExpression: >-
        'baton: ' + variables.what + ' refused: ServiceAccount {{ $ns }}/{{ $sa }} may only set the label baton/role of its own Pod "'
        + variables.pod + '"'
    - expression: >-
        request.resource.resource != 'pods' || request.operation != 'UPDATE' || variables.sub != '' ||
        (object.spec == oldObject.spec
        && variables.annotations.all(k, k == 'controller.kubernetes.io/pod-deletion-cost' || (k in variables.oldAnnotations && variables.oldAnnotations[k] == variables.annotations[k]))
        && variables.oldAnnotations.all(k, k == 'controller.kubernetes.io/pod-deletion-cost' || k in variables.annotations)
        && (!('controller.kubernetes.io/pod-deletion-cost' in variables.annotations) || variables.annotations['controller.kubernetes.io/pod-deletion-cost'] in ['1000', '0'])
        && (has(object.metadata.finalizers) ? object.metadata.finalizers : []) == (has(oldObject.metadata.finalizers) ? oldObject.metadata.finalizers : [])
        && (has(object.metadata.ownerReferences) ? object.metadata.ownerReferences : []) == (has(oldObject.metadata.ownerReferences) ? oldObject.metadata.ownerReferences : [])
        && variables.labels.all(k, k == 'baton/role' || (k in variables.oldLabels && variables.oldLabels[k] == variables.labels[k]))
        && variables.oldLabels.all(k, k == 'baton/role' || k in variables.labels)
        && (!('baton/role' in variables.labels) || variables.labels['baton/role'] in ['leader', 'standby']))
      reason: Forbidden
      messageExpression: >-
        'baton: ' + variables.what + ' refused: ServiceAccount {{ $ns }}/{{ $sa }} may change only the label baton/role
        (to leader or standby) and the annotation controller.kubernetes.io/pod-deletion-cost (to 1000 or 0) of its Pod, nothing else of it'
    {{- else }}
    - expression: "request.resource.resource != 'pods'"
      reason: Forbidden
      messageExpression: >-
        'baton: ' + variables.what + ' refused: ServiceAccount {{ $ns }}/{{ $sa }} writes no pod (rbac.podLabel is false)'
    {{- end }}
    # ---- leases ----
    - expression: >-
        request.resource.resource != 'leases' ||
        (variables.ns == '{{ $ns }}' && variables.name == '{{ $lease }}' && request.operation in ['CREATE', 'UPDATE'])
      reason: Forbidden
      messageExpression: >-
        'baton: ' + variables.what + ' refused: ServiceAccount {{ $ns }}/{{ $sa }} may only create and update the Lease "{{ $lease }}"'
    # ---- events ----
    - expression: >-
        request.resource.resource != 'events' ||
        (request.operation == 'CREATE' && variables.ns == '{{ $ns }}' && has(object.regarding) &&
        ((object.regarding.kind == 'Lease' && object.regarding.name == '{{ $lease }}') ||
        (object.regarding.kind == 'Pod' && variables.pod != '' && object.regarding.name == variables.pod)))
      reason: Forbidden
      messageExpression: >-
        'baton: ' + variables.what + ' refused: ServiceAccount {{ $ns }}/{{ $sa }} may only create Events about the Lease "{{ $lease }}" or its own Pod'
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: {{ $name }}
  labels:
    {{- include "baton.labels" . | nindent 4 }}
spec:
  policyName: {{ $name }}
  # Every namespace: the ServiceAccount is held to its own Pod and Lease wherever it is granted anything.
  validationActions: [Deny]
{{- end }}
{{- end -}}
