module example.com/tick

go 1.23

godebug asynctimerchan=1
