# model.sh — saved models (lib/model.c) given to lesson 10's --load: paths
# that are not regular files, and safetensors files broken in each way the
# format forbids (issue 13). Sourced by checks/bad_input.sh, which provides
# try, $L10, $WORK and lesson 10's smoke model $WORK/l10/model.safetensors.
#
# A program that blocked on a FIFO or read /dev/zero without end would hang
# the whole check: those cases run under timeout, so a hang is a failure
# (exit 124) instead.
MODEL_TIMEOUT_S=60

# Writes the broken variants of lesson 10's model into $WORK/model-*.safetensors.
model_fixtures() {
    python3 - "$WORK/l10/model.safetensors" "$WORK" <<'EOF'
import json, struct, sys
src, work = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
meta = header.pop("__metadata__")
FORMATS = {"F32": "<f", "F64": "<d"}
names = sorted(header, key=lambda k: header[k]["data_offsets"][0])  # in data order

def write(name, hdr, body, edit_text=None):
    """The file: the header (with __metadata__ back, edit_text applied to its
    JSON text), padded with spaces to 8 bytes, then body."""
    text = json.dumps(dict(hdr, __metadata__=meta))
    if edit_text:
        old, new = edit_text
        assert old in text, old
        text = text.replace(old, new)
    text = text.encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    open("%s/model-%s.safetensors" % (work, name), "wb").write(struct.pack("<Q", len(text)) + text + body)

def copy():
    return json.loads(json.dumps(header))

def with_value(tensor, index, x):
    t = header[tensor]
    fmt = FORMATS[t["dtype"]]
    at = t["data_offsets"][0] + index * struct.calcsize(fmt)
    return data[:at] + struct.pack(fmt, x) + data[at + struct.calcsize(fmt):]

write("nan", header, with_value("conv0.W", 3, float("nan")))
write("inf", header, with_value(names[-1], 0, float("inf")))

h = copy()  # the second tensor's offsets moved onto the first's bytes
size = h[names[1]]["data_offsets"][1] - h[names[1]]["data_offsets"][0]
h[names[1]]["data_offsets"] = [0, size]
write("overlap", h, data)

h = copy()
for t in h.values():
    lo, hi = t["data_offsets"]
    t["data_offsets"] = [0, hi - lo]
write("at-zero", h, data)

h = copy()  # 8 unused bytes before the last tensor
lo, hi = h[names[-1]]["data_offsets"]
h[names[-1]]["data_offsets"] = [lo + 8, hi + 8]
write("gap", h, data[:lo] + bytes(8) + data[lo:])

write("trailing", header, data + bytes(8))
write("bad-escape", header, data, ('"layerlab"', '"\\u12G4"'))
write("lone-surrogate", header, data, ('"layerlab"', '"\\ud800"'))
write("nul-name", header, data, ('"conv0.W"', '"conv0\\u0000W"'))
write("escaped", header, data, ('"conv0.W"', '"conv0\\u002eW"'))

# Every tensor as F64, one weight 1e300: a double a float build cannot hold.
h, body = copy(), b""
for name in names:
    t = h[name]
    lo, hi = t["data_offsets"]
    values = struct.unpack("<%d%s" % ((hi - lo) // struct.calcsize(FORMATS[t["dtype"]]), FORMATS[t["dtype"]][1]),
                           data[lo:hi])
    if name == "conv0.W":
        values = (1e300,) + values[1:]
    t["dtype"], t["data_offsets"] = "F64", [len(body), len(body) + 8 * len(values)]
    body += struct.pack("<%dd" % len(values), *values)
write("f64-1e300", h, body)
EOF
    mkdir -p "$WORK/model-folder"
    mkfifo "$WORK/model-fifo"
    ln -s "$WORK/model-loop-b" "$WORK/model-loop-a"
    ln -s "$WORK/model-loop-a" "$WORK/model-loop-b"
    # The smoke model padded to 1 GiB (a sparse file: no disk is used).
    cp "$WORK/l10/model.safetensors" "$WORK/model-huge.safetensors"
    truncate -s 1G "$WORK/model-huge.safetensors"
}

# model_must_load CASE FILE: lesson 10 must evaluate FILE (exit 0): a valid
# model written differently from ours.
model_must_load() {
    try_run "model" "$1" 0 "$L10" --load "$2" --out "$WORK/o"
}

if model_fixtures; then
    try "model" "--load of a folder" 2 "$L10" --load "$WORK/model-folder" --out "$WORK/o"
    try "model" "--load of a FIFO (must not wait for a writer)" 2 \
        timeout "$MODEL_TIMEOUT_S" "$L10" --load "$WORK/model-fifo" --out "$WORK/o"
    try "model" "--load /dev/zero (must not read without end)" 2 \
        timeout "$MODEL_TIMEOUT_S" "$L10" --load /dev/zero --out "$WORK/o"
    try "model" "--load of a symlink loop (errno's text, not 'missing')" 2 \
        "$L10" --load "$WORK/model-loop-a" --out "$WORK/o"
    try "model" "--load of a model padded to 1 GiB (refused from its size)" 2 \
        timeout "$MODEL_TIMEOUT_S" "$L10" --load "$WORK/model-huge.safetensors" --out "$WORK/o"
    try "model" "--load of a model with a NaN weight" 2 "$L10" --load "$WORK/model-nan.safetensors" --out "$WORK/o"
    try "model" "--load of a model with an infinite value" 2 "$L10" --load "$WORK/model-inf.safetensors" --out "$WORK/o"
    try "model" "--load of a model whose tensors overlap" 2 \
        "$L10" --load "$WORK/model-overlap.safetensors" --out "$WORK/o"
    try "model" "--load of a model with every tensor at offset 0" 2 \
        "$L10" --load "$WORK/model-at-zero.safetensors" --out "$WORK/o"
    try "model" "--load of a model with unused bytes between tensors" 2 \
        "$L10" --load "$WORK/model-gap.safetensors" --out "$WORK/o"
    try "model" "--load of a model with bytes after the last tensor" 2 \
        "$L10" --load "$WORK/model-trailing.safetensors" --out "$WORK/o"
    try "model" "--load of a model whose header has a bad \\u escape" 2 \
        "$L10" --load "$WORK/model-bad-escape.safetensors" --out "$WORK/o"
    try "model" "--load of a model whose header has half a surrogate pair" 2 \
        "$L10" --load "$WORK/model-lone-surrogate.safetensors" --out "$WORK/o"
    try "model" "--load of a model with a NUL in a tensor name" 2 \
        "$L10" --load "$WORK/model-nul-name.safetensors" --out "$WORK/o"
    model_must_load "--load of a model whose names use \\u escapes (valid JSON)" "$WORK/model-escaped.safetensors"
    # 1e300 fits a double: only a float build must refuse it (never make it inf).
    if grep -q '^LL_DOUBLE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
        model_must_load "--load of an F64 model holding 1e300 (a double build keeps it)" \
            "$WORK/model-f64-1e300.safetensors"
    else
        try "model" "--load of an F64 model holding 1e300 (beyond a float)" 2 \
            "$L10" --load "$WORK/model-f64-1e300.safetensors" --out "$WORK/o"
    fi
else
    failures=$((failures + 1))
    echo "bad_input.sh: FAIL: model.sh could not make its fixtures from $WORK/l10/model.safetensors" >&2
fi
