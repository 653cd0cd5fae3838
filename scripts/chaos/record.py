"""What a run writes down: a clock from the run's start, the history of operations
(history.jsonl, one JSON event a line), the faults (faults.jsonl) and the log lines on stdout.
The workloads, the nemesis and the process manager all write through one Recorder, so the
lines of different threads never interleave and share one time base."""

import json
import threading
import time


class Recorder:
    """`history` and `faults` are open text files, or None to keep no such record."""

    def __init__(self, history=None, faults=None):
        self.started = time.monotonic()
        self.history = history
        self.faults = faults
        self.lock = threading.Lock()

    def now(self):
        """Seconds since the run started, to the millisecond: the `t` of every record."""
        return round(time.monotonic() - self.started, 3)

    def say(self, text):
        print(f"[{self.now():8.3f}] {text}", flush=True)

    def op(self, **event):
        """One history event: an operation's invocation or its outcome."""
        event["t"] = self.now()
        line = json.dumps(event) + "\n"
        if self.history is not None:
            with self.lock:
                self.history.write(line)

    def fault(self, fault, nodes, detail=""):
        event = {"t": self.now(), "fault": fault, "nodes": nodes, "detail": detail}
        if self.faults is not None:
            with self.lock:
                self.faults.write(json.dumps(event) + "\n")
                self.faults.flush()
        self.say(f"FAULT {fault} {' '.join(nodes)} {detail}")

    def close(self):
        with self.lock:
            for f in (self.history, self.faults):
                if f is not None:
                    f.close()
            self.history = self.faults = None
