#!/usr/bin/env python3
"""Markdown report of a bench/run.sh run (standard library only).

    report.py OUT --sizes "1000 10000 50000" --specs 100 --algs "..." --bin B --quick 0
"""

import argparse
import json
import os
import platform
import statistics
import subprocess


def load(out):
    times, rss = {}, {}
    for f in sorted(os.listdir(os.path.join(out, "json"))):
        with open(os.path.join(out, "json", f)) as fh:
            r = json.load(fh)["results"][0]
        t = r["times"]
        times[f[:-5]] = {
            "min": min(t),
            "median": statistics.median(t),
            "max": max(t),
            "runs": len(t),
        }
    for f in sorted(os.listdir(os.path.join(out, "rss"))):
        with open(os.path.join(out, "rss", f)) as fh:
            rss[f[:-4]] = int(fh.read().strip() or 0)
    return times, rss


def ms(s):
    if s != s:
        return "n/a"
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.1f} s"


def div(a, b):
    """a / b, or NaN where b is zero (a timing below hyperfine's resolution
    after it subtracts the shell start-up, on a busy machine) or missing."""
    return a / b if b and b == b and a == a else float("nan")


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--sizes", default="")
    ap.add_argument("--specs", default="100")
    ap.add_argument("--algs", default="")
    ap.add_argument("--bin", default="")
    ap.add_argument("--quick", default="0")
    a = ap.parse_args()
    times, rss = load(a.out)
    sizes = [int(s) for s in a.sizes.split()]
    algs = a.algs.split()
    quick = a.quick == "1"

    def med(name):
        return times[name]["median"] if name in times else float("nan")

    def row(label, name, note=""):
        if name not in times:
            return
        t = times[name]
        r = mib(rss[name]) if name in rss else ""
        lines.append(
            f"| {label} | {ms(t['min'])} | {ms(t['median'])} | {ms(t['max'])} | {t['runs']} | {r} | {note} |"
        )

    lines = []
    commit = sh("git rev-parse --short HEAD") + (" (dirty)" if sh("git status --porcelain --untracked-files=no") else "")
    with open("/proc/loadavg") as f:
        load_end = " ".join(f.read().split()[:3])
    load_start = ""
    p = os.path.join(a.out, "load-start.txt")
    if os.path.exists(p):
        with open(p) as f:
            load_start = f.read().strip()
    lines += [
        f"Machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        f"Load average (1/5/15 min) at start: {load_start or 'n/a'}; at end: {load_end}",
        f"Binary: `{a.bin}`, commit {commit}; {sh('hyperfine --version')}; "
        + ("QUICK MODE (CI smoke run: few runs, small sizes, usually the debug build; the numbers mean nothing)" if quick else "full run"),
        "",
        "Wall time of whole processes (hyperfine, shell start-up subtracted); peak RSS from `/usr/bin/time -v` (max over runs).",
        "",
        "| Benchmark | min | median | max | runs | peak RSS | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    row("process start (`--version`)", "start")
    row("`cat` basic ResourceList (floor)", "cat-basic")
    row("render basic, KRM (stdin)", "render-krm", "3 Redis, 3 Sentinels, TLS, ecdsa-p256")
    row("render basic, CLI `render -f`", "render-cli")
    row("render basic, KRM, with seed", "render-krm-seed")
    row("openssl by hand (CA + 3 certs, RSA-2048)", "openssl", "bench/openssl-manual.sh")
    row("`cat` re-render input (floor)", "cat-rerender")
    row("re-render, kept certificates (kpt)", "rerender-kpt", "Secrets among the items, no seed")
    row("re-render, seed + earlier Secrets", "rerender-seed", "REDIS_SENTINEL_FN_SEED set")
    for al in algs:
        row(f"render, keyAlgorithm {al}", f"alg-{al}")
    for n in sizes:
        size = rss.get(f"input-items-{n}", 0)
        row(f"`cat` {n} items ({size / 1e6:.1f} MB)", f"cat-items-{n}")
        row(f"render + {n} pass-through items", f"items-{n}", f"input {size / 1e6:.1f} MB")
    row(f"CLI `render -f DIR`, {a.specs} specs", f"specs-{a.specs}", f"{ms(div(med(f'specs-{a.specs}'), int(a.specs)))} per spec")

    # Ratios and targets.
    lines += ["", "Ratios (medians of this run):", ""]
    checks = []

    def check(text, ok, value):
        # A comparison with NaN is False: say n/a rather than NO.
        checks.append((text, ok, value))

    def fx(r, digits=2):
        return "n/a" if r != r else f"{r:.{digits}f}x"

    check("basic render (KRM) median < 15 ms", med("render-krm") < 0.015, ms(med("render-krm")))
    check("basic render (CLI) median < 15 ms", med("render-cli") < 0.015, ms(med("render-cli")))
    if "render-krm" in rss:
        check("basic render peak RSS < 15 MB", rss["render-krm"] * 1024 < 15e6, mib(rss["render-krm"]))
    r = div(med("openssl"), med("render-krm"))
    check("openssl procedure / basic render >= 10x", r >= 10 if r == r else None, fx(r, 0))
    floor = med("cat-rerender") + med("start")
    r = div(med("rerender-kpt"), floor)
    check("re-render (kpt) / (cat same input + process start) <= 2", r <= 2 if r == r else None,
          f"{fx(r)} (vs cat alone {fx(div(med('rerender-kpt'), med('cat-rerender')))})")
    r = div(med("rerender-seed"), floor)
    check("re-render (seed) / (cat same input + process start) <= 2", r <= 2 if r == r else None, fx(r))
    if 10000 in sizes:
        check("10,000 items < 1 s", med("items-10000") < 1.0, ms(med("items-10000")))
        size = rss.get("input-items-10000", 1)
        r = div(rss.get("items-10000", 0) * 1024, size)
        check("10,000 items peak RSS < 5x input", r < 5 if r == r else None, f"{fx(r)} ({mib(rss.get('items-10000', 0))} for {size / 1e6:.1f} MB)")
    if 10000 in sizes and 50000 in sizes:
        r = div(med("items-50000"), med("items-10000"))
        check("50,000 items / 10,000 items <= 5.5x", r <= 5.5 if r == r else None, fx(r))
    for small, big in zip(sizes, sizes[1:]):
        r = div(med(f"items-{big}"), med(f"items-{small}"))
        want = big / small
        check(f"time step {small} -> {big} items (x{want:g} input) <= {1.1 * want:g}x", r <= 1.1 * want if r == r else None, fx(r))
        r = div(rss.get(f"items-{big}", 0), rss.get(f"items-{small}", 0))
        check(f"RSS step {small} -> {big} items <= {1.1 * want:g}x", r <= 1.1 * want if r == r else None, fx(r))
    lines += ["| target | result | met |", "|---|---:|:---:|"]
    for text, ok, value in checks:
        met = "n/a (quick)" if quick else "n/a" if ok is None else "yes" if ok else "NO"
        lines.append(f"| {text} | {value} | {met} |")
    if algs:
        base = med("alg-ecdsa-p256")
        lines += ["", "Key algorithms (median, relative to ecdsa-p256): " + ", ".join(
            f"{al} {ms(med('alg-' + al))} ({fx(div(med('alg-' + al), base), 1)})" for al in algs)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
