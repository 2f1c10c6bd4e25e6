# optimizer_losses.gp — the smoothed training loss of several optimizers on one plot.
#
#   gnuplot -c plots/call.gp plots/optimizer_losses.gp losses.png \
#           'datafile ncols=7 ymax=3 title' ./losses.csv '...'
# (what ll_plot runs: each string a separate argument, never gnuplot code;
# numbers travel in the third argument as NAME=NUMBER)
# datafile: CSV with a header; column 1 the iteration, columns 2..ncols the
#   (smoothed) loss of one optimizer each, named by the header.
# ymax (optional): the top of the y axis; curves above it are cut off.
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 900,560 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 100,30
}
set datafile separator ","
set title title noenhanced
set xlabel "iteration"
set ylabel "training loss (moving average)"
set grid
set key top right
if (exists("ymax")) {
    set yrange [0:ymax]
} else {
    set yrange [0:*]
}
# Distinct colours (no yellow on white).
array colours[8] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#000000", "#e377c2", "#17becf"]
plot for [i=2:int(ncols)] datafile using 1:i with lines linewidth 2 lc rgb colours[(i-2)%8+1] title columnheader(i)
