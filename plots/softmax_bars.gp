# softmax_bars.gp — one softmax output: a probability bar per class, the true
# class in orange, and a dashed line at chance (1 / number of classes).
#
#   gnuplot -c plots/call.gp plots/softmax_bars.gp softmax.png 'datafile title' ./softmax.csv '...'
# (what ll_plot runs: each string a separate argument, never gnuplot code)
# datafile: CSV with the header class,score,probability,true — the class name,
# its raw score (not drawn), its softmax probability, and 1 for the true class
# (0 for the others).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 800,450 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 80,24
}
set datafile separator ","
stats datafile using 3 nooutput
chance = 1.0 / STATS_records
set title title noenhanced
set style fill solid 0.8 border -1
set boxwidth 0.7
set yrange [0:1]
set xrange [-0.6:STATS_records - 0.4]
set ylabel "softmax probability"
set xtics rotate by -30 noenhanced nomirror
set grid ytics
set key top right
plot datafile using 0:3:($4 > 0 ? 0xe6550d : 0x2c7fb8):xtic(1) every ::1 with boxes lc rgb variable notitle, \
     datafile using 0:3:(sprintf("%.3f", $3)) every ::1 with labels offset 0,0.7 notitle, \
     chance with lines dashtype 2 lc rgb "#555555" title sprintf("chance, 1/%d", STATS_records), \
     keyentry with boxes lc rgb 0xe6550d title "the true class"
