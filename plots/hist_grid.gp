# hist_grid.gp — activation histograms as small multiples: one row per
# initialisation, one column per layer.
#
#   gnuplot -c plots/call.gp plots/hist_grid.gp h.png 'datafile title cols=5' \
#           ./hist_relu.csv '...'
# (as lib/plot.c runs it: each string a separate argument, never gnuplot
# code; numbers travel in the third argument as NAME=NUMBER.)
# datafile: CSV with a header; column 1 the bin centre, then one column of bin
# fractions per panel, row-major (their header names the panel).
# cols: panels per row; the rows follow from the number of columns.
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1250,900 font "sans,9"
    set output outfile
} else {
    set terminal dumb size 150,70
}
set datafile separator ","
stats datafile using 1 nooutput
panels = STATS_columns - 1
rows = (panels + cols - 1) / cols
set style fill solid 0.8
set yrange [0:*]
set xtics 0.5
set format y ""
# Each panel's name (its column header) is shown as the key, above the bars.
set key outside top center samplen 0 noenhanced
set multiplot layout rows, cols title title noenhanced
do for [i=1:panels] {
    plot datafile using 1:(column(i + 1)) with boxes lc rgb "#2c7fb8" title columnheader(i + 1)
}
unset multiplot
