# drawn by spmmfarm bench; the data is inline: run `gnuplot sparsity.gp` in this folder
set terminal pngcairo size 900,640 noenhanced font ',10'
set output 'sparsity.png'
set title "spmmfarm bench (fp32 tier): speedup over cuBLAS SGEMM (fp32) per sparsity"
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb 'black' front
set yrange [0.769231:3.16871]
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
1 "0.5 (2)" 1.24002 1.24313 1.24623 1.24933 1.25243
2 "0.7 (2)" 1.23961 1.24019 1.24078 1.24136 1.24195
3 "0.8 (2)" 1.24507 1.24708 1.24909 1.2511 1.25311
4 "0.9 (2)" 1.39961 1.47381 1.54801 1.6222 1.6964
5 "0.95 (2)" 2.29265 2.32885 2.36506 2.40127 2.43747
EOD
plot $spread using 1:4:3:7:6:xtic(2) with candlesticks whiskerbars 0.5 lw 1.5 lc rgb '#3060c0' title 'quartiles; whiskers: min, max', \
     $spread using 1:5:5:5:5 with candlesticks lw 3 lc rgb 'black' title 'median'
