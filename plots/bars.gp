# bars.gp — a bar chart of one value per class (softmax probabilities).
#
#   gnuplot -e "datafile='softmax.csv'; title='...'; outfile='softmax.png'" plots/bars.gp
# datafile: CSV with a header; column 1 the class name, column 2 the value.
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 800,450 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 80,24
}
set datafile separator ","
set title title noenhanced
set style data histograms
set style fill solid 0.7
set boxwidth 0.8
set yrange [0:1]
set ylabel "probability"
set xtics rotate by -30 noenhanced
set grid ytics
plot datafile using 2:xtic(1) notitle lc rgb "#2c7fb8"
