#!/usr/bin/env bash
# Issue 14, the build without MPI (cmake -DSIMCLR_MPI=OFF) without rebuilding everything: the
# communicator's no-MPI branch compiles with the project's warnings and refuses a launch by mpirun
# (exit 2 from the CLI; -1 and the message here); and
# libsimclr itself links no MPI whatever the configuration (only the CLI's simclr_mpi does).
set -uo pipefail
simclr=$1
build=$(cd "$(dirname "$simclr")" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
source "$(dirname "$0")/harness.sh"
command -v cc >/dev/null || { echo "skipping: no C compiler"; exit 77; }
cat >"$work/driver.c" <<'C'
#include <stdio.h>
#include "mpi_communicator.h"
int main(int argc, char **argv)
{
    simclr_communicator comm;
    if (simclr_mpi_communicator_init(&argc, &argv, &comm) != -1) return 1;
    return comm.size == 1 && comm.rank == 0 ? 0 : 3;
}
C
# A sanitizer build of the library needs its runtime in the driver too.
sanitize=()
if readelf -d "$build/libsimclr.so.0" 2>/dev/null | grep -q 'NEEDED.*libasan'; then
    sanitize=(-fsanitize=address,undefined)
    export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0
fi
expect_status 0 "the no-MPI communicator compiles with -Wall -Wextra -Werror" cc -std=c11 -Wall -Wextra -Werror "${sanitize[@]}" \
    -D_POSIX_C_SOURCE=200809L -I"$root/include" -I"$root/src/dist/mpi" "$work/driver.c" \
    "$root/src/dist/mpi/mpi_communicator.c" -L"$build" -lsimclr -Wl,-rpath,"$build" -o "$work/driver"
expect_status 0 "without MPI a launch by mpirun is refused" env OMPI_COMM_WORLD_SIZE=2 "$work/driver"
expect_text "$work/err" "this build has no MPI" "the refusal says why"
expect_text "$work/err" "-DSIMCLR_MPI=ON" "and how to rebuild"
if ldd "$build/libsimclr.so.0" 2>/dev/null | grep libmpi >/dev/null; then fail "libsimclr.so links MPI"; else
    pass "libsimclr.so does not link MPI"; fi
harness_finish
