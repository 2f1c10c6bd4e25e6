# bn_grid.gp — training accuracy with and without BatchNorm, one small plot
# per initial weight scale.
#
#   gnuplot -e "datadir='out/lesson-08'; n=16; cols=4; outfile='bn_grid.png'" plots/bn_grid.gp
# datadir holds run_<i>.csv for i = 1..n: a header line "# std=<value>", then
# CSV rows epoch,with_bn,without_bn (training accuracy).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1200,1000 font "sans,9"
    set output outfile
} else {
    set terminal dumb size 140,60
}
set datafile separator ","
set datafile commentschars "#"
rows = (n + cols - 1) / cols
set yrange [0:1]
set ytics 0.5
set xtics 5
set grid
set multiplot layout rows, cols title "Training accuracy per epoch: with BatchNorm (solid) and without (dashed)"
do for [i=1:n] {
    f = sprintf("%s/run_%d.csv", datadir, i)
    std = system(sprintf("head -n 1 %s | cut -d= -f2", f))
    set title sprintf("weight std %s", std) noenhanced
    if (i == 1) { set key bottom right } else { unset key }
    plot f using 1:2 with lines linewidth 2 lc rgb "#1f77b4" title "BatchNorm", \
         f using 1:3 with lines linewidth 2 dashtype 2 lc rgb "#7f7f7f" title "no BatchNorm"
}
unset multiplot
