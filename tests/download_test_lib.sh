# Shared by tests/cli_download*.sh (sourced): synthetic archives, the local HTTP server, checks.
# Sets: simclr, work, fixtures, base (http://127.0.0.1:PORT), requests (the server's log).
simclr=${1:?usage: $0 path/to/simclr}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=/usr/bin/python3
if [ ! -x "$python" ]; then
  echo "SKIP: $python is missing (it runs the test's HTTP server)"
  exit 77
fi
# Only loopback: no proxy from the environment may see these requests.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

work=$(mktemp -d "${TMPDIR:-/tmp}/simclr-download-test.XXXXXX")
server_pid=""
mounted=""  # a tmpfs the test mounted (cli_download_full_disk.sh)
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  if [ -n "$mounted" ]; then umount "$mounted" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

fixtures=$work/served
"$python" "$here/download_fixtures.py" "$fixtures" || { echo "FAIL: cannot write the synthetic archives"; exit 1; }
requests=$work/requests.log
: > "$requests"
"$python" "$here/download_server.py" "$fixtures" "$work/port" "$requests" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "FAIL: the test HTTP server did not start"; exit 1; }
base=http://127.0.0.1:$(cat "$work/port")

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# run NAME EXPECTED_STATUS simclr-arguments...: runs simclr, keeps stdout/stderr in $work/NAME.out/.err
run() {
  local name=$1 expected=$2
  shift 2
  "$simclr" "$@" > "$work/$name.out" 2> "$work/$name.err"
  local status=$?
  if [ "$status" -ne "$expected" ]; then
    fail "$name: exit status $status, expected $expected"
    sed 's/^/    /' "$work/$name.out" "$work/$name.err"
  fi
  return 0
}
# expect_in NAME out|err TEXT: the run's output holds TEXT
expect_in() {
  grep -qF -- "$3" "$work/$1.$2" || { fail "$1: std$2 lacks '$3'"; sed 's/^/    /' "$work/$1.$2"; }
}
# expect_split NAME SPLIT COUNT: simclr info's output (run NAME) gives SPLIT that many images
expect_split() {
  local got
  got=$(awk -v want="$2" '$1 == want { print $2; exit }' "$work/$1.out")
  [ "$got" = "$3" ] || fail "$1: $2 has '${got}' images, expected $3"
}
finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed"
  exit 0
}
