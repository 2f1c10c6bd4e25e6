#!/usr/bin/env python3
"""make_corpus.py: writes the seed corpus of the fuzz targets (checks/fuzz/corpus/).

    python3 checks/fuzz/make_corpus.py [OUT_DIR]     (default: corpus/ next to this script)

Every seed is written from scratch with the Python standard library, by a
writer independent of layerlab's, following each format's specification: a
few small valid files and the edge cases worth starting from. A name starting
with "ok-" must load and one starting with "bad-" must be rejected: the
replayer (checks/fuzz/replay.c) holds every seed to its prefix under CTest.
gzip output is deterministic (mtime 0), so rerunning changes no file.
"""
import gzip
import json
import os
import struct
import sys

# --- IDX (fuzz_idx.c: image file, separator, label file) ---------------------

IDX_IMAGES = 0x00000803
IDX_LABELS = 0x00000801
SEPARATOR = b"--labels--"  # fuzz_idx.c splits its input here


def idx(magic, dims, data):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def images(count, rows, cols, data=None):
    if data is None:
        data = [(i * 37) % 256 for i in range(count * rows * cols)]
    return idx(IDX_IMAGES, [count, rows, cols], data)


def labels(values, count=None):
    return idx(IDX_LABELS, [len(values) if count is None else count], values)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def pair(img, lbl):
    return img + SEPARATOR + lbl


def idx_seeds():
    three = images(3, 2, 2)
    three_labels = labels([2, 0, 9])
    gz_three = gz(three)
    return {
        "ok-raw-3x2x2": pair(three, three_labels),
        "ok-gzip-3x2x2": pair(gz_three, gz(three_labels)),
        "ok-gzip-images-raw-labels": pair(gz_three, three_labels),
        "ok-one-1x1": pair(images(1, 1, 1, [255]), labels([9])),
        "ok-two-3x5": pair(images(2, 3, 5), labels([1, 1])),
        # gzip -d reads members one after another, and so does the reader.
        "ok-gzip-two-members": pair(gz(three[:9]) + gz(three[9:]), gz(three_labels)),
        "bad-empty": b"",
        "bad-no-separator": three,
        "bad-swapped": pair(three_labels, three),
        "bad-count-mismatch": pair(three, labels([1, 2])),
        "bad-label-10": pair(three, labels([2, 0, 10])),
        "bad-truncated-raw": pair(three[:-2], three_labels),
        "bad-trailing-raw": pair(three + b"\x07", three_labels),
        "bad-truncated-gzip": pair(gz_three[: len(gz_three) // 2], three_labels),
        # Every data byte is there, but the CRC and length trailer are not.
        "bad-gzip-no-trailer": pair(gz_three[:-8], three_labels),
        "bad-gzip-bad-crc": pair(gz_three[:-8] + bytes(8), three_labels),
        "bad-gzip-trailing-garbage": pair(gz_three + b"junk", three_labels),
        "bad-zero-images": pair(images(0, 2, 2, []), labels([])),
        "bad-side-4097": pair(images(1, 1, 4097, []), labels([0])),
        # Headers that claim far more than the file holds: a clear error,
        # never an allocation of what they claim.
        "bad-claims-2g-images": pair(images(0x80000000, 1, 1, []), labels([0])),
        "bad-claims-1e8-images-4x4": pair(images(100000000, 4, 4, [0] * 16),
                                         labels([0], count=100000000)),
        "bad-claims-1e8-gzip": pair(gz(images(100000000, 4, 4, [0] * 16)),
                                    gz(labels([0], count=100000000))),
        # Issue 13: a header is checked against the 1 GiB cap, and against
        # what its file can hold, before anything is inflated or allocated.
        "bad-claims-2.7e6-images-gzip": pair(gz(images(2700000, 28, 28, [])), gz(labels([0]))),
        "bad-gzip-cannot-inflate-to-claim": pair(gz(images(1000000, 28, 28, [0] * 12)),
                                                 labels([0], count=1000000)),
        "bad-claims-60000-images-raw": pair(images(60000, 28, 28, [0] * 12), labels([0] * 3)),
        # A file gzip shrinks about 1000 times is fine: the inflation bound
        # (1032 to 1) is deflate's own limit, not a guess.
        "ok-gzip-1000-blank-images": pair(gz(images(1000, 28, 28, [0] * 784000)),
                                          gz(labels([0] * 1000))),
        "bad-text": pair(b"hello, world", b"hello, world"),
    }

# --- .npy (fuzz_npy.c: a whole file) ----------------------------------------


def npy(header, data, version=(1, 0), pad=True):
    """A .npy file: magic, version, header length, the header dict padded
    with spaces and a newline to a multiple of 64 bytes, then data."""
    text = header.encode("latin-1")
    length_bytes = 2 if version[0] == 1 else 4
    preamble = 6 + 2 + length_bytes
    if pad:
        total = preamble + len(text) + 1
        text += b" " * ((-total) % 64) + b"\n"
    length = struct.pack("<H" if length_bytes == 2 else "<I", len(text))
    return b"\x93NUMPY" + bytes(version) + length + text + data


def dict_header(descr="<f4", fortran="False", shape="(2, 3)"):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


def f4(values):
    return struct.pack("<%df" % len(values), *values)


def f8(values):
    return struct.pack("<%dd" % len(values), *values)


def npy_seeds():
    six = f4([0.5, -1, 2, 3.25, 1e30, -0.0])
    return {
        "ok-f4-2x3": npy(dict_header(), six),
        "ok-f8-3": npy(dict_header("<f8", shape="(3,)"), f8([1, 2, 3])),
        "ok-scalar": npy(dict_header(shape="()"), f4([7])),
        "ok-rank4": npy(dict_header(shape="(1, 2, 1, 2)"), f4([1, 2, 3, 4])),
        "ok-version2": npy(dict_header(shape="(2,)"), f4([1, 2]), version=(2, 0)),
        "ok-version3": npy(dict_header(shape="(2,)"), f4([1, 2]), version=(3, 0)),
        "ok-keys-reordered-double-quotes":
            npy('{"shape": (2,), "fortran_order": False, "descr": "<f4"}', f4([1, 2])),
        "ok-f8-huge-values": npy(dict_header("<f8", shape="(2,)"), f8([1e300, float("nan")])),
        "bad-empty": b"",
        "bad-magic-only": b"\x93NUMPY",
        "bad-version-9": npy(dict_header(), six, version=(9, 0)),
        "bad-header-past-end": b"\x93NUMPY\x01\x00\xff\xff{'descr'",
        "bad-v2-header-past-end": b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'",
        "bad-claims-1e6-elements": npy(dict_header(shape="(1000, 1000)"), six),
        "bad-fortran": npy(dict_header(fortran="True"), six),
        "bad-big-endian": npy(dict_header(">f4"), six),
        "bad-int32": npy(dict_header("<i4"), six),
        "bad-zero-dim": npy(dict_header(shape="(0, 3)"), b""),
        "bad-rank5": npy(dict_header(shape="(1, 1, 1, 1, 1)"), f4([1])),
        "bad-truncated-data": npy(dict_header(), six[:-4]),
        "bad-trailing-data": npy(dict_header(), six + f4([1])),
        "bad-claims-2g-elements": npy(dict_header(shape="(2147483647, 2)"), f4([1])),
        "bad-shape-overflow": npy(dict_header(shape="(99999999999,)"), f4([1])),
        "bad-missing-shape": npy("{'descr': '<f4', 'fortran_order': False}", f4([1])),
        "bad-unknown-key": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", f4([1])),
        "bad-structured": npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", f4([1])),
        "bad-unterminated-string": npy("{'descr': '<f4", b"", pad=False),
    }

# --- safetensors (fuzz_model.c: a whole file, against its fixed network) -----

# The network of fuzz_model.c and test_model.c, in save order: parameters,
# then buffers.
MODEL_TENSORS = [
    ("conv0.W", [2, 1, 3, 3]),
    ("conv0.b", [2]),
    ("batchnorm1.gamma", [2]),
    ("batchnorm1.beta", [2]),
    ("affine4.W", [18, 3]),
    ("affine4.b", [3]),
    ("batchnorm1.running_mean", [2]),
    ("batchnorm1.running_var", [2]),
]
MODEL_LAYERS = "conv0,batchnorm1,relu2,pool3,affine4"


def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def safetensors(tensors, dtype="F32", metadata=True, edit=None, raw_header=None, values=None,
                replace=(), after=b"", dumps=None):
    """A safetensors file: an 8-byte little-endian header length, the JSON
    header padded with spaces to 8 bytes, then the tensors' data in order.
    edit(header_dict) may change the header before it is written; values
    {(name, index): x} sets single values; replace is a list of (old, new)
    byte strings substituted in the JSON text (escapes json.dumps would not
    write); after is appended to the data; dumps(header) writes the JSON."""
    item = 4 if dtype == "F32" else 8
    pack = f4 if dtype == "F32" else f8
    header, data, offset = {}, b"", 0
    for name, shape in tensors:
        n = count(shape)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n * item]}
        xs = [0.25 * (i % 7) - 0.5 for i in range(n)]
        for (which, index), x in (values or {}).items():
            if which == name:
                xs[index] = x
        data += pack(xs)
        offset += n * item
    if metadata:
        header["__metadata__"] = {"format": "layerlab", "layers": MODEL_LAYERS}
    if edit:
        edit(header)
    if raw_header is not None:
        text = raw_header
    elif dumps:
        text = dumps(header).encode()
    else:
        text = json.dumps(header, separators=(",", ":")).encode()
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    text += b" " * ((-len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + data + after


def model_seeds():
    def set_shape(name, shape):
        return lambda h: h[name].__setitem__("shape", shape)

    def set_offsets(name, offsets):
        return lambda h: h[name].__setitem__("data_offsets", offsets)

    def rename(old, new):
        return lambda h: h.__setitem__(new, h.pop(old))

    valid = safetensors(MODEL_TENSORS)
    return {
        "ok-f32": valid,
        "ok-f64": safetensors(MODEL_TENSORS, dtype="F64"),
        "ok-no-metadata": safetensors(MODEL_TENSORS, metadata=False),
        "ok-reversed-order": safetensors(MODEL_TENSORS[::-1]),
        "bad-empty": b"",
        "bad-short": valid[:5],
        "bad-truncated-data": valid[:-4],
        "bad-header-past-end": struct.pack("<Q", 1 << 40) + b"{}",
        "bad-not-json": struct.pack("<Q", 8) + b"not json",
        "bad-missing-tensor": safetensors(MODEL_TENSORS[:-1]),
        "bad-extra-tensor": safetensors(MODEL_TENSORS + [("affine5.W", [3, 3])]),
        "bad-duplicate": safetensors(MODEL_TENSORS, raw_header=json.dumps(
            {"conv0.b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
        ).encode()[:-1] + b',"conv0.b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'),
        "bad-shape": safetensors(MODEL_TENSORS, edit=set_shape("affine4.W", [3, 18])),
        "bad-rank": safetensors(MODEL_TENSORS, edit=set_shape("conv0.W", [2, 9])),
        "bad-rank5": safetensors(MODEL_TENSORS, edit=set_shape("conv0.W", [2, 1, 3, 3, 1])),
        "bad-huge-dim": safetensors(MODEL_TENSORS, edit=set_shape("conv0.b", [18446744073709551615])),
        "bad-dtype-i32": safetensors(MODEL_TENSORS, edit=lambda h: h["conv0.b"].__setitem__("dtype", "I32")),
        "bad-offsets-reversed": safetensors(MODEL_TENSORS, edit=set_offsets("conv0.b", [8, 0])),
        "bad-offsets-past-end": safetensors(MODEL_TENSORS, edit=set_offsets("affine4.b", [0, 1 << 62])),
        "bad-offsets-wrap": safetensors(MODEL_TENSORS,
                                        edit=set_offsets("conv0.b", [18446744073709551608, 0])),
        "bad-renamed": safetensors(MODEL_TENSORS, edit=rename("conv0.b", "konv0.b")),
        "bad-metadata-not-string": safetensors(
            MODEL_TENSORS, edit=lambda h: h.__setitem__("__metadata__", {"n": 3})),
        "bad-escaped-name": safetensors(MODEL_TENSORS, edit=rename("conv0.b", "conv0\\u002eb")),
        "bad-trailing-after-json": safetensors(MODEL_TENSORS, raw_header=json.dumps(
            {"__metadata__": {}}).encode() + b"}"),
        # The tensors must tile the data: no overlap, gap or leftover (issue 13).
        "bad-overlap": safetensors(MODEL_TENSORS, edit=set_offsets("conv0.b", [64, 72])),
        "bad-all-at-zero": safetensors(MODEL_TENSORS, edit=lambda h: [
            t.__setitem__("data_offsets", [0, t["data_offsets"][1] - t["data_offsets"][0]])
            for k, t in h.items() if k != "__metadata__"]),
        "bad-gap": safetensors(MODEL_TENSORS, after=bytes(4), edit=lambda h: [
            t.__setitem__("data_offsets", [t["data_offsets"][0] + 4, t["data_offsets"][1] + 4])
            for k, t in h.items() if k.startswith("affine4") or k.startswith("batchnorm1.running")]),
        "bad-trailing-data": safetensors(MODEL_TENSORS, after=bytes(4)),
        # Finite values only, whatever the dtype.
        "bad-nan": safetensors(MODEL_TENSORS, values={("conv0.W", 5): float("nan")}),
        "bad-inf-f64": safetensors(MODEL_TENSORS, dtype="F64", values={("affine4.W", 4): float("inf")}),
        "bad-minus-inf": safetensors(MODEL_TENSORS, values={("batchnorm1.running_var", 1): float("-inf")}),
        # The header is real JSON: escapes decoded (an escaped name is the same
        # name), invalid ones refused, and a name holds no NUL.
        "ok-escaped-names": safetensors(MODEL_TENSORS, replace=[
            (b'"conv0.W"', b'"conv0\\u002eW"'), (b'"dtype"', b'"\\u0064type"'),
            (b'"batchnorm1.gamma"', b'"batchnorm1\\u002e\\u0067amma"')]),
        "ok-surrogate-pair-metadata": safetensors(
            MODEL_TENSORS, edit=lambda h: h["__metadata__"].__setitem__("note", "caf\u00e9 \U0001f600")),
        "ok-utf8-metadata": safetensors(
            MODEL_TENSORS, edit=lambda h: h["__metadata__"].__setitem__("note", "caf\u00e9 \U0001f600"),
            dumps=lambda h: json.dumps(h, ensure_ascii=False)),
        "ok-json-whitespace": safetensors(MODEL_TENSORS, dumps=lambda h: json.dumps(h, indent="\t")),
        "bad-u-escape-not-hex": safetensors(MODEL_TENSORS, replace=[(b'"layerlab"', b'"\\u12G4"')]),
        "bad-u-escape-cut": safetensors(MODEL_TENSORS, replace=[(b'"layerlab"', b'"\\u12"')]),
        "bad-lone-high-surrogate": safetensors(MODEL_TENSORS, replace=[(b'"layerlab"', b'"\\ud83d"')]),
        "bad-high-surrogate-then-ascii": safetensors(MODEL_TENSORS, replace=[(b'"layerlab"', b'"\\ud83d\\u0041"')]),
        "bad-lone-low-surrogate": safetensors(MODEL_TENSORS, replace=[(b'"layerlab"', b'"\\ude00"')]),
        "bad-unknown-escape": safetensors(MODEL_TENSORS, replace=[(b'"layerlab"', b'"\\x41"')]),
        "bad-nul-in-name": safetensors(MODEL_TENSORS, replace=[(b'"conv0.b"', b'"conv0\\u0000b"')]),
        "bad-control-char": safetensors(MODEL_TENSORS, replace=[(b'"layerlab"', b'"layer\tlab"')]),
        "bad-invalid-utf8": safetensors(MODEL_TENSORS, replace=[(b'"layerlab"', b'"\xc0\x80"')]),
        "bad-encoded-surrogate": safetensors(MODEL_TENSORS, replace=[(b'"layerlab"', b'"\xed\xa0\x80"')]),
        "bad-leading-zero": safetensors(MODEL_TENSORS, replace=[(b'"data_offsets":[0,', b'"data_offsets":[00,')]),
        "bad-fraction": safetensors(MODEL_TENSORS, replace=[(b'"shape":[2]', b'"shape":[2.0]')]),
        "bad-negative": safetensors(MODEL_TENSORS, replace=[(b'"shape":[2]', b'"shape":[-2]')]),
        "bad-duplicate-key": safetensors(MODEL_TENSORS, replace=[(b'{"dtype":"F32"', b'{"dtype":"F32","dtype":"F32"')]),
        "bad-trailing-comma": safetensors(
            MODEL_TENSORS, metadata=False, dumps=lambda h: json.dumps(h, separators=(",", ":"))[:-1] + ",}"),
        "bad-metadata-twice": safetensors(
            MODEL_TENSORS, dumps=lambda h: json.dumps(h, separators=(",", ":"))[:-1] + ',"__metadata__":{}}'),
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    for target, seeds in (("idx", idx_seeds()), ("npy", npy_seeds()), ("model", model_seeds())):
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        print("%s: %d seeds in %s" % (target, len(seeds), folder))


if __name__ == "__main__":
    main()
