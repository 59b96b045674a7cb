#!/usr/bin/env bash
# The demo's steps, run by hack/demo.sh inside a throwaway control plane (KUBECONFIG set).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

kubectl() { "$KUBECTL" "$@"; }
baseline=team-payments
results=()

banner() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
	kubectl get rolebaselines
	echo
	kubectl get events -n default --field-selector "involvedObject.kind=RoleBaseline,involvedObject.name=$baseline" \
		--sort-by=.metadata.creationTimestamp -o custom-columns='TYPE:.type,REASON:.reason,MESSAGE:.message' | { read -r header; echo "$header"; tail -n 6; }
}
# expect waits until the baseline's InSync condition is $1 and, when given, a finding of type $2 is listed.
expect() {
	local want=$1 type=${2:-} step=$3
	for _ in $(seq 1 100); do
		local got types
		got=$(kubectl get rolebaseline "$baseline" -o jsonpath='{.status.conditions[?(@.type=="InSync")].status}')
		types=$(kubectl get rolebaseline "$baseline" -o jsonpath='{.status.findings[*].type}')
		if [ "$got" = "$want" ] && { [ -z "$type" ] || [[ " $types " == *" $type "* ]]; }; then
			results+=("ok    $step")
			return 0
		fi
		sleep 0.1
	done
	results+=("FAIL  $step (InSync=$got, findings: $types)")
}

# The operator runs as its own user; the admission webhooks judge everyone else,
# except members of the break-glass group.
banner "Start the operator and its admission webhooks"
KUBECONFIG="$OPERATOR_KUBECONFIG" bin/rbac-guardrails --journal-namespace=default --metrics-bind-address=0 \
	--health-probe-bind-address="127.0.0.1:$LOCAL_PROBE_PORT" \
	--webhook-host="$LOCAL_WEBHOOK_HOST" --webhook-port="$LOCAL_WEBHOOK_PORT" --webhook-cert-dir="$LOCAL_WEBHOOK_CERT_DIR" \
	--webhook-exempt-users=rbac-guardrails-operator --webhook-exempt-groups=demo:break-glass >"$DEMO_LOG" 2>&1 &
manager=$!
trap 'kill $manager 2>/dev/null; wait $manager 2>/dev/null || true' EXIT

banner "Apply the team-payments baseline and the RBAC it declares"
kubectl apply -f hack/demo/team-payments-rbac.yaml
# RoleBaselines are admitted only once the webhook serves (failurePolicy Fail).
for _ in $(seq 1 100); do
	kubectl apply -f config/samples/team-namespace.yaml 2>/dev/null && break
	sleep 0.2
done
expect True "" "baseline matches the live RBAC: InSync"
show

banner "Tamper 1: give app-developer in payments read access to Secrets"
kubectl patch role app-developer -n payments --type=json \
	-p '[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["secrets"],"verbs":["get","list"]}}]'
expect False RulesAdded "added rule reported as RulesAdded (and secrets-read guardrail)"
show

banner "Tamper 2: add a subject to payments-developers"
kubectl patch rolebinding payments-developers -n payments --type=json \
	-p '[{"op":"add","path":"/subjects/-","value":{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"mallory@example.com"}}]'
expect False SubjectsAdded "added subject reported as SubjectsAdded"
show

banner "Tamper 3: bind cluster-admin in payments"
kubectl create rolebinding oops -n payments --clusterrole=cluster-admin --user=mallory@example.com
expect False GuardrailViolation "cluster-admin binding reported as a GuardrailViolation and Unexpected"
show

banner "Tamper 4: delete app-viewer in payments-staging"
kubectl delete role app-viewer -n payments-staging
expect False Missing "deleted role reported as Missing"
show

banner "Findings now in status"
kubectl get rolebaseline "$baseline" -o jsonpath='{range .status.findings[*]}{.type}{"\t"}{.object.kind}{" "}{.object.namespace}{"/"}{.object.name}{"\t"}{.message}{"\n"}{end}'

banner "Restore: re-apply the declared RBAC and remove the extra binding"
kubectl apply -f hack/demo/team-payments-rbac.yaml
kubectl delete rolebinding oops -n payments
expect True "" "restored RBAC: InSync again"
show

banner "Enforce: switch the baseline to Enforce mode; the webhook refuses the same tamper"
kubectl patch rolebaseline "$baseline" --type=merge -p '{"spec":{"mode":"Enforce"}}'
secrets='[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["secrets"],"verbs":["get","list"]}}]'
denied=""
for _ in $(seq 1 50); do # until the webhook has the Enforce spec
	if ! out=$(kubectl patch role app-developer -n payments --type=json -p "$secrets" 2>&1); then
		denied=$out
		break
	fi
	kubectl apply -f hack/demo/team-payments-rbac.yaml >/dev/null # it landed: put it back and retry
	sleep 0.1
done
echo "$denied"
if [[ "$denied" == *"forbids this change"* ]]; then results+=("ok    Enforce webhook refused the added rule"); else results+=("FAIL  Enforce webhook did not refuse the added rule"); fi

banner "Break-glass: an on-call engineer in the exempt group makes the change; the controller reverts it"
kubectl --as=oncall@example.com --as-group=system:masters --as-group=demo:break-glass \
	patch role app-developer -n payments --type=json -p "$secrets"
reverted=""
for _ in $(seq 1 100); do
	if ! kubectl get role app-developer -n payments -o jsonpath='{.rules[*].resources}' | grep -q secrets; then
		reverted=yes
		break
	fi
	sleep 0.1
done
if [ -n "$reverted" ]; then results+=("ok    Enforce mode reverted the added rule in place"); else results+=("FAIL  Enforce mode did not revert the added rule"); fi
expect True "" "Enforce baseline InSync after the revert"
show
echo
echo "Journal (prior state of every reverted object, for undo; see docs/enforce.md):"
uid=$(kubectl get rolebaseline "$baseline" -o jsonpath='{.metadata.uid}')
kubectl get configmaps -n default -l "guardrails.rbac-guardrails.io/journal-of=$uid" \
	-o custom-columns='ENTRY:.metadata.name,ACTION:.metadata.annotations.guardrails\.rbac-guardrails\.io/action,OBJECT:.metadata.annotations.guardrails\.rbac-guardrails\.io/object'
entry=$(kubectl get rolebaseline "$baseline" -o jsonpath='{.status.journal[0].entry}')
if [ -n "$entry" ]; then
	results+=("ok    journal entry $entry recorded the prior rules")
	echo
	echo "Prior rules in $entry:"
	kubectl get configmap -n default "$entry" -o jsonpath='{.data.prior\.json}' | sed 's/.*"rules":/rules: /'
	echo
else
	results+=("FAIL  no journal entry in status.journal")
fi

banner "Just-in-time access: alice asks to read pods in payments, bob approves, it ends on time"
kubectl apply -f hack/demo/access-grants-rbac.yaml
kubectl patch rolebaseline "$baseline" --type=merge -p '{"spec":{"grants":[{"name":"oncall-pods","roles":[{"kind":"ClusterRole","name":"demo-pod-reader"}],
  "subjects":[{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"demo:oncall"}],"namespaces":["payments"],
  "maxDuration":"1h","approvers":"demo:leads"}]}}'
alice=(--as=alice@example.com --as-group=demo:oncall)
if kubectl "${alice[@]}" auth can-i list pods -n payments >/dev/null 2>&1; then results+=("FAIL  alice could list pods before any grant"); fi
kubectl "${alice[@]}" create -f - <<'GRANT'
apiVersion: guardrails.rbac-guardrails.io/v1alpha1
kind: AccessGrant
metadata: {name: alice-inc-4711}
spec:
  baseline: team-payments
  role: {kind: ClusterRole, name: demo-pod-reader}
  namespaces: [payments]
  duration: 15s
  reason: INC-4711 checkout errors
GRANT
echo "requester recorded by the webhook: $(kubectl get accessgrant alice-inc-4711 -o jsonpath='{.spec.requester}')"
selfapproval=$(bin/kubectl-guardrails "${alice[@]}" approve alice-inc-4711 2>&1 || true)
echo "$selfapproval"
if [[ "$selfapproval" == *"cannot decide on their own grant"* ]]; then results+=("ok    self-approval refused"); else results+=("FAIL  self-approval was not refused"); fi
grant_state() { kubectl get accessgrant alice-inc-4711 -o jsonpath='{.status.state}'; }
for _ in $(seq 1 50); do [ "$(grant_state)" = Pending ] && break; sleep 0.1; done
bin/kubectl-guardrails --as=bob@example.com --as-group=demo:leads --as-group=system:masters approve alice-inc-4711 --comment "for INC-4711"
for _ in $(seq 1 100); do [ "$(grant_state)" = Active ] && break; sleep 0.1; done
kubectl get accessgrants
using=""
for _ in $(seq 1 50); do # the API server's RBAC cache takes the new binding in a moment
	if kubectl "${alice[@]}" get pods -n payments >/dev/null 2>&1; then using=yes; break; fi
	sleep 0.1
done
if [ -n "$using" ]; then results+=("ok    approved grant active: alice lists pods in payments"); else results+=("FAIL  alice cannot list pods with an active grant"); fi
echo "waiting for the grant to expire (15 s)..."
for _ in $(seq 1 300); do [ "$(grant_state)" = Expired ] && break; sleep 0.1; done
kubectl get accessgrants
if [ "$(grant_state)" = Expired ] && ! kubectl "${alice[@]}" auth can-i list pods -n payments >/dev/null 2>&1; then
	results+=("ok    grant expired on time: its binding is gone and alice can no longer list pods")
else
	results+=("FAIL  the grant did not end on time (state $(grant_state))")
fi
kubectl get events -n default --field-selector involvedObject.kind=AccessGrant -o custom-columns='REASON:.reason,MESSAGE:.message' 2>/dev/null | tail -n 4 || true

banner "Summary"
printf '%s\n' "${results[@]}"
if printf '%s\n' "${results[@]}" | grep -q '^FAIL'; then
	echo "demo: a step did not behave as expected; manager log: $DEMO_LOG" >&2
	exit 1
fi
echo "demo: every step behaved as expected"
