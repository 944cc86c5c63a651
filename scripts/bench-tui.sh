#!/usr/bin/env bash
# Whole-process benchmark of the navigator against 10,000 kwok pods: builds
# drnav the way the README's install command does, starts the local control
# plane (scripts/kube-bins.sh), and prints the figures of the README's
# performance section with the same run's references and ratios.
#
#   scripts/bench-tui.sh                       # the full run (about 6 minutes)
#   scripts/bench-tui.sh -idle 20s -load 20s   # quicker, CPU scaled to a minute
#   scripts/bench-tui.sh -pprof /tmp/prof      # CPU and heap profiles of the last run
#   DRNAV_BENCH_BIN=/path/drnav scripts/bench-tui.sh   # measure another build
#
# Every flag is passed to internal/kubetest/benchtui (see -h there).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "bench-tui: tmux is required" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench-tui: /usr/bin/time is required (Debian: apt-get install time)" >&2; exit 1; }
if [[ -z "${DRNAV_KUBE_BINS:-}" ]]; then
	DRNAV_KUBE_BINS=$(scripts/kube-bins.sh | tail -n1)
	export DRNAV_KUBE_BINS
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${DRNAV_BENCH_BIN:-}
if [[ -z "$bin" ]]; then
	bin=$work/drnav
	# The README's install command.
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$bin" .
fi
go build -o "$work/benchtui" ./internal/kubetest/benchtui
"$work/benchtui" -bin "$bin" "$@"
