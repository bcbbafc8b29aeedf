#!/usr/bin/env bash
# The label-source comparison at GPU scale (issue 11, item 7), for a machine with one H100/H200:
#   1. generate a 3-hour synthetic corpus (espeak-ng, CPU, one process: deterministic), timed apart;
#   2. run conf/experiments/compare_sources_gpu.yaml: its seeds run as parallel processes sharing the GPU
#      (the models are small enough that one process leaves most of it idle), then one `bootstrap compare`
#      over the cached stages writes report.md, comparison.json and the figures;
#   3. copy the report and the timings to $OUT.
# Budget: the comparison (step 2) must take <= 8 minutes; the script stops it at LIMIT seconds (default 480)
# and says so. A rerun reuses every finished stage (cached by key), so a stopped run can be continued.
# Usage from the repo root:  OUT=gpu_out bash scripts/gpu_experiment.sh
# Dry run on any machine (checks the experiment file and prints the stage plan, trains nothing):
#   DRY_RUN=1 bash scripts/gpu_experiment.sh
# NOT YET RUN ON A GPU (written in a session without one): the stage times in the experiment file are estimates.
set -u
OUT=${OUT:-gpu_out}
LIMIT=${LIMIT:-480}
CONFIG=${CONFIG:-conf/experiments/compare_sources_gpu.yaml}
WORK=${WORK:-runs/compare_sources_gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PYTHONPATH=$PWD
export HUBERT_BOOTSTRAP_CACHE=${HUBERT_BOOTSTRAP_CACHE:-$PWD/cache}
PY=${PY:-python3}
if compgen -G ".whl/*.whl" >/dev/null; then  # a machine without network: wheels brought along
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site:$PYTHONPATH
fi

SEEDS=$($PY - "$CONFIG" <<'PY'
import sys
from bootstrap.pipeline.experiment import load_experiment
exp = load_experiment(sys.argv[1])
print(" ".join(map(str, exp.seeds or [0])))
PY
) || { echo "gpu_experiment: $CONFIG does not load" >&2; exit 2; }

if [ -n "${DRY_RUN:-}" ]; then
    $PY - "$CONFIG" <<'PY'
import sys
from bootstrap.pipeline.experiment import load_experiment
exp = load_experiment(sys.argv[1])
print(f"{exp.name}: corpus {exp.corpus}, seeds {exp.seeds}")
for s in exp.stages:
    print(f"  {s.name:<14} {s.kind:<10} {s.params}")
PY
    exit 0
fi

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/gpu.txt"
nproc | sed 's/^/cpu cores: /' | tee -a "$OUT/gpu.txt"

# 1. the corpus (cached in $HUBERT_BOOTSTRAP_CACHE; --corpus-only builds it and prints its summary)
t0=$SECONDS
$PY -m bootstrap.cli demo --config "$CONFIG" --workdir "$WORK" --corpus-only >"$OUT/corpus.log" 2>&1 \
    || { echo "gpu_experiment: corpus generation failed (see $OUT/corpus.log)" >&2; tail -5 "$OUT/corpus.log"; exit 1; }
echo "corpus: $((SECONDS - t0)) s" | tee "$OUT/timings.txt"
cat "$OUT/corpus.log"

# 2. the seeds in parallel, then the report over the cached stages
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -lms 1000 >"$OUT/smi.csv" &
SMI=$!
t1=$SECONDS
pids=()
for seed in $SEEDS; do
    timeout "$LIMIT" $PY -m bootstrap.cli run --config "$CONFIG" --workdir "$WORK" "seeds=[$seed]" \
        >"$OUT/seed$seed.log" 2>&1 &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
$PY -m bootstrap.cli compare --config "$CONFIG" --workdir "$WORK" >"$OUT/compare.log" 2>&1 || status=$?
elapsed=$((SECONDS - t1))
kill $SMI 2>/dev/null
echo "comparison: $elapsed s (limit $LIMIT s, exit $status)" | tee -a "$OUT/timings.txt"
[ "$elapsed" -le 480 ] && echo "within the 8-minute budget" | tee -a "$OUT/timings.txt" \
    || echo "OVER the 8-minute budget" | tee -a "$OUT/timings.txt"
awk -F', ' '{gsub(/ %/,"",$2); if ($2+0 > 0) {s += $2; n++}} END {if (n) printf "GPU busy samples: %d, mean utilisation %.0f%%\n", n, s/n}' \
    "$OUT/smi.csv" | tee -a "$OUT/timings.txt"

# 3. what comes back: the report, the figures, every stage's record (times, CPU seconds)
mkdir -p "$OUT/report"
cp "$WORK"/report/* "$OUT/report/" 2>/dev/null
for f in "$WORK"/seed*/*/stage.json; do
    d=$(dirname "$f"); s=$(basename "$(dirname "$d")")
    cp "$f" "$OUT/report/stage-$s-$(basename "$d").json"
done
tail -n 20 "$OUT/compare.log"
exit $status
