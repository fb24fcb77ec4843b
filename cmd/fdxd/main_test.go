package main

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runMainEnv makes the test binary run main instead of the tests, so the
// real signal handling of the fdxd command is what the test exercises.
const runMainEnv = "GO_TEST_RUN_FDXD_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestSignalsStopServeCleanly: SIGINT and SIGTERM make `fdxd serve` drain
// and exit 0.
func TestSignalsStopServeCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			db := filepath.Join(t.TempDir(), "fdxd.db")
			cmd := exec.Command(os.Args[0], "serve", "--demo", "--addr", addr, "--db", db)
			cmd.Env = append(os.Environ(), runMainEnv+"=1", "FDXD_ADMIN_ADDR=127.0.0.1:0")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { cmd.Process.Kill() })

			deadline := time.Now().Add(30 * time.Second)
			for {
				resp, err := http.Get("http://" + addr + "/.well-known/openid-configuration")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						break
					}
				}
				select {
				case err := <-exited:
					t.Fatalf("fdxd exited early: %v\n%s", err, stderr.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("fdxd serve did not answer within 30 s\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if exitErr, ok := errors.AsType[*exec.ExitError](err); ok {
					t.Fatalf("fdxd exited with %d after %v; want 0\n%s", exitErr.ExitCode(), sig, stderr.String())
				} else if err != nil {
					t.Fatal(err)
				}
			case <-time.After(40 * time.Second):
				t.Fatalf("fdxd did not exit within 40 s of %v", sig)
			}
			for _, event := range []string{`"event":"server.draining"`, `"event":"server.stopped"`} {
				if !strings.Contains(stderr.String(), event) {
					t.Errorf("no %s log line after %v:\n%s", event, sig, stderr.String())
				}
			}
		})
	}
}
