# drawn by spmmfarm bench; the data is inline: run `gnuplot sparsity.gp` in this folder
set terminal pngcairo size 900,640 noenhanced font ',10'
set output 'sparsity.png'
set title "spmmfarm bench (fp32 tier): speedup over cuBLAS SGEMM (fp32) per sparsity"
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb 'black' front
set yrange [0.769231:3.18056]
set format y '%gx'
set ytics add (0.25, 0.5, 0.75, 1.25, 1.5, 2, 3, 5, 20, 50)
set ylabel 'speedup over cuBLAS SGEMM (fp32) (log scale)'
set xlabel 'sparsity (problems)'
set logscale y
set boxwidth 0.5
set xrange [0.3:5.7]
set key inside left top
set style fill solid 0.35 border -1
$spread << EOD
1 "0.5 (2)" 1 1 1 1 1
2 "0.7 (2)" 1 1 1 1 1
3 "0.8 (2)" 1 1.02397 1.04795 1.07192 1.0959
4 "0.9 (2)" 1.39556 1.47719 1.55881 1.64043 1.72206
5 "0.95 (2)" 2.29358 2.33183 2.37008 2.40833 2.44659
EOD
plot $spread using 1:4:3:7:6:xtic(2) with candlesticks whiskerbars 0.5 lw 1.5 lc rgb '#3060c0' title 'quartiles; whiskers: min, max', \
     $spread using 1:5:5:5:5 with candlesticks lw 3 lc rgb 'black' title 'median'
