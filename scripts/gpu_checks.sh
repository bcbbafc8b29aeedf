#!/usr/bin/env bash
# The GPU checks, in one run on a CUDA machine (figures go to docs/benchmarks.md):
#   bf16 pre-training throughput + MFU of HuBERT Base (ours vs torchaudio), GPU utilisation while it runs,
#   every backbone's Base step eager and compiled (audio-s/s, FLOPs per audio-second, MFU, peak memory),
#   batched ASR labeling throughput, GPU k-means / feature checks, and the GPU tests.
# Usage from the repo root: OUT=gpu_out bash scripts/gpu_checks.sh
# Wheels in .whl/ (if present) are installed to /tmp/site first, for a machine with no network.
set -u
OUT=${OUT:-gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PYTHONPATH=$PWD:$PWD/tests
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site:$PYTHONPATH
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"

step() {  # step NAME TIMEOUT CMD...: run with a time limit, log to $OUT/NAME.log, report the status
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    echo "[$name] exit $? in $((SECONDS - t0)) s"
    tail -n 3 "$OUT/$name.log"
}

nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -lms 500 >"$OUT/smi_pretrain.csv" &
SMI=$!
step pretrain_base_bf16 110 python3 scripts/bench_pretrain.py --model base --batch-seconds 87.5 --steps 10 --warmup 3 \
    --device cuda --dtype bf16 --out "$OUT/pretrain_base_bf16.json"
kill $SMI
awk -F', ' '{gsub(/ %/,"",$2); if ($2+0 > 0) {s += $2; n++}} END {if (n) printf "GPU busy samples: %d, mean utilisation %.0f%%\n", n, s/n}' \
    "$OUT/smi_pretrain.csv" | tee -a "$OUT/pretrain_base_bf16.log"
# Every backbone at Base, bf16, eager and compiled in one run (issue 12; unrun so far: no GPU in that session).
for bb in hubert w2v-bert fastconformer; do
    step "pretrain_${bb}_base_bf16" 240 python3 scripts/bench_pretrain.py --backbone "$bb" --size base \
        --batch-seconds 175 --steps 10 --warmup 3 --device cuda --dtype bf16 --compile both --no-torchaudio \
        --out "$OUT/pretrain_${bb}_base_bf16.json"
done
step asr_labels_gpu 70 python3 scripts/bench_asr_labels.py --device cuda --dtype bf16 --seconds 1200
step labels_gpu 60 python3 scripts/check_labels_gpu.py --work /tmp/gpu_labels
step tests_gpu 110 python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py
echo "all GPU checks done"
