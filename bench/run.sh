#!/usr/bin/env bash
# The performance benchmark (`make bench`): builds simclr_bench, then times simclr and its
# PyTorch twin (bench/torch_twin.py) one configuration per process, one after the other:
#   shapes 96x96x3 (STL-10, padding 0) and 28x28x1 (Fashion-MNIST, padding 1);
#   steps  pretrain (525 images: 1050 views + probe), baseline (25 images), inference (525);
#   PyTorch: Debian's python3-torch (/usr/bin/python3) and, when it installs, the current PyPI
#   release in build-bench/venv, each in both layouts (channels_last, contiguous);
#   ours: training's own step (issue 24: read + augmentation + the step, as `simclr pretrain`
#   runs it, on random images in memory; the twin's starts from augmented tensors), also the
#   augmentation of one pretraining batch alone, each layer of the pretraining step at 96x96x3
#   alone, and the kernel choice (bench_conv_kernels: the four convolutions
#   on oneDNN against im2col + OpenBLAS sgemm).
# Prints Markdown tables (also written to build-bench/results.md); raw JSON lines go to
# build-bench/results.jsonl, everything the programs print to build-bench/bench.log.
#
# Environment: BENCH_THREADS (2), BENCH_QUICK=1 (fewer steps, a smoke run), BENCH_SUITE (all;
# seed: the seed's model only; resnet: the ResNet-18 rows only),
# BENCH_PYPI_TORCH=0 (do not create build-bench/venv with PyPI's torch; it is ~5 GB),
# BENCH_PEAK_GFLOPS (default: measured here by bench/peak_flops.c, the FMA peak of the widest
# registers the run's kernels use, zmm or ymm, on BENCH_THREADS cores),
# BENCH_ISA=AVX2 (issue 23: run everything as an AVX2-only CPU would: simclr built for x86-64-v3
# without its AVX-512 clones, oneDNN capped with ONEDNN_MAX_CPU_ISA=AVX2 for simclr and PyTorch
# alike, PyTorch's own kernels with ATEN_CPU_CAPABILITY=avx2; no bf16 rows; results in
# build-bench-avx2/),
# BENCH_TORCH_MALLOC (tcmalloc: PyTorch runs with tcmalloc preloaded when libtcmalloc_minimal.so.4
# is installed, its fastest setup here; glibc: without), BENCH_SIMCLR_MALLOC (glibc, or tcmalloc).
# Timings mean something only on an otherwise idle machine: run nothing else meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build-bench
cmake_args=()
isa=${BENCH_ISA:-native}
case $isa in
  native) ;;
  AVX2) out=build-bench-avx2
        cmake_args=(-DSIMCLR_ARCH=x86-64-v3 -DSIMCLR_MULTIVERSION=OFF)
        export ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 ;;
  *) echo "bench: BENCH_ISA '$isa': expected native or AVX2" >&2; exit 2 ;;
esac
threads=${BENCH_THREADS:-2}
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
mkdir -p "$out"
results=$out/results.jsonl
log=$out/bench.log
: > "$results"
: > "$log"

echo "bench: building simclr_bench ($out/cmake)"
cmake -S . -B "$out/cmake" -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" >> "$log"
nice cmake --build "$out/cmake" -j "${JOBS:-2}" --target simclr_bench bench_conv_kernels bench_batchnorm peak_flops \
  >> "$log"
bench_bin=$out/cmake/simclr_bench
if [ -n "${BENCH_PEAK_GFLOPS:-}" ]; then peak=$BENCH_PEAK_GFLOPS
else
  peak_line=$("$out/cmake/peak_flops" --threads "$threads")
  peak=$(sed -n 's/.*"peak_gflops": \([0-9.]*\).*/\1/p' <<<"$peak_line")
  echo "bench: measured fp32 FMA peak: $peak_line (ISA $isa)" | tee -a "$log"
fi
kernels_bin=$out/cmake/bench_conv_kernels

# The PyTorch interpreters: Debian's, and PyPI's current release in a venv of our own.
pythons=()
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  pythons+=(/usr/bin/python3)
else
  echo "bench: /usr/bin/python3 has no torch (scripts/install-deps.sh bench installs python3-torch)"
fi
venv=$out/venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  if [ "${BENCH_PYPI_TORCH:-1}" != 0 ]; then
    echo "bench: installing PyPI's torch into $venv (once; several GB; BENCH_PYPI_TORCH=0 skips)"
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q --progress-bar off torch; } \
        >> "$log" 2>&1; then
      echo "bench: could not install torch from PyPI (see $log); continuing with Debian's"
    fi
  fi
fi
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  pythons+=("$venv/bin/python")
fi

# tcmalloc for PyTorch: with glibc's malloc each step's large activations are fresh mmaps, and
# their page faults make PyTorch 1.2-2.1x slower here (docs/PERFORMANCE.md). simclr allocates
# nothing per step, so it runs on glibc unless told otherwise.
tcmalloc=$( (ldconfig -p 2>/dev/null || true) |
  awk '/libtcmalloc_minimal\.so\.4 / { print $NF; exit }')
preload() { # preload <glibc|tcmalloc>: the LD_PRELOAD value for that choice
  if [ "$1" = tcmalloc ] && [ -n "$tcmalloc" ]; then echo "$tcmalloc"; fi
}
torch_preload=$(preload "${BENCH_TORCH_MALLOC:-tcmalloc}")
simclr_preload=$(preload "${BENCH_SIMCLR_MALLOC:-glibc}")
if [ "${BENCH_TORCH_MALLOC:-tcmalloc}" = tcmalloc ] && [ -z "$tcmalloc" ]; then
  echo "bench: libtcmalloc_minimal.so.4 not found (Debian: libgoogle-perftools4); PyTorch runs" \
       "on glibc's malloc, 1.2-2.1x slower here"
fi

# Is anything else using the CPUs? Busy share over one second, from /proc/stat.
cpu_busy() {
  local a b
  read -r -a a < /proc/stat
  sleep 1
  read -r -a b < /proc/stat
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  local idle=$((b[4] + b[5] - a[4] - a[5]))
  echo $((total > 0 ? 100 * (total - idle) / total : 0))
}
busy=$(cpu_busy)
if [ "$busy" -gt 10 ]; then
  echo "bench: warning: the CPUs are ${busy}% busy with something else; timings will be low"
fi

# One configuration in its own process (so ru_maxrss is that configuration's peak); appends its
# JSON line (the last line starting with '{') to the results.
run() {
  local label=$1
  shift
  local output
  echo "bench: $label" | tee -a "$log"
  echo "+ $*" >> "$log"
  if ! output=$("$@" 2>> "$log"); then
    echo "bench: FAILED: $* (see $log)" >&2
    failed=1
    return 0
  fi
  printf '%s\n' "$output" >> "$log"
  printf '%s\n' "$output" | grep '^{' | tail -n 1 >> "$results"
}

failed=0
# shape, mode, steps, warmup: each pretraining step at 96x96x3 takes seconds, the others less;
# the short steps are repeated until a configuration takes a few seconds (a 10 ms step timed 40
# times moved by 20% between runs).
configs=(
  "96x96x3 pretrain 5 1"
  "96x96x3 baseline 100 10"
  "96x96x3 inference 10 2"
  "28x28x1 pretrain 20 2"
  "28x28x1 baseline 300 20"
  "28x28x1 inference 100 10"
)
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  configs=("96x96x3 pretrain 1 1" "96x96x3 baseline 2 1" "96x96x3 inference 1 1"
           "28x28x1 pretrain 1 1" "28x28x1 baseline 2 1" "28x28x1 inference 1 1")
fi

# Issue 11's backbones: ResNet-18 with the CIFAR stem at 32x32x3 and the ImageNet stem at
# 96x96x3; pretraining on 256 images (231 unlabeled + 25 labeled: 512 views), a supervised step
# and inference on 256 images. "backbone shape mode steps warmup batch options".
resnet_configs=(
  "resnet18 32x32x3 pretrain 2 1 --unlabeled-batch 231 --labeled-batch 25 --test-batch 256"
  "resnet18 32x32x3 baseline 3 1 --labeled-batch 256 --test-batch 256"
  "resnet18 32x32x3 inference 3 1 --test-batch 256"
  "resnet18 96x96x3 pretrain 2 1 --unlabeled-batch 231 --labeled-batch 25 --test-batch 256"
  "resnet18 96x96x3 baseline 3 1 --labeled-batch 256 --test-batch 256"
  "resnet18 96x96x3 inference 3 1 --test-batch 256"
)
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  resnet_configs=("resnet18 32x32x3 pretrain 1 0 --unlabeled-batch 8 --labeled-batch 8 --test-batch 16"
                  "resnet18 96x96x3 inference 1 0 --test-batch 8")
fi
# BENCH_SUITE: all (default), seed (the seed's model only) or resnet (the ResNet rows only).
suite=${BENCH_SUITE:-all}
case $suite in
  all) ;;
  seed) resnet_configs=() ;;
  resnet) configs=() ;;
  *) echo "bench: BENCH_SUITE '$suite': expected all, seed or resnet" >&2; exit 2 ;;
esac
all_configs=()
for config in "${configs[@]}"; do all_configs+=("seed $config"); done
all_configs+=("${resnet_configs[@]}")

for config in "${all_configs[@]}"; do
  read -r backbone shape mode steps warmup extra <<< "$config"
  read -r -a extra_args <<< "${extra:-}"
  args=(--shape "$shape" --mode "$mode" --steps "$steps" --warmup "$warmup" --threads "$threads"
        --peak-gflops "$peak" --backbone "$backbone" "${extra_args[@]}")
  if [ "$backbone" != seed ]; then shape="$shape $backbone"; fi
  run "simclr $shape $mode" env LD_PRELOAD="$simclr_preload" "$bench_bin" "${args[@]}"
  if [ "$isa" = native ]; then
    run "simclr $shape $mode bf16" env LD_PRELOAD="$simclr_preload" "$bench_bin" "${args[@]}" \
      --precision bf16
  fi
  for py in "${pythons[@]}"; do
    for layout in channels_last contiguous; do
      run "torch ($py) $shape $mode $layout" env LD_PRELOAD="$torch_preload" \
        "$py" bench/torch_twin.py "${args[@]}" --layout "$layout"
    done
    # PyTorch's own mixed precision (autocast to bf16), in its best layout here.
    if [ "$isa" = native ]; then
      run "torch ($py) $shape $mode channels_last bf16" env LD_PRELOAD="$torch_preload" \
        "$py" bench/torch_twin.py "${args[@]}" --layout channels_last --precision bf16
    fi
  done
done
augment_shapes=(96x96x3 28x28x1)
if [ "$suite" = resnet ]; then augment_shapes=(); fi
for shape in "${augment_shapes[@]}"; do
  run "simclr $shape augment" "$bench_bin" --shape "$shape" --mode augment --steps 5 \
    --warmup 1 --threads "$threads"
done

# Each layer of the pretraining step at 96x96x3 alone (its own process: the
# layer timings need scratch buffers that would inflate the peak RSS above).
breakdown="" kernels="" torch_breakdowns=""
if [ "$suite" != resnet ]; then
echo "bench: simclr 96x96x3 pretrain --breakdown" | tee -a "$log"
if ! breakdown=$("$bench_bin" --shape 96x96x3 --mode pretrain --steps 1 --warmup 1 \
    --threads "$threads" --peak-gflops "$peak" --breakdown 2>> "$log"); then
  echo "bench: FAILED: simclr breakdown (see $log)" >&2
  failed=1
fi
printf '%s\n' "$breakdown" >> "$log"

# The same layer table for each PyTorch (channels_last, its best layout for pretraining here).
torch_breakdowns=""
for py in "${pythons[@]}"; do
  echo "bench: torch ($py) 96x96x3 pretrain --breakdown" | tee -a "$log"
  if lines=$(env LD_PRELOAD="$torch_preload" "$py" bench/torch_twin.py --shape 96x96x3 \
      --mode pretrain --steps 1 --warmup 1 --threads "$threads" --peak-gflops "$peak" \
      --layout channels_last --breakdown 2>> "$log"); then
    printf '%s\n' "$lines" >> "$log"
    version=$(printf '%s\n' "$lines" | sed -n 's/.*"version": "\([^"]*\)".*/\1/p')
    step=$(printf '%s\n' "$lines" | sed -n 's/.*"seconds_per_step": \([0-9.]*\).*/\1/p')
    torch_breakdowns+=$'\n'"PyTorch $version (channels_last), this run's step: $step s"$'\n'
    torch_breakdowns+=$(printf '%s\n' "$lines" | sed -n 's/^# //p')$'\n'
  else
    echo "bench: FAILED: torch breakdown with $py (see $log)" >&2
    failed=1
  fi
done

# The kernel choice: oneDNN (what simclr uses) against im2col + OpenBLAS sgemm, layer by layer
# at the batch of the speed issue's oneDNN measurement (210 views).
echo "bench: convolution kernels, oneDNN against im2col + OpenBLAS" | tee -a "$log"
kernel_steps=3
if [ "${BENCH_QUICK:-0}" = 1 ]; then kernel_steps=1; fi
if ! kernels=$("$kernels_bin" --batch 210 --steps "$kernel_steps" --warmup 1 \
    --peak-gflops "$peak" 2>> "$log"); then
  echo "bench: FAILED: bench_conv_kernels (see $log)" >&2
  failed=1
fi
printf '%s\n' "$kernels" >> "$log"
fi

# The BatchNorm kernel choice (issue 11): simclr's loops against oneDNN's batch_normalization.
bn_table=""
if [ "$suite" != seed ]; then
  echo "bench: BatchNorm2d + ReLU, simclr's loops against oneDNN" | tee -a "$log"
  bn_steps=5
  if [ "${BENCH_QUICK:-0}" = 1 ]; then bn_steps=1; fi
  if ! bn_table=$("$out/cmake/bench_batchnorm" --batch 512 --steps "$bn_steps" --warmup 1 2>> "$log"); then
    echo "bench: FAILED: bench_batchnorm (see $log)" >&2
    failed=1
  fi
  printf '%s\n' "$bn_table" >> "$log"
fi

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
cpu="$cpu, bench ISA $isa"
[ "$isa" = native ] || cpu="$cpu (ONEDNN_MAX_CPU_ISA=$ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY, simclr built for x86-64-v3)"
/usr/bin/python3 - "$results" "$cpu" "$threads" "$peak" > "$out/results.md" <<'EOF'
import json, sys

results_path, cpu, threads, peak = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
rows = [json.loads(line) for line in open(results_path) if line.strip()]
MODES = {"pretrain": "pretraining step", "baseline": "baseline step", "inference": "inference",
         "augment": "augmentation of a pretraining batch"}

print(f"Machine: {cpu}, {threads} threads; fp32 peak {peak:g} GFLOP/s (FMA, {threads} cores, measured by bench/peak_flops).\n")
print("| shape | step | implementation | precision | layout | malloc | images/s | s/step "
      "| GFLOP/image | GFLOP/s | of fp32 peak | peak RSS MiB |")
print("|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    r.setdefault("precision", "fp32")
    if r.get("backbone", "seed") != "seed":  # the ResNet rows: their own shape label
        r["shape"] = f"{r['shape']} {r['backbone']}"
for r in rows:
    impl = "simclr" if r["impl"] == "simclr" else f"PyTorch {r['version']}"
    flop = r["gflop_per_image"] > 0
    print(f"| {r['shape']} | {MODES[r['mode']]} | {impl} | {r['precision']} | {r['layout']} | "
          f"{r['malloc']} | "
          f"{r['images_per_s']:.1f} | {r['seconds_per_step']:.4f} | "
          f"{r['gflop_per_image']:.4f} | " +
          (f"{r['gflops']:.1f} | {100 * r['peak_fraction']:.1f}% | " if flop else "– | – | ") +
          f"{r['peak_rss_mib']:.0f} |")

ours_all = {(r["shape"], r["mode"], r["precision"]): r for r in rows if r["impl"] == "simclr"}
ours = {(s, m): r for (s, m, p), r in ours_all.items() if p == "fp32"}
versions = sorted({r["version"] for r in rows if r["impl"] == "torch"})
best = {}  # PyTorch's fastest layout, per precision
for r in rows:
    if r["impl"] != "torch":
        continue
    key = (r["shape"], r["mode"], r["version"], r["precision"])
    if key not in best or r["images_per_s"] > best[key]["images_per_s"]:
        best[key] = r


def ratio_table(title, torch_precision):
    print(f"\n{title}\n")
    header = "| shape | step | simclr precision | simclr images/s |"
    rule = "|---|---|---|---:|"
    for v in versions:
        header += (f" PyTorch {v} {torch_precision} images/s (layout) | simclr / {v} "
                   f"| RSS simclr / {v} |")
        rule += "---:|---:|---:|"
    print(header)
    print(rule)
    for (shape, mode, precision), r in sorted(ours_all.items(),
                                              key=lambda kv: (kv[0][0] != "96x96x3", kv[0][1],
                                                              kv[0][2])):
        if mode == "augment" or (torch_precision == "bf16" and precision != "bf16"):
            continue
        line = f"| {shape} | {MODES[mode]} | {precision} | {r['images_per_s']:.1f} |"
        for v in versions:
            t = best.get((shape, mode, v, torch_precision))
            if t is None:
                line += " – | – | – |"
                continue
            line += (f" {t['images_per_s']:.1f} ({t['layout']}) | "
                     f"{r['images_per_s'] / t['images_per_s']:.2f} | "
                     f"{r['peak_rss_mib'] / t['peak_rss_mib']:.2f} |")
        print(line)


ratio_table("Ours (fp32 and bf16) against PyTorch fp32 in its best layout (ratio > 1: simclr is "
            "faster / uses more memory):", "fp32")
ratio_table("bf16 against PyTorch's own mixed precision (torch.autocast to bfloat16, "
            "channels_last):", "bf16")

notes = []
for shape in sorted({s for s, _ in ours}):
    pre, aug = ours.get((shape, "pretrain")), ours.get((shape, "augment"))
    if pre and aug:
        with_aug = 1.0 / (1.0 / pre["images_per_s"] + 1.0 / aug["images_per_s"])
        share = 100 * aug["seconds_per_step"] / pre["seconds_per_step"]
        notes.append(f"{shape}: augmenting a pretraining batch takes "
                     f"{aug['seconds_per_step']:.3f} s ({share:.1f}% of the step); pretraining "
                     f"with augmentation, serially: {with_aug:.1f} images/s")
    if pre:
        notes.append(f"{shape}: encoder forward {pre['encoder_fwd_gflop_per_image']:.4f} GFLOP per "
                     f"view; a pretraining step counts {pre['gflop_per_step']:.1f} GFLOP "
                     f"({pre['gflop_per_image']:.3f} per image)")
if notes:
    print("\n" + "\n".join(f"- {n}" for n in notes))
EOF
cat "$out/results.md"
if [ "$suite" != resnet ]; then
echo
echo "Pretraining step at 96x96x3, simclr, phase by phase (GFLOP/s against the ${peak} peak):"
echo
echo '```'
printf '%s\n' "$breakdown" | sed -n 's/^# //p'
printf '%s' "$torch_breakdowns"
echo '```'
echo
printf '%s\n' "$kernels"
{
  echo
  echo '```'
  printf '%s\n' "$breakdown" | sed -n 's/^# //p'
  printf '%s' "$torch_breakdowns"
  echo '```'
  echo
  printf '%s\n' "$kernels"
} >> "$out/results.md"
fi
if [ -n "$bn_table" ]; then
  printf '\n%s\n' "$bn_table"
  printf '\n%s\n' "$bn_table" >> "$out/results.md"
fi
if [ "$failed" != 0 ]; then
  echo "bench: some configurations failed (see $log)" >&2
  exit 1
fi
