# misclassified.gp — small images, each with its own title (predicted / true class).
#
#   gnuplot -c plots/call.gp plots/misclassified.gp w.png 'datafile titles cols=5' \
#           ./wrong.dat 'Shirt / T-shirt|...'
# (as lib/plot.c runs it: each string a separate argument, never gnuplot
# code; numbers travel in the third argument as NAME=NUMBER.)
# titles: the panel titles separated by '|', one per image: their count is n.
# datafile: n matrices (28 rows of 28 values in [0, 1]) separated by two blank
# lines, so that gnuplot's `index` picks each one.
# cols: panels per row.
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1000,900 font "sans,9"
    set output outfile
} else {
    set terminal dumb size 120,60
}
n = 1
do for [c = 1:strlen(titles)] {
    if (titles[c:c] eq "|") { n = n + 1 }
}
rows = (n + cols - 1) / cols
set palette grey negative
unset colorbox
unset xtics
unset ytics
unset border
set size ratio -1
set cbrange [0:1]
set yrange [*:*] reverse
set multiplot layout rows, cols title "Misclassified test images: predicted / true" noenhanced
rest = titles
do for [i=1:n] {
    cut = strstrt(rest, "|")
    t = cut > 0 ? rest[1:cut-1] : rest
    rest = cut > 0 ? rest[cut+1:] : ""
    set title t noenhanced
    plot datafile index (i - 1) matrix with image notitle
}
unset multiplot
