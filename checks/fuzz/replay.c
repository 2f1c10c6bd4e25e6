/* replay.c — replays inputs through a fuzz target without libFuzzer, so the
 * seed corpus and the regression inputs run under CTest in every build tree.
 *
 *   replay_<target> [--expect-error] PATH...
 *
 * Each PATH is an input file or a folder of them (files starting with '.'
 * skipped). Every input is fed to the target's ll_fuzz_one, which aborts when
 * the loader breaks a promise. An input named "ok-..." must be accepted and
 * one named "bad-..." rejected (the seeds of make_corpus.py); with
 * --expect-error every input must be rejected (a regression input: a crash
 * the fuzzer found, now a clean error with a message). Prints one line per
 * input. Exit status: 0 when every input did what was expected, 1 when one
 * did not, 2 on a usage or I/O error (a folder without inputs is one: its
 * path is probably wrong).
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EXIT_MISMATCH 1
#define EXIT_USAGE 2
#define OK_PREFIX "ok-"
#define BAD_PREFIX "bad-"

/* Reads a whole file into a new buffer (at least one byte, so an empty file
 * still gets a pointer); returns NULL and says why on failure. */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : BUFSIZ;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) {
                fprintf(stderr, "%s: out of memory\n", path);
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "%s: read error\n", path);
        free(buf);
        return NULL;
    }
    *size = n;
    return buf;
}

/* What the name of a file promises: "ok-..." loads, "bad-..." does not. */
typedef enum { EXPECT_ANY, EXPECT_OK, EXPECT_ERROR } expectation;

static expectation expected_from_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strncmp(base, OK_PREFIX, strlen(OK_PREFIX)) == 0)
        return EXPECT_OK;
    if (strncmp(base, BAD_PREFIX, strlen(BAD_PREFIX)) == 0)
        return EXPECT_ERROR;
    return EXPECT_ANY;
}

/* Replays one file; returns 0, EXIT_MISMATCH or EXIT_USAGE. */
static int replay_file(const char *path, bool expect_error)
{
    size_t size = 0;
    uint8_t *data = read_file(path, &size);
    if (!data)
        return EXIT_USAGE;
    ll_status s = ll_fuzz_one(data, size);
    free(data);
    expectation want = expect_error ? EXPECT_ERROR : expected_from_name(path);
    if (s == LL_OK)
        printf("%s: accepted\n", path);
    else
        printf("%s: rejected (%s): %s\n", path, ll_status_name(s), ll_last_error());
    if (want == EXPECT_ERROR && s == LL_OK) {
        fprintf(stderr, "%s: accepted, but this input must be rejected\n", path);
        return EXIT_MISMATCH;
    }
    if (want == EXPECT_OK && s != LL_OK) {
        fprintf(stderr, "%s: rejected, but this input must load: %s\n", path, ll_last_error());
        return EXIT_MISMATCH;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every file of a folder in name order; returns the worst result. */
static int replay_dir(const char *dir, bool expect_error)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return EXIT_USAGE;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int worst = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                worst = EXIT_USAGE;
                break;
            }
            names = grown;
        }
        size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
        names[n] = malloc(len);
        if (!names[n]) {
            worst = EXIT_USAGE;
            break;
        }
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (worst == 0 && n == 0) {
        fprintf(stderr, "%s: no inputs in this folder\n", dir);
        worst = EXIT_USAGE;
    }
    if (worst == 0)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        if (worst == 0 || worst == EXIT_MISMATCH) {
            int r = replay_file(names[i], expect_error);
            worst = r > worst ? r : worst;
        }
        free(names[i]);
    }
    free(names);
    return worst;
}

int main(int argc, char **argv)
{
    bool expect_error = false;
    int first = 1;
    if (first < argc && strcmp(argv[first], "--expect-error") == 0) {
        expect_error = true;
        first++;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [--expect-error] PATH... (input files or folders of them)\n",
                argv[0]);
        return EXIT_USAGE;
    }
    int worst = 0;
    for (int i = first; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return EXIT_USAGE;
        }
        int r = S_ISDIR(st.st_mode) ? replay_dir(argv[i], expect_error)
                                    : replay_file(argv[i], expect_error);
        worst = r > worst ? r : worst;
    }
    return worst;
}
