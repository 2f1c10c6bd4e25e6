#!/usr/bin/env python3
"""torch_ref.py — lesson 05's and lesson 10's networks in PyTorch on the CPU.

The reference the bench (checks/bench) compares layerlab's training speed
with: the same layers, the same initialisation (weights N(0, 0.01^2), biases
0, as in the lessons), batch 100, the same optimizers (SGD lr 0.1, Adam lr
0.001), the same precision and thread count, timed the same way (warm-up,
then the median of samples of whole iterations: batch copy, forward, loss,
backward, optimizer step). The environment it runs in (OpenBLAS's threads and
kernel, glibc's heap settings) is the caller's choice: checks/bench/torch.c
runs it twice, in PyTorch's best CPU configuration and as installed.

usage: torch_ref.py --threads N [--dtype float32|float64] (--data DIR | --random N)
                    [--config NAME] [--warmup-calls W] [--warmup-seconds S]
                    [--repeats R] [--sample-seconds T]

Prints CSV on standard output, one row per network:
    net,impl,version,device,threads,dtype,data,iterations,ms_per_iter,images_per_s,epoch_s,
    config,openblas_core,openblas_threads,torch_threads
config is --config, a label only; openblas_core and openblas_threads are what
the libopenblas loaded into this process runs ("unknown" and -1 when none is
found), torch_threads is torch.get_num_threads().
Exit status: 0 ran, 77 torch cannot be imported (the reason on stderr), 2 usage error.
"""
import argparse
import gzip
import math
import os
import re
import statistics
import sys
import time

BATCH = 100
EPOCH_IMAGES = 60000   # one epoch of Fashion-MNIST's training set
IMAGE_SIDE = 28
CLASSES = 10
WEIGHT_STD = 0.01      # the book's weight_init_std, as both lessons use
L05_HIDDEN, L05_LR = 50, 0.1
L10_FILTERS, L10_KERNEL, L10_POOL, L10_HIDDEN, L10_LR = 30, 5, 2, 100, 0.001
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8   # ll_optim_defaults(LL_ADAM)
SHUFFLE_SEED = 1
RANDOM_SEED = 7
EXIT_NO_TORCH = 77
MAX_INNER = 1000000    # as checks/bench/timing.c
MAPS_MAX_LINES = 100000  # /proc/self/maps is read this far at most
OPENBLAS_PREFIX = "libopenblas"
CONFIG_LABEL = re.compile(r"[A-Za-z0-9_-]{1,32}")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="directory of an MNIST-layout data set")
    src.add_argument("--random", type=int, metavar="N", help="N random images instead")
    p.add_argument("--config", default="default", help="a label for the rows, nothing more")
    p.add_argument("--warmup-calls", type=int, default=5)
    p.add_argument("--warmup-seconds", type=float, default=1.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--sample-seconds", type=float, default=2.0)
    args = p.parse_args()
    if not CONFIG_LABEL.fullmatch(args.config):
        p.error(f"--config takes letters, digits, '_' and '-' (a CSV field), got {args.config!r}")
    return args


def read_idx(path):
    """The bytes of an IDX file (gzip-compressed or raw) and its dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return raw[4 + 4 * ndim:], dims


def find(directory, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"no {name}[.gz] in {directory}")


def load_data(torch, args, dtype):
    if args.data:
        pixels, dims = read_idx(find(args.data, "train-images-idx3-ubyte"))
        labels, _ = read_idx(find(args.data, "train-labels-idx1-ubyte"))
        x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).reshape(dims[0], 1, dims[1], dims[2])
        x = x.to(dtype) / 255.0
        t = torch.frombuffer(bytearray(labels), dtype=torch.uint8).to(torch.long)
        return x, t, "fashion-mnist"
    g = torch.Generator().manual_seed(RANDOM_SEED)
    x = torch.rand(args.random, 1, IMAGE_SIDE, IMAGE_SIDE, generator=g, dtype=dtype)
    t = torch.randint(0, CLASSES, (args.random,), generator=g)
    return x, t, "random"


def lesson_init(torch, model):
    for m in model.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            torch.nn.init.normal_(m.weight, 0.0, WEIGHT_STD)
            torch.nn.init.zeros_(m.bias)
    return model


def two_layer(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(IMAGE_SIDE * IMAGE_SIDE, L05_HIDDEN), nn.ReLU(),
                          nn.Linear(L05_HIDDEN, CLASSES))
    return lesson_init(torch, model), lambda params: torch.optim.SGD(params, lr=L05_LR)


def convnet(torch):
    nn = torch.nn
    side = (IMAGE_SIDE - L10_KERNEL + 1) // L10_POOL
    model = nn.Sequential(nn.Conv2d(1, L10_FILTERS, L10_KERNEL), nn.ReLU(), nn.MaxPool2d(L10_POOL),
                          nn.Flatten(), nn.Linear(L10_FILTERS * side * side, L10_HIDDEN), nn.ReLU(),
                          nn.Linear(L10_HIDDEN, CLASSES))
    return lesson_init(torch, model), lambda params: torch.optim.Adam(
        params, lr=L10_LR, betas=ADAM_BETAS, eps=ADAM_EPS)


class Trainer:
    """One network in training: each call is one iteration on the next shuffled batch."""

    def __init__(self, torch, build, x, t, dtype):
        self.torch, self.x, self.t = torch, x, t
        self.model, make_opt = build(torch)
        self.model.to(dtype)
        self.opt = make_opt(self.model.parameters())
        self.gen = torch.Generator().manual_seed(SHUFFLE_SEED)
        self.order, self.pos = None, len(x)

    def __call__(self):
        torch = self.torch
        if self.pos + BATCH > len(self.x):
            self.order, self.pos = torch.randperm(len(self.x), generator=self.gen), 0
        idx = self.order[self.pos:self.pos + BATCH]
        self.pos += BATCH
        xb, tb = self.x.index_select(0, idx), self.t.index_select(0, idx)
        self.opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(self.model(xb), tb)
        loss.backward()
        self.opt.step()
        if not math.isfinite(loss.item()):
            raise RuntimeError("the loss is not finite")


def loaded_openblas():
    """The path of the libopenblas mapped into this process (torch links it
    through libblas.so.3), or None: the one that really runs, whatever
    alternative the system points at."""
    with open("/proc/self/maps") as maps:
        for _, line in zip(range(MAPS_MAX_LINES), maps):
            fields = line.split()
            if len(fields) >= 6 and os.path.basename(fields[5]).startswith(OPENBLAS_PREFIX):
                return fields[5]
    return None


def openblas_config():
    """(core, threads) of the loaded OpenBLAS, asked through its own
    openblas_get_corename and openblas_get_num_threads; ("unknown", -1)
    when there is none or it does not answer."""
    import ctypes
    path = loaded_openblas()
    if path is None:
        return "unknown", -1
    try:
        lib = ctypes.CDLL(path)  # already loaded: the same library, not a second copy
        lib.openblas_get_corename.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode("ascii", "replace").strip()
        return core or "unknown", int(lib.openblas_get_num_threads())
    except (OSError, AttributeError):
        return "unknown", -1


def median_seconds(fn, args):
    """Warm-up, then the median of args.repeats samples; as bench_time in timing.c."""
    calls, start, elapsed = 0, time.perf_counter(), 0.0
    while calls < args.warmup_calls or elapsed < args.warmup_seconds:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
    per_call = elapsed / calls if calls else 0.0
    inner = 1
    if per_call > 0 and args.sample_seconds > per_call:
        inner = min(MAX_INNER, math.ceil(args.sample_seconds / per_call))
    samples = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples), inner * args.repeats


def main():
    args = parse_args()
    try:
        import torch
    except Exception as e:  # ImportError, or a broken install
        print(f"torch_ref: cannot import torch: {e}", file=sys.stderr)
        return EXIT_NO_TORCH
    torch.set_num_threads(args.threads)
    torch.manual_seed(SHUFFLE_SEED)
    dtype = torch.float32 if args.dtype == "float32" else torch.float64
    x, t, data = load_data(torch, args, dtype)
    core, blas_threads = openblas_config()
    threads = torch.get_num_threads()
    print(f"torch_ref: torch {torch.__version__} ({args.config}), {threads} threads, OpenBLAS "
          f"{core} with {blas_threads} threads, {data} {tuple(x.shape)}", file=sys.stderr)
    print("net,impl,version,device,threads,dtype,data,iterations,ms_per_iter,images_per_s,epoch_s,"
          "config,openblas_core,openblas_threads,torch_threads")
    for name, build in (("two-layer", two_layer), ("convnet", convnet)):
        trainer = Trainer(torch, build, x, t, dtype)
        seconds, iterations = median_seconds(trainer, args)
        epoch = seconds * math.ceil(EPOCH_IMAGES / BATCH)
        print(f"{name},pytorch,{torch.__version__},cpu,{threads},{args.dtype},{data},"
              f"{iterations},{seconds * 1e3:.4f},{BATCH / seconds:.1f},{epoch:.3f},"
              f"{args.config},{core},{blas_threads},{threads}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
