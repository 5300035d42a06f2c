module lnkchat/bench/loadgen

go 1.21
