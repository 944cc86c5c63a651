#!/usr/bin/env bash
# The test command (README, .ci/run): formatting, vet, runbook lint, and every
# test against real PostgreSQL and a real Kubernetes control plane.
#
#   DRNAV_SKIP_KUBE=1 scripts/test.sh   # skip building/using the control plane (local only)
set -euo pipefail
cd "$(dirname "$0")/.."

export GOFLAGS=${GOFLAGS:--buildvcs=false}
log() { printf '[test %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

tmp=$(mktemp -d)
chmod 0755 "$tmp"   # the PostgreSQL server runs as a non-root user
cleanup() {
  local rc=$?
  scripts/pg.sh stop "$tmp/pg" || true
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT INT TERM

log "go $(go version | awk '{print $3}'), $(nproc) cores"

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './testenv/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

log "go vet"
go vet ./...

log "go mod tidy (must change nothing)"
if ! tidy=$(go mod tidy -diff 2>&1); then
  echo "go mod tidy would change go.mod/go.sum (run: go mod tidy):"; echo "$tidy"; exit 1
fi

log "runbook lint (strict)"
go run . lint --strict

# tmux: the end-to-end tests drive the real binary in it; ssh (openssh-client):
# drnav serve is tested with the real OpenSSH client.
missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "${missing[*]} missing and we are not root: install them (apt-get install ${missing[*]})" >&2; exit 1
  fi
fi

log "starting PostgreSQL"
eval "$(scripts/pg.sh start "$tmp/pg")"
export DRNAV_REQUIRE_PG=1

if [ "${DRNAV_SKIP_KUBE:-}" = 1 ] && [ "${CI:-}" != true ]; then
  log "DRNAV_SKIP_KUBE=1: Kubernetes integration tests will be skipped"
else
  log "Kubernetes control plane binaries (first build ≈15 min, then cached)"
  bins=$(scripts/kube-bins.sh | tail -n 1)
  export DRNAV_KUBE_BINS="$bins"
  export DRNAV_REQUIRE_KUBE=1
fi

log "go test (race detector on)"
go test -race -count=1 -timeout 40m ./...
log "done"
