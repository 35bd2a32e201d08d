#!/usr/bin/env bash
# Time the SimPy and Ciw peers of archsim on models (a) mm1 and (b) lb_db.
#
# Each (engine, model) pair is run REPEATS times (default 3, seeds 1..REPEATS),
# one process at a time, and prints one JSON line per run on stdout; a median
# summary per pair follows. Progress and the load average go to stderr.
#
# Environment overrides:
#   REPEATS=3
#   N_SIMPY_MM1=1000000 N_SIMPY_LB_DB=500000 N_CIW_MM1=300000 N_CIW_LB_DB=100000
#   SPLIT=1   also run Ciw lb_db with 4 split 200/s arrival streams (no LB node)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="$HERE/.venv/bin/python"
[ -x "$PY" ] || "$HERE/install.sh" >&2

REPEATS="${REPEATS:-3}"
# Chosen so that each run takes roughly 5-20 CPU-seconds on a ~2020s x86 core.
N_SIMPY_MM1="${N_SIMPY_MM1:-1000000}"
N_SIMPY_LB_DB="${N_SIMPY_LB_DB:-500000}"
N_CIW_MM1="${N_CIW_MM1:-300000}"
N_CIW_LB_DB="${N_CIW_LB_DB:-100000}"

runs=(
  "simpy_mm1.py $N_SIMPY_MM1"
  "simpy_lb_db.py $N_SIMPY_LB_DB"
  "ciw_mm1.py $N_CIW_MM1"
  "ciw_lb_db.py $N_CIW_LB_DB"
)
[ "${SPLIT:-0}" = 1 ] && runs+=("ciw_lb_db.py $N_CIW_LB_DB --split-arrivals")

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for r in "${runs[@]}"; do
  set -- $r
  script="$1"; n="$2"; shift 2
  for seed in $(seq 1 "$REPEATS"); do
    echo "# $script N=$n seed=$seed $* (loadavg: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    "$PY" "$HERE/$script" "$n" "$seed" "$@" | tee -a "$results"
  done
done

echo "# median of $REPEATS run(s) per (engine, model):"
"$PY" - "$results" <<'PYEOF'
import json, statistics, sys
groups = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    groups.setdefault((d["engine"], d["model"]), []).append(d)
for (engine, model), ds in groups.items():
    print(json.dumps({
        "engine": engine, "model": model, "runs": len(ds),
        "completed": ds[0]["completed"],
        "median_per_cpu_s": round(statistics.median(d["per_cpu_s"] for d in ds), 1),
        "per_cpu_s_all": [d["per_cpu_s"] for d in ds],
        "mean_sojourn_s_avg": statistics.fmean(d["mean_sojourn_s"] for d in ds),
    }))
PYEOF
