module example.com/go123directive

go 1.23
