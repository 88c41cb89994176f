#!/usr/bin/env python3
"""run.py: boot the hvlab test ISO on one or more backends and judge the KTAP it prints.

Each boot gets a timeout; its serial output is saved in OUT/logs/NAME.log and validated: plans
match results, numbering is sequential, the final '# result:' line is present and agrees with
the results. Verdicts, most severe first: TIMEOUT, CRASH (a 'Bail out!' line, or no result
line, or the hypervisor's exception dump or panic), ERROR (harness or malformed KTAP), FAIL, SKIP, PASS. Boots run --jobs at a time; their
lines come out in matrix order. Exit status 0 only if every boot ends with an accepted verdict
(--accept, default PASS and SKIP). Standard library only. See docs/testing.md.
"""
import argparse
import concurrent.futures
import os
import shutil
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvboot  # noqa: E402

RESULT_RE = re.compile(r"^(ok|not ok) (\d+) ([^#]*?)\s*(?:#\s*(SKIP|ERROR|TODO)\b\s*(.*))?$")
PLAN_RE = re.compile(r"^1\.\.(\d+)(?:\s*#\s*SKIP\b\s*(.*))?$")
BAD = ("TIMEOUT", "CRASH", "ERROR", "FAIL")

# What each CPU model must report on the "# caps:" line: catches a probe that decodes wrongly.
# Read from real boots of Bochs 2.7 (make test-models), in the order `bochs --help cpu` lists
# them; a model whose kernel never reaches the probe (no long mode) has no row. Columns are
# the caps line's keys: ug unrestricted_guest, eptp eptp_switching, ve ept_violation_ve, xo
# ept_execute_only, 2m/1g ept_2m/ept_1g, ad ept_ad, inv1/inva invept_single/invept_all, ivpid
# invvpid, timer preemption_timer, efer load_efer.
CAPS_TABLE = """
model                     revision ept vpid ug vmfunc eptp ve xo 2m 1g ad inv1 inva ivpid mtf timer rdtscp invpcid xsaves efer
bx_generic                    0x2b   0    0  0      0    0  0  0  0  0  0    0    0     0   0     0      1       0      0    0
p4_prescott_celeron_336      vmx=0
athlon64_clawhammer          vmx=0
athlon64_venice              vmx=0
turion64_tyler               vmx=0
phenom_8650_toliman          vmx=0
core2_penryn_t9600            0x2b   0    0  0      0    0  0  0  0  0  0    0    0     0   0     0      0       0      0    0
corei5_lynnfield_750          0x2b   1    1  0      0    0  0  1  1  0  0    1    1     1   0     1      1       0      0    1
corei5_arrandale_m520         0x2b   1    1  1      0    0  0  1  1  0  0    1    1     1   0     1      1       0      0    1
corei7_sandy_bridge_2600k     0x2b   1    1  1      0    0  0  1  1  0  0    1    1     1   0     1      1       0      0    1
zambezi                      vmx=0
trinity_apu                  vmx=0
ryzen                        vmx=0
corei7_ivy_bridge_3770k       0x2b   1    1  1      0    0  0  1  1  0  0    1    1     1   0     1      1       0      0    1
corei7_haswell_4770           0x2b   1    1  1      1    1  1  1  1  1  1    1    1     1   0     1      1       1      0    1
broadwell_ult                 0x2b   1    1  1      1    1  1  1  1  1  1    1    1     1   0     1      1       1      0    1
corei7_skylake_x              0x2b   1    1  1      1    1  1  1  1  1  1    1    1     1   0     1      1       1      1    1
corei3_cnl                    0x2b   1    1  1      1    1  1  1  1  1  1    1    1     1   0     1      1       1      1    1
corei7_icelake_u               0x4   1    1  1      1    1  1  1  1  1  1    1    1     1   1     1      1       1      1    1
tigerlake                      0x4   1    1  1      1    1  1  1  1  1  1    1    1     1   1     1      1       1      1    1
"""
CAPS_KEYS = {"ug": "unrestricted_guest", "eptp": "eptp_switching", "ve": "ept_violation_ve",
             "xo": "ept_execute_only", "2m": "ept_2m", "1g": "ept_1g", "ad": "ept_ad",
             "inv1": "invept_single", "inva": "invept_all", "ivpid": "invvpid", "timer": "preemption_timer",
             "efer": "load_efer"}


def caps_table(text):
    """{model: {caps key: value}} from CAPS_TABLE."""
    rows = [l.split() for l in text.strip().split("\n")]
    keys = [CAPS_KEYS.get(k, k) for k in rows[0][1:]]
    table = {}
    for r in rows[1:]:
        table[r[0]] = {"vmx": "0"} if r[1] == "vmx=0" else dict(zip(["vmx"] + keys, ["1"] + r[1:]))
    return table


EXPECT_CAPS = dict(caps_table(CAPS_TABLE), **{"qemu-tcg": {"vmx": "0"}})
# A profile's caps line: the model's, changed by its vmx_mask (hvboot.PROFILES); a plain model
# must show no mask at all.
PROFILE_CAPS = {
    "tigerlake-nkvm": {"vmx_mask": "ve", "ept_violation_ve": "0", "vmfunc": "1", "eptp_switching": "1",
                       "mtf": "1"},
}


class Report:
    def __init__(self):
        self.errors = []          # KTAP structure problems
        self.counts = {"pass": 0, "fail": 0, "skip": 0, "error": 0}
        self.result = None        # value of the final '# result:' line
        self.caps = {}
        self.cmdline = None       # the kernel's command line, from '# hvlab tests, cmdline "..."'
        self.bail = None          # the text of a 'Bail out!' line: the kernel gave up
        self.skip_all = None      # the reason of a top-level '1..0 # SKIP reason'
        self.why = {}             # first reason of each directive: {"SKIP": ..., "ERROR": ...}
        self.last_diag = None     # the last top-level diagnostic before the result line
        self.abort = None         # a hypervisor exception or panic ('# EXCEPTION ...', '# PANIC: ...')
        self.lines = []           # the KTAP document (from 'KTAP version 1' on)


def parse_ktap(text):
    """Validate a KTAP version 1 document (as hvlab prints it) and count its leaf results."""
    rep = Report()
    lines = text.replace("\r", "").split("\n")
    try:
        start = lines.index("KTAP version 1")
    except ValueError:
        rep.errors.append("no 'KTAP version 1' line")
        return rep
    rep.lines = [l for l in lines[start:]]
    stack = []  # per nesting level: [planned, seen, has_children_pending]
    pending_child = {}  # indent -> counts of the subtest just closed
    last_nonempty = None
    for raw in rep.lines:
        if not raw.strip():
            continue
        last_nonempty = raw
        indent = (len(raw) - len(raw.lstrip(" "))) // 2
        line = raw.strip()
        if line.startswith("# result:"):
            if indent != 0:
                rep.errors.append("'# result:' line is indented")
            rep.result = line.split(":", 1)[1].strip()
            continue
        if line.startswith("# caps:"):
            rep.caps = dict(kv.split("=", 1) for kv in line[7:].split() if "=" in kv)
            continue
        if line.startswith("Bail out!"):
            rep.bail = rep.bail or line[len("Bail out!"):].strip() or "(no reason given)"
            continue
        m = re.match(r'^# hvlab tests, cmdline "(.*)"$', line)
        if m:
            rep.cmdline = m.group(1)
            continue
        if line == "KTAP version 1":
            while len(stack) > indent:
                stack.pop()
            stack.append([None, 0])
            pending_child[indent] = True
            continue
        if line.startswith("#"):
            if indent == 0:
                if rep.abort and rep.abort.startswith("EXCEPTION") and line.startswith("# RIP="):
                    rep.abort += ", " + line[2:].split()[0]
                rep.last_diag = line.lstrip("# ").strip()
                if not rep.abort and (line.startswith("# EXCEPTION ") or line.startswith("# PANIC:")):
                    rep.abort = rep.last_diag
            continue
        m = PLAN_RE.match(line)
        if m:
            while len(stack) <= indent:
                stack.append([None, 0])
            stack[indent][0] = int(m.group(1))
            if indent == 0 and m.group(1) == "0" and m.group(2) is not None:
                rep.skip_all = m.group(2).strip() or "(no reason given)"
            continue
        m = RESULT_RE.match(line)
        if not m:
            rep.errors.append("unparsable line: %r" % raw)
            continue
        while len(stack) <= indent:
            stack.append([None, 0])
        # A result at this level closes any deeper subtest: check its plan.
        while len(stack) > indent + 1:
            planned, seen = stack.pop()
            if planned is None or planned != seen:
                rep.errors.append("subtest plan %s but %d results" % (planned, seen))
        level = stack[indent]
        level[1] += 1
        if int(m.group(2)) != level[1]:
            rep.errors.append("result numbered %s, expected %d: %r" % (m.group(2), level[1], line))
        had_children = pending_child.pop(indent + 1, False)
        if had_children:
            continue  # a suite's own line: its cases were counted already
        ok, directive = m.group(1) == "ok", m.group(4)
        if directive in ("SKIP", "ERROR") and m.group(5):
            rep.why.setdefault(directive, m.group(5).strip())
        if directive == "ERROR":
            rep.counts["error"] += 1
        elif not ok:
            rep.counts["fail"] += 1
        elif directive == "SKIP":
            rep.counts["skip"] += 1
        else:
            rep.counts["pass"] += 1
    while stack:
        planned, seen = stack.pop()
        if planned is None or planned != seen:
            rep.errors.append("plan %s but %d results" % (planned, seen))
    if rep.result is None:
        rep.errors.append("no '# result:' line")
    elif last_nonempty is None or not last_nonempty.startswith("# result:"):
        rep.errors.append("output continues after the '# result:' line")
    return rep


def verdict(rep, timed_out=False, exit_code=None, expect_caps=None, cmdline=None):
    """(verdict, reason) for one boot. cmdline: words the kernel's command line must contain."""
    if rep.bail is not None:
        return "CRASH", "Bail out! " + rep.bail
    if rep.abort is not None:  # the kernel's own dump (before it printed 'Bail out!')
        return "CRASH", "the hypervisor stopped: " + rep.abort
    if timed_out:
        return "TIMEOUT", "no end within the time limit"
    if rep.result is None:
        return "CRASH", "no '# result:' line (the kernel died or the output was cut)"
    if rep.errors:
        return "ERROR", "malformed KTAP: " + "; ".join(rep.errors[:3])
    if rep.result not in ("PASS", "FAIL", "SKIP", "ERROR"):
        return "ERROR", "unknown result %r" % rep.result
    c = rep.counts
    want = "FAIL" if c["fail"] else "ERROR" if c["error"] else \
        "SKIP" if c["skip"] and not c["pass"] else "PASS" if c["pass"] else \
        "SKIP" if rep.skip_all else "ERROR"
    if want != rep.result:
        return "ERROR", "result line says %s but the results say %s" % (rep.result, want)
    if exit_code in hvboot.QEMU_EXIT and hvboot.QEMU_EXIT[exit_code] != rep.result:
        return "ERROR", "exit status %d disagrees with '# result: %s'" % (exit_code, rep.result)
    missing = [w for w in (cmdline or "").split() if not cmdline_has(rep.cmdline or "", w)]
    if missing:
        return "ERROR", "the kernel's command line %r lacks %s (a stale ISO?)" % (rep.cmdline, " ".join(missing))
    for key, val in (expect_caps or {}).items():
        if rep.caps.get(key) != val:
            return "FAIL", "caps: %s=%s, this CPU model must report %s" % (key, rep.caps.get(key), val)
    if rep.result == "SKIP":
        return "SKIP", rep.skip_all or rep.why.get("SKIP", "every case skipped")
    if rep.result == "ERROR":
        return "ERROR", rep.why.get("ERROR") or rep.last_diag or "no reason given"
    return rep.result, ""


def cmdline_has(cmdline, word):
    """word is on the kernel's command line; a tests=SUITE word also when the line's tests= names
    cases of SUITE only (tests=SUITE.case, the graders' and make test-vm TESTS=SUITE.case's)."""
    words = cmdline.split()
    if word in words or not word.startswith("tests="):
        return word in words
    have = [t for w in words if w.startswith("tests=") for t in w[6:].split(",")]
    return all(any(h == n or h.startswith(n + ".") for h in have) for n in word[6:].split(","))


def boot(argv, env, serial, timeout, grace=5.0, lpt=None):
    """Run one boot; stop it once the result line or a 'Bail out!' is out (Bochs idles after a
    failed exit). Returns (text, timed_out, exit_code, seconds)."""
    for f in (serial, lpt):
        if f and os.path.exists(f):
            os.unlink(f)
    with hvboot.boot_slot():  # the time and the timeout start when a slot is free
        return boot_in_slot(argv, env, serial, timeout, grace)


def boot_in_slot(argv, env, serial, timeout, grace):
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    timed_out, seen_end = False, None
    while proc.poll() is None:
        now = time.monotonic()
        if now - t0 > timeout:
            timed_out = True
            break
        if seen_end is None and os.path.exists(serial):
            with open(serial, "rb") as f:
                text = f.read()
            if b"# result:" in text or b"Bail out!" in text:
                seen_end = now
        if seen_end is not None and now - seen_end > grace:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        os.killpg(proc.pid, 9)
        proc.wait()
    secs = time.monotonic() - t0
    text = ""
    if os.path.exists(serial):
        with open(serial, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    return text, timed_out, proc.returncode, secs


class Row:
    """One boot of the matrix: a backend, a CPU (Bochs model or profile), a memory size."""

    def __init__(self, backend, cpu=None, megs=None, index=0):
        self.backend, self.cpu, self.megs, self.index = backend, cpu, megs, index
        self.name = backend if backend != "bochs" else "bochs-" + cpu
        if backend == "cmd" and index:  # the runner's own tests: the (index+1)-th --cmd
            self.name = "cmd-%d" % (index + 1)
        if megs:
            self.name += "-%s" % ("%dG" % (megs // 1024) if megs % 1024 == 0 else "%dM" % megs)
        profile = hvboot.PROFILES.get(hvboot.split_count(cpu)[0], {})
        self.cmdline = profile.get("cmdline")  # words the kernel's command line must have
        self.expect_caps = dict(EXPECT_CAPS.get(hvboot.bochs_model(cpu) if backend == "bochs" else backend, {}))
        if backend == "bochs" and self.expect_caps:
            self.expect_caps.update(PROFILE_CAPS.get(hvboot.split_count(cpu)[0], {"vmx_mask": None}))


SMP_SUITES = {"smp", "shootdown", "shootdown_stress", "guest_interrupts"}  # Makefile SMP_SUITES


def row_has_work(cpu, tests):
    """Whether a default row boots anything for TESTS: a -fuzz row only runs suite fuzz, an -xN
    row the SMP suites (the variant ISOs, Makefile); every other row runs TESTS."""
    names = set(tests.split(","))
    if "all" in names:
        return True
    if cpu.endswith("-fuzz"):
        return "fuzz" in names
    if hvboot.split_count(cpu)[1] > 1:
        return bool(names & SMP_SUITES)
    return True


def plan_boots(args):
    """[Row] to run, in matrix order."""
    if args.backend == "cmd":  # one row per --cmd
        return [Row("cmd", index=k) for k in range(len(args.cmd or [""]))]
    backends = [args.backend] if args.backend else ["bochs", "qemu-tcg"]
    if not args.backend and hvboot.host_vmx()[0]:
        backends.append("qemu-kvm")
    cpus = args.cpu or [c for c in hvboot.BOCHS_MODELS if row_has_work(c, getattr(args, "tests", "all"))]
    if "all" in cpus:  # every model Bochs lists, where 'all' stands (other rows as given)
        cpus = [m for c in cpus for m in (hvboot.bochs_cpu_models() if c == "all" else [c])]
    rows = []
    for b in backends:
        for megs in args.megs or [None]:
            rows += [Row(b, m, megs) for m in cpus] if b == "bochs" else [Row(b, None, megs)]
    return rows


def command_for(args, row, serial, lpt=None):
    work = os.path.join(args.out, "work", row.name)
    os.makedirs(work, exist_ok=True)
    megs = row.megs or hvboot.MEMORY_MB
    if row.backend == "bochs":
        iso = hvboot.variant_iso(args.iso, row.cpu, not args.smp_full)
        return hvboot.bochs_command(iso, work, serial, hvboot.bochs_model(row.cpu), megs=megs, lpt=lpt,
                                    count=hvboot.bochs_count(row.cpu))
    if row.backend == "cmd":  # for the runner's own tests: any command that writes $SERIAL
        return ["sh", "-c", args.cmd[row.index]], dict(os.environ, SERIAL=serial)
    return hvboot.qemu_command(args.iso, row.backend, serial=serial, megs=megs, lpt=lpt), None


def run_row(args, row):
    """Boot one row and judge it: (verdict, reason, report, seconds, serial log)."""
    serial = os.path.join(args.out, "logs", row.name + ".log")
    if row.backend == "bochs" and not os.path.exists(hvboot.variant_iso(args.iso, row.cpu, not args.smp_full)):
        iso = hvboot.variant_iso(args.iso, row.cpu, not args.smp_full)
        return "ERROR", "no %s (the test ISO with %s; make builds it)" % (iso, row.cmdline), \
            parse_ktap(""), 0.0, serial
    if args.reuse and row.backend == "bochs" and not args.coverage:
        prev = os.path.join(args.reuse, "logs", row.name + ".log")
        iso = hvboot.variant_iso(args.iso, row.cpu, not args.smp_full)
        if os.path.exists(prev) and os.path.getmtime(prev) > os.path.getmtime(iso) and \
                os.path.abspath(prev) != os.path.abspath(serial):
            shutil.copyfile(prev, serial)
            rep = parse_ktap(open(serial, errors="replace").read())
            v, why = verdict(rep, False, None, None if args.no_caps_check else row.expect_caps, row.cmdline)
            return v, why or "booted by an earlier run of this ISO: %s" % prev, rep, 0.0, serial
    # --coverage: the counters of a COVERAGE=1 kernel go to OUT/logs/NAME.gcov (LPT1); its final
    # dump follows the result line, so the machine is left to power off by itself.
    lpt = os.path.join(args.out, "logs", row.name + ".gcov") if args.coverage else None
    cmd, env = command_for(args, row, serial, lpt)
    text, timed_out, code, secs = boot(cmd, env, serial, args.timeout, grace=120.0 if lpt else 5.0, lpt=lpt)
    rep = parse_ktap(text)
    v, why = verdict(rep, timed_out, code if row.backend.startswith("qemu") else None,
                     None if args.no_caps_check else row.expect_caps, row.cmdline)
    return v, why, rep, secs, serial


def indent(lines, n):
    return ["  " * n + l if l else l for l in lines]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iso", default="build/hvlab-test.iso")
    ap.add_argument("--out", default="build/test")
    ap.add_argument("--reuse", metavar="DIR",
                    help="a Bochs row whose log in DIR/logs (an earlier run's --out) is newer than its ISO is "
                         "judged from that log instead of booted again (make test-models after make test)")
    ap.add_argument("--backend", choices=hvboot.BACKENDS + ["cmd"],
                    help="one backend (default: bochs on every --cpu model, and qemu-tcg, "
                         "and qemu-kvm when the host has VMX)")
    ap.add_argument("--cpu", action="append",
                    help="Bochs CPU model or profile (repeatable; 'all': every model Bochs lists)")
    ap.add_argument("--megs", action="append", type=int, help="guest machine RAM in MiB (repeatable)")
    ap.add_argument("--jobs", type=int, default=2, help="boots at a time (default 2)")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("HVLAB_TIMEOUT", 300)))
    ap.add_argument("--accept", default="PASS,SKIP", help="verdicts that pass (default PASS,SKIP)")
    ap.add_argument("--cmd", action="append",
                    help="with --backend cmd: shell command that writes $SERIAL (repeatable: one boot each)")
    ap.add_argument("--no-caps-check", action="store_true", help="skip the per-model caps check")
    ap.add_argument("--tests", default="all",
                    help="the suites the test ISO was built with (make's TESTS): the default matrix leaves "
                         "out the rows that would boot none of them (-fuzz rows without fuzz, -xN rows "
                         "without an SMP suite)")
    ap.add_argument("--smp-full", action="store_true",
                    help="rows with N > 1 CPUs (-xN) boot the whole test ISO, not its SMP variant")
    ap.add_argument("--coverage", action="store_true",
                    help="a COVERAGE=1 ISO: keep each boot's counter dump (LPT1) in OUT/logs/NAME.gcov")
    args = ap.parse_args(argv)
    accept = set(args.accept.split(","))

    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    doc = ["KTAP version 1", "# hvlab test runner, iso %s" % args.iso]
    rows = plan_boots(args)
    doc.append("1..%d" % len(rows))
    totals = {"pass": 0, "fail": 0, "skip": 0, "error": 0}
    failed_boots = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_row, args, row) for row in rows]
        for i, (row, fut) in enumerate(zip(rows, futures), 1):
            v, why, rep, secs, serial = fut.result()
            for k in totals:
                totals[k] += rep.counts[k]
            c = rep.counts
            print("%-34s %-7s %3d passed, %d failed, %d skipped, %d errors  %6.1f s%s" % (
                row.name, v, c["pass"], c["fail"], c["skip"], c["error"], secs,
                "  (" + why + ")" if why else ""), flush=True)
            bad = v not in accept
            if bad:
                failed_boots += 1
            if v in BAD:
                print("  serial log: %s" % serial, flush=True)
            doc += ["  KTAP version 1", "  # Subtest: %s" % row.name]
            body = [l for l in rep.lines[1:] if l.strip()] or ["1..0"]
            doc += indent(body, 1)
            if bad:
                doc.append("not ok %d %s # %s" % (i, row.name, "ERROR " + why if v != "FAIL" else why))
            elif v not in ("PASS", "SKIP"):
                doc += ["# %s accepted (--accept): %s" % (v, why), "ok %d %s" % (i, row.name)]
            elif v == "SKIP":
                doc.append("ok %d %s # SKIP %s" % (i, row.name, why))
            else:
                doc.append("ok %d %s" % (i, row.name))
    doc.append("# result: %s" % ("FAIL" if failed_boots else "PASS"))
    with open(os.path.join(args.out, "results.ktap"), "w") as f:
        f.write("\n".join(doc) + "\n")
    print("results: %s" % os.path.join(args.out, "results.ktap"))
    # A boot that crashed, hung or erred counts as one failure on top of what it reported.
    print("boots: %d passed, %d failed" % (len(rows) - failed_boots, failed_boots))
    print("tests: %d passed, %d failed, %d skipped" % (
        totals["pass"], totals["fail"] + totals["error"] + failed_boots, totals["skip"]))
    return 1 if failed_boots else 0


if __name__ == "__main__":
    sys.exit(main())
