#!/usr/bin/env bash
# Fails when generated files (CRDs, RBAC, deepcopy) differ from what the generators
# produce from the current sources, or when Go files are not gofmt-ed. It regenerates
# into a scratch copy of the tree, so it checks the tree as it is, committed or not.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
controller_gen="${CONTROLLER_GEN:-$root/bin/controller-gen}"

unformatted="$(gofmt -l $(git ls-files -co --exclude-standard '*.go') 2>/dev/null || true)"
if [ -n "$unformatted" ]; then
	echo "verify: these files are not gofmt-ed; run 'make fmt':" >&2
	echo "$unformatted" >&2
	exit 1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$scratch"

(cd "$scratch" && make -s manifests generate CONTROLLER_GEN="$controller_gen" >/dev/null)

stale=0
for dir in api config; do
	if ! diff -ruN "$root/$dir" "$scratch/$dir" >"$scratch/.diff" 2>&1; then
		cat "$scratch/.diff" >&2
		stale=1
	fi
done
if [ "$stale" = 1 ]; then
	echo "verify: generated files are stale; run 'make manifests generate' and commit the result" >&2
	exit 1
fi
echo "verify: generated files are current"
