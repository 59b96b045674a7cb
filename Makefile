# rbac-guardrails — build, test and run. `make help` lists the targets.

IMG ?= rbac-guardrails:dev
# Kubernetes version of the envtest control plane built by hack/envtest/assets.sh.
ENVTEST_K8S_VERSION ?= 1.37.2

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

LOCALBIN ?= $(CURDIR)/bin
$(LOCALBIN):
	@mkdir -p $(LOCALBIN)

## Tool versions: pinned, installed from the Go module proxy into ./bin.
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.2
SETUP_ENVTEST_VERSION ?= v0.25.1
GOLANGCI_LINT_VERSION ?= v2.15.0
GINKGO_VERSION ?= v2.34.0

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
KUSTOMIZE ?= $(LOCALBIN)/kustomize
SETUP_ENVTEST ?= $(LOCALBIN)/setup-envtest
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
GINKGO ?= $(LOCALBIN)/ginkgo

# go test flags for `make test`; override to focus, e.g. TEST_FLAGS='-run TestFoo -v'.
TEST_FLAGS ?=

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRD, RBAC role and webhook configuration from markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: controller-gen ## Fail if generated files are stale or Go files are not gofmt-ed.
	CONTROLLER_GEN=$(CONTROLLER_GEN) hack/verify.sh

.PHONY: envtest-assets
envtest-assets: setup-envtest ## Print the directory of envtest's kube-apiserver, etcd and kubectl (builds them once).
	@SETUP_ENVTEST=$(SETUP_ENVTEST) ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) hack/envtest/assets.sh

.PHONY: test
test: verify vet setup-envtest ## Run every test against a real kube-apiserver and etcd (envtest).
	@assets="$$(SETUP_ENVTEST=$(SETUP_ENVTEST) ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) hack/envtest/assets.sh)"; \
	echo "KUBEBUILDER_ASSETS=$$assets"; \
	KUBEBUILDER_ASSETS="$$assets" go test ./... -count=1 -timeout 30m $(TEST_FLAGS)

.PHONY: bench
bench: setup-envtest ## Run the engine, webhook and audit intake benchmarks and the detection and admission harnesses (long; see docs/benchmarks.md).
	go test -run '^$$' -bench . -benchtime 2s -count 5 ./internal/drift/
	go test -run '^$$' -bench Receiver -benchtime 3s -count 3 -cpu 2 ./internal/audit/
	GOMAXPROCS=2 go run ./test/bench/audit -duration 20s
	go test -run '^$$' -bench RBACHandler -benchtime 5000x ./internal/webhook/
	go test -run '^$$' -bench BenchmarkCheck -benchtime 5x ./internal/cli/
	go run ./test/bench/suggest -events 1000000
	@assets="$$(SETUP_ENVTEST=$(SETUP_ENVTEST) ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) hack/envtest/assets.sh)"; \
	set -x; \
	KUBEBUILDER_ASSETS="$$assets" go run ./test/bench/detect $(BENCH_FLAGS) && \
	KUBEBUILDER_ASSETS="$$assets" go run ./test/bench/detect -mode enforce $(BENCH_FLAGS) && \
	KUBEBUILDER_ASSETS="$$assets" go run ./test/bench/admission && \
	KUBEBUILDER_ASSETS="$$assets" go run ./test/bench/grants -grants 1000 && \
	KUBEBUILDER_ASSETS="$$assets" go test -run '^$$' -bench SubjectAccessReview -benchtime 2000x ./test/semantics/

# Where make reliability writes the figures of its run (docs/reliability.md keeps the reviewed ones).
RELIABILITY_REPORT ?= $(LOCALBIN)/reliability.md

.PHONY: reliability
reliability: setup-envtest $(LOCALBIN) ## Run the reliability suite at full size: faults, bursts and fights against the operator process (about 10 minutes; see docs/reliability.md).
	@assets="$$(SETUP_ENVTEST=$(SETUP_ENVTEST) ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) hack/envtest/assets.sh)"; \
	rm -f $(RELIABILITY_REPORT); \
	KUBEBUILDER_ASSETS="$$assets" go test ./test/reliability/ -count=1 -timeout 60m -v -args -long -report $(RELIABILITY_REPORT); \
	echo "figures: $(RELIABILITY_REPORT)"

##@ Build

.PHONY: build
build: ## Build the manager and the kubectl plugin (kubectl-guardrails) into ./bin.
	go build -o $(LOCALBIN)/rbac-guardrails .
	go build -o $(LOCALBIN)/kubectl-guardrails ./cmd/kubectl-guardrails

.PHONY: run
run: manifests ## Run the manager against the cluster in the current KUBECONFIG.
	go run . --zap-devel

.PHONY: run-local
run-local: setup-envtest ## Run the manager on an embedded etcd and kube-apiserver (no cluster needed).
	@SETUP_ENVTEST=$(SETUP_ENVTEST) ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) hack/run-local.sh

.PHONY: demo
demo: setup-envtest ## Show drift detection end to end on an embedded control plane (no cluster needed).
	@SETUP_ENVTEST=$(SETUP_ENVTEST) ENVTEST_K8S_VERSION=$(ENVTEST_K8S_VERSION) hack/demo.sh

.PHONY: docker-build
docker-build: ## Build the container image.
	docker build -t $(IMG) .

.PHONY: image-tar
image-tar: $(LOCALBIN) ## Write the container image as an archive without Docker (docker load -i / kind load image-archive bin/rbac-guardrails-image.tar).
	CGO_ENABLED=0 GOOS=linux GOARCH=$$(go env GOARCH) go build -trimpath -ldflags='-s -w' -o $(LOCALBIN)/rbac-guardrails-linux .
	go run ./hack/image-tar -binary $(LOCALBIN)/rbac-guardrails-linux -arch $$(go env GOARCH) -o $(LOCALBIN)/rbac-guardrails-image.tar -tag $(IMG)

##@ Deployment

.PHONY: install
install: manifests kustomize ## Install the CRDs into the cluster in the current KUBECONFIG.
	$(KUSTOMIZE) build config/crd | kubectl apply --server-side -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRDs from the cluster in the current KUBECONFIG.
	$(KUSTOMIZE) build config/crd | kubectl delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy the operator to the cluster in the current KUBECONFIG.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: kustomize ## Remove the operator from the cluster in the current KUBECONFIG.
	$(KUSTOMIZE) build config/default | kubectl delete --ignore-not-found -f -

##@ Tools

.PHONY: controller-gen kustomize setup-envtest golangci-lint ginkgo
controller-gen: $(CONTROLLER_GEN)-$(CONTROLLER_TOOLS_VERSION) ## Install controller-gen into ./bin.
$(CONTROLLER_GEN)-$(CONTROLLER_TOOLS_VERSION): | $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

kustomize: $(KUSTOMIZE)-$(KUSTOMIZE_VERSION) ## Install kustomize into ./bin.
$(KUSTOMIZE)-$(KUSTOMIZE_VERSION): | $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

setup-envtest: $(SETUP_ENVTEST)-$(SETUP_ENVTEST_VERSION) ## Install setup-envtest into ./bin.
$(SETUP_ENVTEST)-$(SETUP_ENVTEST_VERSION): | $(LOCALBIN)
	$(call go-install-tool,$(SETUP_ENVTEST),sigs.k8s.io/controller-runtime/tools/setup-envtest,$(SETUP_ENVTEST_VERSION))

golangci-lint: $(GOLANGCI_LINT)-$(GOLANGCI_LINT_VERSION) ## Install golangci-lint into ./bin.
$(GOLANGCI_LINT)-$(GOLANGCI_LINT_VERSION): | $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

ginkgo: $(GINKGO)-$(GINKGO_VERSION) ## Install the ginkgo CLI into ./bin.
$(GINKGO)-$(GINKGO_VERSION): | $(LOCALBIN)
	$(call go-install-tool,$(GINKGO),github.com/onsi/ginkgo/v2/ginkgo,$(GINKGO_VERSION))

# go-install-tool installs package $(2) at version $(3) as $(1)-$(3), linked from $(1),
# so changing a pinned version reinstalls the tool.
define go-install-tool
@[ -f "$(1)-$(3)" ] || { \
set -e; \
echo "Installing $(2)@$(3)"; \
rm -f "$(1)"; \
GOBIN="$(LOCALBIN)" go install "$(2)@$(3)"; \
mv "$(LOCALBIN)/$$(basename "$(1)")" "$(1)-$(3)"; \
}; \
ln -sf "$$(basename "$(1)-$(3)")" "$(1)"
endef
