#!/usr/bin/env bash
# simclr download, offline: a local HTTP server (tests/download_server.py) serves synthetic
# archives in the official layouts (tests/download_fixtures.py); --checksums gives their MD5s.
# Happy path for all five datasets (simclr info reads the result; three through a redirect), idempotence, resume after a
# cut transfer (with and without Range support), Ctrl-C, wrong checksum, truncated archive, a server that
# stops answering, one that never answers, HTTP 404, a folder changed after unpacking, bad input.
source "$(dirname "$0")/download_test_lib.sh"
sums=$fixtures/checksums.md5

# ---- happy path, then simclr info reads it; a second run does nothing ----
d=$work/cifar10
run cifar10 0 download cifar10 --data-dir "$d" --url "$base/ok/" --checksums "$sums"
expect_in cifar10 out "cifar10: ready in $d/cifar-10-batches-bin"
expect_in cifar10 err "md5 verified"
run cifar10_info 0 info --dataset cifar10 --data-dir "$d"
expect_split cifar10_info train 15
expect_split cifar10_info test 3
[ -e "$d/cifar-10-binary.tar.gz" ] && fail "cifar10: the archive is left after unpacking"
ls -A "$d" | grep -q '^\.unpack-\|\.partial$' && fail "cifar10: temporary files left: $(ls -A "$d")"
(cd "$d/cifar-10-batches-bin" && sha256sum --quiet -c .simclr-sha256sums) || fail "cifar10: manifest does not verify"
before=$(wc -l < "$requests")
run cifar10_again 0 download cifar10 --data-dir "$d" --url "$base/ok/" --checksums "$sums"
expect_in cifar10_again out "already present and verified"
[ "$(wc -l < "$requests")" -eq "$before" ] || fail "cifar10_again: the second run sent a request"

for dataset in stl10 cifar100 mnist; do
  run "$dataset" 0 download "$dataset" --data-dir "$work/$dataset" --url "$base/redirect" --checksums "$sums" --quiet
  [ -s "$work/$dataset.err" ] && fail "$dataset: --quiet still wrote: $(cat "$work/$dataset.err")"
  run "${dataset}_info" 0 info --dataset "$dataset" --data-dir "$work/$dataset"
done
expect_split stl10_info unlabeled 3
expect_split stl10_info train 4
expect_in cifar100_info out "classes (100)"
expect_in mnist_info out "image shape  28 x 28 x 1"
grep -q '^redirect stl10_binary.tar.gz' "$requests" && grep -q '^ok stl10_binary.tar.gz' "$requests" ||
  fail "stl10: the redirect was not followed"

run fashion 0 download --dataset fashion-mnist --data-dir "$work/fashion" --url "$base/ok/fashion/" \
  --checksums "$fixtures/fashion.md5"
run fashion_info 0 info --dataset fashion-mnist --data-dir "$work/fashion"
expect_split fashion_info train 12
expect_split fashion_info test 5
run fashion_again 0 download fashion-mnist --data-dir "$work/fashion" --url "$base/ok/fashion/" \
  --checksums "$fixtures/fashion.md5"
expect_in fashion_again out "already present and verified"
# A corrupted .gz is fetched again.
printf 'x' | dd of="$work/fashion/t10k-labels-idx1-ubyte.gz" bs=1 seek=20 conv=notrunc status=none
run fashion_repair 0 download fashion-mnist --data-dir "$work/fashion" --url "$base/ok/fashion/" \
  --checksums "$fixtures/fashion.md5"
expect_in fashion_repair err "t10k-labels-idx1-ubyte.gz: present but its md5 differs"
cmp -s "$work/fashion/t10k-labels-idx1-ubyte.gz" "$fixtures/fashion/t10k-labels-idx1-ubyte.gz" ||
  fail "fashion_repair: the corrupted file was not replaced"

# ---- resume: the first transfer is cut half-way, the second asks for the rest ----
d=$work/resume
run cut 1 download cifar10 --data-dir "$d" --url "$base/cut/" --checksums "$sums"
expect_in cut err "the transfer was cut after"
expect_in cut err "the partial file is kept"
partial_size=$(stat -c %s "$d/cifar-10-binary.tar.gz.partial" 2>/dev/null || echo 0)
[ "$partial_size" -gt 0 ] || fail "cut: no partial file kept"
run resumed 0 download cifar10 --data-dir "$d" --url "$base/ok/" --checksums "$sums"
expect_in resumed err "resuming after"
grep -q "^ok cifar-10-binary.tar.gz range=bytes=$partial_size-\$" "$requests" ||
  fail "resumed: no 'Range: bytes=$partial_size-' request (log: $(tail -2 "$requests"))"
run resumed_info 0 info --dataset cifar10 --data-dir "$d"

# A server without Range support: the download starts over and still verifies.
d=$work/norange
run cut2 1 download cifar10 --data-dir "$d" --url "$base/cut/" --checksums "$sums"
run norange 0 download cifar10 --data-dir "$d" --url "$base/norange/" --checksums "$sums"
expect_in norange err "the server does not resume; starting over"

# ---- wrong checksum: file removed, clear error, exit 1 ----
d=$work/wrong
run wrong 1 download cifar10 --data-dir "$d" --url "$base/wrong/" --checksums "$sums"
expect_in wrong err "checksum mismatch: md5 is"
expect_in wrong err "the file was removed"
[ ! -e "$d" ] || fail "wrong: left $d after a checksum mismatch: $(ls -A "$d")"
# The published MD5 is checked when no --checksums is given: the synthetic archive fails it.
run published 1 download cifar10 --data-dir "$d" --url "$base/ok/"
expect_in published err "expected c32a1d4ab5d03f1284b67883e8d87530 (published checksum)"
# A resumed file that does not verify is fetched again from the start, once.
mkdir -p "$d"
head -c 5000 "$fixtures/stl10_binary.tar.gz" > "$d/stl10_binary.tar.gz.partial"
printf 'garbage' | dd of="$d/stl10_binary.tar.gz.partial" bs=1 seek=100 conv=notrunc status=none
run bad_partial 0 download stl10 --data-dir "$d" --url "$base/ok/" --checksums "$sums"
expect_in bad_partial err "the resumed file does not match its md5; fetching it again from the start"

# ---- truncated archive (its checksum matches, libarchive finds it cut) ----
d=$work/truncated
run truncated 1 download cifar10 --data-dir "$d" --url "$base/ok/truncated/" --checksums "$fixtures/truncated.md5"
expect_in truncated err "truncated"
expect_in truncated err "nothing was unpacked and the archive was removed"
[ -z "$(ls -A "$d")" ] || fail "truncated: files left: $(ls -A "$d")"

# ---- a server that stops answering mid-transfer, one that never answers: --timeout ----
d=$work/stall
start=$(date +%s)
run stall 1 download cifar10 --data-dir "$d" --url "$base/stall/" --checksums "$sums" --timeout 2
elapsed=$(($(date +%s) - start))
expect_in stall err "the server stopped sending: nothing received for 2 s (--timeout 2)"
[ "$elapsed" -le 6 ] || fail "stall: took $elapsed s with --timeout 2"
[ -s "$d/cifar-10-binary.tar.gz.partial" ] || fail "stall: the partial file was not kept"
run stall_resumed 0 download cifar10 --data-dir "$d" --url "$base/ok/" --checksums "$sums" --timeout 2
start=$(date +%s)
run silent 1 download cifar100 --data-dir "$d" --url "$base/silent/" --checksums "$sums" --timeout 2
elapsed=$(($(date +%s) - start))
expect_in silent err "no answer within 2 s (--timeout 2)"
[ "$elapsed" -le 6 ] || fail "silent: took $elapsed s with --timeout 2"
run missing 1 download cifar100 --data-dir "$d" --url "$base/ok/nowhere/" --checksums "$sums"
expect_in missing err "the server answered HTTP 404"
[ -e "$d/cifar-100-binary.tar.gz.partial" ] && fail "missing: an empty partial file was left"
# Nothing listens on the port of the server once it is gone: the test stops a second one.
"$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' > "$work/free_port"
run refused 1 download cifar100 --data-dir "$d" --url "http://127.0.0.1:$(cat "$work/free_port")/" --checksums "$sums"
expect_in refused err "cannot connect to http://127.0.0.1:"
# Issue 27: no network says the ways round it, and a run that fetched nothing leaves no folder.
expect_in refused err "put it in $d and run this command again"
expect_in refused err "or give --url with a mirror's address"
run refused_fresh 1 download cifar100 --data-dir "$work/fresh/nested" --url "http://127.0.0.1:$(cat "$work/free_port")/" \
    --checksums "$sums"
[ -e "$work/fresh" ] && fail "refused_fresh: left $(find "$work/fresh")"

# ---- a folder changed after unpacking is fetched again; one simclr did not write is refused ----
d=$work/cifar10
printf 'x' | dd of="$d/cifar-10-batches-bin/test_batch.bin" bs=1 seek=10 conv=notrunc status=none
run changed 0 download cifar10 --data-dir "$d" --url "$base/ok/" --checksums "$sums"
expect_in changed err "changed since it was unpacked"
(cd "$d/cifar-10-batches-bin" && sha256sum --quiet -c .simclr-sha256sums) || fail "changed: not repaired"
rm "$d/cifar-10-batches-bin/.simclr-sha256sums"
run foreign 2 download cifar10 --data-dir "$d" --url "$base/ok/" --checksums "$sums"
expect_in foreign err "exists but was not written by simclr download"

# ---- Ctrl-C during a transfer: exit 130, the partial file kept, the next run resumes ----
d=$work/interrupted
"$simclr" download cifar10 --data-dir "$d" --url "$base/stall/" --checksums "$sums" --timeout 20 \
  > "$work/interrupted.out" 2> "$work/interrupted.err" &
pid=$!
for _ in $(seq 100); do [ -s "$d/cifar-10-binary.tar.gz.partial" ] && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
status=$?
[ "$status" -eq 130 ] || fail "interrupted: exit status $status, expected 130"
expect_in interrupted err "simclr: stopping the download"
expect_in interrupted err "download interrupted after"
[ -s "$d/cifar-10-binary.tar.gz.partial" ] || fail "interrupted: the partial file was not kept"
run interrupted_resumed 0 download cifar10 --data-dir "$d" --url "$base/ok/" --checksums "$sums"
expect_in interrupted_resumed err "resuming after"

# ---- the file's own URL as --url; a second run in the same folder while one is running ----
run file_url 0 download cifar100 --data-dir "$work/file_url" --url "$base/ok/cifar-100-binary.tar.gz" --checksums "$sums"
"$simclr" download cifar100 --data-dir "$work/busy" --url "$base/silent/busy/" --checksums "$sums" --timeout 3 \
  > /dev/null 2>&1 &
first=$!
for _ in $(seq 100); do grep -q '^silent busy/' "$requests" && break; sleep 0.1; done
run busy 2 download cifar100 --data-dir "$work/busy" --url "$base/ok/" --checksums "$sums"
expect_in busy err "another simclr download is running there"
wait "$first"

# ---- bad input: exit 2 with the flag named ----
run unknown 2 download imagenet --data-dir "$work/x"
expect_in unknown err "unknown dataset 'imagenet'; expected one of stl10|cifar10|cifar100|mnist|fashion-mnist"
run no_dataset 2 download --data-dir "$work/x"
expect_in no_dataset err "which dataset?"
run no_dir 2 download mnist
expect_in no_dir err "--data-dir DIR is required"
touch "$work/a_file"
run not_dir 2 download mnist --data-dir "$work/a_file/sub" --url "$base/ok/"
expect_in not_dir err "--data-dir: cannot create folder"
run bad_timeout 2 download mnist --data-dir "$work/x" --timeout 0
expect_in bad_timeout err "--timeout expects an integer in [1, 86400]"
run bad_url 2 download mnist --data-dir "$work/x" --url "ftp://127.0.0.1/" --checksums "$sums"
expect_in bad_url err "--url: cannot fetch ftp://127.0.0.1/train-images-idx3-ubyte.gz"
printf 'not-a-checksum  mnist\n' > "$work/bad.md5"
run bad_sums 2 download mnist --data-dir "$work/x" --checksums "$work/bad.md5"
expect_in bad_sums err "--checksums $work/bad.md5: line 1: expected"
run no_sums 2 download mnist --data-dir "$work/x" --checksums "$work/none.md5"
expect_in no_sums err "--checksums $work/none.md5: cannot open"
finish
