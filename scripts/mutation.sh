#!/usr/bin/env bash
# Mutation testing of Tender's money-critical packages with gremlins
# (pinned, run through the Go module proxy). Too slow for CI: run it by
# hand after changing money rules, and update the table in README.md
# ("Mutation testing") and the survivors in MUTANTS.md.
#
#   scripts/mutation.sh                 # every money-critical package
#   scripts/mutation.sh root engine     # some of them
#
# Each package is mutated one at a time with one worker, against its own
# tests only (never cmd/tender's end-to-end suite). The run works on a
# copy of the committed tree (a detached worktree of HEAD), so edits made
# meanwhile change nothing. Per package it prints killed, lived, timed out
# and not covered mutants and two scores: efficacy, (killed + timed out) /
# (killed + lived + timed out), as gremlins counts it (a mutant that hangs
# the tests was noticed); and overall, the same over every mutant including
# those in code the package's tests never run. It keeps gremlins' own log and JSON in $OUT (default .tender/mutation).
#
# Environment: TIMEOUT_COEFFICIENT (default 6: a mutant's tests may take
# that many times the normal run before it counts as timed out; raise it
# on a loaded machine), WORKERS (default 1: mutants tested at once), OUT,
# ONLY (a regexp of file names: mutate only the package's files matching
# it, for a partial rerun after new tests, e.g. ONLY='^reconcile\.go$';
# it replaces the package's KEEP below), DIFF (a commit: mutate only the
# lines changed since it, gremlins --diff, for a rerun after a change
# whose earlier run stands for the rest).
#
# Each mutant relinks the package's test binary; the links leave out
# debug information (-ldflags=-w), which makes a mutant about a third
# cheaper and changes nothing the tests see.
set -euo pipefail
cd "$(dirname "$0")/.."
GREMLINS=github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
COEF="${TIMEOUT_COEFFICIENT:-6}"
WORKERS="${WORKERS:-1}"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-ldflags=-w"
diff=()
[ -z "${DIFF:-}" ] || diff=(--diff "$DIFF")
OUT="${OUT:-$PWD/.tender/mutation}"
mkdir -p "$OUT"

# The files of each package that mutation testing covers: a package's
# directory, and a regexp (gremlins -E, on paths relative to the package)
# of the files left out. Left out: simulators (sim/), and in engine the
# code that moves no money (accounts, merchant profiles and API keys,
# webhook delivery, egress checks, metrics, the long-poll watchers of
# watch.go, wiring).
declare -A DIR=([root]=. [engine]=engine [api]=api [sepay]=sepay [epay]=epay
  [trustpayments]=trustpayments [computop]=computop)
declare -A EXCLUDE=([root]='/' [engine]='^(accounts|dispatch|egress|engine|merchants|metrics|watch|webhooks)\.go$'
  [api]='^(webhooks|pages)\.go$' [sepay]='^sim/' [epay]='^sim/' [trustpayments]='^sim/' [computop]='^sim/')
# And for api and the providers, the files that are mutated at all (a
# regexp of file names in the package's directory; the rest is left out):
# in api the payment handlers, the Idempotency-Key and Bearer
# authentication, the error mapping and strict JSON decoding (two readers
# of one body must never see two amounts); in each provider where an
# amount, a status, an outcome code or a signature is decided. Left out
# there: account settings parsing, HTTP/XML/JSON transport and message
# layout, receipts and checkout pages, assumptions.go's constants, and
# computop's Blowfish/AES of the Data envelope (crypto.go: a wrong cipher
# breaks every message, pinned by the vector tests) (all pinned by the
# conformance suite and vectors, not by mutation).
declare -A KEEP=([api]='^(payments|middleware|encode|jsonkeys)\.go$'
  [sepay]='^(amount|codes|connector|sign|status)\.go$'
  [epay]='^(check|codes|connector|followup|invoice|outcome|preauth|sign|status)\.go$'
  [trustpayments]='^(callback|codes|connector|duplicate|jwt|operations|response)\.go$'
  [computop]='^(actions|callback|check|codes|connector|envelope|mac)\.go$')
ALL=(root engine api sepay epay trustpayments computop)

pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=("${ALL[@]}")

# A detached worktree of HEAD (git diff works in it for DIFF).
src="$(mktemp -d)/tree"
git worktree add --quiet --detach "$src" HEAD
trap 'git worktree remove --force "$src"' EXIT

printf '%-14s %7s %6s %9s %12s %9s %8s\n' package killed lived timed_out not_covered efficacy overall
for pkg in "${pkgs[@]}"; do
  dir="${DIR[$pkg]:?unknown package $pkg (one of: ${ALL[*]})}"
  log="$OUT/$pkg.txt"
  only=()
  keep="${ONLY:-${KEEP[$pkg]:-}}"
  if [ -n "$keep" ]; then
    rest=$(cd "$src/$dir" && ls -- *.go | grep -v '_test\.go$' | grep -vE "$keep" | sed 's/\./\\./g' | paste -sd'|' || true)
    [ -z "$rest" ] || only=(-E "^($rest)\$")
  fi
  (cd "$src" && go run "$GREMLINS" unleash --workers "$WORKERS" --timeout-coefficient "$COEF" \
    -E "${EXCLUDE[$pkg]}" "${only[@]}" "${diff[@]}" -o "$OUT/$pkg.json" "$dir") >"$log" 2>&1 || true
  k=$(grep -c '^ *KILLED ' "$log" || true)
  l=$(grep -c '^ *LIVED ' "$log" || true)
  to=$(grep -c '^ *TIMED OUT ' "$log" || true)
  nc=$(grep -c '^ *NOT COVERED ' "$log" || true)
  eff=$(awk -v k="$k" -v l="$l" -v t="$to" 'BEGIN { n = k + l + t; if (n) printf "%.1f%%", 100 * (k + t) / n; else print "-" }')
  all=$(awk -v k="$k" -v l="$l" -v t="$to" -v c="$nc" 'BEGIN { n = k + l + t + c; if (n) printf "%.1f%%", 100 * (k + t) / n; else print "-" }')
  printf '%-14s %7d %6d %9d %12d %9s %8s\n' "$pkg" "$k" "$l" "$to" "$nc" "$eff" "$all"
done
echo "survivors: grep -E 'LIVED|NOT COVERED' $OUT/*.txt"
