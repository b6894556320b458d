# drawn by spmmfarm bench; the data is inline: run `gnuplot chart.gp` in this folder
set terminal pngcairo size 900,760 noenhanced font ',10'
set output 'chart.png'
set title "spmmfarm bench (fp32 tier): speedup over cuBLAS SGEMM (fp32) per problem"
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb 'black' front
set yrange [0.769231:3.16871]
set format y '%gx'
set ytics add (0.25, 0.5, 0.75, 1.25, 1.5, 2, 3, 5, 20, 50)
set ylabel 'speedup over cuBLAS SGEMM (fp32) (log scale; above 1 = faster)'
set xlabel 'problem (suite order)'
set logscale y
set key outside right top title 'sparsity'
set xtics rotate by 90 right font ',8' nomirror
set xrange [0:11]
$problems << EOD
1 1.24002 "bert-qkvo@0.5" 1
2 1.24195 "bert-qkvo@0.7" 2
3 1.24507 "bert-qkvo@0.8" 3
4 1.6964 "bert-qkvo@0.9" 4
5 2.43747 "bert-qkvo@0.95" 5
6 1.25243 "bert-output@0.5" 1
7 1.23961 "bert-output@0.7" 2
8 1.25311 "bert-output@0.8" 3
9 1.39961 "bert-output@0.9" 4
10 2.29265 "bert-output@0.95" 5
EOD
titles = "0.5 0.7 0.8 0.9 0.95"
plot $problems using 1:2:4:xtic(3) with points pt 7 ps 1.3 lc variable notitle, \
     for [i=1:words(titles)] NaN with points pt 7 ps 1.3 lc i title word(titles, i)
