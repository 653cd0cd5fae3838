"""The nodes under test, and the network between them, in two kinds:
  Network + Cluster                one kvnode process per network namespace on a private
                                   bridge; this module is their process manager
  ComposeNetwork + ComposeCluster  the containers of a running docker-compose project;
                                   Docker's restart policy is their process manager
Both offer the same calls to the nemesis (kill, start, pause, resume, cut, heal) and to the
run (address, addresses, ensure_running, stop_all). Every process started here is killed by
its PID, and every namespace, link and iptables rule made here is removed by down().

The process cluster runs secured, as a production cluster does (docs/security.md): mutual TLS
between the nodes and on every listener, and an ACL. Its certificates come from
scripts/certs.sh; the admin's are given to this process's kvctl and Python clients through
RINGKV_CA, RINGKV_CERT and RINGKV_KEY. So does the compose cluster, with the certificates of
scripts/compose-secrets.sh."""

import os
import shutil
import signal
import subprocess
import threading
import time

from . import BIN, ROOT
from .admin import kvctl

KVNODE = os.path.join(BIN, "kvnode")
PORT = 7101        # client listener
PEER_PORT = 7201   # peer listener: what --seeds name
ADMIN_PORT = 7301  # kvctl's default admin address for a node at PORT (PORT + 200)


def sh(*args, check=True, timeout=20):
    return subprocess.run(list(args), check=check, timeout=timeout, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


def wait_for(bound, predicate, every=0.5):
    """Whether `predicate` held within `bound` seconds, asked every `every` seconds."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


class Network:
    """A bridge in the root namespace and one namespace per node, each with a veth on it."""

    def __init__(self, nodes):
        self.tag = os.getpid() % 200 + 20
        self.bridge = f"rkvb{self.tag}"
        self.nodes = nodes
        self.created = []

    def ns(self, i):
        return f"rkv{self.tag}n{i}"

    def ip(self, i):
        return f"10.213.{self.tag}.{i}"

    def up(self):
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self.created.append(("link", self.bridge))
        sh("ip", "addr", "add", f"10.213.{self.tag}.254/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        # Where bridged traffic passes the host's iptables (br_netfilter, as Docker sets it up,
        # with FORWARD dropping by default), let the bridge's own traffic through.
        sh("iptables", "-I", "FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT")
        self.created.append(("forward", self.bridge))
        for i in range(1, self.nodes + 1):
            ns, host_if = self.ns(i), f"rkv{self.tag}v{i}"
            sh("ip", "netns", "add", ns)
            self.created.append(("netns", ns))
            sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
            self.created.append(("link", host_if))
            sh("ip", "link", "set", host_if, "master", self.bridge)
            sh("ip", "link", "set", host_if, "up")
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{self.ip(i)}/24", "dev", "eth0")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def down(self):
        for kind, name in reversed(self.created):
            if kind == "netns":
                sh("ip", "netns", "del", name, check=False)
            elif kind == "forward":
                sh("iptables", "-D", "FORWARD", "-i", name, "-o", name, "-j", "ACCEPT",
                   check=False)
            else:
                sh("ip", "link", "del", name, check=False)
        self.created = []

    def cut(self, i, j, both=True):
        """Node i stops hearing node j (and j stops hearing i when `both`). The host, where
        the workloads run, still reaches both."""
        sh("ip", "netns", "exec", self.ns(i), "iptables", "-A", "INPUT", "-s", self.ip(j), "-j",
           "DROP")
        if both:
            sh("ip", "netns", "exec", self.ns(j), "iptables", "-A", "INPUT", "-s", self.ip(i),
               "-j", "DROP")

    def heal(self):
        for i in range(1, self.nodes + 1):
            sh("ip", "netns", "exec", self.ns(i), "iptables", "-F", "INPUT", check=False)


def secure(workdir, net):
    """Certificates for n1..nN (naming their namespace's address) and the client admin, and
    an ACL that lets admin do everything, under `workdir`; this process's clients use admin's.
    The kvnode flags that use them."""
    certs = os.path.join(workdir, "certs")
    nodes = ",".join(f"n{i}" for i in range(1, net.nodes + 1))
    hosts = ",".join(net.ip(i) for i in range(1, net.nodes + 1))
    sh(os.path.join(ROOT, "scripts", "certs.sh"), certs, "--nodes", nodes, "--clients", "admin",
       "--hosts", hosts, timeout=120)
    acl = os.path.join(workdir, "acl.toml")
    with open(acl, "w") as f:
        f.write("[principal.admin]\nadmin = true\n")
    os.environ.update(RINGKV_CA=os.path.join(certs, "ca.pem"),
                      RINGKV_CERT=os.path.join(certs, "admin.pem"),
                      RINGKV_KEY=os.path.join(certs, "admin.key"))
    os.environ.pop("RINGKV_TOKEN", None)
    return lambda i: ["--tls-cert", os.path.join(certs, f"n{i}.pem"),
                      "--tls-key", os.path.join(certs, f"n{i}.key"),
                      "--tls-ca", os.path.join(certs, "ca.pem"), "--acl", acl]


class Cluster:
    """kvnode processes, one per namespace of `net`, and their process manager (manage())."""

    def __init__(self, net, workdir, config, recorder):
        self.net = net
        self.tls_flags = secure(workdir, net)
        self.workdir = workdir
        self.config = config
        self.rec = recorder
        self.procs = {}
        self.stopped = set()  # killed on purpose: the process manager leaves them be
        self.paused = set()
        self.lock = threading.Lock()
        self.manager_restarts = 0
        self.closing = False

    def address(self, i):
        return f"{self.net.ip(i)}:{PORT}"

    def addresses(self):
        return [self.address(i) for i in range(1, self.net.nodes + 1)]

    def peer_addresses(self):
        return [f"{self.net.ip(i)}:{PEER_PORT}" for i in range(1, self.net.nodes + 1)]

    def clear(self):
        """Removes what an earlier run left in the nodes' directories (data and logs): a run
        starts from empty nodes, or its final reads would hold the earlier run's elements."""
        for i in range(1, self.net.nodes + 1):
            shutil.rmtree(os.path.join(self.workdir, f"n{i}"), ignore_errors=True)

    def start(self, i, wait=True):
        d = os.path.join(self.workdir, f"n{i}")
        os.makedirs(d, exist_ok=True)
        log = open(os.path.join(d, "node.log"), "ab")
        # The admin listener on the namespace's address (not its loopback), so that kvctl on
        # the host reaches it.
        args = ["ip", "netns", "exec", self.net.ns(i), KVNODE, "--id", f"n{i}", "--listen",
                self.address(i), "--admin-listen", f"{self.net.ip(i)}:{ADMIN_PORT}",
                "--data-dir", os.path.join(d, "data"), "--seeds",
                ",".join(self.peer_addresses()), "--rack", f"rack{(i - 1) % 3 + 1}", "--config",
                self.config] + self.tls_flags(i)
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log)
        log.close()  # the child has its own descriptor
        with self.lock:
            self.procs[i] = p
            self.stopped.discard(i)
        if wait:
            self.await_ready(i)

    def await_ready(self, i):
        """Reads the node's `ready` line, then keeps its stdout drained."""
        p = self.procs[i]
        line = p.stdout.readline().decode()
        if not line.startswith("ready"):
            raise RuntimeError(f"n{i} did not start: {line!r} (log {self.workdir}/n{i}/node.log)")
        threading.Thread(target=self._drain, args=(p,), daemon=True).start()

    @staticmethod
    def _drain(p):
        for _ in p.stdout:
            pass

    def kill(self, i):
        with self.lock:
            self.stopped.add(i)
            p = self.procs.get(i)
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def pause(self, i):
        self.paused.add(i)
        self.procs[i].send_signal(signal.SIGSTOP)

    def resume(self, i):
        self.paused.discard(i)
        p = self.procs.get(i)
        if p and p.poll() is None:
            p.send_signal(signal.SIGCONT)

    def manage(self):
        """The process manager: a node that exited on its own is started again."""
        while not self.closing:
            time.sleep(0.2)
            for i in range(1, self.net.nodes + 1):
                with self.lock:
                    p = self.procs.get(i)
                    own = i in self.stopped
                if p is None or own or p.poll() is None:
                    continue
                self.rec.fault("process-manager", [f"n{i}"], f"exited with {p.returncode}; "
                               "restarted")
                self.manager_restarts += 1
                try:
                    self.start(i)
                except RuntimeError as e:
                    self.rec.say(f"process manager: {e}")

    def ensure_running(self):
        for i in range(1, self.net.nodes + 1):
            if self.procs[i].poll() is not None:
                self.start(i)

    def stop_all(self):
        with self.lock:
            self.closing = True
            self.stopped.update(self.procs)
        for i, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.send_signal(signal.SIGKILL)
                p.wait()


def docker(*args, check=True, timeout=60):
    return sh("docker", *args, check=check, timeout=timeout)


class ComposeNetwork:
    """Cuts links between containers with iptables in their network namespaces (nsenter)."""

    def __init__(self, project, nodes):
        self.project = project
        self.nodes = nodes

    def container(self, i):
        return f"{self.project}_n{i}_1"

    def ip(self, i):
        return docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                      self.container(i)).stdout.strip()

    def pid(self, i):
        return docker("inspect", "-f", "{{.State.Pid}}", self.container(i)).stdout.strip()

    def up(self):
        pass

    def down(self):
        self.heal()

    def iptables(self, i, *args, check=True):
        pid = self.pid(i)
        if pid in ("", "0"):
            return None  # not running: nothing to cut or heal
        return sh("nsenter", "-t", pid, "-n", "iptables", *args, check=check)

    def cut(self, i, j, both=True):
        self.iptables(i, "-A", "INPUT", "-s", self.ip(j), "-j", "DROP")
        if both:
            self.iptables(j, "-A", "INPUT", "-s", self.ip(i), "-j", "DROP")

    def heal(self):
        for i in range(1, self.nodes + 1):
            self.iptables(i, "-F", "INPUT", check=False)


class ComposeCluster:
    """The nodes of a running docker-compose project. Docker is the process manager: a node
    that exits on its own is restarted by its restart policy. A restarted container may get
    another address: address(i) always gives the current one."""

    def __init__(self, net, project):
        # The compose cluster checks who calls: this process's clients act as its admin, with
        # the secrets scripts/compose-secrets.sh made.
        admin = os.path.join(ROOT, ".compose", "admin")
        os.environ.update(RINGKV_CA=os.path.join(admin, "ca.pem"),
                          RINGKV_CERT=os.path.join(admin, "client.pem"),
                          RINGKV_KEY=os.path.join(admin, "client.key"))
        os.environ.pop("RINGKV_TOKEN", None)
        self.net = net
        self.project = project
        self.paused = set()
        self.ips = {i: net.ip(i) for i in range(1, net.nodes + 1)}

    def address(self, i):
        return f"{self.ips[i]}:{PORT}"

    def addresses(self):
        return [self.address(i) for i in range(1, self.net.nodes + 1)]

    @property
    def manager_restarts(self):
        return sum(int(docker("inspect", "-f", "{{.RestartCount}}", self.net.container(i),
                              check=False).stdout.strip() or 0)
                   for i in range(1, self.net.nodes + 1))

    def start(self, i, wait=True):
        docker("start", self.net.container(i))
        if wait:
            self.await_ready(i)

    def await_ready(self, i):
        self.ips[i] = self.net.ip(i)
        if not wait_for(30, lambda: kvctl(self.address(i), "status")[0] == 0):
            raise RuntimeError(f"{self.net.container(i)} did not serve again")

    def kill(self, i):
        docker("kill", "-s", "KILL", self.net.container(i), check=False)

    def pause(self, i):
        self.paused.add(i)
        docker("pause", self.net.container(i))

    def resume(self, i):
        self.paused.discard(i)
        docker("unpause", self.net.container(i), check=False)

    def ensure_running(self):
        for i in range(1, self.net.nodes + 1):
            state = docker("inspect", "-f", "{{.State.Status}}", self.net.container(i)).stdout
            if state.strip() != "running":
                self.start(i)

    def manage(self):
        pass

    def stop_all(self):
        pass  # the project is the caller's: it brought it up, it takes it down
