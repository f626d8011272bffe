# The plots of docs/benchmarks.md, as SVG.
#
# Usage: gnuplot -c bench/plot.gp DATA_DIR OUT_DIR
# bench/report.sh writes DATA_DIR with bench/report.jq:
#   lifecycle.dat, first_touch.dat  a comment "# kind SERIES...", then per technique its name and,
#                                   per series, median, min and max ("- - -" when not measured)
#   lifecycle.gp, first_touch.gp    settings for that plot (a log y axis), possibly empty
#   transfer.kinds                  the techniques measured, on one line
#   transfer-KIND.dat               size, median, min and max GB/s, one line per size
#   transfer.tics                   a "set xtics" command naming the sizes
# and gets OUT_DIR/lifecycle.svg, first-touch.svg and transfer.svg.

data = ARG1
out = ARG2

set encoding utf8
set terminal svg size 880,460 dynamic enhanced font "sans,13" background rgb "white"
set datafile missing "-"
set key outside right top noopaque
set grid ytics lc rgb "#dddddd" lt 1
set border 3
set tics nomirror
# one colour per technique and series, the same in every plot
array colour[6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]

# ---- life cycle: create and attach, microseconds, per technique ----------------------------

file = data."/lifecycle.dat"
head = system("head -n 1 '".file."'")
nseries = words(head) - 2
set output out."/lifecycle.svg"
set title "Life cycle of one object through libpshm (median, bars min–max)"
set ylabel "µs"
set yrange [0:*]
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics scale 0
load data."/lifecycle.gp"
plot for [i=1:nseries] file using 3*i-1:3*i:3*i+1:xtic(1) \
	title word(head, i+2) lc rgb colour[i]

# ---- first touch: microseconds per page, per variant and technique -------------------------

file = data."/first_touch.dat"
head = system("head -n 1 '".file."'")
nseries = words(head) - 2
set output out."/first-touch.svg"
set title "First write to each 4 KiB page (median, bars min–max; set-up included)"
set ylabel "µs per page"
unset logscale y
set yrange [0:*]
load data."/first_touch.gp"
plot for [i=1:nseries] file using 3*i-1:3*i:3*i+1:xtic(1) \
	title word(head, i+2) lc rgb colour[i]

# ---- transfer: GB/s against size, per technique --------------------------------------------

kinds = system("cat '".data."/transfer.kinds'")
set output out."/transfer.svg"
set title "Moving data between two processes (median, bars min–max)"
set style data yerrorlines
set logscale x 2
set logscale y 10
set xlabel "payload size"
set ylabel "GB/s (log scale)"
set yrange [*:*]
set xtics scale 1
load data."/transfer.tics"
set grid xtics ytics lc rgb "#dddddd" lt 1
plot for [i=1:words(kinds)] data."/transfer-".word(kinds, i).".dat" using 1:2:3:4 \
	title (word(kinds, i) eq "unix" ? "unix socket" : word(kinds, i)) \
	lc rgb colour[i] lw 2 pt 7 ps 0.8
