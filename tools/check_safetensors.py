#!/usr/bin/env python3
"""Cross-checks simclr's safetensors files against the reference implementation.

    tools/check_safetensors.py check FILE...   parse each FILE with a plain-Python reader of the
                                               format and, when the `safetensors` package is
                                               installed (pip install safetensors numpy), with
                                               its safe_open reader too; print the tensors
                                               and metadata; exit 1 if either disagrees or fails.
    tools/check_safetensors.py write FILE      write a reference file with the `safetensors`
                                               package (F32, F64, F16, I64, I32, U8 + metadata),
                                               for simclr's reader to load.

Not used by the tests (they need no Python); run by hand after changing src/io/safetensors_*.c.
"""
import json
import struct
import sys

DTYPES = {  # name -> (struct format, size)
    "F64": ("d", 8), "F32": ("f", 4), "F16": ("e", 2), "BF16": (None, 2),
    "I64": ("q", 8), "I32": ("i", 4), "I16": ("h", 2), "I8": ("b", 1),
    "U64": ("Q", 8), "U32": ("I", 4), "U16": ("H", 2), "U8": ("B", 1), "BOOL": ("?", 1),
}


def read_plain(path):
    """Parses the file as the format describes it; returns (metadata, {name: (dtype, shape, values)})."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("shorter than 8 bytes")
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > min(len(data) - 8, 100_000_000):
        raise ValueError(f"header length {header_length} too large")
    header = json.loads(data[8:8 + header_length].decode("utf-8"))
    body = data[8 + header_length:]
    metadata = header.pop("__metadata__", {})
    tensors, spans = {}, []
    for name, info in header.items():
        fmt, size = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        count = 1
        for dim in info["shape"]:
            count *= dim
        if end - begin != count * size or end > len(body):
            raise ValueError(f"{name}: offsets {begin, end} do not fit shape {info['shape']}")
        raw = body[begin:end]
        if fmt is None:  # bfloat16: the high half of a float32
            values = [struct.unpack("<f", b"\0\0" + raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
        else:
            values = list(struct.unpack(f"<{count}{fmt}", raw))
        tensors[name] = (info["dtype"], info["shape"], values)
        spans.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise ValueError(f"{name}: gap or overlap at {begin} (expected {position})")
        position = end
    if position != len(body):
        raise ValueError(f"{len(body) - position} trailing bytes")
    return metadata, tensors


def check(path):
    metadata, tensors = read_plain(path)
    print(f"{path}: {len(tensors)} tensors, metadata {metadata}")
    for name, (dtype, shape, values) in sorted(tensors.items()):
        preview = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values[:4])
        print(f"  {name}: {dtype} {shape} [{preview}{', ...' if len(values) > 4 else ''}]")
    try:
        import numpy
        from safetensors import safe_open
    except ImportError:
        print("  (safetensors or numpy not installed: plain-Python check only)")
        return True
    ok = True
    with safe_open(path, framework="numpy") as f:  # the Rust reader validates the whole header
        ok &= (f.metadata() or {}) == metadata and set(f.keys()) == set(tensors)
        for name in f.keys():
            dtype, shape, values = tensors[name]
            if dtype == "BF16":
                continue  # numpy has no bfloat16; the header was still validated
            array = f.get_tensor(name)
            expected = numpy.array(values, dtype=array.dtype).reshape(shape)
            ok &= list(array.shape) == shape and numpy.array_equal(array, expected)
    print(f"  safetensors (safe_open, numpy): {'agrees' if ok else 'DISAGREES'}")
    return ok


def write(path):
    import numpy
    from safetensors.numpy import save_file
    tensors = {
        "conv.kernel": numpy.arange(2 * 3 * 3 * 1, dtype=numpy.float32).reshape(2, 3, 3, 1) / 8,
        "double": numpy.array([1.5, -2.25], dtype=numpy.float64),
        "half": numpy.array([0.5, 2.0, -1.0], dtype=numpy.float16),
        "step": numpy.array(12345678901, dtype=numpy.int64),
        "labels": numpy.array([3, -1, 7], dtype=numpy.int32),
        "mask": numpy.array([0, 1, 255], dtype=numpy.uint8),
    }
    save_file(tensors, path, metadata={"format": "reference", "note": "written by safetensors"})
    print(f"wrote {path}")


def main(argv):
    if len(argv) >= 3 and argv[1] == "check":
        results = []
        for path in argv[2:]:
            try:
                results.append(check(path))
            except Exception as problem:  # report and go on to the next file
                print(f"{path}: FAILED: {problem}")
                results.append(False)
        return 0 if all(results) else 1
    if len(argv) == 3 and argv[1] == "write":
        write(argv[2])
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
