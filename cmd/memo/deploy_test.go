package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memo-fediverse/memo/internal/testwait"
)

// envDeploy turns on the checks of deploy/: they need systemd-analyze and podman, which .ci/run installs.
// When it is set and a tool is missing, the tests fail.
const envDeploy = "MEMO_TEST_DEPLOY"

func needDeploy(t *testing.T, tools ...string) {
	t.Helper()
	if os.Getenv(envDeploy) == "" {
		t.Skipf("%s is not set: the deployment files are checked by .ci/run", envDeploy)
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is set but %s is not installed", envDeploy, tool)
		}
	}
}

// The systemd unit passes systemd's own checks, with the hardening the README promises.
func TestSystemdUnit(t *testing.T) {
	needDeploy(t, "systemd-analyze")
	unit, err := os.ReadFile("../../deploy/memo.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=memo", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "Restart=on-failure",
		"KillSignal=SIGTERM", "ExecStart=/usr/local/bin/memo serve"} {
		if !bytes.Contains(unit, []byte("\n"+want+"\n")) {
			t.Errorf("deploy/memo.service lacks %q", want)
		}
	}
	// verify checks that ExecStart names an executable: point it at a freshly built binary.
	dir := t.TempDir()
	local := bytes.ReplaceAll(unit, []byte("/usr/local/bin/memo"), []byte(binaryFor(t)))
	if err := os.WriteFile(filepath.Join(dir, "memo.service"), local, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", filepath.Join(dir, "memo.service")).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("memo.service:")) {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	dropIn, err := os.ReadFile("../../deploy/behind-proxy.conf")
	if err != nil || !bytes.Contains(dropIn, []byte("\nAmbientCapabilities=\n")) || !bytes.Contains(dropIn, []byte("\nCapabilityBoundingSet=\n")) {
		t.Fatalf("deploy/behind-proxy.conf must clear the capability: %v\n%s", err, dropIn)
	}
}

// The container image is built FROM scratch: non-root, /data as a volume, a health check, the binary as entry
// point. Where this sandbox's runtime refuses to start containers, the binary copied out of the image is run
// instead, and the test says so.
func TestContainerImage(t *testing.T) {
	needDeploy(t, "podman")
	tag := fmt.Sprintf("localhost/memo-test:%d", time.Now().UnixNano())
	build := exec.Command("../../deploy/build-image.sh", tag)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("deploy/build-image.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("podman", "rmi", "-f", tag).Run() })

	out, err := exec.Command("podman", "image", "inspect", tag).Output()
	if err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	var images []struct {
		Config struct {
			User       string
			Entrypoint []string
			Cmd        []string
			Volumes    map[string]any
			Env        []string
		}
		Healthcheck struct{ Test []string }
		Size        int64
	}
	if err := json.Unmarshal(out, &images); err != nil || len(images) != 1 {
		t.Fatalf("podman image inspect: %v\n%s", err, out)
	}
	c := images[0].Config
	if c.User != "65532:65532" {
		t.Errorf("image user %q, want a non-root user", c.User)
	}
	if strings.Join(c.Entrypoint, " ") != "/memo" || strings.Join(c.Cmd, " ") != "serve" {
		t.Errorf("entrypoint %v, cmd %v", c.Entrypoint, c.Cmd)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volumes %v, want /data", c.Volumes)
	}
	if hc := images[0].Healthcheck.Test; strings.Join(hc, " ") != "CMD /memo healthcheck" {
		t.Errorf("health check %v", hc)
	}
	created, err := exec.Command("podman", "create", tag).Output()
	if err != nil {
		t.Fatalf("podman create: %v", err)
	}
	cid := strings.TrimSpace(string(created))
	t.Cleanup(func() { exec.Command("podman", "rm", "-f", cid).Run() })
	bin := filepath.Join(t.TempDir(), "memo")
	if out, err := exec.Command("podman", "cp", cid+":/memo", bin).CombinedOutput(); err != nil {
		t.Fatalf("podman cp: %v\n%s", err, out)
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if extra := images[0].Size - st.Size(); extra > 2<<20 {
		t.Errorf("the image holds %d KB beside the binary: it should be the binary and the CA certificates", extra>>10)
	}

	addr := freeAddr(t)
	run := exec.Command("podman", "run", "-d", "--rm", "-p", addr+":8080", "-e", "MEMO_PUBLIC_URL=http://"+addr, tag)
	if id, err := run.Output(); err == nil {
		running := strings.TrimSpace(string(id))
		t.Cleanup(func() { exec.Command("podman", "rm", "-f", running).Run() })
		testwait.Until(t, "the container to answer /healthz", func() bool {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		if out, err := exec.Command("podman", "exec", running, "/memo", "healthcheck").CombinedOutput(); err != nil {
			t.Fatalf("the image's health check fails: %v\n%s", err, out)
		}
		t.Log("the container ran and answered /healthz")
		return
	} else {
		t.Logf("this machine's container runtime refused to start the image (%v); running the binary copied out of it instead", err)
	}
	data := t.TempDir()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "MEMO_DATA="+data, "MEMO_LISTEN="+addr, "MEMO_PUBLIC_URL=http://"+addr)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testwait.Until(t, "the image's binary to answer its own health check", func() bool {
		check := exec.Command(bin, "healthcheck")
		check.Env = append(os.Environ(), "MEMO_DATA="+data, "MEMO_LISTEN="+addr)
		return check.Run() == nil
	})
}
