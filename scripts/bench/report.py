"""The comparison's outputs: the Markdown report, the JSON of every run, and the README block
between <!-- bench:begin --> and <!-- bench:end -->. Rendering is pure (strings from data);
only write_* and update_readme touch files."""

import json
import re

import results as R

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

WORKLOADS = {"A": "A (50% reads)", "B": "B (95% reads)", "W": "W (100% puts)"}
DB_BENCH_WORKLOADS = {"A": "A: readrandomwriterandom 50%", "B": "B: readrandomwriterandom 95%",
                      "W": "W: fillrandom"}


def workload_text(system, workload, distribution):
    if system == R.ECHO:
        text = "round trip (A's mix)"
    elif system.startswith("db_bench"):
        text = DB_BENCH_WORKLOADS.get(workload, workload)
    else:
        text = WORKLOADS.get(workload, workload)
    return text if distribution == "uniform" else f"{text}, {distribution}"


def in_flight_text(system, concurrency):
    return f"{concurrency} threads" if system.startswith("db_bench") else str(concurrency)


def errors_text(med):
    if med is None:
        return "failed"
    parts = []
    if med["errors_any"]:
        parts.append(f"⚠ {med['errors_any']:,} errors")
    if med["failed"]:
        parts.append(f"⚠ {med['failed']} round(s) failed")
    return ", ".join(parts) or "0"


def cpu_text(med):
    """CPU µs per operation; ⚠ when a server process could not be read (not counted)."""
    flag = " ⚠" if med.get("cpu_unreadable") else ""
    return R.fmt_cpu(med.get("cpu_us_per_op")) + flag


def rounds_text(med):
    return " / ".join("failed" if t is None else f"{t:,.0f}" for t in med["rounds"])


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def absolute_table(doc):
    rows = []
    for cid in R.sort_cells(doc["medians"]):
        system, workload, dist, conc = R.split_cell_id(cid)
        med = doc["medians"][cid]
        client = doc["meta"]["clients"].get(system, "")
        if med is None:
            rows.append([system, client, workload_text(system, workload, dist),
                         in_flight_text(system, conc), "-", "-", "-", "-", "-", "failed", "-"])
            continue
        rows.append([system, client, workload_text(system, workload, dist),
                     in_flight_text(system, conc), R.fmt_rate(med["throughput"]),
                     cpu_text(med), R.fmt_latency(med["p50"]), R.fmt_latency(med["p99"]),
                     R.fmt_latency(med["p999"]), errors_text(med), rounds_text(med)])
    return table(["system", "client", "workload", "in flight", "ops/s", "CPU µs/op", "p50", "p99",
                  "p99.9", "errors", "ops/s per round"], rows)


def _bar_value(value, metric):
    return R.fmt_rate(value) + " ops/s" if metric == "throughput" else R.fmt_latency(value)


def bar_cpu_text(bar, medians):
    """The CPU µs/op of a bar's cells: 'numerator / denominator', or one figure when both
    are the same cell."""
    def one(cid):
        med = medians.get(cid)
        return cpu_text(med) if med else "-"
    if bar["num"] == bar["den"]:
        return one(bar["num"])
    return f"{one(bar['num'])} / {one(bar['den'])}"


def bars_table(bars, compact=False, medians=None):
    """Issue 4's bars. The full table (medians given) also shows the CPU µs/op of each
    bar's cells."""
    rows = []
    for b in bars:
        verdict = b["verdict"] + (" (⚠ errors)" if b["flagged"] else "")
        target = f"{'≥' if b['op'] == '>=' else '≤'} {b['target']}"
        if compact:
            rows.append([b["bar"], b["title"], R.fmt_ratio(b["ratio"]), target, verdict])
        else:
            rows.append([b["bar"], b["title"], _bar_value(b["num_value"], b["num_metric"]),
                         _bar_value(b["den_value"], b["den_metric"]),
                         bar_cpu_text(b, medians or {}), R.fmt_ratio(b["ratio"]), target,
                         verdict])
    header = (["#", "ratio", "value", "bar", "result"] if compact else
              ["#", "ratio", "numerator", "denominator", "CPU µs/op", "value", "bar",
               "result"])
    return table(header, rows)


def peers_table(rows):
    peers = R.PEERS + ["db_bench"]
    out = []
    for row in rows:
        system, workload, dist, conc = R.split_cell_id(row["cell"])
        out.append([R.cell_label(system, workload, conc, dist)] +
                   [R.fmt_ratio(row["ratios"].get(p)) for p in peers])
    return table(["ringkv cell", *[f"vs {p}" for p in peers[:-1]],
                  "vs db_bench (same sync)"], out)


def settings_lines(meta):
    s = meta["settings"]
    quick = " (quick run)" if meta["quick"] else ""
    return [
        f"- **Date:** {meta['date']}",
        f"- **Machine:** {meta['machine_line']}",
        f"- **Commit:** `{meta['git']['commit']}` (`{meta['git']['describe']}`)",
        "- **Versions:** " + "; ".join(f"{k}: {v}" for k, v in meta["versions"].items()),
        f"- **Settings{quick}:** {s['records']:,} records, {s['key_size']} B keys, "
        f"{s['value_size']} B values, warm-up {s['warmup']:g} s, measured {s['duration']:g} s, "
        f"{s['rounds']} round(s), median reported (latencies of the median run). Every "
        f"kvbench cell loads its own records first with {s['load_concurrency']} in flight; "
        "every ringkv cell writes to a namespace of its own.",
        "- **Order:** interleaved; each round starts every system fresh, runs its cells, "
        "stops it; round 1 in the order " + ", ".join(s["order"]) + ", each later round "
        "rotated by one.",
    ]


def render_markdown(doc, command):
    meta = doc["meta"]
    parts = [f"# ringkv against its peers, {meta['date'][:10]}", ""]
    if meta["quick"]:
        parts += ["> **Quick run, not representative:** one short round on few records, for "
                  "trying the tooling out. The figures of record come from a full "
                  "`scripts/compare.sh`.", ""]
    if meta.get("only"):
        parts += [f"> Partial run: only {', '.join(meta['only'])}.", ""]
    parts += [f"Produced by `{command}`; every server ran on 127.0.0.1 on this machine and was "
              "stopped by PID afterwards.", ""]
    parts += settings_lines(meta) + [""]
    parts += ["## Systems", "", table(["system", "client", "setup"],
                                      [[s, meta["clients"].get(s, ""), meta["setups"].get(s, "")]
                                       for s in R.SYSTEM_ORDER if s in meta["clients"]]), ""]
    parts += ["## Absolute figures", "",
              "Latencies are per operation, over reads and writes together; a cell marked ⚠ had "
              "errors or a failed round (see below). CPU µs/op is the CPU time of every server "
              "process and of the client over the measured window, per operation (db_bench: "
              "of its whole invocation); ⚠ beside it: a server process could not be read and "
              "is not counted.", "", absolute_table(doc), ""]
    parts += ["## Issue 4's bars", "",
              "Ratios of medians from this run. They are benchmark figures, not test "
              "assertions. CPU µs/op is that of the numerator's cell and the denominator's.", "",
              bars_table(doc["bars"], medians=doc["medians"]), ""]
    parts += ["## ringkv against each peer (informational)", "",
              "Throughput of each ringkv cell over the same workload, distribution and "
              "concurrency of the peer.", "", peers_table(doc["peer_ratios"]), ""]
    problems = problem_lines(doc)
    if problems:
        parts += ["## Errors, failures and skipped cells", ""] + problems + [""]
    if meta["notes"]:
        parts += ["## Notes", ""] + [f"- {n}" for n in meta["notes"]] + [""]
    parts += ["![chart](" + doc["chart_name"] + ")", ""]
    return "\n".join(parts)


def problem_lines(doc):
    lines = []
    for cell in doc["cells"]:
        if cell.get("skip"):
            lines.append(f"- {cell['label']}: skipped, {cell['skip']}.")
            continue
        for run in cell["runs"]:
            if not run["ok"]:
                lines.append(f"- {cell['label']}, round {run['round']}: {_one_line(run['error'])}")
                continue
            f = run["figures"]
            if f["errors"] or f["load_errors"]:
                codes = ", ".join(f"{k} {v}" for k, v in f["error_codes"].items())
                lines.append(f"- {cell['label']}, round {run['round']}: {f['errors']} errors in "
                             f"the run ({codes or 'no codes'}), {f['load_errors']} in the load.")
            if f.get("cpu_unreadable"):
                pids = ", ".join(map(str, f["cpu_unreadable"]))
                lines.append(f"- {cell['label']}, round {run['round']}: the CPU time of server "
                             f"process(es) {pids} could not be read and is not counted.")
    return lines


def _one_line(text):
    return re.sub(r"\s+", " ", text or "").strip()[:400]


def condensed_table(doc):
    """System x (A@1, A@32, B@1, B@32): throughput, p50 and CPU µs per operation."""
    columns = [("A", 1), ("A", 32), ("B", 1), ("B", 32)]
    rows = []
    for system in R.SYSTEM_ORDER:
        cells = [doc["medians"].get(R.cell_id(system, w, c)) for w, c in columns]
        if not any(cells):
            continue
        shown = []
        for med in cells:
            if med is None:
                shown.append("-")
            else:
                flag = " ⚠" if med["flagged"] else ""
                cpu = ("" if med.get("cpu_us_per_op") is None else
                       f", CPU {cpu_text(med)} µs/op")
                shown.append(f"{R.fmt_rate(med['throughput'])} ops/s, p50 "
                             f"{R.fmt_latency(med['p50'])}{cpu}{flag}")
        rows.append([system] + shown)
    return table(["system", "A @1", "A @32", "B @1", "B @32"], rows)


def render_readme_block(doc, md_link, png_link):
    meta = doc["meta"]
    return "\n".join([
        "`scripts/compare.sh` reproduces these figures: every system on loopback on one "
        f"machine, interleaved, median of {meta['settings']['rounds']} rounds "
        "(about an hour; `--quick` for a short try).",
        "",
        f"Measured {meta['date'][:16].replace('T', ' ')} on {meta['machine_line']}, commit "
        f"`{meta['git']['describe']}`. Workload A is 50% reads / 50% updates, B 95/5; "
        f"{meta['settings']['records']:,} records of 1 KiB; @N is requests in flight; db_bench "
        "runs in-process (threads, no network); etcd is driven through its v3 JSON gateway "
        "over HTTP/1.1 by kvbench's own client. CPU is the CPU time of every server process "
        "and of the client over the measured run, per operation (db_bench: its whole "
        "invocation).",
        "",
        condensed_table(doc),
        "",
        bars_table(doc["bars"], compact=True),
        "",
        f"Every cell, the ratios against each peer and the versions: [{md_link}]({md_link}); "
        f"chart: [{png_link}]({png_link}).",
    ])


def replace_block(readme, block):
    """README text with the bench block replaced, or a '## Performance' section holding it
    added before any license/contributing section (at the end when there is none)."""
    wrapped = f"{BEGIN}\n{block}\n{END}"
    if BEGIN in readme and END in readme:
        head, rest = readme.split(BEGIN, 1)
        return head + wrapped + rest.split(END, 1)[1]
    section = f"## Performance\n\n{wrapped}\n"
    m = re.search(r"^## +(licen[cs]e|contributing)\b", readme, re.I | re.M)
    if m:
        return readme[:m.start()] + section + "\n" + readme[m.start():]
    return readme.rstrip("\n") + "\n\n" + section


def update_readme(path, block):
    text = path.read_text()
    path.write_text(replace_block(text, block))


def write_json(path, doc):
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
