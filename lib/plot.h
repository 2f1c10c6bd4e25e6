/* plot.h — drawing data files with gnuplot scripts from plots/.
 *
 * Every script in plots/ reads gnuplot variables (datafile, title, n, ...)
 * and `outfile`: a name ending in .png renders with pngcairo, an empty name
 * renders as text (set terminal dumb) on standard output. ll_plot runs
 *     gnuplot -c plots/call.gp plots/<script> <png> "NAME NAME=NUMBER ..." VALUE ...
 * without a shell: each string travels as its own argument and is never
 * parsed as gnuplot code (plots/call.gp), so a title or a folder with an apostrophe,
 * a quote or "system(...)" in it is only text. Paths are passed as /... or
 * ./..., so gnuplot never reads one as a command ('<cmd', '|cmd').
 *
 * When standard output is a terminal and show is set, the plot is drawn once
 * more as text so it appears right in the lesson's output. Without gnuplot a
 * lesson still runs and writes its data: ll_plot says once how to install
 * gnuplot and returns LL_OK.
 *
 * A plot is optional work: when one fails, ll_plot prints a warning naming it
 * on standard error, counts it (ll_plot_failures) and returns LL_EIO, and the
 * caller goes on with what it has and exits non-zero at the end.
 */
#ifndef LL_PLOT_H
#define LL_PLOT_H

#include <stdbool.h>

#include "status.h"

typedef enum {
    LL_PLOT_VAR_TEXT,   /* a string, passed as it is */
    LL_PLOT_VAR_PATH,   /* a file or folder name: made /... or ./... */
    LL_PLOT_VAR_NUMBER, /* a number */
} ll_plot_var_kind;

/* One gnuplot variable that a script reads. */
typedef struct {
    const char *name;   /* an identifier: letters, digits, '_' */
    ll_plot_var_kind kind;
    const char *text;   /* TEXT and PATH */
    double number;      /* NUMBER */
} ll_plot_var;

#define LL_PLOT_TEXT(name, s) ((ll_plot_var){(name), LL_PLOT_VAR_TEXT, (s), 0})
#define LL_PLOT_PATH(name, p) ((ll_plot_var){(name), LL_PLOT_VAR_PATH, (p), 0})
#define LL_PLOT_NUMBER(name, x) ((ll_plot_var){(name), LL_PLOT_VAR_NUMBER, NULL, (x)})

/* The most variables one plot takes, and of those the most strings (TEXT or
 * PATH): gnuplot 5.4 passes at most 9 arguments to a script, and call.gp
 * takes three of them (numbers travel inside its third). */
#define LL_PLOT_VARS_MAX 16
#define LL_PLOT_STRINGS_MAX 6

/* How long gnuplot may take to draw one plot before it is stopped (a data
 * file that never ends, a hung terminal). */
#define LL_PLOT_TIMEOUT_SECONDS 120

/* True when a gnuplot executable is on PATH. */
bool ll_plot_available(void);

/* The directory holding the gnuplot scripts: $LL_PLOTS if set, else the
 * source tree's plots/ recorded at build time. */
const char *ll_plots_dir(void);

/* Renders plots/<script> to the file png with the n variables vars, prints
 * "Wrote <png>." and, when show is true, shows it as text on a terminal.
 * LL_OK when gnuplot exited 0 and png is a non-empty regular file, or when
 * gnuplot is not installed (a notice, once, and no PNG); otherwise a warning
 * naming png is printed and counted, whatever gnuplot left is removed, and
 * the result is LL_EIO. */
ll_status ll_plot_vars(const char *script, const char *png, bool show, const ll_plot_var *vars,
                       int n);

/* ll_plot("accuracy.gp", png, true, LL_PLOT_PATH("datafile", csv),
 *         LL_PLOT_TEXT("title", title)): the variables as a list. */
#define ll_plot(script, png, show, ...)                                                \
    ll_plot_vars((script), (png), (show), (const ll_plot_var[]){__VA_ARGS__},          \
                 (int)(sizeof((const ll_plot_var[]){__VA_ARGS__}) / sizeof(ll_plot_var)))

/* How many plots failed so far in this program (a lesson exits 1 if any). */
int ll_plot_failures(void);

#endif
