"""The PNG: throughput at 32 in flight (A and B, per system) and p50 at 1 in flight, as grouped
horizontal bars. matplotlib (Debian's python3-matplotlib) with the Agg backend: no display."""

import results as R

COLORS = {"A": "#3b6ea5", "B": "#e08a2c"}


def _series(medians, workload, concurrency, metric):
    values = {}
    for system in R.SYSTEM_ORDER:
        med = medians.get(R.cell_id(system, workload, concurrency))
        if med and med.get(metric) is not None:
            values[system] = med[metric]
    return values


def _panel(ax, medians, systems, concurrency, metric, label, fmt):
    height = 0.38
    everything = []
    for i, workload in enumerate(("A", "B")):
        values = _series(medians, workload, concurrency, metric)
        ys = [n + (i - 0.5) * height for n, s in enumerate(systems) if s in values]
        xs = [values[s] for s in systems if s in values]
        everything += xs
        bars = ax.barh(ys, xs, height=height, color=COLORS[workload], label=f"workload {workload}")
        for bar, x in zip(bars, xs):
            ax.text(x, bar.get_y() + bar.get_height() / 2, " " + fmt(x), va="center", fontsize=7)
    ax.set_yticks(range(len(systems)))
    ax.set_yticklabels(systems, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(label)
    positive = [x for x in everything if x > 0]
    if positive and max(positive) / min(positive) > 20:
        ax.set_xscale("log")
        ax.set_xlim(min(positive) / 1.5, max(positive) * 4)
    elif positive:
        ax.set_xlim(0, max(positive) * 1.25)
    ax.grid(axis="x", alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")


def draw(path, doc):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    medians, meta = doc["medians"], doc["meta"]
    shown = [s for s in R.SYSTEM_ORDER
             if any(medians.get(R.cell_id(s, w, c)) for w in ("A", "B") for c in (1, 32))]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 4 + 0.55 * len(shown) * 2))
    _panel(top, medians, shown, 32, "throughput", "ops/s at 32 in flight (db_bench: 32 threads)",
           R.fmt_rate)
    _panel(bottom, medians, shown, 1, "p50", "p50 latency (µs) at 1 in flight",
           lambda us: R.fmt_latency(us))
    m = meta["machine"]
    quick = " - QUICK RUN, NOT REPRESENTATIVE" if meta["quick"] else ""
    fig.suptitle(f"ringkv vs peers, {meta['date'][:10]}{quick}\n{m['cpu']}, {m['cores']} cores, "
                 f"{m['ram_gib']} GiB, Linux {m['kernel']}; median of "
                 f"{meta['settings']['rounds']} round(s), "
                 f"{meta['settings']['records']:,} records x {meta['settings']['value_size']} B",
                 fontsize=10)
    top.set_title("Throughput, higher is better", fontsize=9)
    bottom.set_title("Median latency at one request in flight, lower is better", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
