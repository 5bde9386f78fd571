// Package peakmem measures the peak heap memory of a phase of a
// benchmark.
//
// Method: Start forces a garbage collection and takes the bytes of heap
// objects (runtime/metrics "/memory/classes/heap/objects:bytes": live
// objects and dead ones the collector has not freed yet) as the baseline;
// a goroutine then reads the same metric every millisecond until Stop,
// which returns the largest reading above the baseline. This is what the
// phase makes the Go heap hold, garbage included, the nearest analogue of
// a C program's peak of malloc'ed bytes. Peak RSS (VmHWM in
// /proc/self/status) is not used: it covers the whole test binary and
// every earlier phase, since the Go runtime returns freed pages to the
// system only slowly, so it cannot be reset between phases. Readings are
// samples: a spike shorter than a millisecond can be missed, but heap
// growth and collection cycles take longer than that.
package peakmem

import (
	"runtime"
	"runtime/metrics"
	"time"
)

const metric = "/memory/classes/heap/objects:bytes"

// A Sampler samples the heap from Start to Stop. It is not safe for
// concurrent use.
type Sampler struct {
	base uint64
	stop chan struct{}
	peak chan uint64
}

// Start collects garbage, takes the baseline and starts sampling.
func Start() *Sampler {
	runtime.GC()
	s := &Sampler{base: read(), stop: make(chan struct{}), peak: make(chan uint64)}
	go s.loop()
	return s
}

func (s *Sampler) loop() {
	sample := []metrics.Sample{{Name: metric}}
	peak := uint64(0)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		metrics.Read(sample)
		peak = max(peak, sample[0].Value.Uint64())
		select {
		case <-s.stop:
			s.peak <- peak
			return
		case <-tick.C:
		}
	}
}

// Stop stops sampling and returns the peak bytes of heap objects above
// the baseline taken by Start.
func (s *Sampler) Stop() uint64 {
	close(s.stop)
	peak := max(<-s.peak, read())
	if peak < s.base {
		return 0
	}
	return peak - s.base
}

// MiB converts bytes to mebibytes.
func MiB(n uint64) float64 { return float64(n) / (1 << 20) }

func read() uint64 {
	sample := []metrics.Sample{{Name: metric}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}
