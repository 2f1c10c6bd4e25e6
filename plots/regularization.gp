# regularization.gp — train and test accuracy per epoch for several runs, and
# the gap between them.
#
#   gnuplot -e "datadir='out/lesson-09'; runs='none decay dropout';
#               labels='no regularization|weight decay 0.1|dropout 0.2'; outfile='r.png'" plots/regularization.gp
# datadir holds train_<run>.csv for each run: the epoch log of ll_train
# (epoch,iterations,train_loss,train_acc,test_acc,seconds).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1200,820 font "sans,10"
    set output outfile
} else {
    set terminal dumb size 120,50
}
set datafile separator ","
n = words(runs)
set multiplot layout 2, 2 title "300 training images, 6 x 100 ReLU layers: train (solid) and test (dashed) accuracy"
set yrange [0:1.05]
set grid
set xlabel "epoch"
set key bottom right
do for [i=1:n] {
    rest = labels; name_i = ""
    do for [j=1:i] {
        cut = strstrt(rest, "|")
        name_i = cut > 0 ? rest[1:cut-1] : rest
        rest = cut > 0 ? rest[cut+1:] : ""
    }
    f = sprintf("%s/train_%s.csv", datadir, word(runs, i))
    set title name_i noenhanced
    plot f using 1:4 every ::1 with lines linewidth 2 lc rgb "#1f77b4" title "train", \
         f using 1:5 every ::1 with lines linewidth 2 dashtype 2 lc rgb "#d62728" title "test"
}
set title "the gap: train accuracy - test accuracy" noenhanced
set yrange [*:*]
set key top left
plot for [i=1:n] sprintf("%s/train_%s.csv", datadir, word(runs, i)) using 1:($4 - $5) every ::1 \
     with lines linewidth 2 title word(runs, i)
unset multiplot
