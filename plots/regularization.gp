# regularization.gp — train and test accuracy per epoch for several runs, and
# the gap between them.
#
#   gnuplot -c plots/call.gp plots/regularization.gp r.png 'datadir runs title' \
#           ./out/lesson-09 'none|no regularization|decay|weight decay 0.1|dropout|dropout 0.2' \
#           '300 training images, ...'
# (as lib/plot.c runs it: each string a separate argument, never gnuplot
# code; at most 6 strings, since gnuplot passes at most 9 arguments to a script.)
# runs: for each run its name and its panel title, all separated by '|';
# datadir holds train_<name>.csv for each run: the epoch log of ll_train
# (epoch,iterations,train_loss,train_acc,test_acc,seconds).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1200,820 font "sans,10"
    set output outfile
} else {
    set terminal dumb size 120,50
}
set datafile separator ","

# runs split at '|' into item[]: name 1, label 1, name 2, label 2, ...
items = 1
do for [c = 1:strlen(runs)] {
    if (runs[c:c] eq "|") { items = items + 1 }
}
array item[items]
rest = runs
do for [k = 1:items] {
    cut = strstrt(rest, "|")
    item[k] = cut > 0 ? rest[1:cut-1] : rest
    rest = cut > 0 ? rest[cut+1:] : ""
}
n = items / 2
file(i) = sprintf("%s/train_%s.csv", datadir, item[2 * i - 1])

set multiplot layout 2, 2 title title noenhanced
set yrange [0:1.05]
set grid
set xlabel "epoch"
set key bottom right
do for [i=1:n] {
    f = file(i)
    set title item[2 * i] noenhanced
    plot f using 1:4 every ::1 with lines linewidth 2 lc rgb "#1f77b4" title "train", \
         f using 1:5 every ::1 with lines linewidth 2 dashtype 2 lc rgb "#d62728" title "test"
}
set title "the gap: train accuracy - test accuracy" noenhanced
set yrange [*:*]
set key top left
plot for [i=1:n] file(i) using 1:($4 - $5) every ::1 \
     with lines linewidth 2 title item[2 * i - 1] noenhanced
unset multiplot
