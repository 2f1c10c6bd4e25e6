# descent.gp — a gradient-descent path on the contours of f(x0, x1) = x0^2 + x1^2.
#
#   gnuplot -e "datafile='descent.csv'; title='...'; outfile='descent.png'" plots/descent.gp
# datafile: CSV with a header x0,x1, one point per step.
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 640,600 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 70,34
}
set datafile separator ","
set title title noenhanced
set parametric
set trange [0:2*pi]
set xrange [-4.5:4.5]
set yrange [-4.5:4.5]
set size ratio -1
set xlabel "x0"
set ylabel "x1"
set grid
unset key
plot for [r=1:5] r * cos(t), r * sin(t) lc rgb "#c8c8c8", \
     datafile using 1:2 every ::1 with linespoints pointtype 7 pointsize 0.8 lc rgb "#c0392b"
