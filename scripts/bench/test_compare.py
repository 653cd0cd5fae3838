"""Unit tests of the comparison's pure parts: db_bench output parsing, medians across rounds,
the ratio tables and the README block. Run: python3 -m unittest discover scripts/bench
(no servers, no matplotlib, well under a second)."""

import unittest
from pathlib import Path
from types import SimpleNamespace

import cells
import compare
import report
import results as R
import systems as S

DB_BENCH_OUTPUT = """\
RocksDB:    version 7.8.3
Date:       Sat Nov 21 23:17:04 2026
Keys:       16 bytes each (+ 0 bytes user-defined timestamp)
WARNING: Assertions are enabled; benchmarks unnecessarily slow
------------------------------------------------
DB path: [/tmp/dbb/db]
... finished 100 ops\r... finished 200 ops\rreadrandomwriterandom :       5.274 micros/op \
379153 ops/sec 2.004 seconds 759998 operations; ( reads:194500 writes:194499 total:10000 found:194500)
Microseconds per read:
Count: 380000 Average: 2.5443  StdDev: 38.92
Min: 0  Median: 1.3942  Max: 5650
Percentiles: P50: 1.39 P75: 2.08 P99: 6.37 P99.9: 14.67 P99.99: 2042.86
------------------------------------------------------
[       0,       1 ]   131070  34.492%  34.492% #######
(       1,       2 ]   149503  39.343%  73.835% ########
(       2,       3 ]    58182  15.311%  89.146% ###
(       3,       4 ]    23793   6.261%  95.407% #
(       4,       6 ]    13369   3.518%  98.926% #
(       6,      10 ]     3099   0.816%  99.741%
(      10,      15 ]      646   0.170%  99.911%
(      15,      22 ]      155   0.041%  99.952%
(      22,      34 ]       84   0.022%  99.974%
(      34,      51 ]       26   0.007%  99.981%
(      51,      76 ]       12   0.003%  99.984%
(      76,     110 ]        3   0.001%  99.985%
(    2900,    4400 ]       29   0.008%  99.993%
(    4400,    6600 ]       26   0.007% 100.000%

Microseconds per write:
Count: 379998 Average: 8.0035  StdDev: 57.54
Min: 2  Median: 6.8389  Max: 8152
Percentiles: P50: 6.84 P75: 8.70 P99: 14.94 P99.9: 45.33 P99.99: 3634.70
------------------------------------------------------
(       1,       2 ]     2413   0.635%   0.635%
(       2,       3 ]    33820   8.900%   9.535% ##
(       3,       4 ]    51901  13.658%  23.193% ###
(       4,       6 ]    58941  15.511%  38.704% ###
(       6,      10 ]   204666  53.860%  92.564% ###########
(      10,      15 ]    24739   6.510%  99.074% #
(      15,      22 ]     2322   0.611%  99.685%
(      22,      34 ]      640   0.168%  99.854%
(      34,      51 ]      264   0.069%  99.923%
(      51,      76 ]      110   0.029%  99.952%
(    6600,    9900 ]      182   0.048% 100.000%
"""

FILLSEQ_OUTPUT = """\
RocksDB:    version 7.8.3
fillseq      :       9.051 micros/op 220497 ops/sec 0.091 seconds 20000 operations;  218.7 MB/s
Microseconds per write:
Count: 20000 Average: 9.0481  StdDev: 24.56
Min: 2  Median: 8.0772  Max: 2520
Percentiles: P50: 8.08 P75: 9.22 P99: 18.82 P99.9: 59.33 P99.99: 380.00
------------------------------------------------------
(       1,       2 ]       26   0.130%   0.130%
(       2,       3 ]       50   0.250%   0.380%
(       3,       4 ]       32   0.160%   0.540%
(       4,       6 ]      819   4.095%   4.635% #
(       6,      10 ]    17472  87.360%  91.995% #################
(      10,      15 ]     1292   6.460%  98.455% #
(      15,      22 ]      200   1.000%  99.455%
(      22,      34 ]       60   0.300%  99.755%
(      34,      51 ]       24   0.120%  99.875%
(      51,      76 ]       15   0.075%  99.950%
(     110,     170 ]        4   0.020%  99.970%
(     170,     250 ]        2   0.010%  99.980%
(     250,     380 ]        2   0.010%  99.990%
(    1900,    2900 ]        2   0.010% 100.000%
fillrandom   :  skipped (--use_existing_db is true)
"""


def figures(throughput, p50=100.0, p999=500.0, errors=0, update_p50=None, cpu=None,
            cpu_unreadable=()):
    f = R.empty_figures()
    f.update(throughput=throughput, p50=p50, p99=p50 * 3, p999=p999, errors=errors,
             update_p50=update_p50 if update_p50 is not None else p50, cpu_us_per_op=cpu,
             cpu_unreadable=list(cpu_unreadable))
    return f


def run(round_no, fig):
    return {"round": round_no, "ok": fig is not None, "figures": fig}


class DbBenchParsing(unittest.TestCase):
    def test_the_summary_line_is_found_after_carriage_return_progress_output(self):
        parsed = R.parse_db_bench(DB_BENCH_OUTPUT)
        bench = parsed["benchmarks"]["readrandomwriterandom"]
        self.assertEqual(bench["ops_per_sec"], 379153)
        self.assertEqual(bench["ops"], 759998)
        self.assertAlmostEqual(bench["seconds"], 2.004)
        self.assertEqual(parsed["version"], "7.8.3")
        self.assertTrue(parsed["assertions"])

    def test_each_operation_type_keeps_its_printed_percentiles(self):
        hists = R.parse_db_bench(DB_BENCH_OUTPUT)["benchmarks"]["readrandomwriterandom"][
            "histograms"]
        self.assertEqual(set(hists), {"read", "write"})
        self.assertEqual((hists["read"]["p50"], hists["read"]["p99"], hists["read"]["p999"]),
                         (1.39, 6.37, 14.67))
        self.assertEqual(hists["write"]["p9999"], 3634.70)
        self.assertEqual(hists["read"]["buckets"][0], (0.0, 1.0, 131070))
        self.assertEqual((hists["write"]["min"], hists["write"]["max"]), (2.0, 8152.0))

    def test_interpolating_one_histogram_gives_back_what_db_bench_printed(self):
        hist = R.parse_db_bench(FILLSEQ_OUTPUT)["benchmarks"]["fillseq"]["histograms"]["write"]
        self.assertAlmostEqual(R.histogram_percentile([hist], 50), 8.08, places=2)
        self.assertAlmostEqual(R.histogram_percentile([hist], 99), 18.82, places=1)

    def test_merged_percentiles_lie_between_those_of_reads_and_writes(self):
        parsed = R.parse_db_bench(DB_BENCH_OUTPUT)
        fig = R.db_bench_figures(parsed, "readrandomwriterandom")
        self.assertEqual(fig["throughput"], 379153)
        self.assertEqual(fig["read_p50"], 1.39)
        self.assertEqual(fig["update_p50"], 6.84)
        self.assertTrue(1.39 < fig["p50"] < 6.84)
        self.assertTrue(fig["p50"] <= fig["p99"] <= fig["p999"])

    def test_db_bench_cpu_is_its_invocation_s_cpu_time_over_its_operations(self):
        parsed = R.parse_db_bench(DB_BENCH_OUTPUT)
        fig = R.db_bench_figures(parsed, "readrandomwriterandom", cpu_s=3.8)
        self.assertAlmostEqual(fig["cpu_us_per_op"], 3.8 / 759998 * 1e6)
        self.assertIsNone(R.db_bench_figures(parsed, "readrandomwriterandom")["cpu_us_per_op"])

    def test_a_skipped_benchmark_has_no_figures(self):
        parsed = R.parse_db_bench(FILLSEQ_OUTPUT)
        self.assertIn("use_existing_db", parsed["benchmarks"]["fillrandom"]["skipped"])
        self.assertIsNone(R.db_bench_figures(parsed, "fillrandom"))
        self.assertIsNone(R.db_bench_figures(parsed, "readrandom"))


class KvbenchFigures(unittest.TestCase):
    DOC = {"throughput": 7180.5, "ops": 14361, "error_count": 2, "errors": {"TIMEOUT": 2},
           "latency_us": {"p50": 3060.0, "p95": 12900.0, "p99": 20300.0, "p999": 27900.0},
           "read": {"ops": 7150, "latency_us": {"p50": 2940.0}},
           "update": {"ops": 7211, "latency_us": {"p50": 3190.0}},
           "load": {"error_count": 1, "throughput": 7054.7}}

    def test_the_top_level_phase_is_the_measured_run(self):
        f = R.kvbench_figures(self.DOC)
        self.assertEqual((f["throughput"], f["p50"], f["p999"]), (7180.5, 3060.0, 27900.0))
        self.assertEqual((f["read_p50"], f["update_p50"]), (2940.0, 3190.0))
        self.assertEqual((f["errors"], f["load_errors"]), (2, 1))

    def test_an_operation_that_never_ran_has_no_p50(self):
        doc = dict(self.DOC, read={"ops": 0, "latency_us": {"p50": 0.0}})
        self.assertIsNone(R.kvbench_figures(doc)["read_p50"])

    def test_cpu_per_operation_and_unreadable_servers_come_from_the_cpu_object(self):
        doc = dict(self.DOC, cpu={"client_s": 0.5, "servers_s": 2.5, "processes": 2,
                                  "unreadable": [4242], "us_per_op": 208.9})
        f = R.kvbench_figures(doc)
        self.assertEqual(f["cpu_us_per_op"], 208.9)
        self.assertEqual(f["cpu_unreadable"], [4242])

    def test_a_kvbench_without_cpu_figures_gives_none(self):
        f = R.kvbench_figures(self.DOC)
        self.assertIsNone(f["cpu_us_per_op"])
        self.assertEqual(f["cpu_unreadable"], [])
        no_ops = dict(self.DOC, cpu={"client_s": 0.1, "us_per_op": None})
        self.assertIsNone(R.kvbench_figures(no_ops)["cpu_us_per_op"])


class Medians(unittest.TestCase):
    def test_throughput_is_the_median_and_latencies_come_from_the_median_run(self):
        med = R.median_of_runs([run(1, figures(300, p50=30)), run(2, figures(100, p50=10)),
                                run(3, figures(200, p50=20))])
        self.assertEqual(med["throughput"], 200)
        self.assertEqual(med["p50"], 20)
        self.assertEqual(med["median_round"], 3)
        self.assertEqual(med["rounds"], [300, 100, 200])
        self.assertFalse(med["flagged"])

    def test_an_even_count_averages_throughput_and_takes_the_lower_middle_latencies(self):
        med = R.median_of_runs([run(1, figures(100, p50=10)), run(2, figures(300, p50=30))])
        self.assertEqual(med["throughput"], 200)
        self.assertEqual(med["p50"], 10)

    def test_a_failed_round_is_left_out_but_flags_the_cell(self):
        med = R.median_of_runs([run(1, figures(100)), run(2, None), run(3, figures(300))])
        self.assertEqual(med["throughput"], 200)
        self.assertEqual(med["failed"], 1)
        self.assertEqual(med["rounds"], [100, None, 300])
        self.assertTrue(med["flagged"])

    def test_errors_in_any_round_flag_the_cell(self):
        med = R.median_of_runs([run(1, figures(100)), run(2, figures(200, errors=3)),
                                run(3, figures(300))])
        self.assertEqual(med["errors_any"], 3)
        self.assertTrue(med["flagged"])

    def test_cpu_per_operation_is_the_median_run_s_not_the_median_of_the_cpu_figures(self):
        med = R.median_of_runs([run(1, figures(300, cpu=10)), run(2, figures(100, cpu=20)),
                                run(3, figures(200, cpu=50))])
        self.assertEqual(med["cpu_us_per_op"], 50)
        self.assertEqual(med["median_round"], 3)

    def test_no_successful_round_means_no_median(self):
        self.assertIsNone(R.median_of_runs([run(1, None)]))
        self.assertIsNone(R.median_of_runs([]))


def medians_for_bars():
    m = {}
    put = lambda system, w, c, fig, dist="uniform": m.__setitem__(
        R.cell_id(system, w, c, dist), R.median_of_runs([run(1, fig)]))
    put(R.RINGKV_3_UNSYNCED, "A", 32, figures(6000, p50=1000, p999=12000))
    put(R.RINGKV_3_UNSYNCED, "A", 32, figures(5700, p50=1000, p999=5000), "zipfian")
    put(R.RINGKV_3_UNSYNCED, "A", 64, figures(5000))
    put(R.RINGKV_3_UNSYNCED, "A", 1, figures(900, update_p50=75))
    put(R.RINGKV_3_UNSYNCED, "B", 32, figures(7000))
    put(R.REDIS_CLUSTER_WAIT, "A", 32, figures(10000))
    put(R.REDIS_CLUSTER_WAIT, "B", 32, figures(30000))
    put(R.ECHO, "A", 1, figures(30000, update_p50=25))
    put(R.REDIS, "A", 32, figures(60000))
    put(R.ETCD, "A", 32, figures(1000, errors=4))
    put(R.RINGKV_3_DURABLE, "A", 32, figures(4500))
    put(R.DB_BENCH_NOSYNC, "A", 32, figures(400000))
    return m


class Bars(unittest.TestCase):
    def setUp(self):
        self.rows = R.evaluate_bars(medians_for_bars())

    def row(self, bar, contains=""):
        return next(r for r in self.rows if r["bar"] == bar and contains in r["title"])

    def test_throughput_ratios_against_their_targets(self):
        self.assertAlmostEqual(self.row("1")["ratio"], 0.6)
        self.assertEqual(self.row("1")["verdict"], "PASS")
        self.assertAlmostEqual(self.row("2")["ratio"], 7000 / 30000)
        self.assertEqual(self.row("2")["verdict"], "MISS")
        self.assertEqual(self.row("7")["verdict"], "PASS")  # 0.95
        self.assertEqual(self.row("8")["verdict"], "MISS")  # 0.83

    def test_a_missing_cell_gives_n_a_not_a_verdict(self):
        self.assertEqual(self.row("3")["verdict"], "n/a")
        self.assertIsNone(self.row("3")["ratio"])
        self.assertEqual(self.row("5", "durable")["verdict"], "n/a")

    def test_put_latency_is_compared_with_the_echo_put_and_must_stay_below(self):
        bar = self.row("5", "unsynced")
        self.assertAlmostEqual(bar["ratio"], 3.0)
        self.assertEqual(bar["verdict"], "PASS")  # <= 3 includes 3

    def test_tail_bar_covers_every_ringkv_cell_at_32_in_flight(self):
        tails = [r for r in self.rows if r["bar"] == "6"]
        self.assertEqual(len(tails), 4)  # 3-node unsynced A, A zipfian, B; durable A
        worst = next(r for r in tails if r["num"] == R.cell_id(R.RINGKV_3_UNSYNCED, "A", 32))
        self.assertAlmostEqual(worst["ratio"], 12.0)
        self.assertEqual(worst["verdict"], "MISS")

    def test_a_bar_built_on_a_cell_with_errors_is_flagged(self):
        self.assertTrue(self.row("4")["flagged"])
        self.assertAlmostEqual(self.row("4")["ratio"], 4.5)
        self.assertFalse(self.row("1")["flagged"])

    def test_peer_ratios_match_workload_and_concurrency_and_sync_for_db_bench(self):
        rows = {r["cell"]: r["ratios"] for r in R.peer_ratios(medians_for_bars())}
        mine = rows[R.cell_id(R.RINGKV_3_UNSYNCED, "A", 32)]
        self.assertAlmostEqual(mine[R.REDIS], 0.1)
        self.assertAlmostEqual(mine[R.REDIS_CLUSTER_WAIT], 0.6)
        self.assertAlmostEqual(mine["db_bench"], 6000 / 400000)
        self.assertAlmostEqual(mine[R.ETCD], 6.0)
        self.assertNotIn(R.REDIS_AOF, mine)  # no such cell in this run
        durable = rows[R.cell_id(R.RINGKV_3_DURABLE, "A", 32)]
        self.assertAlmostEqual(durable[R.ETCD], 4.5)
        self.assertNotIn("db_bench", durable)  # no db_bench sync=1 A@32 here


def doc_for_tables():
    """Medians and cells for the tables: three cells with CPU figures, one of them (the
    Redis Cluster's) with a server process that could not be read."""
    medians = medians_for_bars()
    wait = figures(10000, cpu=41.04, cpu_unreadable=[77])
    for cid, fig in ((R.cell_id(R.RINGKV_3_UNSYNCED, "A", 32),
                      figures(6000, p50=1000, p999=12000, cpu=212.4)),
                     (R.cell_id(R.REDIS_CLUSTER_WAIT, "A", 32), wait),
                     (R.cell_id(R.ECHO, "A", 1), figures(30000, update_p50=25, cpu=6.449))):
        medians[cid] = R.median_of_runs([run(1, fig)])
    cells_ = [{"label": R.cell_label(R.REDIS_CLUSTER_WAIT, "A", 32), "runs": [run(1, wait)]}]
    meta = {"clients": {s: "c" for s in R.SYSTEM_ORDER}}
    return {"meta": meta, "medians": medians, "bars": R.evaluate_bars(medians),
            "cells": cells_}


class CpuColumns(unittest.TestCase):
    def setUp(self):
        self.doc = doc_for_tables()

    def row(self, text, system, workload="A", conc="32"):
        return next(line for line in text.splitlines()
                    if line.startswith(f"| {system} |") and f"| {conc} |" in line and
                    line.split(" | ")[2].startswith(workload))

    def test_cpu_figures_keep_three_significant_digits(self):
        self.assertEqual([R.fmt_cpu(v) for v in (6.449, 41.04, 212.4, 1234.0, None)],
                         ["6.45", "41.0", "212", "1,234", "-"])

    def test_the_absolute_table_shows_cpu_beside_throughput(self):
        text = report.absolute_table(self.doc)
        header = text.splitlines()[0].split(" | ")
        self.assertEqual(header[header.index("ops/s") + 1], "CPU µs/op")
        cells_ = self.row(text, R.RINGKV_3_UNSYNCED).split(" | ")
        self.assertEqual(cells_[header.index("ops/s")], "6,000")
        self.assertEqual(cells_[header.index("CPU µs/op")], "212")
        wait = self.row(text, R.REDIS_CLUSTER_WAIT).split(" | ")
        self.assertEqual(wait[header.index("CPU µs/op")], "41.0 ⚠")  # a server not counted
        plain = self.row(text, R.REDIS).split(" | ")
        self.assertEqual(plain[header.index("CPU µs/op")], "-")  # a kvbench without --cpu-pids

    def test_the_bars_table_shows_the_cpu_of_both_cells(self):
        text = report.bars_table(self.doc["bars"], medians=self.doc["medians"])
        self.assertIn("CPU µs/op", text.splitlines()[0])
        bar1 = next(line for line in text.splitlines() if line.startswith("| 1 |"))
        self.assertIn("| 212 / 41.0 ⚠ |", bar1)
        tail = next(line for line in text.splitlines()
                    if line.startswith("| 6 |") and "sync=none A@32" in line)
        self.assertIn("| 212 |", tail)  # one cell: one figure
        self.assertNotIn("CPU", report.bars_table(self.doc["bars"], compact=True))

    def test_the_readme_table_shows_cpu_in_every_cell_that_has_it(self):
        text = report.condensed_table(self.doc)
        ringkv = next(line for line in text.splitlines()
                      if line.startswith(f"| {R.RINGKV_3_UNSYNCED} |"))
        self.assertIn("6,000 ops/s, p50 1.00 ms, CPU 212 µs/op", ringkv)
        echo = next(line for line in text.splitlines() if line.startswith(f"| {R.ECHO} |"))
        self.assertIn("CPU 6.45 µs/op", echo)
        redis = next(line for line in text.splitlines() if line.startswith(f"| {R.REDIS} |"))
        self.assertNotIn("CPU", redis)

    def test_a_server_whose_cpu_was_unreadable_is_named_among_the_problems(self):
        lines = report.problem_lines(self.doc)
        self.assertTrue(any("77" in line and "not counted" in line for line in lines), lines)


class KvbenchCommand(unittest.TestCase):
    SETTINGS = cells.Settings(rounds=1, duration=2, warmup=1, records=1000)
    CELL = cells.Cell(R.RINGKV_3_UNSYNCED, "A", 32)

    def argv(self, features, pids):
        return cells.kvbench_argv("kvbench", self.SETTINGS, features, self.CELL,
                                  ["--target", "ringkv"], Path("x.json"), server_pids=pids)

    def test_the_servers_pids_go_to_a_kvbench_that_takes_them(self):
        features = compare.Features(targets=(), workloads=(), load_concurrency=True,
                                    cpu_pids=True)
        argv = self.argv(features, [101, 102, 103])
        self.assertEqual(argv[argv.index("--cpu-pids") + 1], "101,102,103")
        self.assertNotIn("--cpu-pids", self.argv(features, []))

    def test_each_cell_loads_keys_of_its_own(self):
        features = compare.Features(targets=(), workloads=(), load_concurrency=True,
                                    key_prefix=True)
        argv = self.argv(features, [])
        prefix = argv[argv.index("--key-prefix") + 1]
        self.assertRegex(prefix, r"^c[0-9a-f]{6}$")
        other = cells.Cell(R.RINGKV_3_UNSYNCED, "A", 64)
        self.assertNotEqual(prefix, cells.key_prefix_of(other))
        self.assertEqual(prefix, cells.key_prefix_of(self.CELL))  # the same in every round
        old = compare.Features(targets=(), workloads=(), load_concurrency=True)
        self.assertNotIn("--key-prefix", self.argv(old, []))

    def test_an_older_kvbench_gets_no_cpu_pids(self):
        features = compare.Features(targets=(), workloads=(), load_concurrency=True)
        self.assertNotIn("--cpu-pids", self.argv(features, [101]))

    def test_help_text_announces_the_features(self):
        text = ("  --target TEXT:{ringkv,redis,echo}  target\n"
                "  --workload TEXT:{A,B,C,W,a,b,c,w}  workload\n"
                "  --cpu-pids PID ...   PID,...: processes on this machine\n")
        f = compare.features_of(text)
        self.assertTrue(f.cpu_pids)
        self.assertFalse(f.load_concurrency)
        self.assertEqual(f.targets, ("ringkv", "redis", "echo"))
        self.assertFalse(compare.features_of(text.replace("--cpu-pids", "--other")).cpu_pids)

    def test_every_started_process_of_a_system_is_a_server_whose_cpu_counts(self):
        system = S.Ringkv(3, "none", 17420)
        system.procs = [SimpleNamespace(pid=p) for p in (11, 12, 13)]
        self.assertEqual(system.server_pids(), [11, 12, 13])
        self.assertEqual(S.DbBench().server_pids(), [])


class ReadmeBlock(unittest.TestCase):
    def test_the_block_between_the_markers_is_replaced_and_nothing_else(self):
        text = f"# x\n\n## Performance\n\n{report.BEGIN}\nold\n{report.END}\n\n## Tests\nt\n"
        out = report.replace_block(text, "new")
        self.assertIn(f"{report.BEGIN}\nnew\n{report.END}", out)
        self.assertNotIn("old", out)
        self.assertTrue(out.endswith("## Tests\nt\n"))

    def test_without_markers_a_section_goes_before_the_license(self):
        out = report.replace_block("# x\n\n## Tests\nt\n\n## License\nMIT\n", "new")
        self.assertLess(out.index("## Performance"), out.index("## License"))
        self.assertGreater(out.index("## Performance"), out.index("## Tests"))

    def test_without_markers_or_license_the_section_is_appended(self):
        out = report.replace_block("# x\n\n## Tests\nt\n", "new")
        self.assertTrue(out.rstrip().endswith(report.END))


class Systems(unittest.TestCase):
    def test_only_accepts_keys_and_group_names_and_keeps_the_fixed_order(self):
        everything = S.all_systems()
        picked = [s.key for s in S.select(everything, "ringkv-3,echo")]
        self.assertEqual(picked, ["echo", "ringkv-3-always", "ringkv-3-none"])
        self.assertEqual([s.key for s in S.select(everything, "redis")], ["redis"])
        with self.assertRaises(ValueError):
            S.select(everything, "mongodb")

    def test_each_round_rotates_the_order_by_one(self):
        order = ["a", "b", "c"]
        self.assertEqual(S.rotated(order, 1), ["a", "b", "c"])
        self.assertEqual(S.rotated(order, 2), ["b", "c", "a"])
        self.assertEqual(S.rotated(order, 4), ["a", "b", "c"])

    def test_every_port_is_in_the_range_reserved_for_the_comparison(self):
        ports = []
        for s in S.all_systems():
            for attr in ("port", "ports", "bus_ports", "client_ports", "peer_ports"):
                value = getattr(s, attr, [])
                ports += value if isinstance(value, list) else [value]
        self.assertTrue(ports)
        self.assertTrue(all(17000 <= p <= 17999 for p in ports), ports)
        self.assertEqual(len(ports), len(set(ports)))


if __name__ == "__main__":
    unittest.main()
