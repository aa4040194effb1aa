#!/usr/bin/env bash
# GPU readiness (issue 15): every GPU trainer preset on the Gaussian, MLP and DCGAN variants, on a CUDA machine.
#
#     benchmarks/gpu_check.sh                 # fast_dev_run, then a 200-step run, of each preset x variant
#     STEPS=500 PYTHON=.venv/bin/python benchmarks/gpu_check.sh
#
# Presets: gpu, gpu_bf16, gpu_fp16 and ddp (on every GPU there is). Variants: the Gaussian GAN (default recipe),
# the MLP GAN (model=vanilla data=mnist: the MNIST files under $GAN_DATA_DIR or ../shared/data, else random
# ones in MNIST's layout) and DCGAN at 64 px on a synthetic folder of random images made here. Each run prints
# images/s (median step after 20 warm-up steps, all GPUs' images) and peak GPU memory (benchmarks/gpu_meter.py);
# the script fails if a loss is not finite (the loop also stops on one) or if a checkpoint written on the GPU does
# not sample on the CPU (`python -m gan.sample` with no GPU visible). Without CUDA it says so and exits with 2.
# To check the script itself on a CPU machine: ALLOW_CPU=1 PRESETS="cpu" STEPS=30 benchmarks/gpu_check.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
PY="$(command -v "${PYTHON:-python3}")"
[[ "$PY" = /* ]] || PY="$PWD/$PY"  # a full path: the runs start in the work folder
STEPS="${STEPS:-200}"
read -r -a PRESETS <<< "${PRESETS:-gpu gpu_bf16 gpu_fp16 ddp}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

if ! GPUS="$("$PY" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)')" \
    || { [ "$GPUS" = "0" ] && [ "${ALLOW_CPU:-0}" != 1 ]; }; then
  echo "gpu_check: no CUDA GPU is visible here (torch.cuda.is_available() is False), so nothing was run and the" \
       "GPU presets (gpu, gpu_bf16, gpu_fp16, ddp) stay unmeasured on this machine. Run it where nvidia-smi lists a GPU." >&2
  exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")"
echo "gpu_check: $GPUS GPU(s) $("$PY" -c 'import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else "")'); work folder $WORK"

# Data: MNIST if present (else random images in its layout), and a synthetic folder of 512 random 64 px images.
DATA_DIR="${GAN_DATA_DIR:-$REPO/../shared/data}"
"$PY" - "$DATA_DIR" "$WORK" <<'PY'
import sys
from pathlib import Path

import numpy as np
from PIL import Image

data_dir, work = Path(sys.argv[1]), Path(sys.argv[2])
if not (data_dir / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
    from tests.unit.test_mnist import random_mnist

    random_mnist(work / "data", n_train=6000, n_test=1000)
    print(f"no MNIST under {data_dir}: random images in its layout under {work / 'data'}")
rng = np.random.default_rng(0)
(work / "images").mkdir()
for i in range(512):
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(work / "images" / f"{i}.png")
PY
[ -d "$WORK/data" ] && DATA_DIR="$WORK/data"

declare -A VARIANTS=(
  [gaussian]=""
  [mlp]="model=vanilla data=mnist paths.data_dir=$DATA_DIR eval.feature_extractor=null"
  [dcgan]="model=dcgan data=image_folder data.root=$WORK/images data.image_size=64 trainer.max_epochs=-1"
)
COMMON=(logger=none model.eval_samples=500 ++trainer.enable_progress_bar=false)
FAILED=0
run() {  # run VARIANT PRESET OUT_SUFFIX OVERRIDES...: one gan.run in the work folder, its output in OUT.log
  local variant="$1" preset="$2" out="$WORK/$1-$2$3"; shift 3
  local over; read -r -a over <<< "${VARIANTS[$variant]}"
  (cd "$WORK" && "$PY" -m gan.run "${over[@]}" "${COMMON[@]}" "trainer=$preset" "$@") > "$out.log" 2>&1
}
dev_run() {  # dev_run VARIANT PRESET: a fast_dev_run, marked .ok when it passes
  run "$1" "$2" -dev trainer.fast_dev_run=true "paths.output_dir=$WORK/$1-$2-dev" && touch "$WORK/$1-$2-dev.ok"
}
# The fast_dev_runs time nothing, so they run side by side (but ddp ones one at a time: each takes a free port);
# the timed runs one at a time; the CPU samples side by side.
for variant in gaussian mlp dcgan; do
  for preset in "${PRESETS[@]}"; do
    if [ "$preset" = ddp ]; then dev_run "$variant" "$preset" || true; else dev_run "$variant" "$preset" & fi
  done
done
wait
for variant in gaussian mlp dcgan; do
  for preset in "${PRESETS[@]}"; do
    out="$WORK/$variant-$preset"
    run "$variant" "$preset" "" "trainer.max_steps=$STEPS" "paths.output_dir=$out" \
        "+callbacks.gpu_meter._target_=benchmarks.gpu_meter.GpuMeter" "+callbacks.gpu_meter.out=$out.json" || true
    if [ -f "$out.json" ]; then
      # The meter is this script's, not the recipe's: gan.sample builds only the project's classes, so it goes.
      "$PY" -c 'import sys; from omegaconf import OmegaConf; c = OmegaConf.load(sys.argv[1])
c.callbacks.pop("gpu_meter"); OmegaConf.save(c, sys.argv[1])' "$out/config.yaml"
      { CUDA_VISIBLE_DEVICES="" "$PY" -m gan.sample "$out" -n 8 --out "$out-sampled" > "$out-sample.log" 2>&1 \
          && touch "$out-sample.ok"; } &
    fi
  done
done
wait
printf '\n| variant | preset | fast_dev_run | images/s | peak GPU GiB | losses finite | samples on CPU |\n'
printf '| --- | --- | --- | ---: | ---: | --- | --- |\n'
for variant in gaussian mlp dcgan; do
  for preset in "${PRESETS[@]}"; do
    out="$WORK/$variant-$preset"
    dev="fail"; rate="-"; peak="-"; finite="-"; sample="-"
    [ -f "$out-dev.ok" ] && dev="ok"
    if [ -f "$out.json" ]; then
      read -r rate peak finite < <("$PY" -c 'import json, sys; m = json.load(open(sys.argv[1]))
fmt = lambda v, f: "-" if v is None else format(v, f)
print(fmt(m["images_per_s"], ".0f"), fmt(m["peak_gib"], ".2f"), m["finite"])' "$out.json")
      sample="fail"; [ -f "$out-sample.ok" ] && sample="ok"
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$variant" "$preset" "$dev" "$rate" "$peak" "$finite" "$sample"
    if [ "$dev" != ok ] || [ "$finite" != True ] || [ "$sample" != ok ]; then
      FAILED=1
      echo "  see $out-dev.log, $out.log and $out-sample.log" >&2
    fi
  done
done
[ "$FAILED" = 0 ] && echo "gpu_check: all passed" || { echo "gpu_check: some runs failed (logs in $WORK)" >&2; exit 1; }
