# bn_grid.gp — training accuracy with and without BatchNorm, one small plot
# per initial weight scale.
#
#   gnuplot -c plots/call.gp plots/bn_grid.gp bn_grid.png \
#           'datadir stds cols=4' ./out/lesson-08 '1 0.541 0.293 ...'
# (as lib/plot.c runs it: each string a separate argument, never gnuplot
# code; numbers travel in the third argument as NAME=NUMBER.)
# stds: the weight scales as words, one panel each (its title, read with word()).
# datadir holds run_<i>.csv for i = 1..words(stds): CSV rows
# epoch,with_bn,without_bn (training accuracy) under a header line and a
# "# std=..." comment.
# cols: panels per row.
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1200,1000 font "sans,9"
    set output outfile
} else {
    set terminal dumb size 140,60
}
set datafile separator ","
set datafile commentschars "#"
n = words(stds)
rows = (n + cols - 1) / cols
set yrange [0:1]
set ytics 0.5
set xtics 5
set grid
set multiplot layout rows, cols title "Training accuracy per epoch: with BatchNorm (solid) and without (dashed)"
do for [i=1:n] {
    f = sprintf("%s/run_%d.csv", datadir, i)
    set title sprintf("weight std %s", word(stds, i)) noenhanced
    if (i == 1) { set key bottom right } else { unset key }
    plot f using 1:2 with lines linewidth 2 lc rgb "#1f77b4" title "BatchNorm", \
         f using 1:3 with lines linewidth 2 dashtype 2 lc rgb "#7f7f7f" title "no BatchNorm"
}
unset multiplot
