// Package cputime reads the CPU time the process has used, which
// benchmarks report beside wall time: on a shared machine wall time
// counts the time other processes run.
package cputime
