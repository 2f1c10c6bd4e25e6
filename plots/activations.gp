# activations.gp — activation functions, or their derivatives, on one plot.
#
#   gnuplot -e "datafile='activations.csv'; first=2; last=7; title='...'; outfile='a.png'" plots/activations.gp
# datafile: CSV with a header; column 1 is x, columns first..last are drawn
# (the header names them). Optional: ylo, yhi (the y range).
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
set key top left
if (!exists("ylo")) ylo = -1.5
if (!exists("yhi")) yhi = 3
set yrange [ylo:yhi]
plot for [i=first:last] datafile using 1:i with lines linewidth 2 title columnheader(i)
