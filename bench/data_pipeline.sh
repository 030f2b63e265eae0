#!/usr/bin/env bash
# Issue 25's benchmarks (`make bench-data`, also run by `make bench`): reading folders of images
# at scale, on trees of synthetic JPEGs the script makes, against Python and torchvision on the
# same trees (bench/data_pipeline_twin.py). Four tables:
#   (a) open time of 100k and 1M files (small 16x16 JPEGs), cold (page, dentry and inode caches
#       dropped: root only) and warm, and with simclr's index cache (--index-cache, when
#       `simclr info --help` lists it), against an os.scandir walk and torchvision's ImageFolder;
#   (b) images/s of decode + resize + simclr's augmentation (--augment simclr: two views) at 96
#       and 224 px, with 1, 2 and all threads, against torchvision's DataLoader (PIL, the same
#       transforms, 2 workers) on the same files (400x350 px JPEGs of about 100 KB);
#   (c) peak RSS of a streamed training run (--cache-budget 0) while the dataset grows tenfold
#       (10k -> 100k files);
#   (d) training images/s streamed (--cache-budget 0) against in memory (auto), with the seed's
#       model at 96 px, where the network, not decoding, takes most of a step.
# Each row names the command that gave it. Tables: build-bench/data/results.md (and stdout); raw
# JSON lines: build-bench/data/results.jsonl; everything the programs printed:
# build-bench/data/bench.log. The trees stay in BENCH_DATA_DIR for the next run (each is made
# once; delete the folder to remake them).
#
# What measures what (the rows say which was used):
#   open        `simclr info --dataset folder --data-dir TREE --labeled-dir LABELED`, wall time and
#               peak RSS of the process. Today `info` opens without defer_pixels, so its time also
#               decodes every image (the table flags it from the RSS); a deferred open (index only)
#               is what training does.
#   decode      `simclr_bench --mode read` (reads and augments the pretraining batches through the
#               training sampler, streamed, without the network) when simclr_bench has it;
#               otherwise two parts combined serially, 1 / (1/decode + 1/augment): the decode and
#               resize of every image by `simclr info --image-size N` (N images / its wall time)
#               and the augmentation alone by `simclr_bench --mode augment --augment simclr`.
#   training    `simclr_bench --mode pretrain ... --cache-budget 0|auto` when simclr_bench accepts
#               --cache-budget; otherwise `simclr pretrain ... --epochs 2 --steps-per-epoch S`,
#               timed by its history's second epoch (which also evaluates the 50 labeled test
#               images and runs the kNN monitor), and for the RSS its whole process.
#
# Environment:
#   BENCH_DATA_SCALE   full (default: 100k/1M small files, 2000 photos, 10k/100k linked photos,
#                      the training commands' default batches) or small (1k/10k, 48 photos,
#                      200/2000 links, small batches, one step: a smoke run of a minute or two)
#   BENCH_DATA_DIR     where the trees go (default build-bench/data-tree; full: ~4.5 GB and 1.1M
#                      inodes, in one filesystem: hard links)
#   BENCH_DATA_LINK    1: the file-count trees are hard links to 256 distinct files instead of
#                      copies (when the disk is short; cold opens then read only 256 inodes' data
#                      and are optimistic). Default: copies when 3x their size is free, else links
#   BENCH_DATA_REPS    warm repetitions of each open (best taken; default 3, small 1)
#   BENCH_DATA_SECTIONS  which tables, any of "a b c d" (default all)
#   BENCH_BUILD        a build folder with simclr and simclr_bench already built (default: build
#                      them in build-bench/cmake, as bench/run.sh does)
# Timings mean something only on an otherwise idle machine; the cold rows drop the caches of the
# whole machine.
set -euo pipefail
cd "$(dirname "$0")/.."

py=/usr/bin/python3
helper=bench/data_pipeline_twin.py
out="build-bench/data"
mkdir -p "$out"
results=$out/results.jsonl
log=$out/bench.log
: > "$results"
: > "$log"
data=${BENCH_DATA_DIR:-build-bench/data-tree}
work=$out/work
rm -rf "$work"
mkdir -p "$data" "$work"
say() { echo "bench-data: $*" | tee -a "$log"; }

scale=${BENCH_DATA_SCALE:-full}
case $scale in
  full) count_part=100000 photos=2000 rss_part=10000 steps=3 reps=${BENCH_DATA_REPS:-3}
        loader_images=1000 aug_batch=256 train_batches=() ;;
  small) count_part=1000 photos=48 rss_part=200 steps=1 reps=${BENCH_DATA_REPS:-1}
         loader_images=64 aug_batch=32
         train_batches=(--unlabeled-batch 32 --labeled-batch 8 --test-batch 16) ;;
  *) echo "bench-data: BENCH_DATA_SCALE '$scale': expected full or small" >&2; exit 2 ;;
esac
sections=${BENCH_DATA_SECTIONS:-a b c d}
all=$(nproc)
threads_list=(1)
[ "$all" -ge 2 ] && threads_list+=(2)
[ "$all" -gt 2 ] && threads_list+=("$all")

# ---- Binaries ----------------------------------------------------------------------------------
if [ -n "${BENCH_BUILD:-}" ]; then
  build=$BENCH_BUILD
else
  build="build-bench/cmake"
  say "building simclr and simclr_bench ($build)"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >> "$log"
  nice cmake --build "$build" -j "${JOBS:-2}" --target simclr simclr_bench >> "$log"
fi
simclr=$build/simclr
bench=$build/simclr_bench
for binary in "$simclr" "$bench"; do
  [ -x "$binary" ] || { echo "bench-data: $binary is missing (build it, or unset BENCH_BUILD)" >&2; exit 2; }
done
if ! $py -c 'import PIL, numpy' 2>/dev/null; then
  echo "bench-data: $py needs PIL and numpy to make the JPEGs (scripts/install-deps.sh bench)" >&2
  exit 2
fi
have_torch=0
if $py -c 'import torch, torchvision' 2>/dev/null; then have_torch=1
else say "no torch/torchvision for $py (scripts/install-deps.sh bench): their rows are left out"; fi

# What this simclr offers (each part of the bench uses the best entry there is).
info_help=$("$simclr" info --help 2>&1 || true)
index_cache=0 no_index_cache=()
if grep -q -- '--index-cache' <<<"$info_help"; then index_cache=1; fi
if grep -q -- '--no-index-cache' <<<"$info_help"; then no_index_cache=(--no-index-cache); fi
bench_read=0
if "$bench" --help 2>&1 | grep -q -- '--mode [a-z|]*read'; then bench_read=1; fi
bench_budget=0
if "$bench" --mode augment --shape 8x8x3 --steps 1 --warmup 0 --unlabeled-batch 2 --labeled-batch 1 \
    --cache-budget 0 > /dev/null 2>> "$log"; then bench_budget=1; fi
decode_threads=0
if "$simclr" pretrain --help 2>&1 | grep -q -- '--decode-threads'; then decode_threads=1; fi
can_drop=0
if [ -w /proc/sys/vm/drop_caches ]; then can_drop=1
else say "cannot drop the kernel's caches (not root): no cold rows"; fi
say "scale $scale; index cache: $([ $index_cache = 1 ] && echo yes || echo 'not available');" \
    "simclr_bench --mode read: $([ $bench_read = 1 ] && echo yes || echo no);" \
    "simclr_bench --cache-budget: $([ $bench_budget = 1 ] && echo yes || echo no); cold: $can_drop"

# ---- The trees ----------------------------------------------------------------------------------
# counts/p0..p9: ten parts of count_part small files (1000 a folder); counts/p0 is the 1x tree,
# counts the 10x one. photos/: distinct 400x350 JPEGs; photos-rss/p0..p9: rss_part hard links to
# them each; labeled*/: train/ and test/ of two classes, simclr's --labeled-dir.
made() { [ -f "$1/.made" ] && [ "$(cat "$1/.made")" = "$2" ]; }
mark() { echo "$2" > "$1/.made"; }
tiny_src=$data/tiny-src photos_dir=$data/photos counts=$data/counts rss_tree=$data/photos-rss
if ! made "$tiny_src" 256; then
  rm -rf "$tiny_src"; $py $helper tiny "$tiny_src" 256 | tee -a "$log"; mark "$tiny_src" 256
fi
if ! made "$photos_dir" "$photos"; then
  rm -rf "$photos_dir"; say "making $photos photos"
  $py $helper photos "$photos_dir" "$photos" | tee -a "$log"; mark "$photos_dir" "$photos"
fi
link_mode="copy"
if [ "${BENCH_DATA_LINK:-}" = 1 ]; then link_mode="link"
elif [ -z "${BENCH_DATA_LINK:-}" ]; then
  free_kib=$(df -Pk "$data" | awk 'NR == 2 { print $4 }')
  need_kib=$((10 * count_part * 4 * 3)) # a 4 KiB block each, three times over
  if [ "$free_kib" -lt "$need_kib" ]; then
    link_mode="link"
    say "less than $((need_kib / 1024 / 1024)) GiB free under $data: the count trees are hard links"
  fi
fi
if ! made "$counts" "$count_part $link_mode"; then
  rm -rf "$counts"; say "making $((10 * count_part)) small files ($link_mode) in $counts"
  for part in 0 1 2 3 4 5 6 7 8 9; do
    $py $helper tree "$counts/p$part" "$tiny_src" "$count_part" --first $((part * count_part)) \
      --mode "$link_mode" >> "$log"
  done
  mark "$counts" "$count_part $link_mode"
fi
if ! made "$rss_tree" "$rss_part $photos"; then
  rm -rf "$rss_tree"; say "linking $((10 * rss_part)) photos in $rss_tree"
  for part in 0 1 2 3 4 5 6 7 8 9; do
    $py $helper tree "$rss_tree/p$part" "$photos_dir" "$rss_part" --first $((part * rss_part)) \
      --mode link >> "$log"
  done
  mark "$rss_tree" "$rss_part $photos"
fi
labeled_tiny=$data/labeled-tiny labeled=$data/labeled
if ! made "$labeled_tiny" 1; then
  rm -rf "$labeled_tiny"; $py $helper labeled "$labeled_tiny" "$tiny_src" --train 10 --test 5 >> "$log"
  mark "$labeled_tiny" 1
fi
per_class=(--train 50 --test 25)
[ "$scale" = small ] && per_class=(--train 10 --test 5)
if ! made "$labeled" "$photos ${per_class[*]}"; then
  rm -rf "$labeled"; $py $helper labeled "$labeled" "$photos_dir" "${per_class[@]}" >> "$log"
  mark "$labeled" "$photos ${per_class[*]}"
fi

# ---- Measuring ------------------------------------------------------------------------------------
failed=0
# measure LABEL HELPER-ARGS...: one helper call; its JSON line goes to the results.
measure() {
  local label=$1 line
  shift
  echo "bench-data: $label" >> "$log"
  echo "+ $py $helper $*" >> "$log"
  if line=$($py $helper "$@" 2>> "$log"); then
    printf '%s\n' "$line" | tee -a "$log" | grep '^{' | tail -n 1 >> "$results"
  else
    echo "bench-data: FAILED: $label (see $log)" >&2
    failed=1
  fi
}
has() { [[ " $sections " == *" $1 "* ]]; }

# (a) Open time.
if has a; then
  for n in 1 10; do
    if [ $n = 1 ]; then root=$counts/p0; else root=$counts; fi
    files=$((n * count_part))
    say "(a) opening $files files"
    info=("$simclr" info --dataset folder --data-dir "$root" --labeled-dir "$labeled_tiny")
    tags=(--tag section=a --tag "files=$files" --tag "link_mode=$link_mode" --tag tool=simclr
          --info-counts --stdout "$work/info.out")
    # Cold: the tree's pages, dentries and inodes dropped, then simclr's own code and libraries
    # loaded again (untimed), so that the figure is the tree's.
    cold=(--drop-caches --after-drop "$simclr --help")
    if [ $can_drop = 1 ]; then
      measure "simclr info, cold" run "${cold[@]}" "${tags[@]}" --tag state=cold \
        -- "${info[@]}" "${no_index_cache[@]}"
    fi
    for _ in $(seq "$reps"); do
      measure "simclr info, warm" run "${tags[@]}" --tag state=warm -- "${info[@]}" "${no_index_cache[@]}"
    done
    if [ $index_cache = 1 ]; then
      cache=$work/index-cache-$files
      rm -rf "$cache"
      mkdir -p "$cache"
      measure "simclr info, building the index cache" run "${tags[@]}" --tag state=build \
        -- "${info[@]}" --index-cache "$cache"
      for _ in $(seq "$reps"); do
        measure "simclr info, index cached" run "${tags[@]}" --tag state=cached \
          -- "${info[@]}" --index-cache "$cache"
      done
      if [ $can_drop = 1 ]; then
        measure "simclr info, index cached, cold" run "${cold[@]}" "${tags[@]}" --tag state=cached_cold \
          -- "${info[@]}" --index-cache "$cache"
      fi
    fi
    tags=(--tag section=a --tag "files=$files" --tag "link_mode=$link_mode")
    tools=(walk)
    [ $have_torch = 1 ] && tools+=(imagefolder)
    for tool in "${tools[@]}"; do
      shown="$py $helper $tool $root"
      if [ $can_drop = 1 ]; then
        measure "$tool, cold" "$tool" "$root" --drop-caches "${tags[@]}" --tag state=cold \
          --tag "command=$shown"
      fi
      for _ in $(seq "$reps"); do
        measure "$tool, warm" "$tool" "$root" "${tags[@]}" --tag state=warm --tag "command=$shown"
      done
    done
  done
fi

# (b) Decode + resize + augmentation.
if has b; then
  "$simclr" info --dataset folder --data-dir "$photos_dir" --labeled-dir "$labeled" --image-size 96 \
    > /dev/null 2>> "$log" || true # the files into the page cache: the steady state
  for size in 96 224; do
    say "(b) decode + resize + augmentation at $size px"
    tags=(--tag section=b --tag "size=$size")
    for t in "${threads_list[@]}"; do
      if [ $bench_read = 1 ]; then
        measure "simclr read $size px, $t threads" run --child-json "${tags[@]}" --tag impl=simclr \
          --tag part=read --tag "threads=$t" --tag "all=$([ "$t" = "$all" ] && echo 1 || echo 0)" --stdout "$work/read.out" -- \
          "$bench" --mode read --dataset folder --data-dir "$photos_dir" --labeled-dir "$labeled" \
          --image-size $size --augment simclr --threads "$t" --cache-budget 0 \
          $([ $decode_threads = 1 ] && echo --decode-threads 0) --unlabeled-batch $aug_batch --labeled-batch 1 --steps $steps --warmup 1
      else
        measure "simclr decode $size px, $t threads" run --info-counts "${tags[@]}" --tag impl=simclr \
          --tag part=decode --tag "threads=$t" --tag "all=$([ "$t" = "$all" ] && echo 1 || echo 0)" --stdout "$work/info.out" -- \
          env OMP_NUM_THREADS="$t" "$simclr" info --dataset folder --data-dir "$photos_dir" \
          --labeled-dir "$labeled" --image-size $size "${no_index_cache[@]}"
        measure "simclr augment $size px, $t threads" run --child-json "${tags[@]}" --tag impl=simclr \
          --tag part=augment --tag "threads=$t" --stdout "$work/augment.out" -- \
          "$bench" --mode augment --shape ${size}x${size}x3 --augment simclr --threads "$t" \
          --unlabeled-batch $aug_batch --labeled-batch 1 --steps $steps --warmup 1
      fi
    done
    if [ $have_torch = 1 ]; then
      # torchvision's own GaussianBlur, and PIL's blur filter as most PyTorch SimCLR code blurs.
      for blur in torchvision pil; do
        loader=(loader "$photos_dir" --size "$size" --workers 2 --batch 64 --images "$loader_images"
                --blur "$blur")
        measure "torchvision DataLoader $size px, 2 workers, $blur blur" "${loader[@]}" "${tags[@]}" \
          --tag impl=torchvision --tag "command=$py $helper ${loader[*]}"
      done
    fi
  done
fi

# (c) Peak RSS of streamed training while the dataset grows tenfold; (d) streamed against in memory.
train_common=(--dataset folder --labeled-dir "$labeled" --image-size 96 "${train_batches[@]}")
# train LABEL OUTNAME DATA-DIR BUDGET TAGS...: one training measurement, the network on
# $train_threads threads (default all) and, with simclr's decoder pool, $train_decoders decoder
# threads (default auto: one per core).
train() {
  local label=$1 name=$2 dir=$3 budget=$4
  shift 4
  local train_common=("${train_common[@]}" --threads "${train_threads:-$all}")
  if [ $decode_threads = 1 ]; then train_common+=(--decode-threads "${train_decoders:-auto}"); fi
  if [ $bench_budget = 1 ]; then
    measure "$label" run --child-json "$@" --tag via=simclr_bench --stdout "$work/$name.out" -- \
      "$bench" --mode pretrain --data-dir "$dir" "${train_common[@]}" --cache-budget "$budget" \
      --steps $steps --warmup 1
  else
    measure "$label" run "$@" --tag via=pretrain --tag steps=$steps -- \
      "$simclr" pretrain --data-dir "$dir" "${train_common[@]}" --cache-budget "$budget" --epochs 2 \
      --steps-per-epoch $steps --out "$work/$name" --overwrite --quiet
    if [ -f "$work/$name/pretrain_history.csv" ]; then
      measure "$label: history" history "$work/$name/pretrain_history.csv" "$@" --tag part=history
    fi
  fi
}
batch_tags=(--tag unlabeled_batch=500 --tag labeled_batch=25)
[ "$scale" = small ] && batch_tags=(--tag unlabeled_batch=32 --tag labeled_batch=8)
if has c; then
  for n in 1 10; do
    if [ $n = 1 ]; then root=$rss_tree/p0; else root=$rss_tree; fi
    files=$((n * rss_part))
    say "(c) streamed training over $files files"
    train "streamed training, $files files" "rss-$files" "$root" 0 --tag section=c --tag files=$files \
      "${batch_tags[@]}"
  done
fi
if has d; then
  # The network on every core: in memory; streamed with the decoder pool (one thread per core, at
  # the lowest priority) and without it. Then, with more than one core, the network on all but one
  # and the decoders on that one: decoding not the bottleneck, what the target is about.
  d_runs=("memory $all auto" "streamed $all auto")
  if [ $decode_threads = 1 ]; then
    d_runs+=("streamed $all 0")
    if [ "$all" -gt 1 ]; then d_runs+=("memory $((all - 1)) auto" "streamed $((all - 1)) 1"); fi
  fi
  for d_run in "${d_runs[@]}"; do
    read -r storage threads decoders <<<"$d_run"
    budget=$([ $storage = streamed ] && echo 0 || echo auto)
    say "(d) training, $storage, the network on $threads threads, decoder threads $decoders"
    train_threads=$threads train_decoders=$decoders \
      train "training, $storage" "train-$storage-$threads-$decoders" "$photos_dir" "$budget" --tag section=d \
      --tag "storage=$storage" --tag "threads=$threads" --tag "decoders=$decoders" --tag files=$photos \
      "${batch_tags[@]}"
  done
fi

# ---- The tables -------------------------------------------------------------------------------
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
$py - "$results" "$cpu" "$all" "$scale" "$link_mode" "$index_cache" "$can_drop" "$bench_read" \
  "$bench_budget" "$photos" > "$out/results.md" <<'EOF'
import json, statistics, sys

(path, cpu, cores, scale, link_mode, index_cache, can_drop, bench_read, bench_budget,
 photos) = sys.argv[1:]
rows = [json.loads(line) for line in open(path) if line.strip()]
NA = "–"


def fmt(x, digits=2):
    return NA if x is None else f"{x:.{digits}f}"


def code(command):
    return "`" + command.replace("|", "\\|") + "`" if command else NA


print(f"Machine: {cpu}, {cores} cores; scale {scale}. Each figure comes from running "
      "`bench/data_pipeline.sh`; the commands are in the last column.\n")

# (a)
a = [r for r in rows if r.get("section") == "a"]
if a:
    print("### (a) Opening a folder\n")
    simclr_rss = {}
    for r in a:
        if r["tool"] == "simclr" and r["state"] == "warm":
            simclr_rss[r["files"]] = max(simclr_rss.get(r["files"], 0), r["peak_rss_mib"])
    # Does `info` decode the images as it opens (no defer_pixels)? Then its RSS grows by at least
    # their decoded bytes (16x16x3 = 768 a file) from the smaller tree to the larger; the index
    # alone takes a few hundred bytes a file.
    decodes = None
    if len(simclr_rss) > 1:
        small, large = min(simclr_rss), max(simclr_rss)
        per_file = (simclr_rss[large] - simclr_rss[small]) * 2**20 / (large - small)
        decodes = per_file >= 0.75 * 768
    print(f"Small 16x16 JPEGs, 1000 a folder ("
          + ("copies: one inode each" if link_mode == "copy" else
             "hard links to 256 files: the cold figures are optimistic")
          + "). cold: the kernel's page, dentry and inode caches dropped first (simclr's own code "
          "loaded again, untimed); warm: best of the repetitions; index s: the open's own figure "
          "when `info` prints one; index cached: simclr's index cache (--index-cache) written by "
          "an earlier open"
          + (" (the row's command with `--index-cache DIR` instead of `--no-index-cache`)"
             if index_cache == "1" else " (n/a: this simclr's `info` has no --index-cache)")
          + ("" if can_drop == "1" else "; no cold figures (not root)") + ". Python's times "
          "leave out the interpreter's start and imports; peak RSS is the whole process's"
          + (" (Python: with torch imported)" if any(r["tool"] == "ImageFolder" for r in a) else "")
          + ".")
    if decodes:
        print("\n`simclr info` decodes every image as it opens (its RSS grows by "
              f"{per_file:.0f} bytes a file, the decoded 768 and the index): its times are the open "
              "and the decoding; training opens deferred, the index alone.")
    print()
    print("| files | tool | cold s | warm s | index s | index cached s | index cached, cold s "
          "| peak RSS MiB | command |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    tools = [("simclr", "simclr info"), ("scandir", "Python os.scandir walk"),
             ("ImageFolder", "torchvision ImageFolder")]
    for files in sorted({r["files"] for r in a}):
        for tool, name in tools:
            mine = [r for r in a if r["files"] == files and r["tool"] == tool]
            if not mine:
                continue

            def best(state, key="seconds"):
                values = [r[key] for r in mine if r["state"] == state and r.get(key) is not None]
                return min(values) if values else None

            if tool == "simclr":
                cached_s = fmt(best("cached")) if index_cache == "1" else "n/a"
                cached_cold_s = fmt(best("cached_cold")) if index_cache == "1" else "n/a"
                index_s = fmt(best("warm", "index_seconds"))
            else:
                cached_s = cached_cold_s = index_s = NA
            rss = max(r["peak_rss_mib"] for r in mine)
            command = next(r["command"] for r in mine if r["state"] == "warm")
            print(f"| {files} | {name} | {fmt(best('cold'))} | {fmt(best('warm'))} | {index_s} | "
                  f"{cached_s} | {cached_cold_s} | {rss:.0f} | {code(command)} |")
    print("\nTargets: 1M files opened in <= 10 s cold and <= 1 s cached.\n")

# (b)
b = [r for r in rows if r.get("section") == "b"]
if b:
    print("### (b) Decode + resize + augmentation (two views an image)\n")
    print(f"{photos} distinct 400x350 JPEGs of about 100 KB, in the page cache. simclr: "
          + ("`simclr_bench --mode read` (streamed batches through the training sampler: decode, "
             "resize, two views)" if bench_read == "1" else
             "decode + resize (`simclr info --image-size N`: every image, N images / wall s, "
             "opening included) and augmentation (`simclr_bench --mode augment --augment simclr`, "
             "random images) timed apart, combined serially: 1 / (1/decode + 1/augment)")
          + "; torchvision: DataLoader, PIL decode, Resize + CenterCrop, then the SimCLR "
          "transforms twice, 2 worker processes (per core: / 2), blurring with torchvision's "
          "GaussianBlur or with PIL's filter (what most PyTorch SimCLR code uses). The ratio is "
          "against torchvision's faster row.\n")
    print("| px | implementation | threads | decode img/s | augment img/s | images/s | per core "
          "| per core / torchvision's | peak RSS MiB | command |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---|")
    for size in sorted({r["size"] for r in b}):
        here = [r for r in b if r["size"] == size]
        torch_rows = [r for r in here if r["impl"] == "torchvision"]
        torch_per_core = max((r["images_per_s"] / r["workers"] for r in torch_rows), default=None)
        for t in sorted({r["threads"] for r in here if r["impl"] == "simclr"}):
            parts = {r["part"]: r for r in here if r["impl"] == "simclr" and r["threads"] == t}
            decode = augment = rate = None
            commands = []
            note = ""
            if "read" in parts and parts["read"].get("child"):
                rate = parts["read"]["child"]["images_per_s"]
                commands.append(parts["read"]["command"])
            else:
                d, g = parts.get("decode"), parts.get("augment")
                if d and d.get("images"):
                    decode = d["images"] / d["seconds"]
                    commands.append(d["command"])
                    if d["peak_rss_mib"] * 2**20 < 0.5 * d["images"] * size * size * 3:
                        note = " (info did not decode: no decode figure)"
                        decode = None
                if g and g.get("child"):
                    augment = g["child"]["images_per_s"]
                    commands.append(g["command"])
                if decode and augment:
                    rate = 1.0 / (1.0 / decode + 1.0 / augment)
            rss = max([p["peak_rss_mib"] for p in parts.values()] or [0])
            per_core = rate / t if rate else None
            ratio = per_core / torch_per_core if per_core and torch_per_core else None
            shown_threads = f"{t} (all)" if any(p.get("all") == 1 for p in parts.values()) else str(t)
            print(f"| {size} | simclr{note} | {shown_threads} | {fmt(decode, 1)} | "
                  f"{fmt(augment, 1)} | {fmt(rate, 1)} | {fmt(per_core, 1)} | {fmt(ratio)} | "
                  f"{rss:.0f} | {'<br>'.join(code(c) for c in commands)} |")
        for r in torch_rows:
            per_core = r["images_per_s"] / r["workers"]
            print(f"| {size} | torchvision {r['torchvision']} DataLoader (torch {r['torch']}), "
                  f"{r['blur']} blur | {r['workers']} workers | {NA} | {NA} | "
                  f"{r['images_per_s']:.1f} | {per_core:.1f} | {fmt(per_core / torch_per_core)} | "
                  f"{r['peak_rss_mib']:.0f} (main process) | {code(r['command'])} |")
    print("\nTarget: simclr per core >= 2x torchvision's DataLoader per core.\n")


def training_rate(r):
    """images/s and s/step of a training row, from simclr_bench's JSON or the history."""
    if r.get("child"):
        return r["child"]["images_per_s"], r["child"]["seconds_per_step"]
    history = [h for h in rows if h.get("part") == "history" and h.get("section") == r["section"]
               and h.get("files") == r.get("files") and h.get("storage") == r.get("storage")
               and h.get("threads") == r.get("threads") and h.get("decoders") == r.get("decoders")]
    if not history or len(history[0]["epoch_seconds"]) < 2:
        return None, None
    seconds = history[0]["epoch_seconds"][1] / r["steps"]
    return (r["unlabeled_batch"] + r["labeled_batch"]) / seconds, seconds


# (c)
c = [r for r in rows if r.get("section") == "c" and r.get("part") != "history"]
if c:
    print("### (c) Peak RSS of streamed training while the dataset grows tenfold\n")
    print(f"Hard links to the {photos} photos (the page cache is not RSS); `--cache-budget 0`, "
          "--image-size 96, the seed's model; "
          + ("`simclr_bench --mode pretrain` (steps alone)." if bench_budget == "1" else
             "`simclr pretrain` for two epochs: the whole process (open, steps, evaluations, "
             "checkpoints).") + "\n")
    print("| files | peak RSS MiB | against the smallest | command |")
    print("|---:|---:|---:|---|")
    c.sort(key=lambda r: r["files"])
    base = c[0]["peak_rss_mib"]
    for r in c:
        print(f"| {r['files']} | {r['peak_rss_mib']:.0f} | {r['peak_rss_mib'] / base:.3f} | "
              f"{code(r['command'])} |")
    if len(c) > 1:
        grown = (c[-1]["peak_rss_mib"] - c[0]["peak_rss_mib"]) * 2**20
        print(f"\nFrom {c[0]['files']} to {c[-1]['files']} files the peak RSS changed by "
              f"{grown / 2**20:+.1f} MiB, {grown / (c[-1]['files'] - c[0]['files']):+.0f} bytes an "
              "added file (what grows with the files is the index: paths and sizes). "
              "Target: flat.\n")

# (d)
d = [r for r in rows if r.get("section") == "d" and r.get("part") != "history"]
if d:
    print("### (d) Training images/s, streamed against in memory\n")
    print(f"The {photos} photos at 96 px, the seed's model, "
          + ("`simclr_bench --mode pretrain` (mean of the timed steps)." if bench_budget == "1" else
             "`simclr pretrain`: the second epoch's seconds / its steps (the epoch also "
             "evaluates the few labeled test images and runs the kNN monitor; the first epoch, "
             "and in memory the decoding before it, are left out).") + "\n")
    print("| storage | network threads | decoder threads | images/s | s/step | against in memory "
          "(same network threads) | decoded ahead | peak RSS MiB | command |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")

    def key(r):
        return (r["storage"], r.get("threads", int(cores)), r.get("decoders", "auto"))

    rates = {key(r): training_rate(r) for r in d}
    for r in d:
        storage, threads, decoders = key(r)
        rate, step = rates[key(r)]
        memory = rates.get(("memory", threads, "auto"), (None, None))[0]
        ratio = rate / memory if rate and memory else None
        child = r.get("child") or {}
        served = child.get("prefetched", 0) + child.get("decoded_when_read", 0)
        ahead = f"{child['prefetched'] / served:.0%}" if served else NA
        shown = decoders if storage == "streamed" else NA
        print(f"| {storage} | {threads} | {shown} | {fmt(rate, 1)} | {fmt(step, 3)} | {fmt(ratio, 3)} | {ahead} | "
              f"{r['peak_rss_mib']:.0f} | {code(r['command'])} |")
    print("\n'decoded ahead': the streamed reads of the timed and warm-up steps that the decoder pool had "
          "decoded before the step asked (counted from the second step: the first step's batch is read before the first request). Target: streamed within 5 % of in "
          "memory (>= 0.95) when decoding is not the bottleneck: on a machine whose every core the network "
          "keeps busy the decoding adds its time whatever the overlap, so the target is read on the rows "
          "that leave the decoders a core.\n")
EOF
cat "$out/results.md"
if [ "$failed" != 0 ]; then
  echo "bench-data: some measurements failed (see $log)" >&2
  exit 1
fi
