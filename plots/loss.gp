# loss.gp — the loss of every mini-batch, and its moving average.
#
#   gnuplot -c plots/call.gp plots/loss.gp loss.png 'datafile title' ./iterations.csv '...'
# (what ll_plot runs: each string a separate argument, never gnuplot code)
# datafile: the iteration log of ll_train (iteration,epoch,loss).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 800,500 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 80,24
}
set datafile separator ","
set xlabel "iteration"
set ylabel "loss (cross-entropy)"
set title title noenhanced
set grid
set key top right
# An exponential moving average: mini-batch losses are noisy.
ema = 0; started = 0
smooth(x) = (started ? (ema = 0.98 * ema + 0.02 * x) : (started = 1, ema = x))
plot datafile using 1:3 every ::1 with lines linecolor rgb "#b0c4de" title "mini-batch loss", \
     datafile using 1:(smooth($3)) every ::1 with lines linewidth 2 linecolor rgb "#1f4e9c" title "moving average"
