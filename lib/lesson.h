/* lesson.h — what every lesson program shares: flags, headings, output files.
 *
 * Every lesson accepts
 *   --full        the book-length run (the default takes L->runtime)
 *   --smoke       a few seconds, tiny sizes: CTest runs every lesson this way
 *   --out DIR     where data and plots go (default out/lesson-NN); checked
 *                 before any work: it must be (or become) a folder that
 *                 takes files, with a name of at most
 *                 LL_PATH_MAX - LL_FILE_NAME_ROOM characters
 *   --help
 * and, where the lesson says so in L->uses (and only there: a flag that does
 * not apply is refused, never ignored):
 *   --seed S      seeds every random thing (default 1; digits only)
 *   --data DIR    an MNIST-layout data set instead of Fashion-MNIST
 *   --lr X        the learning rate of the lesson's one training run
 *   --gpu         train on the GPU; without a usable GPU it stops with the reason
 * and the flags of its own that it declares in L->own_flags (lesson 10's
 * --load FILE): the parser hands it every option it does not know.
 * It writes its data files and PNG plots under the output directory.
 */
#ifndef LL_LESSON_H
#define LL_LESSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "files.h"
#include "net.h"

/* The flags a lesson takes beyond --full, --smoke, --out and --help (L->uses). */
enum {
    LL_LESSON_SEED = 1 << 0, /* --seed: it draws random numbers */
    LL_LESSON_DATA = 1 << 1, /* --data (and $LL_DATA): it reads a data set */
    LL_LESSON_LR = 1 << 2,   /* --lr: its one training run's rate (default in L->lr) */
    LL_LESSON_GPU = 1 << 3,  /* --gpu: it trains networks */
};

typedef struct ll_lesson ll_lesson;

/* What a lesson's own flag hook made of one option. */
typedef enum {
    LL_FLAG_UNKNOWN,     /* not the lesson's either: "unknown option" */
    LL_FLAG_TAKEN,       /* the lesson's, a flag without a value */
    LL_FLAG_TAKEN_VALUE, /* the lesson's, with the value after it */
    LL_FLAG_NEEDS_VALUE, /* the lesson's, but nothing came after it */
    LL_FLAG_BAD,         /* the lesson's, with a usage error the hook printed */
} ll_flag_result;

/* Flags a lesson takes beyond the shared ones, declared in its own main.c. */
typedef struct {
    const char *help;    /* their lines in --help, each "  --name ARG   what it does\n" */
    /* Called for each option the shared flags do not include: value is the
     * argument after it, NULL when there is none. Stores what it reads in
     * `values`. */
    ll_flag_result (*take)(const ll_lesson *L, void *values, const char *option, const char *value);
    /* Called once every flag is read, before any work: false after it printed
     * a usage error (flags that contradict each other). May be NULL. */
    bool (*check)(const ll_lesson *L, const void *values);
    void *values;        /* the lesson's own struct of flag values */
} ll_lesson_flags;

struct ll_lesson {
    /* Set by the lesson before ll_lesson_init: */
    unsigned uses;        /* LL_LESSON_* flags it accepts */
    double lr;            /* with LL_LESSON_LR: the default learning rate */
    const char *runtime;  /* how long the default run takes on 2 cores ("about 10 s") */
    ll_lesson_flags own_flags; /* its own flags (none when take is NULL) */
    /* Set by ll_lesson_init from the command line: */
    char number[8];       /* "05" */
    bool full, smoke;
    uint64_t seed;
    const char *data;     /* --data DIR, or NULL */
    char out[LL_PATH_MAX + 1]; /* output directory, checked to take files */
    bool gpu;             /* --gpu: train on the GPU (ll_lesson_place) */
    unsigned given;       /* the LL_LESSON_* flags that were on the command line */
};

/* Parses the flags into L (keeping uses, lr, runtime and own_flags from
 * before), checks and creates the output directory and prints the lesson's
 * banner. Returns -1 to go on, or the exit status to return right away (0
 * after --help, 2 after a usage error). `about` is a few lines for --help. It
 * also calls ll_program_start: standard output is line-buffered and checked
 * at exit. */
int ll_lesson_init(ll_lesson *L, const char *number, const char *title, const char *about,
                   int argc, char **argv);

/* Moves net to the GPU when the lesson runs with --gpu (and does nothing
 * otherwise); call it after the last layer is added and before training. */
ll_status ll_lesson_place(const ll_lesson *L, ll_net *net);

/* Prints a numbered section heading: "== 3. Training ==". */
void ll_lesson_section(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* The path of a file in the output directory, written into buf, which must
 * hold LL_PATH_MAX + 1 bytes; file is one of the lesson's own short names
 * (at most LL_FILE_NAME_ROOM - 1 characters), so the path always fits. */
const char *ll_lesson_path(const ll_lesson *L, const char *file, char *buf, size_t bufsize);

/* Prints "lesson-NN: <what>: <last error>" on stderr and returns the exit
 * status for it: 1 for divergence or a CUDA failure, 2 otherwise (bad input,
 * missing data, a file that cannot be read or written). */
int ll_lesson_fail(const ll_lesson *L, const char *what, ll_status s);

/* A lesson's last word: returns rc, or 1 when rc is 0 but some plot was not
 * drawn (the warnings named each one; everything else was written). */
int ll_lesson_finish(const ll_lesson *L, int rc);

/* LL_OK when d holds at least n images; otherwise LL_EARG saying that the
 * lesson needs n for `why` and how many d has. */
ll_status ll_lesson_need(const ll_lesson *L, const ll_dataset *d, int n, const char *why);

/* Loads the training and test sets (Fashion-MNIST unless --data), printing
 * what was loaded and how long it took. */
ll_status ll_lesson_load_data(const ll_lesson *L, ll_dataset *train, ll_dataset *test);

#endif
