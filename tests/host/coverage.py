#!/usr/bin/env python3
"""coverage.py: lcov reports from the counters COVERAGE=1 boots dump (docs/testing.md, "Coverage
of the hypervisor"). For each boot, its dump (OUT/logs/NAME.gcov, tests/host/gcovdump.py) becomes
.gcda files beside the build's .gcno files, lcov captures them under the boot's name as the test
name, and the .gcda files go again; the boots, the zero baseline of every instrumented line and
the host tests' data are merged into one report. Prints the summary per folder and the vmm/
functions never entered.

  coverage.py matrix   --build B --runs DIR... [--host INFO...] [--normal DIR] --out HTML
  coverage.py runs     --build B --out DIR
  coverage.py run      --build B --dump FILE --name NAME --out HTML
  coverage.py selftest --build B --runs DIR... [--final WHY]

`matrix` also checks that the coverage build's KTAP results equal the normal build's (--normal:
the logs of the normal matrix, tests/host/run.py's OUT); `runs` boots the interactive run
(`make run`, vmm/main.c) the ways the test ISO cannot, each ending as it must; `selftest` checks the counts of the
selftest_gcov probes in the .gcda files (a function called N times has N, one never called 0),
and that a boot ended by an exception or a panic still wrote its final dump. Exit status 0 only
when everything was read and checked.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcovdump  # noqa: E402
import hvboot  # noqa: E402
import run as runner  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOLDERS = ["kernel", "vmm", "emulator", "guest"]
LCOV_RC = ["--rc", "lcov_branch_coverage=1"]
# selftest_gcov (tests/cov_selftest.c, guest/scen_gcov.c): the probes and their calls
# The interactive runs `runs` boots: (name, command line, backend, Bochs CPU, MiB, the run's result
# line, or None where the kernel ends without one). A guest that spins is stopped by a watchdog of
# 1 s; a watchdog= value too long for its buffer leaves the default; vmcs_dump= names one exit
# reason it knows and one it does not.
RUNS = [
    ("run-hello", "demo scenario=hello", "bochs", "corei7_skylake_x", None, "PASS"),
    ("run-bogus", "demo scenario=bogus", "bochs", "corei7_skylake_x", None, "FAIL"),
    ("run-triple-fault", "demo scenario=triple_fault", "bochs", "corei7_skylake_x", None, "FAIL"),
    ("run-no-ept", "demo scenario=hello", "bochs", "core2_penryn_t9600", None, "SKIP"),
    ("run-no-vmx", "demo scenario=hello", "qemu-tcg", None, None, "SKIP"),
    ("run-32m", "demo scenario=hello", "bochs", "corei7_skylake_x", 32, "ERROR"),
    ("run-bad-mask", "demo scenario=hello vmx_mask=bogus", "bochs", "corei7_skylake_x", None, "ERROR"),
    ("run-long-name", "demo scenario=" + "x" * 70, "bochs", "corei7_skylake_x", None, None),
    ("run-long-tests", "tests=" + "boot," * 210, "bochs", "corei7_skylake_x", None, "ERROR"),
    ("run-watchdog", "demo scenario=spin watchdog=1", "bochs", "corei7_skylake_x", None, "FAIL"),
    ("run-long-watchdog", "demo scenario=hello watchdog=" + "9" * 30, "bochs", "corei7_skylake_x", None, "PASS"),
    # make run CMDLINE=vmcs_dump=... (docs/setup.md, "Debugging"): the VMCS by field name at each CPUID exit
    ("run-vmcs-dump", "demo scenario=cpuid vmcs_dump=CPUID,bogus", "bochs", "corei7_skylake_x", None, "PASS"),
    # make fuzz (vmm/fuzz_main.c, docs/fuzzing.md): short campaigns bounded by executions, each dirty
    # method, a replayed input (make fuzz-repro), and configurations it refuses
    ("run-fuzz-wp", "fuzz=tlv execs=3000 seed=1 dirty=wp coverage=bp", "bochs", "corei7_skylake_x", None, "PASS"),
    ("run-fuzz-ad", "fuzz=crash execs=400 seed=2 dirty=ad coverage=none", "bochs", "corei7_skylake_x", None, "PASS"),
    ("run-fuzz-edges", "fuzz=tlv execs=300 seed=1 dirty=ad coverage=edges", "bochs", "corei7_skylake_x", None, "PASS"),
    ("run-fuzz-pml-repro", "fuzz=tlv dirty=pml fuzz_input=00ff10", "bochs", "tigerlake", None, "PASS"),
    ("run-fuzz-bad-dirty", "fuzz=tlv dirty=xyz", "bochs", "corei7_skylake_x", None, "ERROR"),
    ("run-fuzz-no-pml", "fuzz=tlv dirty=pml", "bochs", "corei7_ivy_bridge_3770k", None, "ERROR"),
]
PROBES = [("obj/tests/cov_selftest.c.gcda", "cov_probe_counted", 7), ("obj/tests/cov_selftest.c.gcda", "cov_probe_never", 0),
          ("guest-obj/scen_gcov.c.gcda", "gcov_probe_counted", 5), ("guest-obj/scen_gcov.c.gcda", "gcov_probe_never", 0)]


def lcov(*args):
    r = subprocess.run(["lcov", "--quiet"] + LCOV_RC + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    if r.returncode:
        raise gcovdump.DumpError("lcov %s failed:\n%s" % (" ".join(args), r.stdout))
    return r.stdout


def test_name(name):
    """lcov test names are letters, digits and '_'."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def capture_boot(build, dump_file, name, info):
    """The boot's .gcda files, in a tree of links to the build's .gcno files of its own (so that
    boots are captured two at a time), captured into info under its test name. dump_file may be
    a list: those boots' counters added, captured once. Returns the Dump."""
    if isinstance(dump_file, list):
        parts = []
        for f in dump_file:
            with open(f, "rb") as fh:
                parts.append((os.path.basename(f), gcovdump.parse(fh.read(), os.path.basename(f))))
        d = gcovdump.combine(parts, name)
    else:
        with open(dump_file, "rb") as f:
            d = gcovdump.parse(f.read(), name)
    if not d.objects:
        return d
    tree = os.path.join(os.path.dirname(info), "gcda", name)
    shutil.rmtree(tree, ignore_errors=True)
    gcovdump.mirror(build, tree)
    gcovdump.write_gcda(d, build, name, dest=tree)
    lcov("--capture", "--directory", tree, "--base-directory", ROOT, "--test-name", test_name(name),
         "--output-file", info)
    shutil.rmtree(tree)
    return d


def baseline(build, info):
    """Every instrumented line and branch with count 0, so code no boot ran still counts."""
    lcov("--capture", "--initial", "--directory", build, "--base-directory", ROOT, "--output-file", info)


def retag(info, name, out):
    """A host tests' tracefile under the test name `name`."""
    with open(info) as f:
        text = re.sub(r"^TN:.*$", "TN:" + test_name(name), f.read(), flags=re.M)
    with open(out, "w") as f:
        f.write(text)


def merge(infos, out):
    args = []
    for i in infos:
        args += ["--add-tracefile", i]
    lcov(*(args + ["--output-file", out]))


def read_info(path):
    """{source: {"lines": {n: hits}, "branches": {(line, block, branch): hits}, "fns": {name: hits},
    "fn_line": {name: first line}}} from a tracefile, hits summed over its tests."""
    files, cur = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("SF:"):
                cur = files.setdefault(os.path.relpath(line[3:], ROOT),
                                       {"lines": {}, "branches": {}, "fns": {}, "fn_line": {}})
            elif line.startswith("FN:") and cur is not None:
                n, name = line[3:].split(",", 1)
                cur["fn_line"][name] = int(n)
            elif line.startswith("DA:") and cur is not None:
                n, hits = line[3:].split(",")[:2]
                cur["lines"][int(n)] = cur["lines"].get(int(n), 0) + int(hits)
            elif line.startswith("BRDA:") and cur is not None:
                n, block, branch, hits = line[5:].split(",")
                key = (int(n), block, branch)
                cur["branches"][key] = cur["branches"].get(key, 0) + (0 if hits == "-" else int(hits))
            elif line.startswith("FNDA:") and cur is not None:
                hits, name = line[5:].split(",", 1)
                cur["fns"][name] = cur["fns"].get(name, 0) + int(hits)
    return files


def folder_figures(files, folder):
    """(lines hit, lines, branches hit, branches) of the sources under folder/."""
    lh = lf = bh = bf = 0
    for src, d in files.items():
        if src.startswith(folder + "/"):
            lf += len(d["lines"])
            lh += sum(1 for h in d["lines"].values() if h)
            bf += len(d["branches"])
            bh += sum(1 for h in d["branches"].values() if h)
    return lh, lf, bh, bf


def pct(hit, total):
    return "%5.1f %%" % (100.0 * hit / total) if total else "    -  "


def summary(columns):
    """The per-folder table, lines / branches: columns is [(title, files)]."""
    out = [("%-10s" % "folder" + "".join("  %-17s" % t for t, _ in columns)).rstrip()]
    for folder in FOLDERS:
        row = "%-10s" % (folder + "/")
        for _, files in columns:
            lh, lf, bh, bf = folder_figures(files, folder)
            row += "  %-17s" % ("%s / %s" % (pct(lh, lf), pct(bh, bf)))
        out.append(row.rstrip())
    return out


def never_entered(files, folder="vmm"):
    """Functions no boot called whose first line never ran either (gcov counts no calls for a
    function whose every call was inlined, though its lines ran in its callers)."""
    return sorted("%s:%s" % (src, fn) for src, d in files.items() if src.startswith(folder + "/")
                  for fn, hits in d["fns"].items()
                  if hits == 0 and not d["lines"].get(d["fn_line"].get(fn), 0))


def ktap_rows(runs):
    """{row: (counts, {case: result line})} from the serial logs of a run.py OUT folder."""
    rows = {}
    for log in sorted(glob.glob(os.path.join(runs, "logs", "*.log"))):
        with open(log, errors="replace") as f:
            rep = runner.parse_ktap(f.read())
        cases, suite = {}, None
        for line in rep.lines:
            m = re.match(r"^\s*# Subtest: (\S+)", line)
            if m:
                suite = m.group(1)
            m = runner.RESULT_RE.match(line.strip())
            if m and not line.startswith("   "):  # a suite (indent 0) or one of its cases (indent 2)
                key = "%s.%s" % (suite, m.group(3)) if line.startswith("  ") else m.group(3)
                cases[key] = m.group(1) + (" # " + m.group(4) if m.group(4) else "")
        rows[os.path.basename(log)[:-4]] = (rep.counts, cases)
    return rows


def compare_ktap(normal, cov):
    """Problems (a list of lines) where the coverage build's results differ from the normal one's."""
    a, b = ktap_rows(normal), ktap_rows(cov)
    problems = []
    for row in sorted(b):
        if row not in a:
            problems.append("%s: no log of the normal build in %s" % (row, normal))
            continue
        if a[row][0] != b[row][0]:
            problems.append("%s: normal build %s, coverage build %s" % (row, a[row][0], b[row][0]))
            for case in sorted(set(a[row][1]) | set(b[row][1])):
                if a[row][1].get(case) != b[row][1].get(case):
                    problems.append("  %s: %s / %s" % (case, a[row][1].get(case), b[row][1].get(case)))
    totals = [sum(r[0][k] for r in rows.values()) for rows in (a, b) for k in ("pass", "fail", "skip", "error")]
    return problems, totals


def capture_one(build, dump, work):
    if isinstance(dump, list):  # --together: one test, named after the folder (DIR/logs/*.gcov)
        name = os.path.basename(os.path.dirname(os.path.dirname(dump[0])))
    else:
        name = os.path.basename(dump)[:-len(".gcov")]
    info = os.path.join(work, name + ".info")
    try:
        return name, info, capture_boot(build, dump, name, info), None
    except gcovdump.DumpError as e:
        return name, info, None, str(e)


def capture_boots(build, dumps, work):
    """One tracefile per boot with a dump, two boots at a time; (infos, errors, notes)."""
    infos, errors, notes = [], [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda dump: capture_one(build, dump, work), dumps))
    for name, info, d, err in done:
        if err:
            errors.append(err)
            continue
        if d.lost:
            errors.append("%s: the boot crashed or hung: %s" % (name, d.lost))
        if d.guest_dropped:
            errors.append("%s: %d guest runs had counters not in the guest's shape: dropped" % (name, d.guest_dropped))
        notes.append("%-32s %3d dumps, %3d objects, %4d guest runs, final: %s"
                     % (name, len(d.dumps), len(d.objects), d.guest_runs, d.final or "none"))
        if d.objects:
            infos.append(info)
    return infos, errors, notes


def report(build, infos, host, out):
    """Merge, write the HTML, return (merged files, VM-only files, host-only files)."""
    os.makedirs(out, exist_ok=True)
    work = os.path.join(build, "lcov")
    base = os.path.join(work, "baseline.info")
    baseline(build, base)
    tagged = []
    for i, (name, path) in enumerate(host):
        tagged.append(os.path.join(work, "host-%d.info" % i))
        retag(path, name, tagged[-1])
    vm, allinfo = os.path.join(work, "vm.info"), os.path.join(work, "all.info")
    merge([base] + infos, vm)
    merge([vm] + tagged, allinfo)
    keep = [os.path.join(ROOT, f, "*") for f in FOLDERS]
    lcov("--extract", allinfo, *keep, "--output-file", allinfo)
    subprocess.run(["genhtml", "--quiet", "--branch-coverage", "--show-details", "--legend", "--title",
                    "hvlab", "--output-directory", out, allinfo], check=True)
    host_files = {}
    for t in tagged:
        for src, d in read_info(t).items():
            host_files.setdefault(src, d)
    return read_info(allinfo), read_info(vm), host_files


def cmd_matrix(args):
    work = os.path.join(args.build, "lcov")
    os.makedirs(work, exist_ok=True)
    dumps = [d for runs in args.runs for d in sorted(glob.glob(os.path.join(runs, "logs", "*.gcov")))]
    together = [(t, sorted(glob.glob(os.path.join(t, "logs", "*.gcov")))) for t in args.together or []]
    dumps += [g for _, g in together if g]
    infos, errors, notes = capture_boots(args.build, dumps, work)
    errors += ["%s: no boot's counters in it (--together)" % t for t, g in together if not g]
    for n in notes:
        print("  " + n)
    host = [(os.path.splitext(os.path.basename(h))[0].replace("hvlab", "unit"), h) for h in args.host or []]
    host = [("host_" + n, h) for n, h in host if os.path.exists(h)]
    merged, vm, host_files = report(args.build, infos, host, args.out)
    print("coverage per folder, lines / branches (matrix: the COVERAGE=1 boots; all: with the host tests):")
    for line in summary([("matrix", vm), ("host tests", host_files), ("all", merged)]):
        print("  " + line)
    lh, lf, bh, bf = folder_figures(vm, "vmm")
    print("  vmm/ in the matrix: %d of %d lines, %d of %d branches" % (lh, lf, bh, bf))
    fns = never_entered(merged)
    print("vmm/ functions never entered (%d):" % len(fns))
    for fn in fns:
        print("  " + fn)
    if args.normal:
        problems, totals = compare_ktap(args.normal, args.runs[0])
        print("KTAP totals, normal build: pass %d fail %d skip %d error %d; coverage build: pass %d fail %d skip %d error %d"
              % tuple(totals))
        errors += ["the coverage build's KTAP results differ from the normal build's: " + p for p in problems]
    print("coverage report: %s" % os.path.join(args.out, "index.html"))
    for e in errors:
        print("coverage: ERROR: " + e)
    return 1 if errors else 0


def cmd_run(args):
    work = os.path.join(args.build, "lcov")
    os.makedirs(work, exist_ok=True)
    info = os.path.join(work, "run.info")
    try:
        d = capture_boot(args.build, args.dump, args.name, info)
    except gcovdump.DumpError as e:
        print("coverage: ERROR: %s" % e)
        return 1
    if d.lost:
        print("coverage: %s" % d.lost)
    merged, vm, _ = report(args.build, [info] if d.objects else [], [], args.out)
    print("coverage of this run, lines / branches:")
    for line in summary([(args.name, vm)])[1:]:
        print("  " + line)
    print("coverage report: %s" % os.path.join(args.out, "index.html"))
    return 1 if d.lost else 0


def boot_run(build, out, run):
    """One interactive run of RUNS on its own ISO; returns an error or None."""
    name, cmdline, backend, cpu, megs, want = run
    cfg = os.path.join(out, "work", name + ".cfg")
    iso = os.path.join(out, "work", name + ".iso")
    os.makedirs(os.path.dirname(cfg), exist_ok=True)
    with open(os.path.join(ROOT, "iso", "grub-scenario.cfg.in")) as f:
        template = f.read()
    if "demo scenario=@SCENARIO@@CMDLINE@" not in template:
        return "iso/grub-scenario.cfg.in has no 'demo scenario=@SCENARIO@@CMDLINE@' to replace"
    with open(cfg, "w") as f:  # the whole command line is the run's own (make run's CMDLINE= is not)
        f.write(template.replace("demo scenario=@SCENARIO@@CMDLINE@", cmdline).replace("@SCENARIO@", "coverage"))
    r = subprocess.run([os.path.join(ROOT, "iso", "mkiso.sh"), iso, os.path.join(build, "hvlab.elf"), cfg,
                        os.path.join(build, "guest.elf")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode:
        return "%s: mkiso.sh failed: %s" % (name, r.stdout)
    serial, lpt = os.path.join(out, "logs", name + ".log"), os.path.join(out, "logs", name + ".gcov")
    work = os.path.join(out, "work", name)
    if backend == "bochs":
        argv, env = hvboot.bochs_command(iso, work, serial, cpu, megs=megs or hvboot.MEMORY_MB, lpt=lpt)
    else:
        argv, env = hvboot.qemu_command(iso, backend, serial=serial, megs=megs or hvboot.MEMORY_MB, lpt=lpt), None
    text, timed_out, _, _ = runner.boot(argv, env, serial, 120, grace=120.0, lpt=lpt)
    results = re.findall(r"^# result: (\S+)", text.replace("\r", ""), re.M)
    if timed_out or "Bail out!" in text or (results[-1:] or [None])[0] != want:
        return "%s: the run ended with %s, expected %s (%s)" % (name, results[-1:] or "no result line", want, serial)
    return None


def cmd_runs(args):
    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    runs = [r for r in RUNS if not args.only or r[0] in args.only.split(",")]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        errors = [e for e in pool.map(lambda r: boot_run(args.build, args.out, r), runs) if e]
    for e in errors:
        print("coverage runs: ERROR: " + e)
    print("coverage: %d interactive runs, %d as expected" % (len(runs), len(runs) - len(errors)))
    return 1 if errors else 0


def gcov_calls(gcda):
    """{function: calls} from gcov's report of one object's .gcda (the .gcno beside it)."""
    r = subprocess.run(["gcov", "--branch-probabilities", "--stdout", os.path.abspath(gcda)], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    calls = {}
    for m in re.finditer(r"^function (\S+) called (\d+) returned", r.stdout, re.M):
        calls[m.group(1)] = int(m.group(2))
    return calls


def cmd_selftest(args):
    errors, dumps = [], []
    for runs in args.runs:
        dumps += sorted(glob.glob(os.path.join(runs, "logs", "*.gcov")))
    if not dumps:
        errors.append("no dump in %s" % " ".join(args.runs))
    for dump in dumps:
        name = os.path.basename(dump)[:-len(".gcov")]
        with open(dump, "rb") as f:
            try:
                d = gcovdump.parse(f.read(), name)
            except gcovdump.DumpError as e:
                errors.append(str(e))
                continue
        print("  %s: %d dumps, final: %s" % (name, len(d.dumps), d.final))
        if not d.final or d.final != args.final:
            errors.append("%s: the final dump says %r, expected %r" % (name, d.final, args.final))
        gcovdump.remove_gcda(args.build)
        try:
            gcovdump.write_gcda(d, args.build, name)
            guest = any(kind == "G" for kind, _ in d.objects.values())
            for gcda, fn, want in PROBES:
                if gcda.startswith("guest-obj/") and not guest:
                    print("  %s: %s: no guest objects (the guest never ran here)" % (name, fn))
                    continue
                got = gcov_calls(os.path.join(args.build, gcda)).get(fn)
                print("  %s: %s called %s times, expected %d" % (name, fn, got, want))
                if got != want:
                    errors.append("%s: %s (%s): %s calls, expected %d" % (name, fn, gcda, got, want))
        except gcovdump.DumpError as e:
            errors.append(str(e))
        finally:
            gcovdump.remove_gcda(args.build)
    for e in errors:
        print("coverage selftest: ERROR: " + e)
    return 1 if errors else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("matrix")
    m.add_argument("--build", required=True)
    m.add_argument("--runs", action="append", required=True,
                   help="tests/host/run.py --coverage's OUT, or coverage.py runs' (repeatable)")
    m.add_argument("--together", action="append",
                   help="a run.py --coverage OUT whose boots are added and captured as one test, named after "
                        "the folder (the interactive runs: one capture instead of one per boot)")
    m.add_argument("--host", action="append", help="a host tests' tracefile (its name is the test name)")
    m.add_argument("--normal", help="the normal build's run.py OUT, to compare the KTAP results with")
    m.add_argument("--out", required=True)
    i = sub.add_parser("runs")
    i.add_argument("--build", required=True)
    i.add_argument("--out", required=True)
    i.add_argument("--only", help="comma-separated run names (default: all of RUNS)")
    r = sub.add_parser("run")
    r.add_argument("--build", required=True)
    r.add_argument("--dump", required=True)
    r.add_argument("--name", required=True)
    r.add_argument("--out", required=True)
    s = sub.add_parser("selftest")
    s.add_argument("--build", required=True)
    s.add_argument("--runs", action="append", required=True, help="a run.py --coverage OUT (repeatable)")
    s.add_argument("--final", default="exit 0x10", help="what the final dump must say")
    args = ap.parse_args(argv)
    return {"matrix": cmd_matrix, "runs": cmd_runs, "run": cmd_run, "selftest": cmd_selftest}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
