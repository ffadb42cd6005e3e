#!/usr/bin/env bash
# Train the model zoo in the background, two workers with one thread each (the machine has
# 2 cores). Each worker runs its list in order; a run with a summary.json is done and skipped,
# an interrupted one resumes from its last.pt, a failed one (e.g. a backbone not written yet)
# is retried after the worker's list, up to MAX_PASSES times, RETRY_WAIT seconds apart.
#
#   nohup models/train_queue.sh > ../runs/queue.log 2>&1 &      (from the repo root)
#
# Logs: ../runs/<name>/log.txt (stdout/stderr), log.jsonl, eval.jsonl, summary.json.
set -u
cd "$(dirname "$0")/.."
# The Python of the active environment (pip install -e '.[train]'), or $PYTHON ($PY, its
# older name, still works).
PY=${PYTHON:-${PY:-python3}}
RUNS=${RUNS:-../runs}
MAX_PASSES=${MAX_PASSES:-6}
RETRY_WAIT=${RETRY_WAIT:-300}

# Staged configs (<name>-long, <name>-long3) start from the previous stage's final.pt, so
# they follow it in the same worker.
WORKER_A=(fusion_net-ranlen fusion_net-ranlen-long fusion_net-ranlen-long3
          star_dce-ranlen star_dce-ranlen-long deepupe-ranlen deepupe-ranlen-long
          dln-ranlen dln-ranlen-long gladnet-ranlen gladnet-ranlen-long
          fusion_net-global star_dce-global star_dce-global-long
          deepupe-global deepupe-global-long
          deepupe-ranlen-long3 deepupe-global-long3 star_dce-ranlen-long3 star_dce-global-long3
          dln-ranlen-long3 gladnet-ranlen-long3
          fusion_net-ranlen-nomix fusion_net-ranlen-nomix-long fusion_net-ranlen-beta1e-3
          fusion_net-ranlen-w24 fusion_net-ranlen-mse fusion_net-ranlen-light)
WORKER_B=(fusion_net-ranlen-nolb fusion_net-concat star_dce-concat star_dce-concat-long
          deepupe-concat deepupe-concat-long dln-concat dln-concat-long
          gladnet-concat gladnet-concat-long dln-global dln-global-long
          gladnet-global gladnet-global-long
          deepupe-concat-long3 star_dce-concat-long3 dln-concat-long3 dln-global-long3
          gladnet-concat-long3 gladnet-global-long3
          fusion_net-ranlen-refpen fusion_net-ranlen-refpen-long fusion_net-ranlen-beta1e-2
          fusion_net-ranlen-w24-crop384)

run_one() {  # name -> 0 if done
  local name=$1 out="$RUNS/$1"
  [ -f "$out/summary.json" ] && return 0
  mkdir -p "$out"
  echo "$(date -Is) start $name" >&2
  OMP_NUM_THREADS=1 "$PY" -m limelight_models.train --config "models/configs/$name.toml" \
      --out "$out" --resume --no-progress >> "$out/log.txt" 2>&1
  local rc=$?
  echo "$(date -Is) end $name rc=$rc" >&2
  return $rc
}

worker() {  # names...
  local pending=("$@") pass failed
  for ((pass = 1; pass <= MAX_PASSES && ${#pending[@]} > 0; pass++)); do
    failed=()
    for name in "${pending[@]}"; do
      run_one "$name" || failed+=("$name")
    done
    pending=("${failed[@]}")
    [ ${#pending[@]} -gt 0 ] && [ $pass -lt $MAX_PASSES ] && sleep "$RETRY_WAIT"
  done
  [ ${#pending[@]} -eq 0 ] || echo "$(date -Is) gave up on: ${pending[*]}" >&2
}

worker "${WORKER_A[@]}" &
worker "${WORKER_B[@]}" &
wait
