# drawn by spmmfarm bench; the data is inline: run `gnuplot models.gp` in this folder
set terminal pngcairo size 900,640 noenhanced font ',10'
set output 'models.png'
set title "spmmfarm bench (fp32 tier): time-weighted speedup per model over cuBLAS SGEMM (fp32)"
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb 'black' front
set ylabel 'speedup over cuBLAS SGEMM (fp32) (sum of its times / sum of ours)'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set datafile missing '?'
set yrange [0:*]
set key outside right top title 'sparsity'
set xtics rotate by 30 right nomirror
$models << EOD
"BERT-base (60 layers)" 1.24527 1.24095 1.24848 1.55585 2.37365
EOD
titles = "0.5 0.7 0.8 0.9 0.95"
plot for [i=1:words(titles)] $models using (column(i+1)):xtic(1) lc i title word(titles, i)
