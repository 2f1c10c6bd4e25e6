# device_losses.gp — the loss of every mini-batch of one seeded run, trained
# once on the CPU and once on the GPU, on one plot (lesson 11 --gpu).
#
#   gnuplot -c plots/call.gp plots/device_losses.gp loss_cpu_gpu.png \
#           'datafile title' ./loss_cpu_gpu.csv '...'
# (as lib/plot.c runs it: each string a separate argument, never gnuplot code.)
# datafile: CSV with a header: iteration,cpu,gpu (the raw mini-batch losses).
# outfile ending in .png: pngcairo; empty: text on the terminal.
#
# The GPU curve is drawn dashed over the solid CPU one: where they agree to
# rounding, the dashes sit exactly on the line.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 900,560 font "sans,11"
    set output outfile
} else {
    set terminal dumb size 100,30
}
set datafile separator ","
set title title noenhanced
set xlabel "iteration"
set ylabel "mini-batch loss (cross-entropy)"
set grid
set key top right
set yrange [0:*]
plot datafile using 1:2 with lines linewidth 3 lc rgb "#1f77b4" title "CPU (OpenBLAS)", \
     datafile using 1:3 with lines linewidth 1.5 dt 2 lc rgb "#d62728" title "GPU (CUDA twins, cuBLAS)"
