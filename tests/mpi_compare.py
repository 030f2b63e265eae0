"""Comparisons for tests/cli_mpi.sh (issue 14), with NumPy only:
  mpi_compare.py grads A.f32 B.f32 TOL        relative L2 difference of two raw float32 gradient dumps
  mpi_compare.py weights A.safetensors B.safetensors TOL
                                              largest difference of a float32 tensor, relative to its largest magnitude
  mpi_compare.py history A.csv B.csv COLUMN TOL
                                              largest relative difference of a history column
Prints the measured difference and exits 1 when it is above TOL."""
import csv
import json
import struct
import sys

import numpy as np


def safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] != "F32":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4")
    return tensors


def main():
    kind, a, b = sys.argv[1:4]
    if kind == "grads":
        x, y = np.fromfile(a, dtype="<f4").astype(np.float64), np.fromfile(b, dtype="<f4").astype(np.float64)
        if x.shape != y.shape:
            print(f"sizes differ: {x.size} and {y.size}")
            return 1
        value = np.linalg.norm(x - y) / max(np.linalg.norm(y), 1e-30)
        tolerance = float(sys.argv[4])
        label = "relative gradient difference"
    elif kind == "weights":
        x, y = safetensors(a), safetensors(b)
        if set(x) != set(y) or not x:
            print("the checkpoints hold different tensors")
            return 1
        # Relative to each tensor's largest magnitude: the checkpoint also holds Adam's moments,
        # whose second moment reaches ~30 here, where float rounding alone is 1e-4 absolute.
        value = max(float(np.max(np.abs(x[k].astype(np.float64) - y[k])) / max(float(np.max(np.abs(y[k]))), 1e-30))
                    if x[k].size else 0.0 for k in x)
        tolerance = float(sys.argv[4])
        label = "largest weight difference (of the tensor's largest magnitude)"
    else:
        column, tolerance = sys.argv[4], float(sys.argv[5])
        def read(path):
            with open(path) as f:
                return np.array([float(row[column]) for row in csv.DictReader(f)])
        x, y = read(a), read(b)
        if x.shape != y.shape:
            print(f"{x.size} and {y.size} epochs")
            return 1
        value = float(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1e-30)))
        label = f"largest relative difference of {column}"
    print(f"{label}: {value:.3g} (tolerance {tolerance:g})")
    return 0 if value <= tolerance else 1


sys.exit(main())
