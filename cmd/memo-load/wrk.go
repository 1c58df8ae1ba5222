package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// wrkRate drives wrk (when installed) against url at c connections on as many threads as cores for d, and returns
// its requests per second: the reference the raw client's ceiling is compared with. ok is false when wrk is absent.
func wrkRate(ctx context.Context, url string, c int, d time.Duration) (perS float64, ok bool, err error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return 0, false, nil
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	threads := min(runtime.NumCPU(), c)
	cmd := exec.CommandContext(ctx, bin, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(c), "-d"+strconv.Itoa(secs)+"s", url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, true, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	return parseWrk(out)
}

// parseWrk reads "Requests/sec: N" from wrk's report; answers other than 2xx or 3xx make the figure worthless.
func parseWrk(out []byte) (float64, bool, error) {
	perS := -1.0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, found := strings.CutPrefix(line, "Requests/sec:"); found {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, true, fmt.Errorf("wrk: %q: %w", line, err)
			}
			perS = f
		}
		if strings.HasPrefix(line, "Non-2xx or 3xx responses:") || strings.HasPrefix(line, "Socket errors:") && !strings.Contains(line, "connect 0, read 0, write 0") {
			return 0, true, fmt.Errorf("wrk: %s", line)
		}
	}
	if perS < 0 {
		return 0, true, fmt.Errorf("wrk: no Requests/sec in its output:\n%s", out)
	}
	return perS, true, nil
}
