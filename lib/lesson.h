/* lesson.h — what every lesson program shares: flags, headings, output files.
 *
 * Every lesson accepts the same flags:
 *   --full        the book-length run (default: about two minutes on 2 cores)
 *   --smoke       a few seconds, tiny sizes: CTest runs every lesson this way
 *   --seed S      seeds every random thing (default 1)
 *   --data DIR    an MNIST-layout data set instead of Fashion-MNIST
 *   --out DIR     where data and plots go (default out/lesson-NN)
 *   --lr X        the learning rate of the lesson's one training run, in the
 *                 lessons that have one (05, 10); the others refuse it
 *   --gpu         train on the GPU, in the lessons that train networks (05,
 *                 06, 08, 10, 11); without a usable GPU it stops with the reason
 *   --help
 * and writes its data files and PNG plots under the output directory.
 */
#ifndef LL_LESSON_H
#define LL_LESSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "net.h"

typedef struct {
    char number[8];     /* "05" */
    bool full, smoke;
    uint64_t seed;
    const char *data;   /* --data DIR, or NULL */
    char out[1024];     /* output directory */
    double lr;          /* the learning rate of the lesson's one training run: the
                           lesson sets its default before ll_lesson_init, which then
                           accepts --lr; 0 when there is no such run (--lr refused) */
    bool gpu_ok;        /* set by a lesson that trains networks, before ll_lesson_init:
                           then --gpu is accepted (and refused by the others) */
    bool gpu;           /* --gpu: train on the GPU (ll_lesson_place) */
} ll_lesson;

/* Parses the flags into L (keeping only L->lr, the default learning rate, from
 * before), creates the output directory and prints the lesson's
 * banner. Returns -1 to go on, or the exit status to return right away
 * (0 after --help, 2 after a usage error). `about` is one line for --help. */
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

/* The path of a file in the output directory, written into buf. */
const char *ll_lesson_path(const ll_lesson *L, const char *file, char *buf, size_t bufsize);

/* Prints "lesson-NN: <what>: <last error>" on stderr and returns the exit
 * status for it: 2 for bad input or missing data, 1 otherwise (divergence). */
int ll_lesson_fail(const ll_lesson *L, const char *what, ll_status s);

/* Loads the training and test sets (Fashion-MNIST unless --data), printing
 * what was loaded and how long it took. */
ll_status ll_lesson_load_data(const ll_lesson *L, ll_dataset *train, ll_dataset *test);

#endif
