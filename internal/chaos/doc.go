// Package chaos owns the fault-injection suite's machinery: a traffic
// driver that sends simulated traffic through the real ingest API and
// records every messageId it got a 200 for and every one ingest rejected
// (driver.go), a checker that holds ClickHouse and the rejected topic to
// that record (checker.go), sinks that make the processor die or see a
// timeout at a chosen point of a batch (sinks.go), and child processes that
// can be killed with SIGKILL and started again on the same port and data
// (process.go). The tests of this package inject one fault each; CHAOS_LONG=1
// (make chaos) makes them run longer and on more traffic.
package chaos
