# optimizer_losses.gp — the smoothed training loss of several optimizers.
#
#   gnuplot -e "datafile='losses.csv'; ncols=6; title='...'; outfile='losses.png'" plots/optimizer_losses.gp
# datafile: CSV with a header; column 1 the iteration, columns 2..ncols one
# optimizer each (the header names them).
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
set yrange [0:*]
plot for [i=2:ncols] datafile using 1:i with lines linewidth 2 title columnheader(i)
