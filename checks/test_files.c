/* test_files.c — the file-system rules every program shares (lib/files.h):
 * paths refused rather than cut, output folders proved before any work,
 * writes that are checked and appear only whole, reads of regular files only,
 * temporary files removed on a signal, and standard output checked at exit. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "files.h"

/* A file size limit below what write_failure_is_an_error writes. */
#define SMALL_FILE_LIMIT 1000
#define BIG_WRITE 100000

static char *scratch(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", ll_test_tmpdir(), name);
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* How many entries of dir start with prefix and hold ".tmp". */
static int leftover_tmp_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += !strncmp(e->d_name, prefix, strlen(prefix)) && strstr(e->d_name, ".tmp");
    closedir(d);
    return n;
}

static void path_fits_or_is_refused(void **state)
{
    (void)state;
    char buf[LL_PATH_MAX + 1];
    assert_ok(ll_path(buf, sizeof buf, "%s/%s", "out", "a.csv"));
    assert_string_equal(buf, "out/a.csv");
    char small[8];
    assert_fails(ll_path(small, sizeof small, "%s/%s", "folder", "file"), LL_EARG,
                 "is 11 characters long, more than the limit of 7");
    assert_string_equal(small, "");
    /* A buffer larger than the system's limit still caps at LL_PATH_MAX. */
    static char huge[2 * LL_PATH_MAX];
    char *long_name = malloc(LL_PATH_MAX + 2);
    assert_non_null(long_name);
    memset(long_name, 'a', LL_PATH_MAX + 1);
    long_name[LL_PATH_MAX + 1] = 0;
    assert_fails(ll_path(huge, sizeof huge, "%s", long_name), LL_EARG, "limit of 4095");
    free(long_name);
}

static void out_dir_is_proved_up_front(void **state)
{
    (void)state;
    char dir[1024], file[512];
    assert_ok(ll_prepare_out_dir(scratch("out/a/b", dir, sizeof dir), "--out"));
    assert_true(exists(dir));
    assert_int_equal(leftover_tmp_files(dir, ".layerlab-probe"), 0);
    assert_int_equal(leftover_tmp_files(dir, ""), 0);
    FILE *f = fopen(scratch("plain", file, sizeof file), "w");
    assert_non_null(f);
    fclose(f);
    assert_fails(ll_prepare_out_dir(file, "--out"), LL_EIO, "is not a folder");
    snprintf(dir, sizeof dir, "%s/sub", file);
    assert_fails(ll_prepare_out_dir(dir, "--out"), LL_EIO, "Not a directory");
    assert_fails(ll_prepare_out_dir("/dev/full", "--out"), LL_EIO, "'/dev/full' is not a folder");
    assert_fails(ll_prepare_out_dir("/proc/self/x", "--save"), LL_EIO, "--save: cannot create");
    assert_fails(ll_prepare_out_dir("", "--out"), LL_EARG, "empty");
    char *long_dir = malloc(LL_PATH_MAX);
    assert_non_null(long_dir);
    memset(long_dir, 'd', LL_PATH_MAX - 1);
    long_dir[LL_PATH_MAX - 1] = 0;
    assert_fails(ll_prepare_out_dir(long_dir, "--out"), LL_EARG, "more than the limit of 3840");
    free(long_dir);
}

static void file_appears_only_when_committed(void **state)
{
    (void)state;
    char path[512];
    scratch("whole.csv", path, sizeof path);
    unlink(path);
    FILE *f;
    assert_ok(ll_file_create(path, &f));
    fprintf(f, "a,b\n1,2\n");
    assert_false(exists(path));
    assert_ok(ll_file_commit(f));
    char got[32] = {0};
    FILE *r = fopen(path, "r");
    assert_non_null(r);
    assert_int_equal(fread(got, 1, sizeof got - 1, r), 8);
    fclose(r);
    assert_string_equal(got, "a,b\n1,2\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_mode & S_IRUSR);
    assert_int_equal(leftover_tmp_files(ll_test_tmpdir(), "whole.csv"), 0);
    assert_ok(ll_file_commit(NULL));
    /* A file replaced keeps the permissions its owner gave it. */
    assert_int_equal(chmod(path, 0600), 0);
    assert_ok(ll_file_create(path, &f));
    fprintf(f, "new\n");
    assert_ok(ll_file_commit(f));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void discard_leaves_nothing(void **state)
{
    (void)state;
    char path[512];
    FILE *f;
    assert_ok(ll_file_create(scratch("dropped.csv", path, sizeof path), &f));
    fprintf(f, "x\n");
    ll_file_discard(f);
    assert_false(exists(path));
    assert_int_equal(leftover_tmp_files(ll_test_tmpdir(), "dropped.csv"), 0);
    ll_file_discard(NULL);
    assert_fails(ll_file_create("/nonexistent-dir/x.csv", &f), LL_EIO,
                 "cannot write '/nonexistent-dir/x.csv': No such file or directory");
    assert_null(f);
    /* Root could rename over a device node or a FIFO: neither is replaced. */
    assert_fails(ll_file_create("/dev/full", &f), LL_EIO,
                 "'/dev/full': it is a character device, expected a regular file or a new name");
    assert_fails(ll_file_create(ll_test_tmpdir(), &f), LL_EIO, "it is a folder");
    struct stat st;
    assert_int_equal(stat("/dev/full", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
}

/* A write that fails on its way to the disk (here: over the file size limit,
 * as a full disk would) is an error naming the file, and the old file stays. */
static void write_failure_is_an_error(void **state)
{
    (void)state;
    char path[512];
    scratch("limited.csv", path, sizeof path);
    FILE *f;
    assert_ok(ll_file_create(path, &f));
    fprintf(f, "old\n");
    assert_ok(ll_file_commit(f));

    struct rlimit old_limit, small = {SMALL_FILE_LIMIT, SMALL_FILE_LIMIT};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    small.rlim_max = old_limit.rlim_max;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    assert_ok(ll_file_create(path, &f));
    for (int i = 0; i < BIG_WRITE; i++)
        fputc('x', f);
    ll_status s = ll_file_commit(f);
    setrlimit(RLIMIT_FSIZE, &old_limit);
    signal(SIGXFSZ, old_handler);
    assert_fails(s, LL_EIO, "cannot write '");
    assert_non_null(strstr(ll_last_error(), "File too large"));

    char got[16] = {0};
    FILE *r = fopen(path, "r");
    assert_non_null(r);
    assert_true(fread(got, 1, sizeof got - 1, r) > 0);
    fclose(r);
    assert_string_equal(got, "old\n");
    assert_int_equal(leftover_tmp_files(ll_test_tmpdir(), "limited.csv"), 0);
}

/* A symlink at the target (to /dev/full, say) is replaced, not written through. */
static void symlink_target_is_replaced(void **state)
{
    (void)state;
    char path[512];
    scratch("linked.csv", path, sizeof path);
    unlink(path);
    assert_int_equal(symlink("/dev/full", path), 0);
    FILE *f;
    assert_ok(ll_file_create(path, &f));
    fprintf(f, "data\n");
    assert_ok(ll_file_commit(f));
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 5);
}

static void reads_regular_files_only(void **state)
{
    (void)state;
    char path[512], fifo[512], loop_a[512], loop_b[512];
    FILE *f;
    uint64_t size = 0;
    assert_ok(ll_file_create(scratch("read.bin", path, sizeof path), &f));
    fprintf(f, "12345");
    assert_ok(ll_file_commit(f));
    assert_ok(ll_file_open_read(path, "data", &f, &size));
    assert_int_equal(size, 5);
    fclose(f);

    assert_fails(ll_file_open_read(ll_test_tmpdir(), "model", &f, &size), LL_EIO,
                 "is a folder, expected a regular file");
    assert_null(f);
    assert_fails(ll_file_open_read("/dev/zero", "model", &f, &size), LL_EIO,
                 "'/dev/zero' is a character device, expected a regular file");
    scratch("pipe", fifo, sizeof fifo);
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    time_t t0 = time(NULL);
    assert_fails(ll_file_open_read(fifo, "data", &f, &size), LL_EIO, "is a FIFO (named pipe)");
    assert_true(time(NULL) - t0 < 2); /* it did not wait for a writer */
    scratch("loop_a", loop_a, sizeof loop_a);
    scratch("loop_b", loop_b, sizeof loop_b);
    unlink(loop_a), unlink(loop_b);
    assert_int_equal(symlink(loop_b, loop_a), 0);
    assert_int_equal(symlink(loop_a, loop_b), 0);
    assert_fails(ll_file_open_read(loop_a, "model", &f, &size), LL_EIO,
                 "Too many levels of symbolic links");
    assert_fails(ll_file_open_read("/nonexistent.bin", "data", &f, &size), LL_EIO,
                 "data: cannot open '/nonexistent.bin': No such file or directory");
}

/* A child that is killed while writing leaves no temporary file behind:
 * by SIGTERM, or by SIGPIPE as under `lesson-05 | head`. */
static void killed_child_leaves_no_tmp(int sig)
{
    char path[512];
    scratch("interrupted.bin", path, sizeof path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ll_program_start("test_files");
        FILE *f;
        if (ll_file_create(path, &f) != LL_OK)
            _exit(3);
        fprintf(f, "half a model");
        fflush(f);
        raise(sig);
        _exit(4); /* not reached: the signal ends the child */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), sig);
    assert_false(exists(path));
    assert_int_equal(leftover_tmp_files(ll_test_tmpdir(), "interrupted.bin"), 0);
}

static void signal_removes_unfinished_files(void **state)
{
    (void)state;
    killed_child_leaves_no_tmp(SIGTERM);
    killed_child_leaves_no_tmp(SIGPIPE);
    killed_child_leaves_no_tmp(SIGINT);
}

/* Runs a child that prints to a standard output on /dev/full and exits 0;
 * returns its exit status. */
static int exit_status_with_stdout_on_dev_full(bool checked)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/full", "w", stdout))
            _exit(3);
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        if (checked)
            ll_program_start("test_files");
        printf("a result nobody will see\n");
        exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void lost_stdout_is_a_failure(void **state)
{
    (void)state;
    assert_int_equal(exit_status_with_stdout_on_dev_full(false), 0); /* what C does alone */
    assert_int_equal(exit_status_with_stdout_on_dev_full(true), 1);
}

/* A path or a name read from a file may hold control bytes: a message shows
 * them as \xNN, so it stays one line and sends nothing to the terminal. */
static void messages_stay_one_line(void **state)
{
    (void)state;
    assert_int_equal(ll_fail(LL_EIO, "cannot open '%s'", "a\nb\x1b]0;title\a\x7f\xc3\xa9"), LL_EIO);
    assert_string_equal(ll_last_error(), "cannot open 'a\\x0Ab\\x1B]0;title\\x07\\x7F\xc3\xa9'");
    /* Context added around the previous message, which is an argument. */
    assert_int_equal(ll_fail(LL_EARG, "--out: %s", ll_last_error()), LL_EARG);
    assert_string_equal(ll_last_error(), "--out: cannot open 'a\\x0Ab\\x1B]0;title\\x07\\x7F\xc3\xa9'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(path_fits_or_is_refused),
        cmocka_unit_test(out_dir_is_proved_up_front),
        cmocka_unit_test(file_appears_only_when_committed),
        cmocka_unit_test(discard_leaves_nothing),
        cmocka_unit_test(write_failure_is_an_error),
        cmocka_unit_test(symlink_target_is_replaced),
        cmocka_unit_test(reads_regular_files_only),
        cmocka_unit_test(signal_removes_unfinished_files),
        cmocka_unit_test(lost_stdout_is_a_failure),
        cmocka_unit_test(messages_stay_one_line),
    };
    return cmocka_run_group_tests_name("files", tests, NULL, NULL);
}
