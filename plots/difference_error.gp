# difference_error.gp — the error of forward and central differences against
# the step h (log-log), with the models that explain the V shapes.
#
#   gnuplot -c plots/call.gp plots/difference_error.gp e.png 'datafile title' ./difference_error.csv '...'
# (what ll_plot runs: each string a separate argument, never gnuplot code)
# datafile: CSV with the header h,forward,central,taylor_forward,taylor_central,rounding:
# the absolute errors of the two formulas, then three model terms drawn dashed
# (the Taylor remainders of each formula, and rounding divided by h).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 860,560 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 80,28
}
set datafile separator ","
set title title noenhanced
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set xlabel "step h"
set ylabel "|numerical - true derivative|"
set yrange [1e-17:1e3]
set ytics 100
set grid
set key top center box opaque
# h falls from left to right in the text; on the plot small h is on the left.
plot datafile using 1:2 every ::1 with linespoints pointtype 5 lc rgb "#d95f02" title "forward (f(x+h) - f(x)) / h", \
     datafile using 1:3 every ::1 with linespoints pointtype 7 lc rgb "#1b9e77" title "central (f(x+h) - f(x-h)) / 2h", \
     datafile using 1:4 every ::1 with lines dashtype 2 lc rgb "#d95f02" title "h f''/2: slope 1", \
     datafile using 1:5 every ::1 with lines dashtype 2 lc rgb "#1b9e77" title "h^2 f'''/6: slope 2", \
     datafile using 1:6 every ::1 with lines dashtype 3 lw 2 lc rgb "#555555" title "eps |f| / h: rounding"
