module github.com/tenderpay/tender

go 1.26.8
