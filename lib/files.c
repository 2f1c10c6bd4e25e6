#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How many files may be open for writing at once (ll_file_create): a
 * program writes a handful; more is a leak, refused as such. */
#define OPEN_WRITES_MAX 16

/* The suffix mkstemp fills in, after "<path>.tmp". */
#define TMP_SUFFIX ".tmpXXXXXX"

ll_status ll_path(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    size_t limit = size - 1 < LL_PATH_MAX ? size - 1 : LL_PATH_MAX;
    if (n < 0 || (size_t)n > limit) {
        char head[48];
        snprintf(head, sizeof head, "%s", buf);
        buf[0] = 0;
        return ll_fail(LL_EARG, "the path '%s...' is %d characters long, more than the limit of %zu",
                       head, n, limit);
    }
    return LL_OK;
}

ll_status ll_make_dirs(const char *dir)
{
    char path[LL_PATH_MAX + 1];
    if (!dir || !*dir)
        return ll_fail(LL_EARG, "cannot create a directory with an empty name");
    LL_TRY(ll_path(path, sizeof path, "%s", dir));
    /* Each '/' after the first character ends a parent: make it, then go on. */
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char c = *p;
        *p = 0;
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return ll_fail(LL_EIO, "cannot create directory '%s': %s", path, strerror(errno));
        *p = c;
        if (!c)
            return LL_OK;
    }
}

ll_status ll_prepare_out_dir(const char *dir, const char *what)
{
    size_t len = dir ? strlen(dir) : 0;
    if (len == 0)
        return ll_fail(LL_EARG, "%s: expected a folder name, got an empty one", what);
    if (len > LL_PATH_MAX - LL_FILE_NAME_ROOM)
        return ll_fail(LL_EARG, "%s: the folder name is %zu characters long, more than the limit "
                       "of %d", what, len, LL_PATH_MAX - LL_FILE_NAME_ROOM);
    if (ll_make_dirs(dir) != LL_OK)
        return ll_fail(LL_EIO, "%s: %s", what, ll_last_error());
    struct stat st;
    if (stat(dir, &st) != 0)
        return ll_fail(LL_EIO, "%s: cannot use '%s': %s", what, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ll_fail(LL_EIO, "%s: '%s' is not a folder", what, dir);
    /* Root ignores permission bits, so only a real file proves the folder
     * takes files (a read-only mount, a full quota of inodes). */
    char probe[LL_PATH_MAX + 1];
    LL_TRY(ll_path(probe, sizeof probe, "%s/.layerlab-probeXXXXXX", dir));
    int fd = mkstemp(probe);
    if (fd < 0)
        return ll_fail(LL_EIO, "%s: cannot write into '%s': %s", what, dir, strerror(errno));
    close(fd);
    unlink(probe);
    return LL_OK;
}

/* --- writing: a temporary file renamed into place --------------------- */

/* What a path that is not a regular file is, for messages. */
static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode) ? "a folder" : S_ISFIFO(mode) ? "a FIFO (named pipe)"
         : S_ISCHR(mode) ? "a character device" : S_ISBLK(mode) ? "a block device"
         : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}


typedef struct {
    FILE *f;                        /* NULL: the slot is free */
    char path[LL_PATH_MAX + 1];     /* where the file goes */
    char tmp[LL_PATH_MAX + 1];      /* where it is written until committed */
} open_write;

static open_write writes[OPEN_WRITES_MAX];
/* Set while a slot's tmp name is valid, read by the signal handler. */
static volatile sig_atomic_t write_live[OPEN_WRITES_MAX];

/* On SIGINT, SIGTERM or SIGHUP: remove the unfinished files, then die of the
 * signal as if not caught (unlink and raise are async-signal-safe). */
static void remove_tmp_files_and_die(int sig)
{
    for (int i = 0; i < OPEN_WRITES_MAX; i++)
        if (write_live[i])
            unlink(writes[i].tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installs the cleanup for each signal whose handler is still the default,
 * so a program's own handler is never replaced. */
static void install_cleanup(void)
{
    static bool installed;
    /* SIGPIPE too: `lesson-05 | head` ends the lesson mid-write. */
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE};
    if (installed)
        return;
    installed = true;
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old, sa = {0};
        if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL)
            continue;
        sa.sa_handler = remove_tmp_files_and_die;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

static open_write *slot_of(FILE *f)
{
    for (int i = 0; i < OPEN_WRITES_MAX; i++)
        if (writes[i].f == f)
            return &writes[i];
    return NULL;
}

static void release(open_write *w)
{
    write_live[w - writes] = 0;
    w->f = NULL;
}

ll_status ll_file_create(const char *path, FILE **f)
{
    *f = NULL;
    install_cleanup();
    open_write *w = slot_of(NULL);
    if (!w)
        return ll_fail(LL_EIO, "cannot write '%s': already %d files open for writing", path,
                       OPEN_WRITES_MAX);
    /* A device, folder or FIFO at the target is not ours to replace (root
     * could rename over /dev/full); a symlink is replaced, not followed. */
    struct stat st;
    bool exists = lstat(path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        return ll_fail(LL_EIO, "cannot write '%s': it is %s, expected a regular file or a new name",
                       path, file_kind(st.st_mode));
    bool replaces_file = exists && S_ISREG(st.st_mode);
    LL_TRY(ll_path(w->path, sizeof w->path, "%s", path));
    LL_TRY(ll_path(w->tmp, sizeof w->tmp, "%s" TMP_SUFFIX, path));
    int fd = mkstemp(w->tmp);
    if (fd < 0)
        return ll_fail(LL_EIO, "cannot write '%s': %s", path, strerror(errno));
    write_live[w - writes] = 1;
    fcntl(fd, F_SETFD, FD_CLOEXEC); /* gnuplot, started meanwhile, gets no handle to it */
    /* mkstemp makes 0600: a file replaced keeps its mode, a new one gets what
     * a plain fopen would. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, replaces_file ? st.st_mode & 07777 : 0666 & ~mask);
    w->f = fdopen(fd, "w");
    if (!w->f) {
        int e = errno;
        close(fd);
        unlink(w->tmp);
        release(w);
        return ll_fail(LL_EIO, "cannot write '%s': %s", path, strerror(e));
    }
    *f = w->f;
    return LL_OK;
}

ll_status ll_file_commit(FILE *f)
{
    if (!f)
        return LL_OK;
    open_write *w = slot_of(f);
    if (!w)
        return ll_fail(LL_EIO, "ll_file_commit: not a file from ll_file_create");
    errno = 0;
    bool ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    int e = errno;
    ok = (fclose(f) == 0) && ok;
    if (!e)
        e = errno;
    if (ok && rename(w->tmp, w->path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(w->tmp);
        release(w);
        return ll_fail(LL_EIO, "cannot write '%s': %s", w->path, e ? strerror(e) : "a write failed");
    }
    release(w);
    return LL_OK;
}

void ll_file_discard(FILE *f)
{
    open_write *w = f ? slot_of(f) : NULL;
    if (!w)
        return;
    fclose(f);
    unlink(w->tmp);
    release(w);
}

/* --- reading: regular files only ------------------------------------- */


ll_status ll_file_open_read(const char *path, const char *what, FILE **f, uint64_t *size)
{
    *f = NULL;
    /* Looked at before it is opened: opening a device can do something. */
    struct stat st;
    if (stat(path, &st) != 0)
        return ll_fail(LL_EIO, "%s: cannot open '%s': %s", what, path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ll_fail(LL_EIO, "%s: '%s' is %s, expected a regular file", what, path,
                       file_kind(st.st_mode));
    /* O_NONBLOCK: should it have become a FIFO since, the open must not wait. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return ll_fail(LL_EIO, "%s: cannot open '%s': %s", what, path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ll_fail(LL_EIO, "%s: cannot open '%s': %s", what, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ll_fail(LL_EIO, "%s: '%s' is %s, expected a regular file", what, path,
                       file_kind(st.st_mode));
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    *f = fdopen(fd, "rb");
    if (!*f) {
        int e = errno;
        close(fd);
        return ll_fail(LL_EIO, "%s: cannot open '%s': %s", what, path, strerror(e));
    }
    *size = (uint64_t)st.st_size;
    return LL_OK;
}

/* --- standard output -------------------------------------------------- */

static const char *program_name = "layerlab";

/* At exit: a program whose output was lost must not report success. */
static void check_stdout(void)
{
    errno = 0;
    bool ok = fflush(stdout) == 0 && !ferror(stdout);
    int e = errno;
    ok = fclose(stdout) == 0 && ok;
    if (!e)
        e = errno;
    if (ok)
        return;
    fprintf(stderr, "%s: cannot write standard output: %s\n", program_name,
            e ? strerror(e) : "a write failed");
    _exit(1);
}

void ll_program_start(const char *program)
{
    program_name = program;
    setvbuf(stdout, NULL, _IOLBF, 0);
    atexit(check_stdout);
    install_cleanup();
}
