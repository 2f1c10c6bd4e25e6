/* plot.h — drawing data files with gnuplot scripts from plots/.
 *
 * Every script in plots/ takes gnuplot variables on its command line and an
 * `outfile`: a name ending in .png renders with pngcairo, an empty name
 * renders as text (set terminal dumb) on standard output. ll_plot runs
 *     gnuplot -e "<vars>; outfile='<png>'" plots/<script>
 * (without a shell), and when standard output is a terminal and show is set,
 * once more in text so the plot appears right in the lesson's output.
 * Without gnuplot a lesson still runs and writes its data: ll_plot says once
 * how to install gnuplot and returns LL_OK.
 */
#ifndef LL_PLOT_H
#define LL_PLOT_H

#include <stdbool.h>

#include "status.h"

/* True when a gnuplot executable is on PATH. */
bool ll_plot_available(void);

/* The directory holding the gnuplot scripts: $LL_PLOTS if set, else the
 * source tree's plots/ recorded at build time. */
const char *ll_plots_dir(void);

/* Renders plots/<script> to png with the gnuplot assignments vars
 * ("datafile='a.csv'; title='x'"); also shows it as text on a terminal when
 * show is true. A gnuplot failure is LL_EIO naming the script. */
ll_status ll_plot(const char *script, const char *png, const char *vars, bool show);

#endif
