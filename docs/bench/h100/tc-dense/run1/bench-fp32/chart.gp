set terminal pngcairo size 1400,600 noenhanced
set output 'chart.png'
set datafile separator ','
set title 'spmmfarm bench (fp32 tier): speedup over cuBLAS SGEMM (fp32) per problem'
set ylabel 'speedup over cuBLAS SGEMM (fp32) (log scale)'
set xlabel 'problem (suite order)'
set logscale y
set grid ytics
set key outside right
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2
plot for [s in '0.9'] 'results.csv' skip 1 using ($0):(strcol(5) eq s ? $28 : 1/0) with points pt 7 title 'sparsity '.s
