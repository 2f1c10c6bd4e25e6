# accuracy.gp — train and test accuracy per epoch, from a training log.
#
#   gnuplot -c plots/call.gp plots/accuracy.gp accuracy.png 'datafile title' ./train.csv '...'
# (what ll_plot runs: each string a separate argument, never gnuplot code)
# datafile: the epoch log of ll_train (epoch,iterations,train_loss,train_acc,test_acc,seconds).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 800,500 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 80,24
}
set datafile separator ","
set key autotitle columnhead
set key bottom right
set xlabel "epoch"
set ylabel "accuracy"
set title title noenhanced
set grid
# Half an epoch of room either side, also when there is only one epoch
# (before any yrange: stats drops the values outside it).
stats datafile using 1 nooutput
set xrange [0.5:STATS_max + 0.5]
set yrange [*:1]
plot datafile using 1:4 with linespoints pointtype 7 title "train", \
     datafile using 1:5 with linespoints pointtype 5 title "test"
