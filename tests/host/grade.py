#!/usr/bin/env python3
"""grade.py: the exercises' grader (docs/exercises/, docs/README.md "Exercises and grading").

  grade.py NN [--tree DIR]    build DIR (default: this tree), boot the exercise's suites under
                              Bochs, score the KTAP results by case name: prints Score: a/b
  grade.py --strip NN [--out DIR]
                              copy this tree to DIR (default exercises/NN, which git ignores and
                              no build step touches) with every block between EXERCISE(NN) and
                              END EXERCISE(NN) replaced by EXERCISE_TODO (with the variables named
                              by "[uses a, b]" in the opening comment, then "return X;" when it
                              says "[stub returns X]"); never over an existing DIR (the student's
                              work): it says how to start over instead and exits 1
  grade.py --check [NN...]    both directions for each exercise: the full tree scores full
                              marks; the stripped tree, made in a temporary folder, builds and
                              scores less (two at a time)
Exit status 0 on full marks (with --partial-ok: whenever a score was printed; with --check: when
every direction holds). Standard library only.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import run  # noqa: E402

# Per exercise: its handout, the suites its ISO runs, and the cases that are scored
# ("suite.case", as the in-VM KTAP names them); optionally the CPU model and the boot's time
# limit in seconds (default 120).
EXERCISES = {
    "01": {
        "handout": "docs/exercises/01-boot.md",
        "suites": ["boot", "guest_boot"],
        "cases": ["boot.guest_module_found", "guest_boot.hello", "guest_boot.relaunch"],
    },
    "02": {
        "handout": "docs/exercises/02-vmxon.md",
        "suites": ["vmxon", "guest_boot"],
        "cases": ["vmxon.vmxon_vmxoff", "vmxon.vmxon_twice_without_vmcs", "vmxon.vmxon_twice_with_vmcs",
                  "vmxon.vmptrld_failures", "guest_boot.hello"],
    },
    "03": {
        "handout": "docs/exercises/03-vmcs.md",
        "suites": ["guest_boot"],
        "cases": ["guest_boot.hello", "guest_boot.relaunch", "guest_boot.unknown_scenario"],
    },
    "04": {
        "handout": "docs/exercises/04-exits.md",
        "suites": ["exit_cpuid", "exit_vmcall"],
        "cases": ["exit_cpuid.cpuid_leaves", "exit_vmcall.every_call", "exit_vmcall.vmxoff_returns"],
    },
    "05": {
        "handout": "docs/exercises/05-io-msr.md",
        "suites": ["exit_io", "exit_msr"],
        "cases": ["exit_io.ports", "exit_msr.msrs"],
    },
    "06": {
        "handout": "docs/exercises/06-ept.md",
        "suites": ["views", "ept_access"],
        "cases": ["views.create_destroy_limits", "views.bad_input_refused", "views.split_only_where_needed",
                  "views.remap_visible_only_in_its_view", "views.change_takes_effect_at_once",
                  "views.active_view_not_destroyed", "ept_access.permission_matrix"],
    },
    "07": {
        "handout": "docs/exercises/07-views.md",
        "suites": ["views", "vmfunc", "ve"],
        "cases": ["views.create_destroy_limits", "views.bad_input_refused", "views.split_only_where_needed",
                  "views.remap_visible_only_in_its_view", "views.change_takes_effect_at_once",
                  "views.active_view_not_destroyed", "vmfunc.switch_without_exits",
                  "ve.fields_and_rules", "ve.hardware_and_software_alike",
                  "views.switch_sets_the_view", "views.switch_sets_eptp_index"],
    },
    "08": {  # graded where the CPU has no #VE, so every #VE is the software one
        "handout": "docs/exercises/08-ve.md",
        "cpu": "corei7_ivy_bridge_3770k",
        "suites": ["ve", "ept_access"],
        "cases": ["ve.fields_and_rules", "ve.hardware_and_software_alike", "ept_access.permission_matrix"],
    },
    "09": {
        "handout": "docs/exercises/09-regions.md",
        "suites": ["emulated_regions", "emulated_regions_guest"],
        "cases": ["emulated_regions.one_exit_per_entry", "emulated_regions.hypervisor_instruction_stepped",
                  "emulated_regions_guest.same_results_native_and_emulated",
                  "emulated_regions_guest.faults_as_the_cpu_delivers_them",
                  "emulated_regions_guest.cpu_is_the_reference",
                  "emulated_regions.fs_gs_bases_loaded", "emulated_regions.cr2_loaded"],
    },
    "10": {  # two CPUs: the reader's CPU must be shot down
        "handout": "docs/exercises/10-smp.md",
        "cpu": "tigerlake-x2",
        "suites": ["shootdown"],
        "cases": ["shootdown.revoke_seen_by_spinning_reader"],
    },
    "11": {  # suite fuzz takes three to four minutes of Bochs: a longer boot limit
        "handout": "docs/exercises/11-dirty-wp.md",
        "suites": ["fuzz"],
        "timeout": 600,
        "cases": ["fuzz.restore_exact_wp", "fuzz.dirty_k_wp", "fuzz.dirty_methods_agree"],
    },
}
DEFAULT_CPU = "corei7_skylake_x"
MARKED_DIRS = ("kernel", "vmm", "guest")
BEGIN_RE = re.compile(r"/\*\s*EXERCISE\((\d\d)\)")
END_RE = re.compile(r"/\*\s*END EXERCISE\((\d\d)\)\s*\*/")
USES_RE = re.compile(r"\[uses ([\w, ]+)\]")  # variables only the removed code used
STUB_RE = re.compile(r"\[stub returns ([^\]]+)\]")  # what the stub returns, so the caller stops
CASE_RE = re.compile(r"^(\s*)(ok|not ok) \d+ (\S+)\s*(?:#\s*(SKIP|ERROR|TODO)\b.*)?$")
SUBTEST_RE = re.compile(r"^(\s*)# Subtest: (\S+)")


def strip_text(text, ex):
    """text with each EXERCISE(ex) block's code replaced by EXERCISE_TODO(ex); (text, blocks)."""
    out, inside, blocks = [], None, 0
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = BEGIN_RE.search(line)
        if inside is None and m and m.group(1) == ex and "END EXERCISE" not in line:
            indent = line[:len(line) - len(line.lstrip())]
            out.append(line)
            comment = line
            while "*/" not in lines[i]:  # the opening comment may span lines
                i += 1
                out.append(lines[i])
                comment += " " + lines[i]
            uses = USES_RE.search(comment)
            args = "".join(", " + a.strip() for a in uses.group(1).split(",")) if uses else ""
            stub = STUB_RE.search(comment)
            ret = " return %s;" % stub.group(1).strip() if stub else ""
            out.append("%sEXERCISE_TODO(%d%s);%s" % (indent, int(ex), args, ret))
            inside = ex
        elif inside is not None:
            e = END_RE.search(line)
            if e and e.group(1) == ex:
                out.append(line)
                inside, blocks = None, blocks + 1
        else:
            out.append(line)
        i += 1
    if inside is not None:
        raise SystemExit("grade.py: EXERCISE(%s) has no END EXERCISE(%s)" % (ex, ex))
    return "\n".join(out), blocks


# Never copied into a student tree: builds, git, and the student trees themselves.
NOT_COPIED = ("build", ".git", "exercises")


class TreeExists(Exception):
    """The student tree is there already: it is the student's work and is never overwritten."""


def copy_tree(out):
    """Copy this tree's sources to out (a new folder), and its compiled objects (times kept), so
    that only what changes recompiles there."""
    shutil.copytree(ROOT, out, ignore=lambda d, names: [n for n in names if d == ROOT and n in NOT_COPIED])
    for obj in ("obj", "guest-obj"):
        if os.path.isdir(os.path.join(ROOT, "build", obj)):
            shutil.copytree(os.path.join(ROOT, "build", obj), os.path.join(out, "build", obj))


def strip_tree(ex, out):
    """Copy the tree to out, a folder that must not exist yet, and strip exercise ex; returns the
    files changed. Raises TreeExists rather than touch an existing out."""
    if os.path.lexists(out):
        raise TreeExists(out)
    copy_tree(out)
    changed = []
    for top in MARKED_DIRS:
        for dirpath, _, files in os.walk(os.path.join(out, top)):
            for f in files:
                if not f.endswith((".c", ".h", ".S")):
                    continue
                path = os.path.join(dirpath, f)
                with open(path) as fh:
                    text = fh.read()
                new, blocks = strip_text(text, ex)
                if blocks:
                    with open(path, "w") as fh:
                        fh.write(new)
                    t = time.time() + 1  # newer than any copied object, whatever the clock's grain
                    os.utime(path, (t, t))
                    changed.append("%s (%d block%s)" % (os.path.relpath(path, out), blocks, "s" * (blocks > 1)))
    if not changed:
        raise SystemExit("grade.py: no EXERCISE(%s) markers under %s" % (ex, ", ".join(MARKED_DIRS)))
    return changed


def make_elfs(tree, say):
    """Build the kernel and the guest in tree; False (after showing why) when it does not build."""
    cmd = ["make", "-C", tree, "--no-print-directory", "BUILD=build", "build/hvlab.elf", "build/guest.elf"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if r.returncode:
        say(r.stdout[-4000:])
    return r.returncode == 0


def build_iso(tree, ex, build, say):
    """Build the kernel and guest in tree, and an ISO that runs the exercise's suites."""
    if not make_elfs(tree, say):
        return None
    cfg, iso = os.path.join(build, "grade-%s.cfg" % ex), os.path.join(build, "hvlab-grade-%s.iso" % ex)
    with open(os.path.join(tree, "iso/grub-test.cfg.in")) as f:
        # the scored cases only ("suite.case" in tests=): what the grade needs, in a fraction of the suites' time
        text = f.read().replace("@TESTS@", ",".join(EXERCISES[ex]["cases"])).replace("@EXTRA@", "")
    with open(cfg, "w") as f:
        f.write(text)
    r = subprocess.run([os.path.join(tree, "iso/mkiso.sh"), iso, os.path.join(build, "hvlab.elf"), cfg,
                        os.path.join(build, "guest.elf")], cwd=tree, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    if r.returncode:
        say(r.stdout)
    return iso if r.returncode == 0 else None


def case_results(text):
    """{"suite.case": "ok" | "not ok" | "SKIP" | "ERROR"} from the in-VM KTAP."""
    res, suites = {}, {}
    for line in text.replace("\r", "").split("\n"):
        m = SUBTEST_RE.match(line)
        if m:
            suites[len(m.group(1))] = m.group(2)
            continue
        m = CASE_RE.match(line)
        if m and len(m.group(1)) in suites:
            res["%s.%s" % (suites[len(m.group(1))], m.group(3))] = m.group(4) or m.group(2)
    return res


def case_windows(lines):
    """{"suite.case": (first, last)}: the log lines each case printed, its result line last."""
    out, suites, prev = {}, {}, 0
    for i, line in enumerate(lines):
        m = SUBTEST_RE.match(line)
        if m:
            suites[len(m.group(1))] = m.group(2)
            prev = i + 1
            continue
        m = CASE_RE.match(line)
        if m and len(m.group(1)) in suites:
            out["%s.%s" % (suites[len(m.group(1))], m.group(3))] = (prev, i)
            prev = i + 1
    return out


def say_entry_check(lines, failed, say):
    """The first VM-entry rule vmm/vmcs_check.c found broken in a failed scored case (its finding
    and the SDM's words): the reason no guest runs, which the CPU gives only as a number."""
    windows = case_windows(lines)
    for case in failed:
        first, last = windows.get(case, (0, -1))
        for i in range(first, last):
            if lines[i].lstrip().startswith("# vmcs_check:"):
                for l in lines[i:i + 2]:
                    if l.lstrip().startswith("# vmcs_check:"):
                        say(l.strip())
                return


def matrix_log(ex, cpu, matrix):
    """make test-vm's serial log of this CPU's row in matrix (its --out) when it is newer than this
    tree's hypervisor and guest and has every scored case of the exercise, else None."""
    build = os.path.join(ROOT, "build")
    elfs = [os.path.join(build, n) for n in ("hvlab.elf", "guest.elf")]
    smp = "-x" in cpu
    for row, iso in (("bochs-%s" % cpu, "hvlab-test-smp.iso" if smp else "hvlab-test.iso"),
                     ("bochs-%s-fuzz" % cpu, "hvlab-test-fuzz.iso")):  # the same CPU (-fuzz: suite fuzz)
        log, iso = os.path.join(matrix, "logs", row + ".log"), os.path.join(build, iso)
        chain = elfs + [iso, log]  # each older than the next: the log is of this build
        if not all(os.path.exists(f) for f in chain) or \
                any(os.path.getmtime(e) > os.path.getmtime(iso) for e in elfs) or os.path.getmtime(iso) > os.path.getmtime(log):
            continue
        res = case_results(open(log, errors="replace").read())
        if all(c in res for c in EXERCISES[ex]["cases"]):
            return log
    return None


def grade(ex, tree, cpu=None, say=print, log=None):
    """Build, boot and score; returns (score, total) or (None, total) when it does not build.
    With log (this tree's own matrix log, see matrix_log): score that boot, build and boot nothing."""
    cpu = cpu or EXERCISES[ex].get("cpu", DEFAULT_CPU)
    total = len(EXERCISES[ex]["cases"])
    build = os.path.join(tree, "build")
    t0 = t1 = time.time()
    booted = not log
    if not log:
        iso = build_iso(tree, ex, build, say)
        if not iso:
            say("grade %s: the tree does not build" % ex)
            return None, total
        out = os.path.join(build, "grade-%s" % ex)
        t1 = time.time()
        subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--iso", iso, "--out", out,
                        "--backend", "bochs", "--cpu", cpu, "--timeout", str(EXERCISES[ex].get("timeout", 120)), "--smp-full"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        log = os.path.join(out, "logs", "bochs-%s.log" % cpu)
    boot_secs = time.time() - t1
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    lines = text.replace("\r", "").split("\n")
    for l in lines:
        if "EXERCISE(" in l:
            say(l.strip())
            break
    res, score = case_results(text), 0
    say_entry_check(lines, [c for c in EXERCISES[ex]["cases"] if res.get(c) not in ("ok", "SKIP")], say)
    for case in EXERCISES[ex]["cases"]:
        got = res.get(case, "missing")
        score += got == "ok"
        total -= got == "SKIP"  # what this CPU model cannot do is not scored
        say("  %-54s %s" % (case, "PASS" if got == "ok" else "SKIP (not scored on this CPU)"
                               if got == "SKIP" else "FAIL (%s)" % got))
    where = os.path.relpath(log) if not os.path.relpath(log).startswith("..") else log
    if booted:
        say("grade %s: build %.1f s, boot %.1f s (Bochs %s); serial log %s" % (ex, t1 - t0, boot_secs, cpu, where))
    else:
        say("grade %s: scored make test-vm's boot (Bochs %s); serial log %s" % (ex, cpu, where))
    say("Score: %d/%d" % (score, total))
    return score, total


def check_one(ex, cpu, matrix=None):
    """Both directions for exercise ex: (lines to print, number of directions that fail). The
    full tree's direction scores make test-vm's boot of this tree where matrix has it."""
    lines, bad = [], 0
    log = matrix and matrix_log(ex, cpu or EXERCISES[ex].get("cpu", DEFAULT_CPU), matrix)
    if log:
        lines.append("check %s: full tree: the cases as make test-vm ran them (%s)" % (ex, os.path.relpath(log)))
    score, total = grade(ex, ROOT, cpu, lines.append, log)
    ok = score == total
    lines.append("check %s: full tree %s" % (ex, "scores %d/%d: ok" % (score, total) if ok else
                                             "does not score full marks: FAIL"))
    bad += not ok
    tmp = tempfile.mkdtemp(prefix="hvlab-check-%s-" % ex)
    out = os.path.join(tmp, "exercise-%s" % ex)  # never exercises/NN: that is the student's
    strip_tree(ex, out)
    score, total = grade(ex, out, cpu, lines.append)
    ok = score is not None and score < total
    lines.append("check %s: stripped tree %s" % (ex, "builds and scores %d/%d: ok" % (score, total) if ok else
                                                 "does not build: FAIL" if score is None else
                                                 "scores full marks: FAIL"))
    if ok:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        lines.append("check %s: the stripped tree is kept in %s" % (ex, out))
    return lines, bad + (not ok)


def check(exs, cpu, matrix=None):
    """Both directions per exercise, two exercises at a time (each boot is one Bochs process);
    returns the number of directions that do not hold."""
    if not make_elfs(ROOT, print):  # once, so the parallel graders only read this tree's build
        return len(exs) * 2
    bad = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        # the longest boots (a longer limit) start first, so that the two workers end together;
        # the results print in exercise order
        futures = {e: pool.submit(check_one, e, cpu, matrix)
                   for e in sorted(exs, key=lambda e: -EXERCISES[e].get("timeout", 120))}
        for e in exs:
            lines, b = futures[e].result()
            print("\n".join(lines), flush=True)
            bad += b
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ex", nargs="*", help="exercise number(s), e.g. 04")
    ap.add_argument("--tree", default=ROOT, help="the tree to grade (default: this one)")
    ap.add_argument("--strip", action="store_true", help="write a student tree instead of grading")
    ap.add_argument("--out", help="with --strip: where (default exercises/NN)")
    ap.add_argument("--check", action="store_true", help="check both directions (default: every exercise)")
    ap.add_argument("--full-from", metavar="DIR",
                    help="with --check: take the full tree's results from make test-vm's DIR (its --out) "
                         "where it has the exercise's CPU and cases and is newer than the build")
    ap.add_argument("--partial-ok", action="store_true",
                    help="exit 0 whenever a score was printed, full or not (make grade)")
    ap.add_argument("--cpu", default=os.environ.get("CPU") or None,
                    help="Bochs CPU model (default: the exercise's, else %s)" % DEFAULT_CPU)
    args = ap.parse_args(argv)
    exs = [e.zfill(2) for e in args.ex]
    for e in exs:
        if e not in EXERCISES:
            ap.error("no grader for exercise %s (graded: %s)" % (e, " ".join(sorted(EXERCISES))))
    if args.check:
        return 1 if check(exs or sorted(EXERCISES), args.cpu, args.full_from) else 0
    marker = os.path.join(os.path.abspath(args.tree), ".exercise")  # written by make exercise
    if not exs and not args.strip and os.path.isfile(marker):
        exs = [open(marker).read().strip()]
    if len(exs) != 1:
        ap.error("name one exercise, e.g. EX=04")
    if args.strip:
        return strip_main(exs[0], args.out)
    score, total = grade(exs[0], os.path.abspath(args.tree), args.cpu)
    return 0 if score == total or (args.partial_ok and score is not None) else 1


def strip_main(ex, out):
    """make exercise: write the student tree, or say why not and how to start over."""
    again = "make exercise EX=%s%s" % (ex, " DIR=" + out if out else "")
    rel = out or os.path.relpath(os.path.join(ROOT, "exercises", ex))  # as the student gave it
    out = os.path.abspath(rel)
    try:
        changed = strip_tree(ex, out)
    except TreeExists:
        print("exercise %s: %s already exists; it is your work, so it is left as it is." % (ex, rel))
        print("exercise %s: to grade it: make -C %s grade EX=%s" % (ex, rel, ex))
        print("exercise %s: to start over, move it away first: mv %s %s.old && %s" % (ex, rel, rel, again))
        return 1
    with open(os.path.join(out, ".exercise"), "w") as f:  # make grade there needs no EX=
        f.write(ex + "\n")
    for c in changed:
        print("exercise %s: stripped %s" % (ex, c))
    print("exercise %s: student tree in %s; handout %s; grade it with: make -C %s grade EX=%s" % (
        ex, rel, EXERCISES[ex]["handout"], rel, ex))
    return 0


if __name__ == "__main__":
    sys.exit(main())
