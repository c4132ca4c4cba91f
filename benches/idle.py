#!/usr/bin/env python3
"""Idle cost and responsiveness of a terminal program: runs it in a 120x40 pseudo-terminal and
reports the time to its first frame, CPU (% of one core, children it reaped included) and
bytes written to the terminal per second while idle, RSS (start and end of the idle window,
the peak sampled each second, and the kernel's high-water mark VmHWM over the whole run), and
key-press-to-frame latency (p50/p99/max).

    benches/idle.py [--seconds 60] [--warm 5] -- [opsdeck args]
    benches/idle.py --hang PID[,PID] -- [opsdeck args]   # SIGSTOP those processes (a Redis or
                                                         # PostgreSQL server) during the key test
    benches/idle.py --cmd --no-keys -- top -d 2          # any other program, for comparison
    benches/idle.py --setup $'2\r' --key j --key k -- ... # zoom pane 2 first; keys j, k in turn

A benchmark, not a test: it prints figures and asserts nothing."""

import argparse, fcntl, os, pty, re, select, signal, struct, sys, termios, time

ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=float, default=60, help="idle window measured")
ap.add_argument("--warm", type=float, default=5, help="seconds before the idle window (first polls)")
ap.add_argument("--binary", default="target/release/opsdeck")
ap.add_argument("--cmd", action="store_true", help="args are a whole command line (argv[0] first)")
ap.add_argument("--no-keys", action="store_true", help="skip the key-to-frame test")
ap.add_argument("--presses", type=int, default=200)
ap.add_argument("--key", action="append", help="key sent (must change the screen; default Tab, which moves focus); repeat it to send several in turn")
ap.add_argument("--setup", default="", help="keys sent one by one after the first frame, before the idle window (e.g. zoom a pane)")
ap.add_argument("--seek", default="", help="key sent after the setup, up to 12 times, until the screen shows --expect (e.g. the next tab: an alert's jump may have opened another)")
ap.add_argument("--expect", default="", help="text the screen must show once set up (e.g. a zoomed table's header); exit status 3 when it does not")
ap.add_argument("--screen", action="store_true", help="print the screen as it was at the end of the idle window")
ap.add_argument("--hang", default="", help="comma-separated pids to SIGSTOP during the key test (a process-group leader with its group)")
ap.add_argument("--hang-from-start", action="store_true", help="stop the --hang pids before the program starts (first frame with hung backends)")
ap.add_argument("--marker", default="opsdeck", help="text that marks the first frame")
ap.add_argument("--threads", action="store_true", help="print CPU per thread name over the idle window")
ap.add_argument("--trend", type=float, default=0, help="also print RSS per window of this many minutes and its drift (a soak)")
ap.add_argument("args", nargs="*")
a = ap.parse_args()
keys = a.key or ["\t"]

argv = a.args if a.cmd else [a.binary] + a.args
hung = [int(p) for p in a.hang.split(",") if p]
# A group leader (a postmaster) is stopped with its whole group (its backends too).
stop = lambda p, sig: os.killpg(p, sig) if os.getpgid(p) == p else os.kill(p, sig)
if a.hang_from_start:
    for p in hung:
        stop(p, signal.SIGSTOP)
clk = os.sysconf("SC_CLK_TCK")
start = time.monotonic()
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm-256color"
    os.environ["COLUMNS"], os.environ["LINES"] = "120", "40"
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))


def cpu_ticks():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    # utime stime cutime cstime (children that were waited for, e.g. watch's psql)
    return int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])


def thread_ticks():
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            st = open(f"/proc/{pid}/task/{tid}/stat").read()
        except OSError:
            continue
        name = st[st.index("(") + 1 : st.rindex(")")]
        f = st.rsplit(")", 1)[1].split()
        out[tid] = (name, int(f[11]) + int(f[12]))
    return out


def thread_runtime():
    """Each thread's run time in ns from the scheduler: exact, where utime/stime are
    sampled at the clock tick (a program that wakes for 0.2 ms bursts is charged a whole
    10 ms tick or nothing, so a 2-minute figure of a few dozen ticks is off by several)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            out[tid] = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return out


def rss_kib(field="VmRSS:"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1])
    return 0


class Screen:
    """Just enough of a terminal to know what is on it: cursor moves, clears and printed
    text (colours and other escapes are skipped). A redraw only sends the cells that
    changed, so searching the byte stream misses text that stayed in place or was split
    by a style change."""

    CSI = re.compile(rb"\x1b\[([?0-9;]*)([ -/]*[@-~])")
    # A CSI cut by the end of a read (a 24-bit colour pair is 35 bytes): wait for the rest.
    CSI_CUT = re.compile(rb"\x1b(\[[?0-9;]*[ -/]*)?\Z")

    def __init__(self, rows=40, cols=120):
        self.rows, self.cols = rows, cols
        self.grid = [[" "] * cols for _ in range(rows)]
        self.y = self.x = 0
        self.pending = b""

    def feed(self, data):
        data = self.pending + data
        self.pending = b""
        i = 0
        while i < len(data):
            c = data[i]
            if c == 0x1B:
                m = self.CSI.match(data, i)
                if m:
                    self.csi(m.group(1).decode(), m.group(2).decode())
                    i = m.end()
                    continue
                if self.CSI_CUT.match(data, i) or (data[i + 1 : i + 2] != b"[" and len(data) - i < 16):
                    self.pending = data[i:]
                    return
                # Another escape (OSC, charset): skip to its end.
                end = data.find(b"\x07", i)
                j = data.find(b"\x1b\\", i)
                i = (min(x for x in (end + 1, j + 2) if x > 0) if end >= 0 or j >= 0 else i + 2)
                continue
            if c == 0x0D:
                self.x = 0
            elif c == 0x0A:
                self.y = min(self.y + 1, self.rows - 1)
            elif c >= 0x20:
                n = 1 if c < 0x80 else 4 if c >= 0xF0 else 3 if c >= 0xE0 else 2
                if len(data) - i < n:
                    self.pending = data[i:]
                    return
                ch = data[i : i + n].decode("utf-8", "replace")
                if self.y < self.rows and self.x < self.cols:
                    self.grid[self.y][self.x] = ch
                self.x += 1
                i += n
                continue
            i += 1

    def csi(self, params, final):
        nums = [int(p) if p.isdigit() else 0 for p in params.lstrip("?").split(";")] if params else []
        if final in "Hf":
            r = nums[0] if nums and nums[0] else 1
            c = nums[1] if len(nums) > 1 and nums[1] else 1
            self.y, self.x = min(r, self.rows) - 1, min(c, self.cols) - 1
        elif final == "J" and (nums[:1] in ([2], [3])):
            self.grid = [[" "] * self.cols for _ in range(self.rows)]
        elif final == "K":
            for x in range(self.x, self.cols):
                self.grid[self.y][x] = " "
        elif final == "G":
            self.x = min(nums[0] if nums and nums[0] else 1, self.cols) - 1

    def text(self):
        return "\n".join("".join(r).rstrip() for r in self.grid)


screen = Screen()


def read(timeout):
    if select.select([fd], [], [], timeout)[0]:
        try:
            return os.read(fd, 65536)
        except OSError:
            return None
    return b""


first = None
setup_sent = not a.setup
seen = False
seeks, last_seek = 0, 0.0
buf = b""
measured_bytes = 0
frames = 0
last_out = 0.0
t0 = c0 = None
rss = []
next_rss = 0.0
while True:
    now = time.monotonic()
    if t0 is not None and now - t0 >= a.seconds:
        break
    if t0 is None and now - start >= a.warm:
        t0, c0, th0 = now, cpu_ticks(), thread_ticks()
        rt0 = thread_runtime()
        rt_last = dict(rt0)
        next_rss = now
    if t0 is not None and now >= next_rss:
        rss.append(rss_kib())
        # Sampled each second, so a thread that ends keeps all but its last second.
        rt_last.update(thread_runtime())
        next_rss += 1.0
    data = read(0.2)
    if data is None:
        break
    if first is None:
        buf = (buf + data)[-4096:]
        if a.marker.encode() in buf or (a.cmd and data):
            first = time.monotonic() - start
    if not setup_sent and first is not None and now - start >= first + 0.5:
        for k in a.setup:
            os.write(fd, k.encode())
            time.sleep(0.2)
        setup_sent, last_seek = True, time.monotonic()
    if data:
        screen.feed(data)
    if setup_sent and a.expect and not seen and data:
        seen = a.expect in screen.text()
    if setup_sent and a.seek and a.expect and not seen and seeks < 12 and now - last_seek > 0.5:
        os.write(fd, a.seek.encode())
        seeks, last_seek = seeks + 1, now
    if t0 is not None and data:
        measured_bytes += len(data)
        # A frame is one burst of output; bursts closer than 5 ms are one frame.
        if now - last_out > 0.005:
            frames += 1
        last_out = time.monotonic()
elapsed = time.monotonic() - t0
rt_last.update(thread_runtime())
run_ns = sum(v - rt0.get(t, 0) for t, v in rt_last.items())
if a.hang_from_start and a.no_keys:
    for p in hung:
        stop(p, signal.SIGCONT)
cpu = (cpu_ticks() - c0) / clk
shown = screen.text()
# Per thread name from the scheduler's run time (ticks miss threads that wake briefly).
names = {tid: name for tid, (name, _) in th0.items()}
names.update({tid: name for tid, (name, _) in thread_ticks().items()})
by_name = {}
for tid, ns in rt_last.items():
    name = names.get(tid, "?")
    by_name[name] = by_name.get(name, 0) + ns - rt0.get(tid, 0)

# Key press to frame: send the key (focus moves, so a frame must follow) and time the
# first bytes of the answer; drain between presses. With --hang, the watched servers are
# stopped first, so the sources hit their poll timeouts while keys are pressed.
lat = []
if not a.no_keys:
    for p in hung:
        stop(p, signal.SIGSTOP)
    try:
        for i in range(a.presses):
            while select.select([fd], [], [], 0.02 if not hung else 0.03)[0]:
                os.read(fd, 65536)
            t = time.monotonic()
            os.write(fd, keys[i % len(keys)].encode())
            if select.select([fd], [], [], 2.0)[0]:
                os.read(fd, 65536)
                lat.append((time.monotonic() - t) * 1000)
    finally:
        for p in hung:
            stop(p, signal.SIGCONT)
lat.sort()
# The kernel's high-water mark over the whole run, first polls included.
hwm = rss_kib("VmHWM:")
if a.cmd:
    os.kill(pid, signal.SIGTERM)
else:
    os.write(fd, b"q")
time.sleep(0.5)
try:
    os.kill(pid, signal.SIGKILL)
except ProcessLookupError:
    pass
os.waitpid(pid, 0)

print(" ".join(argv))
print(f"first frame: {first*1000:.0f} ms" if first else "first frame: not seen")
if lat:
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    what = f" with pid {a.hang} stopped" if hung else ""
    print(f"key to frame over {len(lat)} presses{what}: p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1]:.1f} ms")
elif not a.no_keys:
    print("key to frame: no answer")
print(
    f"idle over {elapsed:.0f} s: cpu {100*cpu/elapsed:.3f}% of a core (scheduler run time of its threads: {100*run_ns/1e9/elapsed:.3f}%), {measured_bytes/elapsed:.0f} bytes/s to the terminal in {frames/elapsed:.2f} frames/s, "
    f"RSS {rss[0]/1024:.1f} MiB at start, {rss[-1]/1024:.1f} MiB at end, peak {max(rss)/1024:.1f} MiB, "
    f"VmHWM {hwm/1024:.1f} MiB"
)
if a.trend:
    # RSS is sampled once a second; a window's mean smooths one poll's transient peak. Drift
    # is the last window's mean against the second's (the first holds the warm-up: alert
    # history, verdict windows and the timeline filling to their bounds).
    per = int(a.trend * 60)
    means = []
    for i in range(0, len(rss), per):
        w = rss[i:i + per]
        means.append(sum(w) / len(w))
        print(f"  RSS minutes {i/60:.0f}-{(i+len(w))/60:.0f}: mean {means[-1]/1024:.2f} MiB, min {min(w)/1024:.2f}, max {max(w)/1024:.2f}")
    if len(means) >= 3:
        print(f"RSS drift from the second window to the last: {(means[-1]-means[1])/1024:+.2f} MiB")
if a.screen:
    print("screen at the end of the idle window:")
    print(shown)
if a.expect:
    print(f"{a.expect!r} shown after the setup keys: {'yes' if seen else 'NO'}")
if a.threads:
    for name, ns in sorted(by_name.items(), key=lambda x: -x[1]):
        if ns:
            print(f"  thread {name}: {100*ns/1e9/elapsed:.3f}% of a core")
if a.expect and not seen:
    if not a.screen:
        print("screen at the end of the idle window:\n" + shown, file=sys.stderr)
    print(f"the screen never showed {a.expect!r} after the setup keys: the figures above are not of the screen meant", file=sys.stderr)
    sys.exit(3)
