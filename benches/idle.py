#!/usr/bin/env python3
"""Idle cost of the console: runs the release binary in a 120x40 pseudo-terminal for N
seconds and reports CPU (% of one core), bytes written to the terminal per second, RSS and
the time to the first frame. Usage: benches/idle.py [--seconds 60] -- [opsdeck args]"""

import argparse, fcntl, os, pty, select, struct, sys, termios, time

ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=float, default=60)
ap.add_argument("--binary", default="target/release/opsdeck")
ap.add_argument("args", nargs="*")
a = ap.parse_args()

clk = os.sysconf("SC_CLK_TCK")
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm-256color"
    os.execv(a.binary, [a.binary] + a.args)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))

def cpu_ticks():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])

def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

start = time.monotonic()
first = None
total = 0
warm = 5.0  # let the first polls and the first full frame pass
measured_bytes = 0
t0 = c0 = None
while time.monotonic() - start < warm + a.seconds:
    r, _, _ = select.select([fd], [], [], 0.2)
    now = time.monotonic()
    if t0 is None and now - start >= warm:
        t0, c0 = now, cpu_ticks()
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if first is None and b"opsdeck" in data:
            first = now - start
        total += len(data)
        if t0 is not None:
            measured_bytes += len(data)
elapsed = time.monotonic() - t0
cpu = (cpu_ticks() - c0) / clk
rss = rss_kib()

# Key press to frame: send Tab (focus moves, so a frame must follow) and time the first
# bytes of the answer; drain between presses.
lat = []
for i in range(200):
    while select.select([fd], [], [], 0.02)[0]:
        os.read(fd, 65536)
    t = time.monotonic()
    os.write(fd, b"\t")
    if select.select([fd], [], [], 2.0)[0]:
        os.read(fd, 65536)
        lat.append((time.monotonic() - t) * 1000)
lat.sort()
os.write(fd, b"q")
time.sleep(0.5)
print(f"first frame: {first*1000:.0f} ms" if first else "first frame: not seen")
if lat:
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(f"key to frame over {len(lat)} presses: p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1]:.1f} ms")
print(f"idle over {elapsed:.0f} s: cpu {100*cpu/elapsed:.3f}% of a core, {measured_bytes/elapsed:.0f} bytes/s to the terminal, RSS {rss/1024:.1f} MiB")
