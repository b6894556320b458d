set terminal pngcairo size 1400,600 noenhanced
set output 'chart.png'
set datafile separator ','
set title 'spmmfarm bench: speedup over cuBLAS SGEMM (fp32) per problem'
set ylabel 'speedup over SGEMM (log scale)'
set xlabel 'problem (suite order)'
set logscale y
set grid ytics
set key outside right
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2
plot for [s in '0.5 0.7 0.8 0.9 0.95'] 'results.csv' skip 1 using ($0):(strcol(5) eq s ? $15 : 1/0) with points pt 7 title 'sparsity '.s
