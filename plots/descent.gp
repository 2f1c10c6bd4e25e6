# descent.gp — a gradient-descent path on the contours of f(x0, x1) = x0^2 + x1^2,
# with the negative gradient drawn as arrows.
#
#   gnuplot -c plots/call.gp plots/descent.gp descent.png \
#           'datafile arrowfile title' ./descent.csv ./gradient_field.csv '...'   (lib/plot.c runs it so)
# datafile: CSV with the header step,x0,x1,f — one point per step, from step 0.
# arrowfile (optional): CSV with the header x0,x1,dx0,dx1 — an arrow from
# (x0, x1) along (dx0, dx1), drawn in grey.
# title: the plot title (drawn noenhanced: _ and ^ are literal).
# outfile ending in .png: pngcairo; empty: text on the terminal.
# The file names are only ever used as data file names, never pasted into
# gnuplot code, so any name (an apostrophe, a quote) is just a name.

png = strstrt(outfile, ".png") > 0
if (png) {
    set terminal pngcairo size 700,680 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 70,34
}
set datafile separator ","
set title title noenhanced
set xrange [-4.5:4.5]
set yrange [-4.5:4.5]
set size ratio -1
set xlabel "x0"
set ylabel "x1"
set key bottom right opaque box
# The contours of f are circles: f = r^2 on the circle of radius r.
set parametric
set trange [0:2*pi]
# Text has no room for the contour labels and the arrows: the circles and the path only.
set style textbox opaque noborder margins 1,1
do for [r=1:4*png] {
    set label r sprintf("f = %d", r * r) at first r * cos(pi / 6), first r * sin(pi / 6) center \
        boxed font ",9" textcolor rgb "#808080" front
}
# Arrows only in the PNG: text has no room for them. Two plot commands rather
# than one built as a string, so no file name ever becomes gnuplot code.
arrows = exists("arrowfile") && png
if (arrows) {
    plot for [r=1:5] r * cos(t), r * sin(t) lc rgb "#c8c8c8" notitle, \
         arrowfile using 1:2:3:4 every ::1 with vectors head filled size 0.08,20 \
             lc rgb "#7f9fbf" title "-gradient", \
         datafile using 2:3 every ::1 with linespoints pointtype 7 pointsize 0.7 lc rgb "#c0392b" \
             title "path, one point per step", \
         datafile using 2:3 every ::1::1 with points pointtype 6 pointsize 2 lc rgb "#c0392b" \
             title "start"
} else {
    plot for [r=1:5] r * cos(t), r * sin(t) lc rgb "#c8c8c8" notitle, \
         datafile using 2:3 every ::1 with linespoints pointtype 7 pointsize 0.7 lc rgb "#c0392b" \
             title "path, one point per step", \
         datafile using 2:3 every ::1::1 with points pointtype 6 pointsize 2 lc rgb "#c0392b" \
             title "start"
}
