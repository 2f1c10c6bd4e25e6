# misclassified.gp — small images, each with its own title (predicted / true class).
#
#   gnuplot -e "datafile='wrong.dat'; n=20; cols=5; titles='Shirt / T-shirt|...'; outfile='w.png'" plots/misclassified.gp
# datafile: n matrices (28 rows of 28 values in [0, 1]) separated by two blank
# lines, so that gnuplot's `index` picks each one.
# titles: the n panel titles separated by '|'.
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1000,900 font "sans,9"
    set output outfile
} else {
    set terminal dumb size 120,60
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
