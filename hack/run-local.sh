#!/usr/bin/env bash
# Runs the operator on a throwaway local control plane (etcd + kube-apiserver on free
# loopback ports, CRDs installed). Ctrl-C stops everything and removes its files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

assets="$(hack/envtest/assets.sh)"
go build -o bin/rbac-guardrails .
go build -o bin/localcp ./hack/localcp

KUBEBUILDER_ASSETS="$assets" exec bin/localcp -- 'exec bin/rbac-guardrails --zap-devel --journal-namespace=default --enable-webhooks=false \
	--metrics-bind-address=127.0.0.1:$LOCAL_METRICS_PORT --metrics-secure=false \
	--health-probe-bind-address=127.0.0.1:$LOCAL_PROBE_PORT'
