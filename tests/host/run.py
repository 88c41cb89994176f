#!/usr/bin/env python3
"""run.py: boot the hvlab test ISO on one or more backends and judge the KTAP it prints.

Each boot gets a timeout; its serial output is saved in OUT/logs/NAME.log and validated: plans
match results, numbering is sequential, the final '# result:' line is present and agrees with
the results. Verdicts, most severe first: TIMEOUT, CRASH (no result line), ERROR (harness or
malformed KTAP), FAIL, SKIP, PASS. Exit status 0 only if every boot is PASS or SKIP.
Standard library only. See docs/testing.md.
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hvboot  # noqa: E402

RESULT_RE = re.compile(r"^(ok|not ok) (\d+) ([^#]*?)\s*(?:#\s*(SKIP|ERROR|TODO)\b\s*(.*))?$")
PLAN_RE = re.compile(r"^1\.\.(\d+)")
BAD = ("TIMEOUT", "CRASH", "ERROR", "FAIL")

# What each CPU model must report on the "# caps:" line: catches a probe that decodes wrongly.
EXPECT_CAPS = {
    "corei7_skylake_x": {"vmx": "1", "ept": "1", "vpid": "1", "unrestricted_guest": "1",
                         "vmfunc": "1", "eptp_switching": "1", "ept_violation_ve": "1",
                         "ept_1g": "1", "ept_execute_only": "1", "revision": "0x2b"},
    "corei7_ivy_bridge_3770k": {"vmx": "1", "ept": "1", "vpid": "1", "unrestricted_guest": "1",
                                "vmfunc": "0", "eptp_switching": "0", "ept_violation_ve": "0",
                                "ept_1g": "0"},
    "qemu-tcg": {"vmx": "0"},
}


class Report:
    def __init__(self):
        self.errors = []          # KTAP structure problems
        self.counts = {"pass": 0, "fail": 0, "skip": 0, "error": 0}
        self.result = None        # value of the final '# result:' line
        self.caps = {}
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
        if line == "KTAP version 1":
            while len(stack) > indent:
                stack.pop()
            stack.append([None, 0])
            pending_child[indent] = True
            continue
        if line.startswith("#"):
            continue
        m = PLAN_RE.match(line)
        if m:
            while len(stack) <= indent:
                stack.append([None, 0])
            stack[indent][0] = int(m.group(1))
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


def verdict(rep, timed_out=False, exit_code=None, expect_caps=None):
    """(verdict, reason) for one boot."""
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
        "SKIP" if c["skip"] and not c["pass"] else "PASS" if c["pass"] else "ERROR"
    if want != rep.result:
        return "ERROR", "result line says %s but the results say %s" % (rep.result, want)
    if exit_code in hvboot.QEMU_EXIT and hvboot.QEMU_EXIT[exit_code] != rep.result:
        return "ERROR", "exit status %d disagrees with '# result: %s'" % (exit_code, rep.result)
    for key, val in (expect_caps or {}).items():
        if rep.caps.get(key) != val:
            return "FAIL", "caps: %s=%s, this CPU model must report %s" % (key, rep.caps.get(key), val)
    return rep.result, ""


def boot(name, argv, env, serial, timeout, grace=5.0):
    """Run one boot; stop it once the result line is out (Bochs idles after a failed exit).
    Returns (text, timed_out, exit_code, seconds)."""
    if os.path.exists(serial):
        os.unlink(serial)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    timed_out, seen_result = False, None
    while proc.poll() is None:
        now = time.monotonic()
        if now - t0 > timeout:
            timed_out = True
            break
        if seen_result is None and os.path.exists(serial):
            with open(serial, "rb") as f:
                if b"# result:" in f.read():
                    seen_result = now
        if seen_result is not None and now - seen_result > grace:
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


def plan_boots(args):
    """[(name, backend, model)] to run."""
    if args.backend == "cmd":
        return [("cmd", "cmd", None)]
    backends = [args.backend] if args.backend else ["bochs", "qemu-tcg"]
    if not args.backend and hvboot.host_vmx()[0]:
        backends.append("qemu-kvm")
    boots = []
    for b in backends:
        if b == "bochs":
            boots += [("bochs-" + m, b, m) for m in (args.cpu or hvboot.BOCHS_MODELS)]
        else:
            boots.append((b, b, b))
    return boots


def command_for(args, name, backend, model, serial):
    work = os.path.join(args.out, "work", name)
    os.makedirs(work, exist_ok=True)
    if backend == "bochs":
        return hvboot.bochs_command(args.iso, work, serial, model)
    if backend == "cmd":  # for the runner's own tests: any command that writes $SERIAL
        return ["sh", "-c", args.cmd], dict(os.environ, SERIAL=serial)
    return hvboot.qemu_command(args.iso, backend, serial=serial), None


def indent(lines, n):
    return ["  " * n + l if l else l for l in lines]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iso", default="build/hvlab-test.iso")
    ap.add_argument("--out", default="build/test")
    ap.add_argument("--backend", choices=hvboot.BACKENDS + ["cmd"],
                    help="one backend (default: bochs on every --cpu model, and qemu-tcg, "
                         "and qemu-kvm when the host has VMX)")
    ap.add_argument("--cpu", action="append", help="Bochs CPU model (repeatable)")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("HVLAB_TIMEOUT", 300)))
    ap.add_argument("--cmd", help="with --backend cmd: shell command that writes $SERIAL")
    ap.add_argument("--no-caps-check", action="store_true", help="skip the per-model caps check")
    args = ap.parse_args(argv)

    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    doc = ["KTAP version 1", "# hvlab test runner, iso %s" % args.iso]
    boots = plan_boots(args)
    doc.append("1..%d" % len(boots))
    totals = {"pass": 0, "fail": 0, "skip": 0, "error": 0}
    failed_boots = 0
    for i, (name, backend, model) in enumerate(boots, 1):
        serial = os.path.join(args.out, "logs", name + ".log")
        cmd, env = command_for(args, name, backend, model, serial)
        text, timed_out, code, secs = boot(name, cmd, env, serial, args.timeout)
        rep = parse_ktap(text)
        expect = None if args.no_caps_check else EXPECT_CAPS.get(model)
        v, why = verdict(rep, timed_out, code if backend.startswith("qemu") else None, expect)
        for k in totals:
            totals[k] += rep.counts[k]
        c = rep.counts
        print("%-34s %-7s %3d passed, %d failed, %d skipped, %d errors  %6.1f s%s" % (
            name, v, c["pass"], c["fail"], c["skip"], c["error"], secs, "  (" + why + ")" if why else ""))
        if v in BAD:
            failed_boots += 1
            print("  serial log: %s" % serial)
        doc += ["  KTAP version 1", "  # Subtest: %s" % name]
        body = [l for l in rep.lines[1:] if l.strip()] or ["1..0"]
        doc += indent(body, 1)
        if v in BAD:
            doc.append("not ok %d %s # %s" % (i, name, "ERROR " + why if v != "FAIL" else why))
        elif v == "SKIP":
            doc.append("ok %d %s # SKIP %s" % (i, name, "every case skipped"))
        else:
            doc.append("ok %d %s" % (i, name))
    doc.append("# result: %s" % ("FAIL" if failed_boots else "PASS"))
    with open(os.path.join(args.out, "results.ktap"), "w") as f:
        f.write("\n".join(doc) + "\n")
    print("results: %s" % os.path.join(args.out, "results.ktap"))
    # A boot that crashed, hung or erred counts as one failure on top of what it reported.
    print("boots: %d passed, %d failed" % (len(boots) - failed_boots, failed_boots))
    print("tests: %d passed, %d failed, %d skipped" % (
        totals["pass"], totals["fail"] + totals["error"] + failed_boots, totals["skip"]))
    return 1 if failed_boots else 0


if __name__ == "__main__":
    sys.exit(main())
