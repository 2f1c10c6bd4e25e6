#include "blas.h"

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* OpenBLAS extensions; declared here because not every cblas.h carries them. */
char *openblas_get_corename(void);
int openblas_get_num_threads(void);

void ll_gemm(bool trans_a, bool trans_b, int M, int N, int K, ll_real alpha, const ll_real *A,
             int lda, const ll_real *B, int ldb, ll_real beta, ll_real *C, int ldc)
{
#ifdef LL_DOUBLE
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

const char *ll_blas_corename(void)
{
    return openblas_get_corename();
}

int ll_blas_threads(void)
{
    return openblas_get_num_threads();
}

double ll_sum(const ll_real *v, size_t n)
{
    double part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            part[k] += v[i + k];
    double s = 0;
    for (int k = 0; k < 8; k++)
        s += part[k];
    for (; i < n; i++)
        s += v[i];
    return s;
}

/* The kernels of Debian's OpenBLAS (0.3.21) that use AVX2 or AVX-512; any
 * other pick on a CPU with those units is a generic fallback. */
static const char *const VECTOR_CORES[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake",
                                           "SapphireRapids", NULL};

/* The environment variable that marks a re-executed program, holding the
 * core OpenBLAS had picked before. */
static const char *const RERUN_MARK = "LL_BLAS_RERUN";

static bool is_vector_core(const char *core)
{
    for (const char *const *c = VECTOR_CORES; *c; c++)
        if (strcasecmp(core, *c) == 0)
            return true;
    return false;
}

void ll_blas_decide(const char *picked, ll_cpu_units cpu, const char *user_coretype,
                    ll_blas_choice *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->core, sizeof out->core, "%s", picked);
    if (user_coretype && user_coretype[0]) {
        /* The core shown beside it is what OpenBLAS made of the value, so the
         * value itself, of any length, is not repeated (nor cut). */
        snprintf(out->why, sizeof out->why, "set by you in OPENBLAS_CORETYPE");
        return;
    }
    if (is_vector_core(picked) || !(cpu.avx2_fma || cpu.avx512)) {
        snprintf(out->why, sizeof out->why, "OpenBLAS's own choice for this CPU");
        return;
    }
    snprintf(out->core, sizeof out->core, "%s", cpu.avx512 ? "SkylakeX" : "Haswell");
    snprintf(out->why, sizeof out->why,
             "chosen by layerlab: OpenBLAS picked its generic %.31s kernel for this CPU, which "
             "has %s; set OPENBLAS_CORETYPE to choose yourself",
             picked, cpu.avx512 ? "AVX-512" : "AVX2 and FMA");
    out->rerun = true;
}

ll_cpu_units ll_cpu_units_here(void)
{
    ll_cpu_units u = {false, false};
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    u.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    u.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl");
#endif
    return u;
}

static ll_blas_choice chosen;

/* The choice of a program that is the re-execution: the marker says what
 * OpenBLAS had picked; check that OpenBLAS honoured OPENBLAS_CORETYPE. */
static void describe_rerun(const char *had_picked, ll_cpu_units cpu)
{
    ll_blas_decide(had_picked, cpu, NULL, &chosen);
    chosen.rerun = false;
    const char *runs = ll_blas_corename();
    if (strcasecmp(runs, chosen.core) != 0)
        snprintf(chosen.why, sizeof chosen.why,
                 "layerlab asked for %.31s in place of the generic %.31s, but this OpenBLAS "
                 "runs %.31s",
                 chosen.core, had_picked, runs);
    snprintf(chosen.core, sizeof chosen.core, "%s", runs);
}

void ll_blas_choose_kernel(char **argv)
{
    const ll_cpu_units cpu = ll_cpu_units_here();
    const char *had_picked = getenv(RERUN_MARK);
    if (had_picked && had_picked[0]) {
        describe_rerun(had_picked, cpu);
        return;
    }
    const char *assume = getenv("LL_BLAS_ASSUME_PICK");
    const char *picked = assume && assume[0] ? assume : ll_blas_corename();
    ll_blas_decide(picked, cpu, getenv("OPENBLAS_CORETYPE"), &chosen);
    if (!chosen.rerun || !argv || !argv[0])
        return;
    chosen.rerun = false;
    fflush(NULL); /* nothing printed so far may be printed twice */
    if (setenv("OPENBLAS_CORETYPE", chosen.core, 1) == 0 && setenv(RERUN_MARK, picked, 1) == 0)
        execv("/proc/self/exe", argv);
    /* Still here: the program goes on with the generic kernel, and says why. */
    int err = errno;
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(RERUN_MARK);
    snprintf(chosen.why, sizeof chosen.why,
             "OpenBLAS's generic pick: layerlab could not run itself again with %.31s (%.80s)",
             chosen.core, strerror(err));
    snprintf(chosen.core, sizeof chosen.core, "%s", picked);
}

const char *ll_blas_kernel_line(void)
{
    static char line[sizeof chosen.core + sizeof chosen.why + 32];
    if (!chosen.core[0])
        snprintf(line, sizeof line, "OpenBLAS kernel: %s", ll_blas_corename());
    else
        snprintf(line, sizeof line, "OpenBLAS kernel: %s (%s)", chosen.core, chosen.why);
    return line;
}
