/* emu.cpp — a CPU emulator for layerlab's CUDA code, for machines without a GPU.
 *
 * tools/cuda-emu/run.sh compiles the .cu files of lib/gpu/ with g++ against the stand-in
 * headers of include/ (cuda_runtime.h, cublas_v2.h) after rewriting each
 * kernel<<<grid, block>>>(args) as a call of ll_emu_launch, and links the
 * result with the real CPU library and the real test_gpu_parity.c and
 * gradcheck. Then every GPU test of the repository runs, on CPU threads.
 *
 * What it models:
 *  - a kernel launch: blocks run one after another; the 256 threads of a
 *    block are 256 real threads, and __syncthreads() is a real barrier
 *    (a __syncthreads() that some threads skip deadlocks, as it is undefined
 *    on a GPU); __shared__ is a static, which is per block since blocks run
 *    one at a time;
 *  - device memory as separate memory: every cudaMalloc'd buffer is made
 *    inaccessible (PROT_NONE) except while a kernel, a copy or a memset runs,
 *    so host code that reads or writes device memory crashes at once; each
 *    buffer ends flush against a guard page, so a kernel reading or writing
 *    past its end crashes too; copies and GEMMs check that every device range
 *    they touch lies inside one allocation and that the copy direction is right;
 *  - cuBLAS's column-major GEMM, by the definition (accumulating in the
 *    element type), with cuBLAS's leading-dimension checks.
 * What it does not model: the GPU's arithmetic (CUDA's expf, tanhf, log...
 * are replaced by the C library's, and nothing is fused into an FMA), warps,
 * concurrency between blocks, the memory model beyond barriers, performance.
 * A pass here says the index maths and the plumbing are right; it says
 * nothing about the parity tolerances. It is not a GPU result.
 */
#include "cublas_v2.h"
#include "cuda_runtime.h"

#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <vector>

ll_emu_dim3 blockIdx, blockDim, gridDim;
thread_local ll_emu_dim3 threadIdx;

namespace {

constexpr unsigned THREADS = 256;

[[noreturn]] void die(const char *what)
{
    fprintf(stderr, "cuda-emu: %s\n", what);
    abort();
}

/* 256 persistent workers; the main thread releases them once per block. */
struct Pool {
    std::vector<std::thread> workers;
    std::barrier<> start{THREADS + 1};
    std::barrier<> done{THREADS + 1};
    std::barrier<> sync{THREADS};
    const std::function<void()> *body = nullptr;
    bool quit = false;

    Pool()
    {
        for (unsigned t = 0; t < THREADS; t++)
            workers.emplace_back([this, t] {
                threadIdx = {t, 0, 0};
                for (;;) {
                    start.arrive_and_wait();
                    if (quit)
                        return;
                    (*body)();
                    done.arrive_and_wait();
                }
            });
    }
    ~Pool()
    {
        quit = true;
        start.arrive_and_wait();
        for (auto &w : workers)
            w.join();
    }
};

Pool &pool()
{
    static Pool p;
    return p;
}

/* Device memory: [base, base + data_len) readable only during device work,
 * then one guard page; the user's pointer ends exactly at the guard page
 * (rounded to 8 bytes). */
struct Region {
    char *base;
    size_t data_len, user_off, bytes;
};
std::map<char *, Region> regions; /* by user pointer */
std::mutex mu;
long page_size()
{
    static long p = sysconf(_SC_PAGESIZE);
    return p;
}

void protect_all(int prot)
{
    for (auto &kv : regions)
        if (mprotect(kv.second.base, kv.second.data_len, prot) != 0)
            die("mprotect failed");
}

/* The allocation holding [p, p + bytes), or null. */
const Region *find(const void *p, size_t bytes)
{
    const char *c = static_cast<const char *>(p);
    for (auto &kv : regions) {
        const Region &r = kv.second;
        const char *lo = r.base + r.user_off, *hi = lo + r.bytes;
        if (c >= lo && c <= hi && c + bytes <= hi)
            return &r;
    }
    return nullptr;
}

template <typename T>
cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T *alpha,
                    const T *A, int lda, const T *B, int ldb, const T *beta, T *C, int ldc)
{
    /* cuBLAS's own argument checks. */
    int arows = ta == CUBLAS_OP_N ? m : k, acols = ta == CUBLAS_OP_N ? k : m;
    int brows = tb == CUBLAS_OP_N ? k : n, bcols = tb == CUBLAS_OP_N ? n : k;
    if (m < 0 || n < 0 || k < 0 || lda < (arows > 1 ? arows : 1) || ldb < (brows > 1 ? brows : 1) ||
        ldc < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0)
        return CUBLAS_STATUS_SUCCESS;
    std::lock_guard<std::mutex> lock(mu);
    /* Every element the product reads or writes must lie in one device allocation. */
    if ((k > 0 && (!find(A, ((size_t)(acols - 1) * lda + arows) * sizeof(T)) ||
                   !find(B, ((size_t)(bcols - 1) * ldb + brows) * sizeof(T)))) ||
        !find(C, ((size_t)(n - 1) * ldc + m) * sizeof(T)))
        die("gemm: an operand is not (entirely) device memory: wrong pointer, size or leading dimension");
    protect_all(PROT_READ | PROT_WRITE);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            T acc = 0;
            for (int p = 0; p < k; p++) {
                T a = ta == CUBLAS_OP_N ? A[i + (size_t)p * lda] : A[p + (size_t)i * lda];
                T b = tb == CUBLAS_OP_N ? B[p + (size_t)j * ldb] : B[j + (size_t)p * ldb];
                acc += a * b;
            }
            T *c = &C[i + (size_t)j * ldc];
            *c = *beta == 0 ? *alpha * acc : *alpha * acc + *beta * *c;
        }
    protect_all(PROT_NONE);
    return CUBLAS_STATUS_SUCCESS;
}

} // namespace

void __syncthreads()
{
    pool().sync.arrive_and_wait();
}

void ll_emu_launch(unsigned grid, unsigned block, const std::function<void()> &body)
{
    if (block != THREADS)
        die("launch: only blocks of 256 threads are emulated");
    if (grid == 0 || grid > 2147483647u)
        die("launch: a grid of 0 blocks, or more than 2^31 - 1");
    std::lock_guard<std::mutex> lock(mu);
    Pool &p = pool();
    protect_all(PROT_READ | PROT_WRITE);
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    p.body = &body;
    for (unsigned b = 0; b < grid; b++) {
        blockIdx = {b, 0, 0};
        p.start.arrive_and_wait();
        p.done.arrive_and_wait();
    }
    protect_all(PROT_NONE);
}

cudaError_t cudaGetDeviceCount(int *count)
{
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device)
{
    (void)device;
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "CPU emulator of tools/cuda-emu (not a GPU)");
    prop->major = 9;
    prop->minor = 0;
    prop->totalGlobalMem = (size_t)1 << 30;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **ptr, size_t bytes)
{
    std::lock_guard<std::mutex> lock(mu);
    size_t pg = (size_t)page_size();
    size_t rounded = (bytes + 7) / 8 * 8;
    size_t data_len = (rounded + pg - 1) / pg * pg;
    if (data_len == 0)
        data_len = pg;
    void *m = mmap(nullptr, data_len + pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return cudaErrorMemoryAllocation;
    Region r{static_cast<char *>(m), data_len, data_len - rounded, bytes};
    *ptr = r.base + r.user_off;
    regions[r.base + r.user_off] = r;
    return cudaSuccess;
}

cudaError_t cudaFree(void *ptr)
{
    if (!ptr)
        return cudaSuccess;
    std::lock_guard<std::mutex> lock(mu);
    auto it = regions.find(static_cast<char *>(ptr));
    if (it == regions.end())
        die("cudaFree of a pointer cudaMalloc did not return");
    munmap(it->second.base, it->second.data_len + (size_t)page_size());
    regions.erase(it);
    return cudaSuccess;
}

cudaError_t cudaMemset(void *ptr, int value, size_t bytes)
{
    std::lock_guard<std::mutex> lock(mu);
    if (!find(ptr, bytes))
        die("cudaMemset outside device memory");
    protect_all(PROT_READ | PROT_WRITE);
    memset(ptr, value, bytes);
    protect_all(PROT_NONE);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    std::lock_guard<std::mutex> lock(mu);
    bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (dst_dev != (find(dst, bytes) != nullptr) || src_dev != (find(src, bytes) != nullptr)) {
        fprintf(stderr, "cuda-emu: cudaMemcpy kind %d: dst %s device memory, src %s\n", (int)kind,
                find(dst, bytes) ? "is" : "is not", find(src, bytes) ? "is" : "is not");
        die("cudaMemcpy with the wrong direction, or out of bounds");
    }
    protect_all(PROT_READ | PROT_WRITE);
    memmove(dst, src, bytes);
    protect_all(PROT_NONE);
    return cudaSuccess;
}

cudaError_t cudaGetLastError(void)
{
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    return cudaSuccess;
}

const char *cudaGetErrorString(cudaError_t err)
{
    return err == cudaSuccess ? "no error" : err == cudaErrorMemoryAllocation ? "out of memory" : "invalid argument";
}

const char *cudaGetErrorName(cudaError_t err)
{
    return err == cudaSuccess ? "cudaSuccess"
           : err == cudaErrorMemoryAllocation ? "cudaErrorMemoryAllocation"
                                              : "cudaErrorInvalidValue";
}

struct ll_emu_cublas {
    int unused;
};

cublasStatus_t cublasCreate(cublasHandle_t *h)
{
    *h = new ll_emu_cublas{0};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t h)
{
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode)
{
    (void)h, (void)mode;
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusString(cublasStatus_t s)
{
    return s == CUBLAS_STATUS_SUCCESS ? "success" : "an invalid value was used as an argument";
}

const char *cublasGetStatusName(cublasStatus_t s)
{
    return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_INVALID_VALUE";
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const float *alpha, const float *A, int lda,
                           const float *B, int ldb, const float *beta, float *C, int ldc)
{
    (void)h;
    return gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

cublasStatus_t cublasDgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                           int n, int k, const double *alpha, const double *A, int lda,
                           const double *B, int ldb, const double *beta, double *C, int ldc)
{
    (void)h;
    return gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
