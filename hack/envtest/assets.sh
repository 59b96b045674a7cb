#!/usr/bin/env bash
# Prints a directory holding kube-apiserver, etcd and kubectl for envtest
# (KUBEBUILDER_ASSETS). Tries, in order:
#   1. KUBEBUILDER_ASSETS, when it is already set and holds the binaries;
#   2. binaries this script built before (cached outside the repo);
#   3. setup-envtest: binaries it installed before, then its normal download;
#   4. building them from source through the Go module proxy (about 5 minutes
#      on 2 cores the first time, seconds afterwards with a warm Go build cache).
# Progress goes to stderr; only the directory goes to stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${ENVTEST_K8S_VERSION:-1.37.2}"
platform="$(go env GOOS)-$(go env GOARCH)"
setup_envtest="${SETUP_ENVTEST:-setup-envtest}"

log() { echo "envtest-assets: $*" >&2; }

has_binaries() {
	[ -x "$1/kube-apiserver" ] && [ -x "$1/etcd" ]
}

# 1. Already set.
if [ -n "${KUBEBUILDER_ASSETS:-}" ] && has_binaries "$KUBEBUILDER_ASSETS"; then
	echo "$KUBEBUILDER_ASSETS"
	exit 0
fi

# 2. Built before. The key changes whenever the wrapper modules or this script change.
key="$(cat "$here/assets.sh" "$here"/kube/go.mod "$here"/kube/go.sum "$here"/etcd/go.mod "$here"/etcd/go.sum | sha256sum | cut -c1-16)"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/rbac-guardrails/envtest"
bin_dir="$cache_root/$key"
# setup-envtest's store layout, so `setup-envtest use -i --bin-dir $bin_dir` finds it too.
assets="$bin_dir/k8s/$version-$platform"
if has_binaries "$assets"; then
	echo "$assets"
	exit 0
fi

# 3. setup-envtest: installed before, else its normal download (fails fast when offline).
if command -v "$setup_envtest" >/dev/null 2>&1; then
	if dir="$("$setup_envtest" use -i "$version" -p path 2>/dev/null)" && has_binaries "$dir"; then
		echo "$dir"
		exit 0
	fi
	log "trying setup-envtest download of Kubernetes $version"
	if dir="$(timeout 120 "$setup_envtest" use "$version" -p path 2>/dev/null)" && has_binaries "$dir"; then
		echo "$dir"
		exit 0
	fi
	log "setup-envtest download unavailable; building from source instead"
fi

# 4. Build from source, once per machine; a lock keeps parallel callers from building twice.
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
if has_binaries "$assets"; then
	echo "$assets"
	exit 0
fi

work="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local

major="${version%%.*}"
minor="${version#*.}"
minor="${minor%%.*}"
stamp=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	stamp+=" -X $pkg.gitVersion=v$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

start=$SECONDS
log "building etcd v3.7.3 from source (about 35 s cold)"
(cd "$here/etcd" && go build -trimpath -ldflags='-s -w' -o "$work/etcd" go.etcd.io/etcd/server/v3)
log "etcd built in $((SECONDS - start)) s"

start=$SECONDS
log "building kube-apiserver and kubectl v$version from source (about 5 minutes cold on 2 cores, seconds when cached)"
(cd "$here/kube" && go build -trimpath -ldflags="-s -w$stamp" -o "$work/" \
	k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl) &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	sleep 30
	kill -0 "$pid" 2>/dev/null && log "still building kube-apiserver ($((SECONDS - start)) s)"
done
wait "$pid"
log "kube-apiserver and kubectl built in $((SECONDS - start)) s"

mkdir -p "$(dirname "$assets")"
rm -rf "$assets"
mv "$work" "$assets"
trap - EXIT
chmod 0755 "$assets"
log "cached in $assets"
echo "$assets"
