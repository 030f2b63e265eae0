#!/usr/bin/env bash
# Issue 24: docs/ARCHITECTURE.md's layer list is the code's: every dependency between the folders
# of src/ (a call between their objects, or an include of one's header) is one the list allows,
# every one it lists exists, and the list has no cycle (tools/check_architecture.py, over the
# objects of this build). Needs python3 and nm (skips otherwise).
set -uo pipefail
simclr=$1
build=$(dirname "$simclr")
root=$(cd "$(dirname "$0")/.." && pwd)
python=$(command -v python3 || true)
if [ -z "$python" ] || ! command -v nm >/dev/null; then echo "skipping: python3 or nm is missing"; exit 77; fi
"$python" "$root/tools/check_architecture.py" "$build"
