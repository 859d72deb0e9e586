package services

import "time"

// backoff is an app's launch delay after failures, as Marathon computes it: the first failure
// waits backoffSeconds, each further one multiplies the wait by backoffFactor, capped at
// maxLaunchDelaySeconds. A task that ran at least resetAfter before it failed starts over.
type backoff struct {
	Delay       time.Duration // the wait the last failure imposed; 0 before any failure
	LaunchAfter time.Time     // no launch before this instant
}

// backoffPolicy is the part of an app that shapes its backoff.
type backoffPolicy struct {
	Seconds    float64 // backoffSeconds
	Factor     float64 // backoffFactor
	MaxSeconds float64 // maxLaunchDelaySeconds
}

// failed returns the backoff after a task of the app failed at now, having run for ran (0 when it
// never ran). resetAfter is how long a task must have run for the failure to start over.
func (b backoff) failed(p backoffPolicy, now time.Time, ran, resetAfter time.Duration) backoff {
	first := seconds(p.Seconds)
	maxDelay := seconds(p.MaxSeconds)
	d := first
	if b.Delay > 0 && (resetAfter <= 0 || ran < resetAfter) {
		factor := p.Factor
		if factor < 1 {
			factor = 1
		}
		d = time.Duration(float64(b.Delay) * factor)
	}
	if d > maxDelay {
		d = maxDelay
	}
	if d < 0 {
		d = 0
	}
	return backoff{Delay: d, LaunchAfter: now.Add(d)}
}

// ready reports whether the app may launch at now.
func (b backoff) ready(now time.Time) bool { return !now.Before(b.LaunchAfter) }

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
