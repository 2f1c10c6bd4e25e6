# bench.gp — the bench's chart: how close each layer comes to its limit, and
# how much faster (or slower) training is than PyTorch's.
#
#   gnuplot -c plots/call.gp plots/bench.gp bench.png 'datadir parts title' \
#           ./out/bench 'layers ratios' '...'
# (as lib/plot.c runs it: each value a string argument, never gnuplot code;
# at most 6 strings, since gnuplot passes at most 9 arguments to a script.)
# datadir: the bench's --out, holding
#   layers.csv (column 2 the case, 3 the class, 14 cpu_fraction: limit time /
#              layer time, forward+backward), and
#   ratios.csv (column 1 the net, 4 the ratio PyTorch time / layerlab time,
#              PyTorch in its best CPU configuration; columns 5 and 6, PyTorch
#              as installed, are context and not drawn).
# parts: the words "layers" and "ratios" for the parts that were measured
#        (--only and a missing PyTorch leave one out).
# outfile ending in .png: pngcairo; empty: text on the terminal.

if (strstrt(outfile, ".png") > 0) {
    set terminal pngcairo size 1400,560 font "sans,10"
    set output outfile
} else {
    set terminal dumb size 120,30
}
set datafile separator ","
layersfile = datadir . "/layers.csv"
ratiosfile = datadir . "/ratios.csv"
haslayers = strstrt(parts, "layers") > 0
hasratios = strstrt(parts, "ratios") > 0
set style fill solid 0.75 border -1
set boxwidth 0.8
set grid ytics
set multiplot layout 1,2 columnsfirst title title noenhanced
# The targets of issue 6: Conv at 70% of its GEMMs' speed, element-wise layers
# at 50% of memcpy's bandwidth, training twice as fast as PyTorch.
conv_target = 70
elementwise_target = 50
speedup_target = 2

# Left: % of the limit per layer, coloured by what the limit is.
set size ratio 0
set lmargin 8
set title "% of the limit, forward+backward (GEMM layers: OpenBLAS alone; others: memcpy)" noenhanced
set ylabel "% of limit"
set xtics rotate by -45 noenhanced font ",8"
set yrange [0:*]
# Headroom above the tallest bar for the key.
set offsets 0, 0, graph 0.35, 0
set key inside top left horizontal maxrows 2 opaque box noenhanced font ",9"
if (haslayers) {
    plot layersfile skip 1 using 0:(strcol(3) eq "gemm" ? 100 * $14 : NaN):xtic(2) with boxes lc rgb "#2c7fb8" title "GEMM layers", \
         "" skip 1 using 0:(strcol(3) eq "elementwise" ? 100 * $14 : NaN) with boxes lc rgb "#41ab5d" title "element-wise", \
         "" skip 1 using 0:(strcol(3) ne "gemm" && strcol(3) ne "elementwise" ? 100 * $14 : NaN) with boxes lc rgb "#bdbdbd" title "other (memcpy limit)", \
         conv_target with lines dashtype 2 lc rgb "#2c7fb8" title "Conv target 70%", \
         elementwise_target with lines dashtype 2 lc rgb "#41ab5d" title "element-wise target 50%"
} else {
    set label 1 "layers not measured (--only train)" at graph 0.5, graph 0.5 center
    plot [0:1][0:1] NaN notitle
    unset label 1
}

# Right: PyTorch's epoch time (best configuration) over layerlab's (above 1:
# layerlab is faster).
set title "training speed: PyTorch (best) time / layerlab time" noenhanced
set ylabel "ratio"
set offsets 0, 0, graph 0.2, 0
set key inside top right opaque box noenhanced font ",9"
set xtics norotate font ",10"
set yrange [0:*]
set xrange [-0.6:1.6]
if (hasratios) {
    plot ratiosfile skip 1 using 0:4:xtic(1) with boxes lc rgb "#fd8d3c" title "PyTorch (best) / layerlab", \
         ratiosfile skip 1 using 0:4:(sprintf("%.2fx", $4)) with labels offset 0,1 notitle, \
         speedup_target with lines dashtype 2 lc rgb "#d94801" title "target 2x"
} else {
    set label 2 "PyTorch not available (or training not measured)" at graph 0.5, graph 0.5 center
    plot [0:1][0:1] NaN notitle
    unset label 2
}
unset multiplot
