# data.sh — issue 13, data sets: what --data DIR may hold instead of four IDX
# files. Sourced by checks/bad_input.sh (try, $L05, $WORK and the tiny data
# sets $WORK/n3 come from there).
#
# Each folder is the 3-image set $WORK/n3 with its training images replaced.
# Loaders read regular files only and check what a header declares before
# inflating or allocating it, so every case is refused at once (status 2). A
# loader that blocked on the FIFO or read /dev/zero to its size limit would
# hang the script: `timeout` turns that into a failure (status 124) instead.

# How long a refusal may take before it counts as a hang: far more than the
# fraction of a second it needs, far less than a hang's forever.
DATA_TIMEOUT=20

# A copy of $WORK/n3 whose train-images-idx3-ubyte is removed, for the case
# to put something else there.
data_case_dir() { # name
    rm -rf "$WORK/data-$1"
    cp -R "$WORK/n3" "$WORK/data-$1"
    rm -f "$WORK/data-$1/train-images-idx3-ubyte"
    echo "$WORK/data-$1"
}

# A FIFO with no writer: opening it for reading would wait for one.
dir=$(data_case_dir fifo)
mkfifo "$dir/train-images-idx3-ubyte"
try "data" "a FIFO (named pipe) as the training images" 2 \
    timeout "$DATA_TIMEOUT" "$L05" --smoke --data "$dir" --out "$WORK/o"

# A device that never ends.
dir=$(data_case_dir zero)
ln -s /dev/zero "$dir/train-images-idx3-ubyte"
try "data" "the training images a symlink to /dev/zero" 2 \
    timeout "$DATA_TIMEOUT" "$L05" --smoke --data "$dir" --out "$WORK/o"

# A folder where a file should be.
dir=$(data_case_dir folder)
mkdir "$dir/train-images-idx3-ubyte"
try "data" "a folder where the training images should be" 2 \
    timeout "$DATA_TIMEOUT" "$L05" --smoke --data "$dir" --out "$WORK/o"

# A symlink that points at itself.
dir=$(data_case_dir loop)
ln -s train-images-idx3-ubyte "$dir/train-images-idx3-ubyte"
try "data" "the training images a symlink loop" 2 \
    timeout "$DATA_TIMEOUT" "$L05" --smoke --data "$dir" --out "$WORK/o"

# A 2 MB .gz whose header declares 2.7 million images of 28 x 28 and which
# really inflates to that (2.1 GB of zeros, in members of 1 MiB, as gzip -d
# reads them), with as many labels: refused from its header, never inflated
# into memory (an 8.5 GB tensor of floats was asked for before).
dir=$(data_case_dir bomb)
python3 - "$dir" <<'EOF'
import gzip, struct, sys
count, side, mib = 2700000, 28, 1 << 20
zeros = gzip.compress(bytes(mib), compresslevel=9, mtime=0)
pixels = count * side * side
with open(sys.argv[1] + "/train-images-idx3-ubyte.gz", "wb") as f:
    f.write(gzip.compress(struct.pack(">4I", 0x803, count, side, side), mtime=0))
    for _ in range(pixels // mib):
        f.write(zeros)
    f.write(gzip.compress(bytes(pixels % mib), mtime=0))
with open(sys.argv[1] + "/train-labels-idx1-ubyte.gz", "wb") as f:
    f.write(gzip.compress(struct.pack(">2I", 0x801, count) + bytes(count), mtime=0))
EOF
try "data" "a 2 MB .gz declaring 2.7 million images (2.1 GB inflated)" 2 \
    timeout "$DATA_TIMEOUT" "$L05" --smoke --data "$dir" --out "$WORK/o"
