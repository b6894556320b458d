set terminal pngcairo size 1000,650 noenhanced
set output 'rank.png'
set datafile separator ','
set title 'spmmfarm rank-eval: search cost vs winner loss per problem'
set xlabel 'search cost per problem: compile CPU-s + GPU-s (log scale)'
set ylabel 'winner loss vs exhaustive, % (log scale; 0 drawn at 0.01)'
set logscale xy
set grid
set key top right
f(x) = x > 0.0001 ? 100 * x : 0.01
plot 'rank.csv' skip 1 using 9:(0.01) with points pt 7 ps 0.8 title 'exhaustive', \
     'rank.csv' skip 1 using 10:(f($7)) with points pt 5 ps 0.8 title 'proxy', \
     'rank.csv' skip 1 using 11:(f($6)) with points pt 9 ps 1.0 title 'rank'
