#!/usr/bin/python3
"""check_save.py — what `gradcheck LAYER --save DIR` writes, checked with numpy.

    /usr/bin/python3 check_save.py GRADCHECK SCRATCH_DIR

Runs `gradcheck affine --save SCRATCH_DIR/affine` and `gradcheck conv --save
SCRATCH_DIR/conv`, loads every .npy and checks, independently of layerlab:
  - affine: y = x.reshape(N, -1) @ W + b, dx = dy @ W.T, dW = x.T @ dy,
    db = dy.sum(0); conv: y, dx, dW and db from a direct (loop) convolution
    with the default kernel=3 stride=1 pad=1;
  - report.csv: one row per gradient file d<tensor>.npy, whose shape is the
    'shape' column and whose element at 'worst_flat_index' is 'analytic'.
Tolerances: float32 1e-4, float64 1e-10, relative to the largest magnitude.
Exit status: 0 all good, 1 a check failed, 2 usage, 77 no numpy (CTest: skipped).
"""
import csv
import os
import re
import shutil
import subprocess
import sys

try:
    import numpy as np
except ImportError as e:
    print(f"check_save: skipped, {sys.executable} cannot import numpy ({e})")
    sys.exit(77)

failures = []


def check(ok, what):
    print(("ok:     " if ok else "FAILED: ") + what)
    if not ok:
        failures.append(what)


def rel_err(got, want):
    """Largest |got - want| relative to the largest |want| (not below 1e-30)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return float("inf")
    scale = max(float(np.max(np.abs(want))), 1e-30)
    return float(np.max(np.abs(got - want))) / scale


def tolerance(dtype):
    if dtype == np.float32:
        return 1e-4
    if dtype == np.float64:
        return 1e-10
    raise SystemExit(f"check_save: unexpected dtype {dtype}")


def run_gradcheck(gradcheck, layer, out_dir):
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    proc = subprocess.run([gradcheck, layer, "--save", out_dir], capture_output=True, text=True)
    print(proc.stdout, end="")
    print(proc.stderr, end="", file=sys.stderr)
    check(proc.returncode == 0, f"gradcheck {layer} --save exits 0 (got {proc.returncode})")
    return proc.returncode == 0


def load(out_dir):
    arrays = {}
    for name in sorted(os.listdir(out_dir)):
        if name.endswith(".npy"):
            arrays[name[:-4]] = np.load(os.path.join(out_dir, name))
    dtypes = {a.dtype for a in arrays.values()}
    check(len(dtypes) == 1 and dtypes <= {np.dtype(np.float32), np.dtype(np.float64)},
          f"{out_dir}: every .npy has one float dtype ({sorted(str(d) for d in dtypes)})")
    return arrays


def expect_close(layer, name, got, want, tol):
    err = rel_err(got, want)
    check(err <= tol, f"{layer}: {name} (relative error {err:.3g}, tolerance {tol:g})")


def check_affine(a):
    x, W, b, y, dy = a["x"], a["W"], a["b"], a["y"], a["dy"]
    tol = tolerance(x.dtype)
    f = np.float64
    N = x.shape[0]
    X = x.reshape(N, -1).astype(f)
    expect_close("affine", "y == x.reshape(N, -1) @ W + b", y, X @ W.astype(f) + b.astype(f), tol)
    expect_close("affine", "dx == dy @ W.T", a["dx"].reshape(N, -1), dy.astype(f) @ W.T.astype(f), tol)
    expect_close("affine", "dW == x.T @ dy", a["dW"], X.T @ dy.astype(f), tol)
    expect_close("affine", "db == dy.sum(0)", a["db"], dy.astype(f).sum(0), tol)


def check_conv(a, stride=1, pad=1):
    f = np.float64
    x, W, b, y, dy = (a[k].astype(f) for k in ("x", "W", "b", "y", "dy"))
    tol = tolerance(a["x"].dtype)
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    OH, OW = (H + 2 * pad - KH) // stride + 1, (Wd + 2 * pad - KW) // stride + 1
    check(y.shape == (N, F, OH, OW), f"conv: y has shape {y.shape}, expected {(N, F, OH, OW)}")
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    want_y = np.zeros((N, F, OH, OW))
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    for i in range(OH):
        for j in range(OW):
            win = xp[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]  # (N, C, KH, KW)
            want_y[:, :, i, j] = np.einsum("nckl,fckl->nf", win, W) + b
            g = dy[:, :, i, j]  # (N, F)
            dW += np.einsum("nf,nckl->fckl", g, win)
            dxp[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW] += np.einsum(
                "nf,fckl->nckl", g, W)
    expect_close("conv", "y == direct convolution of x with W, plus b", y, want_y, tol)
    expect_close("conv", "dx == adjoint of the convolution applied to dy", a["dx"],
                 dxp[:, :, pad:pad + H, pad:pad + Wd], tol)
    expect_close("conv", "dW == sum over n, i, j of dy * window", a["dW"], dW, tol)
    expect_close("conv", "db == dy.sum((0, 2, 3))", a["db"], dy.sum((0, 2, 3)), tol)


def check_report(layer, out_dir, arrays):
    with open(os.path.join(out_dir, "report.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    grads = sorted(k[1:] for k in arrays if k.startswith("d") and k != "dy")
    check(sorted(r["tensor"] for r in rows) == grads,
          f"{layer}: report.csv has one row per gradient file ({grads})")
    for r in rows:
        name = r["tensor"]
        grad = arrays.get("d" + name)
        if grad is None:
            check(False, f"{layer}: report row '{name}' has a d{name}.npy")
            continue
        shape_ok = re.fullmatch(r"[0-9]+(x[0-9]+)*", r["shape"]) is not None
        shape = tuple(int(d) for d in r["shape"].split("x")) if shape_ok else None
        check(shape == grad.shape,
              f"{layer}: shape column '{r['shape']}' of {name} is d{name}.npy's {grad.shape}")
        check(arrays[name].shape == grad.shape, f"{layer}: {name}.npy and d{name}.npy have one shape")
        idx = int(r["worst_flat_index"])
        if not 0 <= idx < grad.size:
            check(False, f"{layer}: worst_flat_index {idx} of {name} is inside {grad.size} elements")
            continue
        value = float(grad.reshape(-1)[idx])
        analytic = float(r["analytic"])
        err = abs(value - analytic) / max(abs(value), abs(analytic), 1e-300)
        check(err <= 1e-6 or value == analytic,
              f"{layer}: d{name}.npy[{idx}] = {value:.17g} is the report's analytic {analytic:.17g}")
        check(r["verdict"] == "PASS", f"{layer}: {name} verdict {r['verdict']}")


def main():
    if len(sys.argv) != 3:
        print("usage: check_save.py GRADCHECK SCRATCH_DIR", file=sys.stderr)
        return 2
    gradcheck, scratch = sys.argv[1], sys.argv[2]
    os.makedirs(scratch, exist_ok=True)
    for layer, checker in (("affine", check_affine), ("conv", check_conv)):
        out_dir = os.path.join(scratch, layer)
        if not run_gradcheck(gradcheck, layer, out_dir):
            continue
        arrays = load(out_dir)
        want = {"x", "y", "dy", "dx", "W", "dW", "b", "db"}
        check(set(arrays) == want, f"{layer}: saved {sorted(arrays)}, expected {sorted(want)}")
        if not want <= set(arrays):
            continue
        checker(arrays)
        check_report(layer, out_dir, arrays)
    if failures:
        print(f"\n{len(failures)} check(s) failed")
        return 1
    print("\nevery check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
