#!/usr/bin/env bash
# Issue 14, data-parallel training over MPI, from the command line (mpirun -np N build/simclr):
#  - on the same global batch the summed parameter gradients of N = 2 and 3 ranks are one
#    process's within 1e-5 relative (before the optimiser; SIMCLR_DEBUG_DUMP_GRADIENTS), for the
#    seed's loss and NT-Xent, the seed's model and a BatchNorm network (--head-bn, ResNet-18);
#  - 10 steps: per-step losses within 1e-4 relative, weights (and Adam moments) within 1e-4 of each
#    tensor's largest magnitude;
#  - a killed rank ends the job non-zero within seconds, naming the rank; the checkpoint resumes;
#  - a resume with another N matches the uninterrupted run; baseline over 2 ranks matches.
# Skips (77) without mpirun, without an MPI build, or without CIFAR-10 / NumPy.
set -uo pipefail
simclr=$1
here=$(cd "$(dirname "$0")" && pwd)
data=${SIMCLR_CIFAR10_DIR:-$(cd "$here/../.." && pwd)/shared/data/cifar10}
if ! command -v mpirun >/dev/null; then echo "skipping: no mpirun (openmpi-bin)"; exit 77; fi
if ! ldd "$simclr" 2>/dev/null | grep libmpi >/dev/null; then echo "skipping: $simclr was built without MPI"; exit 77; fi
if [ ! -d "$data/train" ] || [ ! -d "$data/test" ]; then echo "skipping: no CIFAR-10 folders at $data"; exit 77; fi
if ! /usr/bin/python3 -c "import numpy" 2>/dev/null; then echo "skipping: no python3-numpy"; exit 77; fi
source "$here/harness.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
mpi() { local n=$1; shift; mpirun --oversubscribe --bind-to none -np "$n" "$@"; }
# A sanitizer build (make test-sanitize): Open MPI leaks at MPI_Finalize, much of it from its
# plugins, unloaded by then (LeakSanitizer cannot name them in a suppression), so the processes
# mpirun starts run without the leak check; address and undefined-behaviour errors still fail them.
if readelf -d "$simclr" 2>/dev/null | grep -q 'NEEDED.*libasan'; then
    mpi() { local n=$1; shift; ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 mpirun --oversubscribe --bind-to none -np "$n" "$@"; }
fi
compare() { /usr/bin/python3 "$here/mpi_compare.py" "$@"; }

cifar10_slice "$data" "$work/c10" 8 2
common=(--dataset folder --data-dir "$work/c10" --image-size 32 --quiet --knn-k 0 --test-batch 10)
tiny=(--width 16 --depth 2 --unlabeled-batch 7 --labeled-batch 5)

# 1. Gradients of one step: N = 1, 2, 3 (shares 6+6, 4+4+4: uneven within each part).
# The probe's gradient reads the encoder after its optimiser step, where Adam turns rounding-level
# differences of near-zero gradients into weight differences up to the learning rate: 1e-3 there.
gradients() { # gradients NAME RANKS OPTIONS...
    local name=$1 ranks=$2; shift 2
    for n in 1 $ranks; do
        mkdir -p "$work/g_$name$n"
        SIMCLR_DEBUG_DUMP_GRADIENTS="$work/g_$name$n" mpi "$n" "$simclr" pretrain "${common[@]}" --epochs 1 \
            --steps-per-epoch 1 --out "$work/run_g_$name$n" "$@" >"$work/out" 2>"$work/err" ||
            { fail "$name: pretrain on $n ranks"; sed 's/^/    /' "$work/err" | tail -5; return; }
    done
    for n in $ranks; do
        for part in contrastive probe; do
            tolerance=$([ $part = contrastive ] && echo 1e-5 || echo 1e-3)
            if compare grads "$work/g_$name$n/${part}_e0_s0.f32" "$work/g_${name}1/${part}_e0_s0.f32" $tolerance >"$work/cmp"; then
                pass "$name: $part gradients of $n ranks = one process's ($(cat "$work/cmp"))"
            else fail "$name: $part gradients of $n ranks differ: $(cat "$work/cmp")"; fi
        done
    done
}
gradients seed "2 3" "${tiny[@]}"
gradients ntxent "2 3" "${tiny[@]}" --loss nt-xent
gradients headbn "2 3" "${tiny[@]}" --loss nt-xent --head-bn
# Global BatchNorm2d in the blocked layout: ResNet-18 on 16x16 images (its estimate dominates).
gradients resnet 2 --backbone resnet18 --image-size 16 --head-hidden 32 --head-out 16 --unlabeled-batch 4 \
    --labeled-batch 3

# Bad input under mpirun: exit 2 with the message, no files.
expect_status 2 "fewer images than ranks" mpi 3 "$simclr" pretrain "${common[@]}" --unlabeled-batch 1 \
    --labeled-batch 1 --out "$work/bad"
expect_text "$work/err" "for 3 ranks" "the ranks are named"
expect_status 2 "a bad flag under mpirun" mpi 2 "$simclr" pretrain "${common[@]}" --temperature -1 --out "$work/bad"
expect_text "$work/err" "--temperature" "the flag is named"
expect_status 2 "another method than simclr under mpirun" mpi 2 "$simclr" pretrain "${common[@]}" --method byol \
    --out "$work/bad"
expect_text "$work/err" "--method byol: data-parallel training over MPI (2 ranks) runs --method simclr only" \
    "the method and the ranks are named"
# Issue 24: the last supervised batch is checked against the ranks before anything starts (80
# images in batches of 79: a last batch of 1 for 3 ranks), not at the end of the epoch.
expect_status 2 "a last batch smaller than the ranks is refused up front" mpi 3 "$simclr" baseline "${common[@]}" \
    --width 16 --depth 2 --labeled-batch 79 --out "$work/bad"
expect_text "$work/err" "--labeled-batch 79: the last batch of an epoch has 1 of the 80 labeled images, fewer than the 3 ranks" \
    "naming the option and the counts"
[ ! -e "$work/bad" ] && pass "bad input writes nothing" || fail "bad input left $work/bad"

# 2. Ten steps: losses and weights.
ten=("${common[@]}" "${tiny[@]}" --epochs 10 --steps-per-epoch 1 --head-bn --loss nt-xent)
expect_status 0 "10 steps, one process" "$simclr" pretrain "${ten[@]}" --out "$work/ten1"
expect_status 0 "10 steps, 2 ranks" mpi 2 "$simclr" pretrain "${ten[@]}" --out "$work/ten2"
expect_status 0 "10 steps, 3 ranks" mpi 3 "$simclr" pretrain "${ten[@]}" --out "$work/ten3"
for n in 2 3; do
    if compare history "$work/ten$n/pretrain_history.csv" "$work/ten1/pretrain_history.csv" c_loss 1e-4 >"$work/cmp"; then
        pass "10 steps on $n ranks: losses ($(cat "$work/cmp"))"; else fail "10 steps on $n ranks: $(cat "$work/cmp")"; fi
    if compare weights "$work/ten$n/pretrain.safetensors" "$work/ten1/pretrain.safetensors" 1e-4 >"$work/cmp"; then
        pass "10 steps on $n ranks: weights ($(cat "$work/cmp"))"; else fail "10 steps on $n ranks: $(cat "$work/cmp")"; fi
done
expect_text "$work/ten2/pretrain_config.json" '"ranks": 2' "the config records the ranks"
[ ! -e "$work/ten2/pretrain_config.json.tmp" ] && pass "no partial files" || fail "a partial file is left"

# 3. Resume with another N: 2 ranks for 4 epochs, then 3 ranks to 10 = the 10-step run.

expect_status 0 "4 steps on 2 ranks" mpi 2 "$simclr" pretrain "${common[@]}" "${tiny[@]}" --epochs 4 \
    --steps-per-epoch 1 --head-bn --loss nt-xent --out "$work/resumed"
expect_status 0 "resumed on 3 ranks to 10 steps" mpi 3 "$simclr" pretrain "${ten[@]}" --resume "$work/resumed"
if compare weights "$work/resumed/pretrain.safetensors" "$work/ten1/pretrain.safetensors" 1e-4 >"$work/cmp"; then
    pass "resume with another N: weights ($(cat "$work/cmp"))"; else fail "resume with another N: $(cat "$work/cmp")"; fi
if compare history "$work/resumed/pretrain_history.csv" "$work/ten1/pretrain_history.csv" c_loss 1e-4 >"$work/cmp"; then
    pass "resume with another N: losses ($(cat "$work/cmp"))"; else fail "resume with another N: $(cat "$work/cmp")"; fi

# 4. The supervised baseline over 2 ranks.
base=("${common[@]}" --width 16 --depth 2 --labeled-batch 9 --epochs 3 --steps-per-epoch 2)
expect_status 0 "baseline, one process" "$simclr" baseline "${base[@]}" --out "$work/b1"
expect_status 0 "baseline, 2 ranks" mpi 2 "$simclr" baseline "${base[@]}" --out "$work/b2"
if compare history "$work/b2/baseline_history.csv" "$work/b1/baseline_history.csv" loss 1e-4 >"$work/cmp"; then
    pass "baseline on 2 ranks: losses ($(cat "$work/cmp"))"; else fail "baseline on 2 ranks: $(cat "$work/cmp")"; fi
if compare history "$work/b2/baseline_history.csv" "$work/b1/baseline_history.csv" val_loss 1e-4 >"$work/cmp"; then
    pass "baseline on 2 ranks: sharded evaluation ($(cat "$work/cmp"))"; else fail "baseline on 2 ranks: $(cat "$work/cmp")"; fi

# 5. A killed rank: the job ends non-zero within seconds, naming it; the checkpoint resumes.
long=("${common[@]}" "${tiny[@]}" --epochs 100000 --steps-per-epoch 1 --out "$work/killed")
mpi 2 sh -c 'echo $$ > "$0/pid.$OMPI_COMM_WORLD_RANK"; exec "$@"' "$work" "$simclr" pretrain "${long[@]}" \
    >"$work/kill_out" 2>"$work/kill_err" &
job=$!
for _ in $(seq 1 300); do [ -e "$work/killed/pretrain.safetensors" ] && [ -e "$work/pid.1" ] && break; sleep 0.1; done
sleep 0.5
kill -9 "$(cat "$work/pid.1")"
killed_at=$(date +%s)
ended=0
for _ in $(seq 1 150); do if ! kill -0 "$job" 2>/dev/null; then ended=1; break; fi; sleep 0.1; done
if [ "$ended" -eq 1 ]; then
    wait "$job"; status=$?
    [ "$status" -ne 0 ] && pass "killed rank: the job exits non-zero ($status) within $(( $(date +%s) - killed_at )) s" ||
        fail "killed rank: the job exited 0"
    if grep -qiE "rank 1|process rank 1" "$work/kill_err" "$work/kill_out"; then pass "killed rank: rank 1 named"; else
        fail "killed rank: rank 1 not named"; sed 's/^/    /' "$work/kill_err" | tail -8; fi
else
    fail "killed rank: the job still runs 15 s later"; kill -9 "$job" 2>/dev/null
fi
expect_status 0 "killed rank: the checkpoint resumes (one process)" "$simclr" pretrain "${common[@]}" "${tiny[@]}" \
    --epochs "$(( $(tail -n +2 "$work/killed/pretrain_history.csv" | wc -l) + 1 ))" --steps-per-epoch 1 --resume "$work/killed"
# 6. Ctrl-C to mpirun: every rank stops after the same step, rank 0 saves, the ranks exit 130; it resumes.
# (mpirun itself in the background, not a function: $! must be its pid.)
mpirun --oversubscribe --bind-to none -np 2 "$simclr" pretrain "${common[@]}" "${tiny[@]}" --epochs 100000 \
    --steps-per-epoch 50 --out "$work/stopped" >"$work/stop_out" 2>"$work/stop_err" &
job=$!
for _ in $(seq 1 300); do [ -e "$work/stopped/pretrain.safetensors" ] && break; sleep 0.1; done
kill -INT "$job"
for _ in $(seq 1 300); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
kill -0 "$job" 2>/dev/null && { fail "Ctrl-C under mpirun: still running 30 s later"; kill -9 "$job"; }
wait "$job"; status=$?
# Each rank exits 130; mpirun's own status after a SIGINT is its choice (Open MPI 4.1: 1).
[ "$status" -ne 0 ] && pass "Ctrl-C under mpirun: exit non-zero ($status)" || fail "Ctrl-C under mpirun: exit 0"
[ "$(grep -c "interrupted in epoch\|interrupted after epoch" "$work/stop_err")" -eq 2 ] &&
    pass "Ctrl-C under mpirun: both ranks stopped at the same step" || fail "Ctrl-C under mpirun: the ranks did not stop together"
expect_text "$work/stop_err" "saved $work/stopped/pretrain.safetensors" "Ctrl-C under mpirun: the checkpoint is saved"
epochs=$(( $(tail -n +2 "$work/stopped/pretrain_history.csv" | wc -l) + 1 ))
expect_status 0 "Ctrl-C under mpirun: resumed on 3 ranks" mpi 3 "$simclr" pretrain "${common[@]}" "${tiny[@]}" \
    --epochs "$epochs" --steps-per-epoch 50 --resume "$work/stopped"
harness_finish
