#!/usr/bin/env bash
# bench/structure.sh: the structure measurements of issue 11 ("one structure a newcomer can
# read"), taken at two commits one after the other on this machine, printed as a markdown table
# BEFORE vs AFTER:
#   (a) clean `cargo build --release` wall time        (skipped with --quick)
#   (b) clean `cargo test` build (wall and CPU seconds), then its run (wall)  (skipped with --quick)
#       (`cargo test --workspace` when Cargo.toml has [workspace]; the real-control-plane
#       suite runs as in CI: JOINKIT_K8S_CONTROL_PLANE and a k8s cache shared by both runs)
#   (c) release binary size                             (needs (a))
#   (d) lines per module: the five largest .rs files under src/ and crates/*/src/ (not tests)
#   (e) `pub` items in src/ and crates/*/src/ (lines `pub fn|struct|enum|const|static|trait|
#       type|mod|use` or `pub async fn`; `pub(crate)` and `pub(super)` do not count)
#   (f) blocks of six or more duplicated lines (the `duplicates` command) over the Rust sources
#       of src/ and crates/, and separately over tests/
#
# Usage:
#   bench/structure.sh [--quick] [-o FILE] [--repo DIR] [--bin NAME] [--k8s-cache DIR] BEFORE AFTER
#     --quick          skip (a), (b) and so (c): no builds, a few seconds
#     -o FILE          also write the table to FILE
#     --repo DIR       the repository to clone (default /work/main); `git clone --no-local`
#     --bin NAME       the release binary to weigh (default joinkit)
#     --k8s-cache DIR  the unpacked Kubernetes binaries both test runs share
#                      (default DIR-of-repo/target/k8s-cache)
#   BEFORE, AFTER: commits (anything `git rev-parse` takes) of that repository.
#
# Each commit is cloned into a temporary directory, measured and deleted before the next one
# (a built clone takes gigabytes). Timings are wall-clock seconds; the load average at the start
# of each measurement is in the table, since other work on the machine slows a build down.
set -euo pipefail

usage() {
  sed -n '/^# Usage:/,/^#   BEFORE, AFTER/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

quick=0
out=""
repo=/work/main
bin=joinkit
k8s_cache=""
commits=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    -o) [ $# -ge 2 ] || usage; out=$2; shift ;;
    --repo) [ $# -ge 2 ] || usage; repo=$2; shift ;;
    --bin) [ $# -ge 2 ] || usage; bin=$2; shift ;;
    --k8s-cache) [ $# -ge 2 ] || usage; k8s_cache=$2; shift ;;
    -h | --help) usage ;;
    -*) echo "structure.sh: unknown option $1" >&2; usage ;;
    *) commits+=("$1") ;;
  esac
  shift
done
[ ${#commits[@]} -eq 2 ] || usage
repo=$(cd "$repo" && pwd)
[ -n "$k8s_cache" ] || k8s_cache="$repo/target/k8s-cache"
control_plane=/work/shared/k8s/control-plane

# A clean build: no shared target directory, no compiler cache.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER

work=$(mktemp -d "${TMPDIR:-/tmp}/joinkit-structure.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# set FILE KEY VALUE: one measurement of one commit (KEY<TAB>VALUE lines).
set_val() { printf '%s\t%s\n' "$2" "$3" >>"$1"; }
get_val() { awk -F '\t' -v k="$2" '$1 == k { v = $2 } END { print (v == "" ? "n/a" : v) }' "$1"; }

# dup_summary DIR: "pairs P (identical I, shape-only S of which B boilerplate); runs R" from
# `duplicates` over DIR (a plain folder: every file below it is read).
dup_summary() {
  local dir=$1 report header
  if ! command -v duplicates >/dev/null; then
    echo "n/a (no duplicates command)"
    return
  fi
  report=$(duplicates --repo "$dir" --most 200 --seconds 120 2>&1 || true)
  header=$(printf '%s\n' "$report" | head -n 1)
  printf '%s\n' "$report" | awk -v header="$header" '
    NR == 1 {
      pairs = 0; shape = 0; boiler = 0
      if (header ~ /^[0-9]+ pairs? of places/) {
        split(header, w, " "); pairs = w[1]
        if (match(header, /\([0-9]+ by shape alone/)) { s = substr(header, RSTART + 1); split(s, w, " "); shape = w[1] }
        if (match(header, /[0-9]+ of those marked boilerplate/)) { s = substr(header, RSTART); split(s, w, " "); boiler = w[1] }
      }
      next
    }
    /^D[0-9]+ / {
      runs += 1
      if (match($0, /\(\+[0-9]+ more runs?\)/)) { s = substr($0, RSTART + 2); split(s, w, " "); runs += w[1] }
    }
    /^incomplete:/ { incomplete = 1 }
    END {
      printf "%d pairs (%d identical, %d same shape of which %d boilerplate); %d runs", pairs, pairs - shape, shape, boiler, runs
      if (incomplete) printf " (incomplete)"
      print ""
    }'
}

# measure LABEL COMMIT: clone, measure, delete; values go to $work/LABEL.vals.
measure() {
  local label=$1 commit=$2 vals="$work/$1.vals" dir="$work/$1" sha start rc
  : >"$vals"
  sha=$(git -C "$repo" rev-parse --verify --quiet "$commit^{commit}") || {
    echo "structure.sh: $commit is not a commit of $repo" >&2
    exit 2
  }
  set_val "$vals" commit "${sha:0:10}"
  echo "structure.sh: $label = ${sha:0:10}: cloning" >&2
  git clone --quiet --no-local "$repo" "$dir"
  git -C "$dir" -c advice.detachedHead=false checkout --quiet --detach "$sha"

  # (d) lines per module, (e) pub items: source files only, not tests.
  local src_dirs=()
  [ -d "$dir/src" ] && src_dirs+=("src")
  local c
  for c in "$dir"/crates/*/src; do
    [ -d "$c" ] && src_dirs+=("${c#"$dir"/}")
  done
  if [ ${#src_dirs[@]} -gt 0 ]; then
    local sizes
    sizes=$(cd "$dir" && find "${src_dirs[@]}" -type f -name '*.rs' -exec wc -l {} + | awk '$2 != "total"' | sort -k1,1nr -k2,2)
    local i=1 line
    while IFS= read -r line && [ $i -le 5 ]; do
      set_val "$vals" "largest$i" "$(awk '{ printf "`%s` %d", $2, $1 }' <<<"$line")"
      i=$((i + 1))
    done <<<"$sizes"
    set_val "$vals" rs_files "$(awk '{ n += $1 } END { printf "%d files, %d lines", NR, n }' <<<"$sizes")"
    set_val "$vals" over600 "$(awk '$1 > 600 { n++ } END { print n + 0 }' <<<"$sizes")"
    set_val "$vals" pub_items "$(cd "$dir" && grep -rhE --include='*.rs' \
      '^[[:space:]]*pub (async fn|fn|struct|enum|const|static|trait|type|mod|use)[[:space:]]' "${src_dirs[@]}" | wc -l)"
  fi

  # (f) duplicated blocks: the Rust sources copied into plain folders (duplicates reads every
  # file below a folder that is not a git checkout).
  mkdir -p "$work/dup-$label/src" "$work/dup-$label/tests"
  local d
  for d in src crates tests; do
    [ -d "$dir/$d" ] || continue
    local to="$work/dup-$label/src/"
    [ "$d" = tests ] && to="$work/dup-$label/tests/"
    (cd "$dir" && find "$d" -type f -name '*.rs' -exec cp --parents {} "$to" \;)
  done
  set_val "$vals" dup_src "$(dup_summary "$work/dup-$label/src")"
  set_val "$vals" dup_tests "$(dup_summary "$work/dup-$label/tests")"

  if [ "$quick" -eq 0 ]; then
    # Downloads are not part of the build time.
    (cd "$dir" && cargo fetch --quiet)
    set_val "$vals" load_build "$(cut -d ' ' -f 1-3 /proc/loadavg)"
    # (a) clean release build.
    echo "structure.sh: $label: cargo build --release" >&2
    start=$(now)
    rc=0
    (cd "$dir" && cargo build --release --quiet) >"$work/$label-build.log" 2>&1 || rc=$?
    set_val "$vals" build_release "$(elapsed "$start" "$(now)")$([ $rc -eq 0 ] || echo " (failed: exit $rc)")"
    [ $rc -eq 0 ] || tail -n 30 "$work/$label-build.log" >&2
    # (c) release binary size.
    if [ -f "$dir/target/release/$bin" ]; then
      local bytes
      bytes=$(stat -c %s "$dir/target/release/$bin")
      set_val "$vals" binary_size "$(awk -v b="$bytes" 'BEGIN { printf "%d B (%.2f MiB)", b, b / 1048576 }')"
    fi
    # (b) clean test build and run (the dev profile shares nothing with the release build).
    # The tests unpack the Kubernetes binaries into <crate>/target/k8s-cache: point that at the
    # cache both runs share, so neither pays for unpacking.
    mkdir -p "$dir/target" "$k8s_cache"
    ln -sfn "$k8s_cache" "$dir/target/k8s-cache"
    local test_cmd=(cargo test)
    grep -q '^\[workspace\]' "$dir/Cargo.toml" && test_cmd=(cargo test --workspace)
    set_val "$vals" test_cmd "${test_cmd[*]}"
    set_val "$vals" load_test "$(cut -d ' ' -f 1-3 /proc/loadavg)"
    # As that commit's CI builds: .ci/run may turn incremental compilation off (a clean build
    # gains nothing from it).
    local ci_env=()
    grep -q '^export CARGO_INCREMENTAL=0' "$dir/.ci/run" 2>/dev/null && ci_env=(CARGO_INCREMENTAL=0)
    set_val "$vals" test_env "${ci_env[*]:-(none)}"
    # (b1) the clean build of the test suite alone: wall and CPU (user + sys) seconds; CPU time
    # is the steadier number when other work shares the machine.
    echo "structure.sh: $label: ${test_cmd[*]} --no-run" >&2
    rc=0
    (cd "$dir" && env "${ci_env[@]}" /usr/bin/time -f '%e %U %S' -o "$work/$label-test-build.time" \
      "${test_cmd[@]}" --no-run) >"$work/$label-test-build.log" 2>&1 || rc=$?
    set_val "$vals" test_build "$(awk '{ printf "%.1f wall, %.1f CPU", $1, $2 + $3 }' "$work/$label-test-build.time")$([ $rc -eq 0 ] || echo " (failed: exit $rc)")"
    # (b2) running it (what was built is reused).
    echo "structure.sh: $label: ${test_cmd[*]}" >&2
    start=$(now)
    rc=0
    (cd "$dir" && env "${ci_env[@]}" JOINKIT_K8S_CONTROL_PLANE="$control_plane" JOINKIT_K8S_CACHE="$k8s_cache" "${test_cmd[@]}") \
      >"$work/$label-test.log" 2>&1 || rc=$?
    set_val "$vals" test "$(elapsed "$start" "$(now)")$([ $rc -eq 0 ] || echo " (failed: exit $rc)")"
    [ $rc -eq 0 ] || tail -n 30 "$work/$label-test.log" >&2
    local passed
    passed=$(awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed", p, f }' "$work/$label-test.log")
    set_val "$vals" test_counts "$passed"
  fi
  rm -rf "$dir"
}

measure before "${commits[0]}"
measure after "${commits[1]}"

b="$work/before.vals"
a="$work/after.vals"
row() { printf '| %s | %s | %s |\n' "$1" "$(get_val "$b" "$2")" "$(get_val "$a" "$2")"; }
table() {
  echo "Structure measurements ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ))$([ "$quick" -eq 1 ] && echo ', --quick: no builds')"
  echo
  printf '| measure | BEFORE (%s) | AFTER (%s) |\n' "$(get_val "$b" commit)" "$(get_val "$a" commit)"
  echo '| --- | --- | --- |'
  if [ "$quick" -eq 0 ]; then
    row "clean \`cargo build --release\`, wall s" build_release
    row 'load average before the build' load_build
    row "clean test build (\`--no-run\`), s" test_build
    row 'test run after it, wall s' test
    row 'test command' test_cmd
    row 'environment (from .ci/run)' test_env
    row 'tests' test_counts
    row 'load average before the tests' load_test
    row 'release binary size' binary_size
  fi
  local i
  for i in 1 2 3 4 5; do
    row "largest module #$i (lines)" "largest$i"
  done
  row 'modules over 600 lines' over600
  row '.rs files in src/, crates/*/src/' rs_files
  row "\`pub\` items in src/, crates/*/src/" pub_items
  row 'duplicated blocks >= 6 lines, src/ + crates/' dup_src
  row 'duplicated blocks >= 6 lines, tests/' dup_tests
}

result=$(table)
printf '%s\n' "$result"
if [ -n "$out" ]; then
  printf '%s\n' "$result" >"$out"
fi
