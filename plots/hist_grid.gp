# hist_grid.gp — activation histograms as small multiples: one row per
# initialisation, one column per layer.
#
#   gnuplot -e "datafile='hist_relu.csv'; rows=4; cols=5; title='...'; outfile='h.png'" plots/hist_grid.gp
# datafile: CSV with a header; column 1 the bin centre, then rows*cols columns
# of bin fractions in row-major order (their header names the panel).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1250,900 font "sans,9"
    set output outfile
} else {
    set terminal dumb size 150,70
}
set datafile separator ","
set style fill solid 0.8
set yrange [0:*]
set xtics 0.5
set format y ""
# Each panel's name (its column header) is shown as the key, above the bars.
set key outside top center samplen 0 noenhanced
set multiplot layout rows, cols title title noenhanced
do for [i=1:rows*cols] {
    plot datafile using 1:(column(i + 1)) with boxes lc rgb "#2c7fb8" title columnheader(i + 1)
}
unset multiplot
