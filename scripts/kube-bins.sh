#!/usr/bin/env bash
# kube-bins.sh [--check] [OUTDIR] — build (or reuse) the local Kubernetes control plane
# used by drnav's integration tests: kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl (k8s.io/kubernetes v1.37.2), etcd (v3.7.3) and kwok
# (v0.8.0), all from the Go module proxy. Needs only Go and the proxy.
#
# The binaries go to OUTDIR, by default
#   ${XDG_CACHE_HOME:-$HOME/.cache}/drnav/kube-bins/<key>/
# where <key> hashes the wrapper modules' go.sum files, the kwok version, this
# recipe's version and `go version`. A complete folder (with its .complete
# stamp) is reused as is. The last line printed is the bin folder, so
#   export DRNAV_KUBE_BINS="$(scripts/kube-bins.sh | tail -n1)"
# A cold build takes about 15 minutes on 2 cores (2.5 GB peak memory); it uses a
# throw-away GOCACHE that is deleted at the end.
set -euo pipefail

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.3
KWOK_VERSION=v0.8.0
RECIPE=1 # bump when the build flags below change

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S_MOD="$ROOT/testenv/k8sbuild"
ETCD_MOD="$ROOT/testenv/etcdbuild"

log() { printf '%s kube-bins: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go is not on PATH"
[[ -f $K8S_MOD/go.sum && -f $ETCD_MOD/go.sum ]] || die "wrapper modules missing under $ROOT/testenv"

GOVERSION="$(go version)"
key="$({
	sha256sum "$K8S_MOD/go.mod" "$K8S_MOD/go.sum" "$ETCD_MOD/go.mod" "$ETCD_MOD/go.sum" | awk '{print $1}'
	echo "kwok $KWOK_VERSION recipe $RECIPE"
	echo "$GOVERSION"
} | sha256sum | cut -c1-16)"

CHECK=0
if [[ ${1:-} == --check ]]; then
	CHECK=1 # print the folder if it is complete, else exit 1; never build
	shift
fi
if [[ $# -ge 1 && -n $1 ]]; then
	OUT="$1"
else
	OUT="${XDG_CACHE_HOME:-$HOME/.cache}/drnav/kube-bins/$key"
fi
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

complete() {
	[[ -f $OUT/.complete ]] || return 1
	local b
	for b in "${BINARIES[@]}"; do [[ -x $OUT/$b ]] || return 1; done
}

if complete; then
	log "reusing complete binaries (key $key)"
	echo "$OUT"
	exit 0
fi
if [[ $CHECK == 1 ]]; then
	exit 1
fi

mkdir -p "$OUT"
# One builder at a time per folder; a second caller waits, then reuses.
if command -v flock >/dev/null; then
	exec 9>"$OUT/.lock"
	if ! flock -n 9; then
		log "another kube-bins.sh is building into $OUT; waiting for it"
		flock 9
	fi
	if complete; then
		log "reusing binaries just built by the other run"
		echo "$OUT"
		exit 0
	fi
fi

start=$(date +%s)
GOCACHE_TMP="$(mktemp -d "${TMPDIR:-/tmp}/drnav-kube-gocache.XXXXXX")"
HEARTBEAT_PID=""
cleanup() {
	[[ -n $HEARTBEAT_PID ]] && kill "$HEARTBEAT_PID" 2>/dev/null || true
	chmod -R u+w "$GOCACHE_TMP" 2>/dev/null || true
	rm -rf "$GOCACHE_TMP"
	rm -f "$OUT"/*.partial
}
trap cleanup EXIT

export GOCACHE="$GOCACHE_TMP"
export CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=local

log "building into $OUT (key $key, $GOVERSION)"
log "a cold build takes about 15 minutes on 2 cores; progress is printed every minute"

# build NAME ESTIMATE DIR PKG LDFLAGS: one binary, with a heartbeat so a long
# compile is not mistaken for a hang.
build() {
	local name=$1 estimate=$2 dir=$3 pkg=$4 ldflags=$5 t0
	if [[ -x $OUT/$name ]]; then
		log "$name already built"
		return 0
	fi
	t0=$(date +%s)
	log "building $name… (≈$estimate)"
	(while sleep 60; do log "  still building $name ($(( ($(date +%s) - t0) / 60 )) min so far)"; done) &
	HEARTBEAT_PID=$!
	(cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$OUT/$name.partial" "$pkg") ||
		die "building $name failed"
	kill "$HEARTBEAT_PID" 2>/dev/null || true
	wait "$HEARTBEAT_PID" 2>/dev/null || true
	HEARTBEAT_PID=""
	mv "$OUT/$name.partial" "$OUT/$name"
	log "built $name in $(( $(date +%s) - t0 )) s"
}

log "downloading modules… (≈1 min)"
(cd "$K8S_MOD" && go mod download) || die "downloading Kubernetes modules failed"
(cd "$ETCD_MOD" && go mod download) || die "downloading etcd modules failed"

major=${K8S_VERSION#v}; major=${major%%.*}
minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
kver=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	kver+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
	kver+=" -X $p.gitTreeState=clean -X $p.gitCommit=$K8S_VERSION"
done
KLD="-s -w$kver"

build etcd "1 min" "$ETCD_MOD" go.etcd.io/etcd/server/v3 \
	"-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION"
build kube-apiserver "9 min" "$K8S_MOD" k8s.io/kubernetes/cmd/kube-apiserver "$KLD"
build kube-controller-manager "3 min" "$K8S_MOD" k8s.io/kubernetes/cmd/kube-controller-manager "$KLD"
build kube-scheduler "30 s" "$K8S_MOD" k8s.io/kubernetes/cmd/kube-scheduler "$KLD"
build kubectl "1 min" "$K8S_MOD" k8s.io/kubernetes/cmd/kubectl "$KLD"

if [[ ! -x $OUT/kwok ]]; then
	t0=$(date +%s)
	log "building kwok… (≈2.5 min)"
	(while sleep 60; do log "  still building kwok ($(( ($(date +%s) - t0) / 60 )) min so far)"; done) &
	HEARTBEAT_PID=$!
	GOBIN_TMP="$(mktemp -d "$GOCACHE_TMP/gobin.XXXXXX")"
	GOFLAGS=-buildvcs=false GOBIN="$GOBIN_TMP" go install -trimpath -ldflags "-s -w" \
		"sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" || die "building kwok failed"
	kill "$HEARTBEAT_PID" 2>/dev/null || true
	wait "$HEARTBEAT_PID" 2>/dev/null || true
	HEARTBEAT_PID=""
	mv "$GOBIN_TMP/kwok" "$OUT/kwok"
	log "built kwok in $(( $(date +%s) - t0 )) s"
fi

"$OUT/kube-apiserver" --version >/dev/null || die "kube-apiserver does not run"
{
	echo "key=$key"
	echo "kubernetes=$K8S_VERSION etcd=$ETCD_VERSION kwok=$KWOK_VERSION"
	echo "go=$GOVERSION"
	echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$(( $(date +%s) - start ))"
} >"$OUT/.complete"
log "done in $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s; $(du -sh "$OUT" | cut -f1) in $OUT"
echo "$OUT"
