#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define REDRAW_SECONDS 0.1

double ll_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ll_progress_start(ll_progress *p, const char *label, long total)
{
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->unit = "img";
    p->total = total > 0 ? total : 1;
    p->start = ll_now();
    p->tty = isatty(STDOUT_FILENO);
}

static double rate(const ll_progress *p, double now)
{
    double dt = now - p->start;
    return dt > 0 ? (double)p->items_done / dt : 0;
}

void ll_progress_update(ll_progress *p, long done, long items, const char *status)
{
    double now = ll_now();
    p->items_done = items;
    int pct = (int)(100 * done / p->total);
    if (p->tty) {
        if (now - p->last_draw < REDRAW_SECONDS && done < p->total)
            return;
        p->last_draw = now;
        char bar[BAR_WIDTH + 1];
        int filled = (int)(BAR_WIDTH * done / p->total);
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH] = 0;
        printf("\r  %s [%s] %3d%%  %s  %.0f %s/s\033[K", p->label, bar, pct, status, rate(p, now),
               p->unit);
        fflush(stdout);
    } else {
        int quarter = (int)(4 * done / p->total);
        if (quarter > p->last_quarter && quarter < 4) {
            p->last_quarter = quarter;
            printf("  %s %3d%%  %s  %.0f %s/s\n", p->label, pct, status, rate(p, now), p->unit);
            fflush(stdout);
        }
    }
}

void ll_progress_finish(ll_progress *p, const char *status)
{
    double now = ll_now();
    if (p->tty)
        printf("\r\033[K");
    printf("  %s  %s  %.0f %s/s, %.1f s\n", p->label, status, rate(p, now), p->unit, now - p->start);
    fflush(stdout);
}
