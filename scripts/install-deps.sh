#!/usr/bin/env bash
# Installs the Debian packages simclr needs to build, test and run, when any is missing.
# Extra groups: `install-deps.sh fuzz` (clang + libFuzzer + LLVM's OpenMP, for build-fuzz/),
# `install-deps.sh bench` (the PyTorch twin of the benchmark).
set -euo pipefail
packages=(build-essential cmake pkg-config libdnnl-dev libopenblas-openmp-dev zlib1g-dev
          libpng-dev libjpeg62-turbo-dev libplplot-dev plplot-driver-cairo libcairo2-dev
          libcmocka-dev liblapacke-dev dataset-fashion-mnist
          libcurl4-openssl-dev libarchive-dev libssl-dev
          libfaiss-dev  # issue 26: similar --index hnsw, optional at build time
          libopenmpi-dev openmpi-bin  # issue 14: data-parallel training (mpirun), optional at build time
          python3-numpy python3-pytest python3-venv python3-setuptools) # python/ and its tests
for group in "$@"; do
  case "$group" in
    fuzz) packages+=(clang clang-14 libclang-rt-14-dev libomp-14-dev) ;; # `clang`, libFuzzer, omp.h
    bench) packages+=(python3-torch python3-torchvision python3-numpy libgoogle-perftools4) ;;
    *) echo "install-deps: unknown group '$group' (expected fuzz or bench)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
