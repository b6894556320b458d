# drawn by spmmfarm bench; the data is inline: run `gnuplot chart.gp` in this folder
set terminal pngcairo size 900,760 noenhanced font ',10'
set output 'chart.png'
set title "spmmfarm bench (fp32 tier): speedup over cuBLAS SGEMM (fp32) per problem\nSIMULATED (sim backend): times from a model, not measured"
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb 'black' front
set yrange [0.769231:2.47805]
set format y '%gx'
set ytics add (0.25, 0.5, 0.75, 1.25, 1.5, 2, 3, 5, 20, 50)
set ylabel 'speedup over cuBLAS SGEMM (fp32) (log scale; above 1 = faster)'
set xlabel 'problem (suite order)'
set logscale y
set key outside right top title 'sparsity'
set xtics rotate by 90 right font ',8' nomirror
set xrange [0:25]
$problems << EOD
1 1.4262 "bert-qkvo@0.5" 1
2 1.4262 "bert-qkvo@0.7" 2
3 1.4262 "bert-qkvo@0.8" 3
4 1.4262 "bert-qkvo@0.9" 4
5 1.59355 "bert-qkvo@0.95" 5
6 1.5009 "bert-output@0.5" 1
7 1.5009 "bert-output@0.7" 2
8 1.5009 "bert-output@0.8" 3
9 1.5009 "bert-output@0.9" 4
10 1 "snv2-s3-pw@0.9" 4
11 1 "snv2-s3-pw@0.5" 1
12 1 "snv2-s3-pw@0.7" 2
13 1 "snv2-s3-pw@0.8" 3
14 1 "snv2-s3-pw@0.95" 5
15 1 "mbv2-f5-expand@0.5" 1
16 1 "mbv2-f5-expand@0.7" 2
17 1 "mbv2-f5-expand@0.8" 3
18 1.02153 "mbv2-f5-expand@0.9" 4
19 1.06219 "mbv2-f5-expand@0.95" 5
20 1.50213 "rn50-l3-conv3@0.5" 1
21 1.50213 "rn50-l3-conv3@0.7" 2
22 1.50213 "rn50-l3-conv3@0.8" 3
23 1.50213 "rn50-l3-conv3@0.9" 4
24 1.90619 "rn50-l3-conv3@0.95" 5
EOD
titles = "0.5 0.7 0.8 0.9 0.95"
plot $problems using 1:2:4:xtic(3) with points pt 7 ps 1.3 lc variable notitle, \
     for [i=1:words(titles)] NaN with points pt 7 ps 1.3 lc i title word(titles, i)
