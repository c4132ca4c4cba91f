#!/usr/bin/env python3
"""Poll times as the exporter publishes them: scrapes `opsdeck exporter`'s /metrics every
half second for --seconds and reports each poll of the sources it serves, as told by
`opsdeck_source_poll_duration_seconds` (the runner's measure of the last poll: a new value
is a new poll). With --count FAMILY, also how many series of that family each scrape had
(e.g. `opsdeck_redis_node_role`: one per node that answered the last poll).

    benches/polls.py --url http://127.0.0.1:9464/metrics --seconds 120 [--count FAMILY]

A benchmark, not a test: it prints figures and asserts nothing."""

import argparse, re, sys, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--seconds", type=float, default=120)
ap.add_argument("--count", default="", help="a series family to count per scrape")
ap.add_argument("--each", action="store_true", help="also list every poll's time")
a = ap.parse_args()

LINE = re.compile(r'^([a-z_]+)\{([^}]*)\} (\S+)$')
took = {}  # source -> [ms, ...] in order
last = {}
counts = []
errors = 0
end = time.monotonic() + a.seconds
while time.monotonic() < end:
    try:
        text = urllib.request.urlopen(a.url, timeout=5).read().decode()
    except OSError as e:
        errors += 1
        time.sleep(0.5)
        continue
    n = 0
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        name, labels, value = m.groups()
        if name == "opsdeck_source_poll_duration_seconds":
            src = dict(re.findall(r'(\w+)="([^"]*)"', labels)).get("source", "?")
            if last.get(src) != value:
                last[src] = value
                took.setdefault(src, []).append(float(value) * 1000)
        elif a.count and name == a.count:
            n += 1
    if a.count and last:
        counts.append(n)
    time.sleep(0.5)

def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]

if not took:
    print(f"no poll durations from {a.url} in {a.seconds:.0f} s ({errors} failed scrapes)")
    sys.exit(1)
for src, v in took.items():
    # The first poll connects and reads the slow figures too: reported apart.
    rest = v[1:] or v
    print(f"source {src}: {len(v)} polls; first {v[0]:.0f} ms; then p50 {q(rest, 0.5):.0f} ms, "
          f"p95 {q(rest, 0.95):.0f} ms, max {max(rest):.0f} ms")
    if a.each:
        print(f"  each poll (ms): {' '.join(f'{x:.0f}' for x in v)}")
if a.count:
    print(f"{a.count} series per scrape after the first poll: min {min(counts)}, max {max(counts)} over {len(counts)} scrapes")
if errors:
    print(f"{errors} scrapes failed")
