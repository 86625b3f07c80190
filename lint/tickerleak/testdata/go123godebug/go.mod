module example.com/go123godebug

go 1.23

godebug (
	asynctimerchan=1
)
