# images.gp — a grid of small grey images, each with its caption above it.
#
#   gnuplot -c plots/call.gp plots/images.gp samples.png \
#           'datafile n=10 cols=5 titles title' ./samples.dat 'Ankle boot|Pullover|...' '...'
# (what ll_plot runs: each string a separate argument, never gnuplot code;
# numbers travel in the third argument as NAME=NUMBER)
# datafile: n matrices of pixel values in [0, 1] (one text row per image row,
# values separated by spaces), each followed by two blank lines so that
# gnuplot's `index` picks one image.
# n: the number of images; cols: images per row of the grid.
# titles: the n captions separated by '|' (names may contain spaces and '/').
# title: the title above the grid.
# outfile ending in .png: pngcairo; empty: text on the terminal.

# Whole numbers, so that the division below rounds down.
n = int(n)
cols = int(cols)
rows = (n + cols - 1) / cols
if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 170 * cols, 190 * rows + 40 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 120, 30 * rows
}
# Pixel value 0 (the background) is white and 1 black: ink on paper.
set palette grey negative
set cbrange [0:1]
unset colorbox
unset xtics
unset ytics
unset border
unset key
set size ratio -1
# Row 0 of each matrix is the top of the image.
set yrange [*:*] reverse
set multiplot layout rows, cols title title noenhanced
rest = titles
do for [i=1:n] {
    cut = strstrt(rest, "|")
    caption = cut > 0 ? rest[1:cut-1] : rest
    rest = cut > 0 ? rest[cut+1:] : ""
    set title caption noenhanced
    plot datafile index (i - 1) matrix with image
}
unset multiplot
