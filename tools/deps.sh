#!/bin/sh
# deps.sh — install the Debian packages layerlab needs, only those missing.
#
# Called by `make deps` (and so by every make target that builds). Does nothing
# when all packages are present; otherwise runs apt-get update once, then
# apt-get install, through sudo when not root. Exits non-zero, saying what to
# install by hand, when it cannot.
set -eu

# What each package is for:
#   cmake            the build (CMake + CTest)
#   libopenblas-dev  matrix products (cblas_sgemm / cblas_dgemm)
#   libcmocka-dev    the unit test framework of checks/
#   zlib1g-dev       reading gzip-compressed IDX data sets
#   gnuplot-nox      the plots of the lessons and of gradcheck --sweep
#   python3-numpy    the test that numpy.load reads what gradcheck --save writes
#   dataset-fashion-mnist  the lessons' data (/usr/share/datasets/fashion-mnist)
#   clang, libclang-rt-dev the libFuzzer targets of checks/fuzz/ (make check runs them briefly)
#   valgrind         the memcheck run of lessons under make check
# Arguments name extra packages for one target (make bench asks for python3-torch).
PACKAGES="cmake libopenblas-dev libcmocka-dev zlib1g-dev gnuplot-nox python3-numpy dataset-fashion-mnist clang libclang-rt-dev valgrind $*"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "deps: installing missing Debian packages:$missing"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: apt-get not found; please install these packages yourself:$missing" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: not root and no sudo; please run as root: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # the package list is meant to split into words
$SUDO apt-get install -y -qq --no-install-recommends $missing
echo "deps: done"
