# optimizer_paths.gp — optimizer paths on the contours of f(x, y) = x^2/20 + y^2, one panel each.
#
#   gnuplot -c plots/call.gp plots/optimizer_paths.gp paths.png 'datafile titles' \
#           ./paths.csv '"SGD, lr 0.95" "Adam, lr 0.3"'
# (what ll_plot runs: each string a separate argument, never gnuplot code)
# datafile: CSV with a header; column 1 the step (0 = the start), then x and y
#   of each optimizer: columns 2i and 2i+1 hold the i-th path.
# titles: one double-quoted panel title per path, in the order of the columns.
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1350,500 font "sans,10"
    set output outfile
} else {
    set terminal dumb size 120,50
}
n = words(titles)
cols = 3
rows = (n + cols - 1) / cols
set datafile separator ","
set parametric
set trange [0:2*pi]
set xrange [-10:10]
set yrange [-4:4]
set size ratio -1
set xtics 5
set ytics 2
set grid
unset key
set multiplot layout rows, cols title "30 steps from (-7, 2) (o) on f(x, y) = x^2/20 + y^2, minimum at +; grey contours f = 0.25, 0.5, 1, 2, 4, 8" noenhanced
do for [i=1:n] {
    set title word(titles, i) noenhanced
    # Contours f = c are ellipses with half-axes sqrt(20 c) along x and sqrt(c) along y.
    plot for [k=0:5] sqrt(20 * 2**(k-2)) * cos(t), sqrt(2**(k-2)) * sin(t) lc rgb "#c8c8c8", \
         datafile using (column(2*i)):(column(2*i+1)) every ::1 with linespoints \
             pointtype 7 pointsize 0.5 lc rgb "#c0392b", \
         datafile using (column(2*i)):(column(2*i+1)) every ::1::1 with points \
             pointtype 6 pointsize 1.5 lc rgb "#1f4e9c", \
         "+" using (0):(0) every ::0::0 with points pointtype 1 pointsize 2 lc rgb "black"
}
unset multiplot
