# gemm_speed.gp — matrix product speed against size: naive loops vs OpenBLAS.
#
#   gnuplot -c plots/call.gp plots/gemm_speed.gp gemm.png 'datafile title' ./gemm.csv '...'
# (what ll_plot runs: each string a separate argument, never gnuplot code)
# datafile: CSV with a header, n,naive_ijk,naive_ikj,openblas (GFLOP/s);
#           nan where a method was not timed (the naive loops at large n).
# title: the plot title (drawn noenhanced: _ and ^ are literal).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 800,500 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 80,24
}
set datafile separator ","
set datafile missing "nan"
# Half an octave of room either side of the measured sizes.
stats datafile using 1 nooutput
set xrange [STATS_min / 1.5 : STATS_max * 1.5]
set title title noenhanced
set xlabel "n (the product of two n x n matrices)"
set ylabel "GFLOP/s"
set logscale xy 2
set format y "%g"
set logscale y 10
set grid
set key below horizontal maxcols 3 noenhanced
# The measured sizes label the x axis.
plot datafile using 1:4:xtic(1) with linespoints linewidth 2 pointtype 7 title "OpenBLAS (ll_gemm)", \
     datafile using 1:3 with linespoints linewidth 2 pointtype 5 title "naive i-k-j loop", \
     datafile using 1:2 with linespoints linewidth 2 pointtype 9 title "naive i-j-k loop"
