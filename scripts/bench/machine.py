"""What the figures were measured on and with: the machine (CPU, cores, RAM, kernel, Debian
release, the disk under the data directories), the git commit, and each peer's version."""

import os
import platform
import re

from procs import capture


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def cpu_model():
    m = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.M)
    return m.group(1).strip() if m else platform.processor() or "unknown CPU"


def ram_gib():
    m = re.search(r"^MemTotal:\s+(\d+) kB", _read("/proc/meminfo"), re.M)
    return round(int(m.group(1)) / 1024 / 1024, 1) if m else None


def disk_of(path):
    """The block device, file system and, where the kernel says, the disk kind under `path`."""
    try:
        dev = os.stat(path).st_dev
    except OSError:
        return "unknown"
    major, minor = os.major(dev), os.minor(dev)
    fstype = "?"
    for line in _read("/proc/self/mountinfo").splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] == f"{major}:{minor}":
            rest = line.split(" - ", 1)[1].split() if " - " in line else []
            fstype = rest[0] if rest else "?"
            break
    block = os.path.realpath(f"/sys/dev/block/{major}:{minor}")
    name = os.path.basename(block)
    if not os.path.exists(block):
        return f"{fstype} (no block device)"
    if os.path.exists(os.path.join(block, "partition")):
        block = os.path.dirname(block)
        name = os.path.basename(block)
    rotational = _read(os.path.join(block, "queue", "rotational")).strip()
    model = _read(os.path.join(block, "device", "model")).strip()
    kind = {"0": "SSD/non-rotational", "1": "rotational as reported"}.get(rotational, "kind unknown")
    if name.startswith("vd"):
        kind += ", virtio (virtual disk)"
    return f"{fstype} on /dev/{name} ({kind}{', ' + model if model else ''})"


def machine_info(data_dir):
    debian = _read("/etc/debian_version").strip()
    virt = capture(["systemd-detect-virt"], timeout=5)
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": ram_gib(),
        "kernel": platform.release(),
        "debian": debian or "not Debian",
        "disk": disk_of(data_dir),
        "virtualization": virt if virt and virt != "none" and " " not in virt else None,
    }


def machine_line(m):
    virt = f", {m['virtualization']} VM" if m.get("virtualization") else ""
    return (f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM{virt}, Linux "
            f"{m['kernel']}, Debian {m['debian']}; data on {m['disk']}")


def git_info(repo):
    commit = capture(["git", "-C", str(repo), "rev-parse", "HEAD"], timeout=10)
    describe = capture(["git", "-C", str(repo), "describe", "--always", "--dirty"], timeout=10)
    return {"commit": commit if re.fullmatch(r"[0-9a-f]{40}", commit) else "unknown",
            "describe": describe or "unknown",
            "dirty": describe.endswith("-dirty")}


def first_line(text):
    return text.splitlines()[0].strip() if text else "not found"


def versions(bins, git):
    out = {"ringkv": f"git {git['describe']}"}
    if "redis-server" in bins:
        out["redis"] = first_line(capture([str(bins["redis-server"]), "--version"]))
    if "etcd" in bins:
        text = capture([str(bins["etcd"]), "--version"])
        out["etcd"] = " ".join(line.strip() for line in text.splitlines()[:1]) or "not found"
    if "db_bench" in bins:
        out["db_bench"] = first_line(capture([str(bins["db_bench"]), "--version"]))
    return out
