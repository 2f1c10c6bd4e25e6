# gemm_speed.gp — matrix product speed against size: naive loops vs OpenBLAS.
#
#   gnuplot -e "datafile='gemm.csv'; title='...'; outfile='gemm.png'" plots/gemm_speed.gp
# datafile: CSV n,naive_ijk,naive_ikj,openblas (GFLOP/s).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 800,500 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 80,24
}
set datafile separator ","
set title title noenhanced
set xlabel "n (the product of two n x n matrices)"
set ylabel "GFLOP/s"
set logscale xy
set grid
set key top left
plot datafile using 1:4 with linespoints pointtype 7 title "OpenBLAS sgemm/dgemm", \
     datafile using 1:3 with linespoints pointtype 5 title "naive loop, i-k-j order", \
     datafile using 1:2 with linespoints pointtype 9 title "naive loop, i-j-k order"
