"""Every process the comparison starts goes through one Registry, so every one of them is
stopped by its PID, whatever happens: a normal stop, a failed start, an exception, Ctrl-C or
SIGTERM. Each process leads its own process group (a new session), so the group signal also
reaches any child it forked, and a Ctrl-C on the terminal reaches only compare.py, which then
stops them in order.
"""

import os
import signal
import socket
import subprocess
import time


class StartError(Exception):
    """A server did not come up; the message says which and why (with its log's tail)."""


class Interrupted(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM/SIGHUP so that every finally block runs."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def install_signal_handlers():
    def handler(signum, _frame):
        raise Interrupted(signum)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def ignore_signals():
    """While cleaning up, a second Ctrl-C must not cut the cleanup short."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def tail(path, lines=15):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.replace("\r", "\n").splitlines()[-lines:]) or "(empty log)"


class Process:
    """One started process: its Popen, the files its stdout and stderr go to."""

    def __init__(self, name, popen, stdout_path, stderr_path):
        self.name, self.popen = name, popen
        self.stdout_path, self.stderr_path = stdout_path, stderr_path

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def describe_exit(self):
        return (f"{self.name} (pid {self.pid}) exited with {self.popen.returncode}; "
                f"its log ends with:\n{tail(self.stderr_path)}")


class Registry:
    def __init__(self):
        self._live = {}

    def spawn(self, name, argv, stdout_path, stderr_path, cwd=None, env=None):
        with open(stdout_path, "wb") as out, open(stderr_path, "ab") as err:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     cwd=cwd, env=env, start_new_session=True)
        proc = Process(name, popen, stdout_path, stderr_path)
        self._live[popen.pid] = proc
        return proc

    def stop(self, proc, grace=15.0):
        """SIGTERM to the process group, SIGKILL after `grace` seconds, then reap. Safe to
        call twice."""
        if proc.pid not in self._live:
            return
        try:
            if proc.running():
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.popen.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
                    proc.popen.wait(timeout=10)
            # The leader is gone; children it left in its group go too.
            _signal_group(proc.pid, signal.SIGKILL)
        finally:
            self._live.pop(proc.pid, None)

    def stop_all(self):
        for proc in reversed(list(self._live.values())):
            try:
                self.stop(proc, grace=5.0)
            except Exception as e:  # keep stopping the others
                print(f"compare: could not stop {proc.name} (pid {proc.pid}): {e}")

    def live(self):
        return list(self._live.values())

    def run(self, name, argv, stdout_path, stderr_path, timeout, cwd=None):
        """Runs a command to completion under the registry (so Ctrl-C stops it too). Returns
        its exit code, or None when it ran past `timeout` seconds and was stopped."""
        proc = self.spawn(name, argv, stdout_path, stderr_path, cwd=cwd)
        try:
            return proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            self.stop(proc, grace=5.0)


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def capture(argv, timeout=20):
    """Output of a short command (versions, git, redis-cli), '' when it fails or hangs."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, start_new_session=True)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).decode("utf-8", "replace").strip()


def port_free(port, host="127.0.0.1"):
    """True when nothing listens on host:port. SO_REUSEADDR, as every server here sets it, so
    a connection of a previous round in TIME_WAIT does not count as taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def require_ports_free(ports, what, wait=5.0):
    """Fails (StartError) unless every port is free; waits up to `wait` s for a previous
    process's socket to go away first."""
    deadline = time.monotonic() + wait
    while True:
        taken = [p for p in ports if not port_free(p)]
        if not taken:
            return
        if time.monotonic() > deadline:
            raise StartError(f"{what}: port(s) {', '.join(map(str, taken))} on 127.0.0.1 are "
                             "in use by another process (compare.py uses 17000-17999)")
        time.sleep(0.2)


def wait_until(check, timeout, what, procs=(), interval=0.1):
    """Polls check() until it returns a true value (returned) or `timeout` s pass. A process in
    `procs` that exits meanwhile fails the wait at once, with its log."""
    deadline = time.monotonic() + timeout
    while True:
        for p in procs:
            if not p.running():
                raise StartError(f"{what}: {p.describe_exit()}")
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name} log:\n{tail(p.stderr_path)}" for p in procs)
            raise StartError(f"{what}: not ready within {timeout:.0f} s\n{logs}".rstrip())
        time.sleep(interval)


def file_has_line(path, prefix):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return next((line.strip() for line in f if line.startswith(prefix)), None)
    except OSError:
        return None
