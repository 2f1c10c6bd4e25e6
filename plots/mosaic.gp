# mosaic.gp — a grid of small grey images (filters, digits) from one matrix file.
#
#   gnuplot -c plots/call.gp plots/mosaic.gp filters.png 'datafile title' ./filters.dat '...'
# (as lib/plot.c runs it: each string a separate argument, never gnuplot code.)
# datafile: whitespace-separated rows of a matrix (the tiles already laid out
# with gaps, as the lessons write them; gaps hold the brightest value).
# Optional: lo, hi (the colour range; default: the data's range).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 720,640 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 80,40
}
set title title noenhanced
set palette grey
set size ratio -1
unset xtics
unset ytics
unset border
unset colorbox
set yrange [*:*] reverse
if (exists("lo") && exists("hi")) { set cbrange [lo:hi] }
plot datafile matrix with image notitle
