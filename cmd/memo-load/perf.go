package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// profileServer records the server's CPU with Linux perf into dir/name.data while a phase runs, when --perf DIR is
// given and the server is ours, and the whole machine's into dir/name-machine.data. memo serve has no pprof
// endpoint (it is not something to expose on a public server), and perf needs nothing from the process. Read a profile with `perf report -i FILE --no-children`.
func profileServer(o options, srv *memoServer, name string, p *progress) func() {
	if o.PerfDir == "" || srv.cmd == nil || srv.cmd.Process == nil {
		return func() {}
	}
	if err := os.MkdirAll(o.PerfDir, 0o755); err != nil {
		p.say("perf: %v", err)
		return func() {}
	}
	file := filepath.Join(o.PerfDir, name+".data")
	cmd := exec.Command("perf", "record", "-q", "-F", "499", "-g", "-p", strconv.Itoa(srv.cmd.Process.Pid), "-o", file)
	if err := cmd.Start(); err != nil {
		p.say("perf: %v (is Linux perf installed?)", err)
		return func() {}
	}
	// The whole machine too: the simulated instances and this tool share the cores with the server, and what they
	// take is what the server's own profile cannot show.
	machineFile := filepath.Join(o.PerfDir, name+"-machine.data")
	machine := exec.Command("perf", "record", "-q", "-F", "499", "-g", "-a", "-o", machineFile)
	if err := machine.Start(); err != nil {
		p.say("perf: whole machine: %v", err)
		machine = nil
	}
	time.Sleep(200 * time.Millisecond) // perf attaches before the phase starts
	return func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		if machine != nil {
			machine.Process.Signal(syscall.SIGINT)
			machine.Wait()
		}
		p.say("perf: server profile of %s in %s, whole machine in %s", name, file, machineFile)
	}
}
