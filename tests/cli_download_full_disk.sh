#!/usr/bin/env bash
# simclr download on a full disk: a small tmpfs (mounted in a private mount namespace, so nothing
# outlives the test) as --data-dir. Fetching: clear error, exit 1, the partial file kept, and
# the same command resumes once there is room. Unpacking: clear error, the temporary folder
# removed, the verified archive kept and unpacked by the next run without fetching it again.
# Then the tmpfs read-only: an unwritable --data-dir is bad input (exit 2) when something has to be
# written.
# Skipped (exit 77) where mounting a tmpfs is not allowed.
if [ -z "${SIMCLR_DOWNLOAD_IN_NAMESPACE:-}" ]; then
  for flags in -m -rm; do
    if unshare $flags true 2>/dev/null; then
      SIMCLR_DOWNLOAD_IN_NAMESPACE=1 exec unshare $flags bash "$0" "$@"
    fi
  done
  echo "SKIP: cannot create a mount namespace (unshare -m / -rm) for the tmpfs"
  exit 77
fi
source "$(dirname "$0")/download_test_lib.sh"
disk=$work/disk
mkdir -p "$disk"
if ! mount -t tmpfs -o size=128k tmpfs "$disk" 2>/dev/null; then
  echo "SKIP: mounting a tmpfs is not allowed here"
  exit 77
fi
mounted=$disk
sums=$fixtures/large.md5
url=$base/ok/large/
archive_size=$(stat -c %s "$fixtures/large/cifar-10-binary.tar.gz")

# ---- the disk fills while fetching (128 KiB for a ${archive_size}-byte archive) ----
run fetch_full 1 download cifar10 --data-dir "$disk/data" --url "$url" --checksums "$sums"
expect_in fetch_full err "disk full writing $disk/data/cifar-10-binary.tar.gz.partial"
expect_in fetch_full err "the partial file is kept"
kept=$(stat -c %s "$disk/data/cifar-10-binary.tar.gz.partial" 2>/dev/null || echo 0)
[ "$kept" -gt 0 ] && [ "$kept" -lt "$archive_size" ] || fail "fetch_full: partial file of $kept bytes"
mount -o remount,size=2m "$disk" || fail "cannot grow the tmpfs"
run fetch_resumed 0 download cifar10 --data-dir "$disk/data" --url "$url" --checksums "$sums"
expect_in fetch_resumed err "resuming after"
grep -q "range=bytes=$kept-" "$requests" || fail "fetch_resumed: no Range request from byte $kept"
run fetch_info 0 info --dataset cifar10 --data-dir "$disk/data"
expect_split fetch_info train 70

# ---- the disk fills while unpacking (room for the archive, not for it and its contents) ----
rm -rf "$disk/data"
mount -o remount,size=$((archive_size * 3 / 2 / 1024))k "$disk" || fail "cannot shrink the tmpfs"
run unpack_full 1 download cifar10 --data-dir "$disk/data" --url "$url" --checksums "$sums"
expect_in unpack_full err "disk full unpacking $disk/data/cifar-10-binary.tar.gz"
expect_in unpack_full err "the verified archive is kept"
[ -e "$disk/data/cifar-10-batches-bin" ] && fail "unpack_full: a half-unpacked folder is in place"
ls -A "$disk/data" | grep -q '^\.unpack-' && fail "unpack_full: the temporary folder was left"
[ -s "$disk/data/cifar-10-binary.tar.gz" ] || fail "unpack_full: the verified archive was removed"
mount -o remount,size=2m "$disk" || fail "cannot grow the tmpfs"
before=$(wc -l < "$requests")
run unpack_again 0 download cifar10 --data-dir "$disk/data" --url "$url" --checksums "$sums"
expect_in unpack_again err "already here and verified; unpacking it"
[ "$(wc -l < "$requests")" -eq "$before" ] || fail "unpack_again: the archive was fetched again"
run unpack_info 0 info --dataset cifar10 --data-dir "$disk/data"
expect_split unpack_info test 14

# ---- a read-only --data-dir (root ignores permissions, not a read-only mount): exit 2 when
# something has to be written; a complete dataset there is simply verified ----
mount -o remount,ro "$disk" || fail "cannot make the tmpfs read-only"
run read_only_complete 0 download cifar10 --data-dir "$disk/data" --url "$url" --checksums "$sums"
expect_in read_only_complete out "already present and verified"
run read_only 2 download mnist --data-dir "$disk/data" --url "$base/ok/" --checksums "$fixtures/checksums.md5"
expect_in read_only err "--data-dir $disk/data is not writable: Read-only file system"
run read_only_new 2 download mnist --data-dir "$disk/new" --url "$url" --checksums "$sums"
expect_in read_only_new err "--data-dir: cannot create folder $disk/new"
finish
