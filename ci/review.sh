#!/usr/bin/env bash
# Candidate-list review in CI (.github/workflows/review.yml runs this; tests run it too).
#
#   ci/review.sh prerequisites                          (root, Debian 12) what actions/checkout and setup-dotnet need
#   ci/review.sh select (--base REF | --changed FILE)   print the affected snapshots, "dataset variant profile" per line
#   ci/review.sh run    (--base REF | --changed FILE)   review each: exit 1 if any differs from its approved snapshot
#
# Changed files come from `git diff --name-only REF...HEAD` or from FILE (one path per line). What is affected:
#   data/datasets/<d>.json  -> every approved snapshot of dataset <d>
#   data/profiles/<p>.json  -> every approved snapshot of profile <p> (and of <p>+<overrides>)
#   data/approved/<d>/<v>/<p>/… -> that snapshot (an approval is checked against a fresh run)
#   stages/**, data/solvents.json, data/fixtures/**, ci/review.sh, the workflow -> every approved snapshot
# Only approved snapshots are reviewed: a dataset or profile without one is listed as unreviewed (approve one with
# ./build.sh --target Review --dataset D --profile P --approve=true and commit data/approved/).
#
# Environment: REVIEW_ROOT (repository root; default: this script's), REVIEW_COMMAND (default "./build.sh --target
# Review"; it gets --dataset D --variant V --profile P [--set k=v ...]), REVIEW_ARTIFACTS (where review/ is written;
# default $REVIEW_ROOT/artifacts), REVIEW_TOLERANCE (volts, passed as --tolerance; leave unset: exact, see README),
# GITHUB_STEP_SUMMARY (each Markdown diff is appended to it when set).
set -euo pipefail

ROOT="${REVIEW_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
mode="${1:-}"; shift || true
if [ "$mode" = prerequisites ]; then
  # The workflow runs in debian:12, the system the approved snapshots are made on; build.sh installs RDKit and
  # the compilers itself (it runs as root there). This adds git (a real clone, for the diff against the base
  # branch), curl and ICU (actions/setup-dotnet's installer and the SDK), python3 (build.sh's RDKit oracle check).
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git curl ca-certificates libicu72 python3 >/dev/null
  exit 0
fi
changed=""
while [ $# -gt 0 ]; do
  case "$1" in
    --base) changed="$(git -C "$ROOT" diff --name-only "$2...HEAD")"; shift 2 ;;
    --changed) changed="$(cat "$2")"; shift 2 ;;
    *) echo "ci/review.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
case "$mode" in select|run) ;; *) echo "usage: ci/review.sh prerequisites | select|run (--base REF | --changed FILE)" >&2; exit 2 ;; esac

# Every approved snapshot as "dataset variant profile".
approved() {
  [ -d "$ROOT/data/approved" ] || return 0
  (cd "$ROOT/data/approved" && find . -mindepth 4 -maxdepth 4 -name approved.json | sed 's|^\./||; s|/approved\.json$||' | tr '/' ' ' | LC_ALL=C sort)
}

select_snapshots() {
  local all path d p
  all="$(approved)"
  while IFS= read -r path; do
    [ -n "$path" ] || continue
    case "$path" in
      stages/*|data/solvents.json|data/fixtures/*|ci/review.sh|.github/workflows/review.yml)
        printf '%s\n' "$all" ;;
      data/datasets/*.json)
        d="$(basename "$path" .json)"
        if printf '%s\n' "$all" | grep -q "^$d "; then printf '%s\n' "$all" | grep "^$d "
        else echo "ci/review.sh: dataset $d changed but has no approved snapshot: unreviewed" >&2; fi ;;
      data/profiles/*.json)
        p="$(basename "$path" .json)"
        if printf '%s\n' "$all" | grep -Eq "^[^ ]+ [^ ]+ $p(\+.*)?$"; then printf '%s\n' "$all" | grep -E "^[^ ]+ [^ ]+ $p(\+.*)?$"
        else echo "ci/review.sh: profile $p changed but has no approved snapshot: unreviewed" >&2; fi ;;
      data/approved/*/*/*/*)
        echo "$path" | cut -d/ -f3-5 | tr '/' ' ' ;;
    esac
  done <<< "$changed" | grep -v "^$" | LC_ALL=C sort -u || true
}

selection="$(select_snapshots)"
if [ "$mode" = select ]; then
  [ -z "$selection" ] || printf '%s\n' "$selection"
  exit 0
fi

# run: review each selected snapshot; keep going after a failure so every diff is published.
read -r -a command <<< "${REVIEW_COMMAND:-./build.sh --target Review}"
artifacts="${REVIEW_ARTIFACTS:-$ROOT/artifacts}"
failed=0
if [ -z "$selection" ]; then
  echo "ci/review.sh: no approved snapshot is affected by this change"
  [ -z "${GITHUB_STEP_SUMMARY:-}" ] || echo "No approved candidate-list snapshot is affected by this change." >> "$GITHUB_STEP_SUMMARY"
  exit 0
fi
while read -r dataset variant profile; do
  # A snapshot of an overridden profile ("smoke+1a2b…") reruns with the overrides its approved.json records.
  sets=()
  if [[ "$profile" == *+* ]]; then
    while IFS= read -r o; do [ -n "$o" ] && sets+=(--set "$o"); done < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["overrides"]))' \
      "$ROOT/data/approved/$dataset/$variant/$profile/approved.json")
  fi
  echo "==> review $dataset / $variant / $profile"
  status=0
  [ -z "${REVIEW_TOLERANCE:-}" ] || sets+=(--tolerance "$REVIEW_TOLERANCE")
  (cd "$ROOT" && "${command[@]}" --dataset "$dataset" --variant "$variant" --profile "${profile%%+*}" "${sets[@]}") || status=$?
  [ "$status" -eq 0 ] || failed=1
  report="$artifacts/review/$dataset/$variant/$profile/review.md"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    if [ -f "$report" ]; then cat "$report" >> "$GITHUB_STEP_SUMMARY"
    else echo "### $dataset / $variant / $profile: review failed before writing a diff (exit $status)" >> "$GITHUB_STEP_SUMMARY"; fi
    echo >> "$GITHUB_STEP_SUMMARY"
  fi
done <<< "$selection"
exit "$failed"
