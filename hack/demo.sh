#!/usr/bin/env bash
# make demo: runs the operator on a throwaway control plane with its admission
# webhooks, applies a baseline and matching RBAC, tampers with it step by step, and
# restores it, enforces it, and runs a just-in-time grant through its life. Exits 0
# when every step behaved as expected; leaves no process or file behind.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

assets="$(hack/envtest/assets.sh)"
go build -o bin/rbac-guardrails .
go build -o bin/kubectl-guardrails ./cmd/kubectl-guardrails
go build -o bin/localcp ./hack/localcp

log="$(mktemp -t rbac-guardrails-demo-XXXXXX.log)"
status=0
KUBEBUILDER_ASSETS="$assets" KUBECTL="$assets/kubectl" DEMO_LOG="$log" \
	bin/localcp -webhook-dir config/webhook -- 'exec hack/demo/steps.sh' || status=$?
if [ "$status" = 0 ]; then
	rm -f "$log"
else
	echo "demo: failed; the manager's log is kept at $log" >&2
fi
exit "$status"
