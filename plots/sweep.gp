# sweep.gp — relative error of the numerical gradient against the step h.
#
# Called by `gradcheck LAYER --sweep` through lib/plot.c and plots/call.gp:
#   gnuplot -c plots/call.gp plots/sweep.gp DIR/sweep.png \
#           'datafile ncols=4 subject' DIR/sweep.csv 'conv (f64)'
# Every string arrives as its own argument (ncols as a number) and is only ever used
# as one: no command here is built from a variable, so a folder or title
# holding quotes or "system(...)" is just text.
# datafile: CSV with a header row, h in column 1, one column per tensor.
# outfile ending in .png: pngcairo; otherwise the text terminal (dumb).

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 900,600 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 100,30
}
set datafile separator ","
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set xlabel "step h"
set ylabel "max relative error |a - n| / max(|a|, |n|, floor)"
set title sprintf("gradcheck %s: rounding (~eps/h) on the left, truncation (~h^2) on the right", subject) noenhanced
set grid
set key outside right
plot for [i=2:ncols] datafile using 1:i with linespoints pointtype 7 pointsize 0.8 title columnheader(i)
