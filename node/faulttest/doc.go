// Package faulttest holds the node's fault tests: a node process killed
// with SIGKILL under load and restarted (TestCrashUnderLoad), and the
// node's chain connection cut during load (TestChainOutage). Both drive
// the node over the wire protocol with agents that reconnect and resubmit
// their unfinished jobs with the same ids, as docs/protocol.md asks, and
// both end by holding every channel to the last base unit: claimed on
// chain == Σ cost of the receipts the agents hold, each job charged once.
// docs/faults.md says what each test checks, how to run the full-size
// versions, and what they measured.
package faulttest
