#!/usr/bin/env bash
# Fuzz every parser of outside bytes (tests/fuzz, libFuzzer + ASan + UBSan): configure and build build-fuzz with
# clang, replay every seed and regression input, then fuzz each target for SECONDS.
# Usage: scripts/fuzz.sh [--ci] [SECONDS_PER_TARGET]   (default 30; 0 = replay only, as scripts/test.sh runs it)
#   --ci: default 45 s per target, and every input that a target stops on is copied into
#         tests/fuzz/regressions/<target>/ (to commit with its fix). scripts/test.sh (= .ci/run) runs it with 10 s per
#         target (TCPP_FUZZ_SECONDS); see docs/RELIABILITY.md for the cost.
# Env: TCPP_FUZZ_BUILD_DIR (build-fuzz), TCPP_FUZZ_JOBS (2), TCPP_FUZZ_TARGETS ("arrow_ipc parquet ..." subset),
#      TCPP_FUZZ_TORCH (ON: also the safetensors, pytorch_bin, resume_state and weights_index targets, which link
#      LibTorch; OFF leaves them out).
# Exit status 1 when a replayed input or the fuzzing found anything; findings land in $BUILD/fuzz/findings/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CI_MODE=0
if [ "${1:-}" = --ci ]; then CI_MODE=1; shift; fi
SECONDS_PER_TARGET="${1:-$([ $CI_MODE = 1 ] && echo 45 || echo 30)}"
T_START=$(date +%s)
BUILD="${TCPP_FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${TCPP_FUZZ_JOBS:-2}"
TORCH="${TCPP_FUZZ_TORCH:-ON}"
ALL_TARGETS="arrow_ipc parquet json_loader csv_loader text_loader tokenizer_json gpt2_vocab bert_vocab args_cli args_json core_json
  dataset_card compressed_loader
  trainer_state model_config"
[ "$TORCH" = ON ] && ALL_TARGETS="$ALL_TARGETS safetensors pytorch_bin resume_state weights_index"
TARGETS="${TCPP_FUZZ_TARGETS:-$ALL_TARGETS}"

for tool in clang clang++; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fuzz.sh: $tool not found (apt-get install clang)" >&2; exit 2; }
done

# 1. Build (a separate tree: every library of ours is instrumented; LibTorch, when in, is not).
t0=$(date +%s)
if [ ! -f "$BUILD/CMakeCache.txt" ] || ! grep -q "^TCPP_WITH_TORCH:BOOL=$TORCH\$" "$BUILD/CMakeCache.txt"; then
  generator=()
  [ -f "$BUILD/CMakeCache.txt" ] || { command -v ninja >/dev/null 2>&1 && generator=(-G Ninja); }
  CC=clang CXX=clang++ cmake -S . -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug -DTCPP_WITH_TORCH="$TORCH" \
    -DTCPP_BUILD_TESTS=OFF -DTCPP_BUILD_FUZZERS=ON >/dev/null
fi
# Only what the chosen targets need: make_fuzz_seeds (datasets + tokenizers) only for targets it writes seeds for.
build_targets=()
seeded=0
for t in $TARGETS; do
  build_targets+=("${t}_fuzzer")
  case " arrow_ipc parquet json_loader csv_loader text_loader tokenizer_json gpt2_vocab bert_vocab " in *" $t "*) seeded=1 ;; esac
done
[ $seeded = 1 ] && build_targets+=(make_fuzz_seeds)
cmake --build "$BUILD" --target "${build_targets[@]}" -j"$JOBS" >"$BUILD/fuzz-build.log" 2>&1 ||
  { tail -40 "$BUILD/fuzz-build.log" >&2; exit 2; }
echo "== build-fuzz: $(($(date +%s) - t0)) s"

# 2. Seeds: the committed ones, plus files made by our own writers (Arrow IPC, parquet, trained tokenizers),
# plus real parquet files from the npm peer (parquet-wasm) when tests/interop/node_modules has it.
FUZZ="$BUILD/fuzz"
rm -rf "$FUZZ/generated"
mkdir -p "$FUZZ/generated" "$FUZZ/corpus" "$FUZZ/findings"
[ $seeded = 1 ] && "$BUILD/tests/fuzz/make_fuzz_seeds" "$FUZZ/generated"
# resume_state and weights_index write their own seeds with the project's writers (optimizer.pt, rng_state.pt,
# scheduler/scaler JSON; the index save_sharded_safetensors writes, and one for the pytorch_model.bin seeds as shards).
for t in resume_state weights_index; do
  case " $TARGETS " in *" $t "*)
    TCPP_FUZZ_WRITE_SEEDS="$FUZZ/generated/$t" "$BUILD/tests/fuzz/${t}_fuzzer" >/dev/null 2>&1 ||
      { echo "fuzz.sh: ${t}_fuzzer could not write its seeds" >&2; exit 2; } ;;
  esac
done
if [ $seeded = 1 ] && command -v node >/dev/null 2>&1 && [ -d tests/interop/node_modules/parquet-wasm ]; then
  if [ ! -f "$FUZZ/node_parquet/stamp" ] || [ tests/interop/parquet/write_parquet.mjs -nt "$FUZZ/node_parquet/stamp" ]; then
    rm -rf "$FUZZ/node_parquet" && mkdir -p "$FUZZ/node_parquet"
    (cd tests/interop/parquet && node write_parquet.mjs "$ROOT/$FUZZ/node_parquet" >/dev/null) && touch "$FUZZ/node_parquet/stamp" ||
      echo "fuzz.sh: node could not write the parquet seeds; going on without them" >&2
  fi
  mkdir -p "$FUZZ/generated/parquet"
  cp "$FUZZ"/node_parquet/*.parquet "$FUZZ/generated/parquet/" 2>/dev/null || true
fi

inputs_of() {  # every seed and regression input of target $1, one path a line
  for d in "tests/fuzz/seeds/$1" "tests/fuzz/regressions/$1" "$FUZZ/generated/$1"; do
    [ -d "$d" ] && find "$d" -type f
  done
  true
}

# LibTorch's zip reader leaks when it throws on a corrupt archive; that leak (only) is suppressed (see the file).
export LSAN_OPTIONS="suppressions=$ROOT/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# 3. Replay: each input once; any crash, sanitizer report or non-tcpp::Error exception fails the run.
status=0
t0=$(date +%s)
for t in $TARGETS; do
  mapfile -t files < <(inputs_of "$t")
  [ ${#files[@]} -eq 0 ] && continue
  if ! "$BUILD/tests/fuzz/${t}_fuzzer" -timeout=10 -rss_limit_mb=2048 "${files[@]}" >"$FUZZ/replay-$t.log" 2>&1; then
    echo "== REPLAY FAILED: $t (log: $FUZZ/replay-$t.log)" >&2
    grep -m5 -E 'ERROR|SUMMARY|Running:|terminate' "$FUZZ/replay-$t.log" | tail -5 >&2
    status=1
  fi
  echo "== replay $t: ${#files[@]} inputs"
done
echo "== replay: $(($(date +%s) - t0)) s"
if [ "$SECONDS_PER_TARGET" = 0 ]; then echo "== fuzz.sh: $(($(date +%s) - T_START)) s in all"; exit $status; fi

# 4. Fuzz each target for SECONDS_PER_TARGET; the corpus in $FUZZ/corpus/<target> grows across runs.
stat_of() { grep -E "^stat::$1:" "$2" | tail -1 | awk '{print $2}'; }
rows=()
for t in $TARGETS; do
  mkdir -p "$FUZZ/corpus/$t" "$FUZZ/findings/$t"
  before=$(find "$FUZZ/findings/$t" -type f | wc -l)
  dirs=("$FUZZ/corpus/$t")
  for d in "tests/fuzz/seeds/$t" "tests/fuzz/regressions/$t" "$FUZZ/generated/$t"; do [ -d "$d" ] && dirs+=("$d"); done
  log="$FUZZ/fuzz-$t.log"
  touch "$log.start"
  max_len=65536
  [ "$t" = parquet ] && max_len=300000  # the npm peer's files (up to ~280 KB) would lose their footer when cut
  "$BUILD/tests/fuzz/${t}_fuzzer" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$FUZZ/findings/$t/" "${dirs[@]}" >"$log" 2>&1 || true
  found=$(($(find "$FUZZ/findings/$t" -type f | wc -l) - before))
  if [ "$found" -gt 0 ]; then  # what libFuzzer said about it, so that a CI log alone has the report and the input
    status=1
    echo "== FUZZ FINDING: $t (log: $log)" >&2
    grep -E '^==[0-9]+== ?ERROR|^SUMMARY|Test unit written|^Base64|runtime error:|terminate called|deadly signal' "$log" | head -8 >&2 || true
  fi
  if [ $CI_MODE = 1 ] && [ "$found" -gt 0 ]; then  # keep them as regression inputs (named crash-/leak-/timeout-SHA1)
    mkdir -p "tests/fuzz/regressions/$t"
    find "$FUZZ/findings/$t" -type f -newer "$log.start" -exec cp {} "tests/fuzz/regressions/$t/" \;
    echo "== $t: $found finding(s) copied to tests/fuzz/regressions/$t/ (log: $log)" >&2
  fi
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  rows+=("$(printf '%-16s %10s %8s %8s %8s %8s' "$t" "$(stat_of number_of_executed_units "$log")" \
    "$(stat_of average_exec_per_sec "$log")" "${cov:-?}" "$(stat_of new_units_added "$log")" "$found")")
done
printf '\n%-16s %10s %8s %8s %8s %8s\n' target runs exec/s edges new_units findings
printf '%s\n' "${rows[@]}"
[ $status -ne 0 ] && echo "findings: see $FUZZ/findings/<target>/ and $FUZZ/fuzz-<target>.log" >&2
echo "== fuzz.sh: $(($(date +%s) - T_START)) s in all"
exit $status
