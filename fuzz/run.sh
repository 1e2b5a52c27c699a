#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 20 s each) from the
# seeds in fuzz/seeds, on stable Rust (`--sanitizer none`). Installs
# cargo-fuzz when missing. A crash stops the run with the target's name and
# the input that crashed it (kept under fuzz/artifacts/<target>/); make it
# a named regression test in the crate it concerns.
#
#   fuzz/run.sh              # every target, 20 s each
#   fuzz/run.sh 300 sigma_json parse_eve
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-20}"
shift || true

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

# The EVTX seed comes from the shared corpus when it is there (it is not
# copied into the repository).
shared=../../shared/corpus/sigma/regression_data
if [ -d "$shared" ]; then
  mkdir -p seeds/hunt_evtx
  find "$shared" -name '*.evtx' -size -200k | sort | head -n 3 | while read -r f; do
    cp "$f" "seeds/hunt_evtx/$(basename "$f")"
  done
fi

cargo fuzz build --sanitizer none --release
for t in "${targets[@]}"; do
  corpus="target/corpus/$t"
  mkdir -p "$corpus" "seeds/$t"
  echo "fuzz: $t for ${secs}s"
  log="target/fuzz-$t.log"
  if ! cargo fuzz run "$t" --sanitizer none --release "$corpus" "seeds/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1; then
    grep -E -A12 "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -n 40 >&2
    echo "fuzz: $t found a crash (see fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  grep -E "^Done|stat::number_of_executed_units" "$log" | tail -n 1
done
echo "fuzz: ${#targets[@]} targets, no crash"
