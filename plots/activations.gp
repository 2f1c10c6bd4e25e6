# activations.gp — activation functions, or their derivatives, on one plot.
#
#   gnuplot -c plots/call.gp plots/activations.gp a.png \
#           'datafile first=2 last=7 title' ./activations.csv '...'
# (what ll_plot runs: each string a separate argument, never gnuplot code;
# numbers travel in the third argument as NAME=NUMBER)
# datafile: CSV with a header; column 1 is x, columns first..last are drawn,
#           named by their headers.
# title: the plot title (drawn noenhanced: _ and ^ are literal).
# Optional: ylo, yhi (the y range, default -1.5 to 3);
#           widths, dashes: one line width / gnuplot dashtype per drawn column,
#           space-separated ('2 2 2 2 3.5 6'; default 2 and 1, solid), so that
#           curves lying on top of each other stay visible.
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 800,560 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 80,30
}
set datafile separator ","
set title title noenhanced
set xlabel "x"
set grid
set autoscale xfix
if (!exists("ylo")) ylo = -1.5
if (!exists("yhi")) yhi = 3
if (!exists("widths")) widths = ""
if (!exists("dashes")) dashes = ""
set yrange [ylo:yhi]
# The style of column i from a word list, or the default when the list is short.
style(list, i, default) = words(list) >= i - first + 1 ? real(word(list, i - first + 1)) : default
# Drawn last column first, so the first columns lie on top; the inverted key
# still lists them in column order.
set key top left noenhanced invert
plot for [i=int(last):int(first):-1] datafile using 1:i with lines linecolor (i - first + 1) \
     linewidth style(widths, i, 2) dashtype int(style(dashes, i, 1)) title columnheader(i)
