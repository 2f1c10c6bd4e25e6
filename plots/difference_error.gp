# difference_error.gp — the error of forward and central differences against h.
#
#   gnuplot -e "datafile='difference_error.csv'; title='...'; outfile='e.png'" plots/difference_error.gp
# datafile: CSV h,forward,central (absolute errors).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 800,520 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 80,26
}
set datafile separator ","
set title title noenhanced
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set xlabel "step h"
set ylabel "|numerical - true derivative|"
set grid
set key top left
plot datafile using 1:2 with linespoints pointtype 5 title "forward (f(x+h) - f(x)) / h", \
     datafile using 1:3 with linespoints pointtype 7 title "central (f(x+h) - f(x-h)) / 2h"
