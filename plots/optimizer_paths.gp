# optimizer_paths.gp — optimizer paths on the contours of f(x, y) = x^2/20 + y^2.
#
#   gnuplot -e "datadir='out/lesson-06'; names='sgd momentum adagrad rmsprop adam nesterov';
#               labels='SGD|Momentum|...'; outfile='paths.png'" plots/optimizer_paths.gp
# datadir holds path_<name>.csv for each name (header x,y, then one point per step).
# labels: the panel titles, separated by '|', in the order of names.
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1200,700 font "sans,10"
    set output outfile
} else {
    set terminal dumb size 120,50
}
n = words(names)
cols = 3
rows = (n + cols - 1) / cols
set datafile separator ","
set parametric
set trange [0:2*pi]
set xrange [-10:10]
set yrange [-5:5]
set size ratio -1
set grid
unset key
set multiplot layout rows, cols title "30 steps from (-7, 2) on f(x, y) = x^2/20 + y^2 (minimum at the origin)" noenhanced
do for [i=1:n] {
    name = word(names, i)
    # The i-th '|'-separated label.
    rest = labels; title_i = ""
    do for [j=1:i] {
        cut = strstrt(rest, "|")
        title_i = cut > 0 ? rest[1:cut-1] : rest
        rest = cut > 0 ? rest[cut+1:] : ""
    }
    set title title_i noenhanced
    plot for [c=0:5] sqrt(20 * 2**(c-2)) * cos(t), sqrt(2**(c-2)) * sin(t) lc rgb "#c8c8c8" notitle, \
         sprintf("%s/path_%s.csv", datadir, name) using 1:2 every ::1 with linespoints \
         pointtype 7 pointsize 0.6 lc rgb "#c0392b" notitle, \
         "+" using (0):(0) every ::0::0 with points pointtype 3 lc rgb "black" notitle
}
unset multiplot
