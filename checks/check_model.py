#!/usr/bin/env python3
"""check_model.py MODEL — read a layerlab model with numpy alone, as a user would.

Checks the safetensors layout: an 8-byte little-endian header length (a
multiple of 8, as layerlab pads it), a JSON header of tensors (dtype, shape,
data_offsets; names without NUL) plus __metadata__, data that is covered
exactly, without gaps or overlaps, and finite float values: the rules
lib/model.c holds a file to when loading it (docs/models.md). Exits 77
(CTest's skip) when numpy is missing.
"""
import json
import struct
import sys

try:
    import numpy as np
except ImportError:
    print("numpy is not installed for this python (make deps installs python3-numpy): skipped")
    sys.exit(77)

DTYPES = {"F32": "<f4", "F64": "<f8"}


def main(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0, f"header length {n} is not a multiple of 8"
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop("__metadata__")
    assert meta["format"] == "layerlab", meta
    spans = []
    for name, t in header.items():
        assert "\0" not in name, repr(name)
        lo, hi = t["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
        assert np.all(np.isfinite(a)), name
        spans.append((lo, hi, name))
        print(f"{name:28s} {t['dtype']} {tuple(t['shape'])}")
    spans.sort()
    end = 0
    for lo, hi, name in spans:
        assert lo == end, f"gap or overlap before {name}: {end} != {lo}"
        end = hi
    assert end == len(data), f"data has {len(data)} bytes, tensors cover {end}"
    print(f"ok: {len(spans)} tensors, {end} bytes, layers {meta['layers']}")


if __name__ == "__main__":
    main(sys.argv[1])
