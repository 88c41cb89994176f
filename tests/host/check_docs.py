#!/usr/bin/env python3
"""check_docs.py: run the commands the docs quote and compare the output they quote.

Which files: README.md, docs/*.md and docs/exercises/*.md (or the files named on the command line).
Which blocks (fenced with ```):
  - a command block: every line, comments (# ...) aside, starts with "make " or "python3 tests/host/";
  - the fenced blocks after it, up to the next command block, are its expected output;
  - an HTML comment just before a block says more (it does not show when the Markdown renders):
      <!-- check-docs: output of CMD -->      the block is the expected output of CMD
      <!-- check-docs: not run here: WHY -->  a command block that is not run (and the output
                                              blocks after it are not checked); WHY is printed
  - any other block (code, diagrams) is neither.
Each command runs as typed in a fresh shell (stdin closed, COLUMNS=80, no MAKEFLAGS from the make
that runs this, BACKEND=bochs unless the command sets BACKEND itself: the handouts show Bochs
output), once per distinct command, at the top of a temporary copy of the tree (sources and
compiled objects): the handouts' `make exercise` and `make -C exercises/NN grade` never touch the
student trees in this tree's exercises/. The copy is removed when every check held.
Every line of an expected block must then appear in the commands' output or in a build/...log
file named in the text since the command block; "..." inside a line matches anything, a line
that is only "..." is skipped. A command block with no expected output must exit with status 0.
Inline mentions are checked too: `make TARGET VAR=...` (the target exists, the variable is read)
and `dir/file.c:function` (the file exists and names the function).
What legitimately varies (TSC cycles, seconds, the host's CPU vendor and why it has no VMX,
addresses that depend on the kernel's size) is normalised on both sides (VARIES).
Exit status 0 when every command ran as expected and every expected line was found. Standard
library only.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import grade  # noqa: E402
import hvboot  # noqa: E402

FENCE_RE = re.compile(r"^\s*```")
LOG_RE = re.compile(r"`((?:exercises/\d\d/)?build/[^`\s]+\.log)`")  # a student tree's logs too
NOTE_RE = re.compile(r"<!--\s*check-docs:\s*(.*?)\s*-->")
COMMAND_RE = re.compile(r"^(make |python3 tests/host/)")
VARIES = [(re.compile(r"\d+ TSC cycles"), "N TSC cycles"),
          (re.compile(r"\d+(\.\d+)? s\b"), "N s"),
          (re.compile(r"\d+ cycles each"), "N cycles each"),
          (re.compile(r"vendor=\w+"), "vendor=V"),
          (re.compile(r"page 0x[0-9a-f]+"), "page 0xN"),
          (re.compile(r"at 0x[0-9a-f]+-0x[0-9a-f]+"), "at 0xN-0xN"),
          (re.compile(r"native \d+ cycles, emulated \d+"), "native N cycles, emulated N"),
          (re.compile(r"the host CPU has no VMX \((?:[^()]|\([^()]*\))*\)"), "the host CPU has no VMX (...)")]


def norm(line):
    for rx, rep in VARIES:
        line = rx.sub(rep, line)
    return " ".join(line.split())


def code(line):
    """A command line without its trailing comment ("" for a comment-only line)."""
    return line.split(" #")[0].strip() if not line.lstrip().startswith("#") else ""


class Step:
    def __init__(self, cmds, line, skip=None):
        self.cmds, self.line, self.skip, self.expected, self.logs = cmds, line, skip, [], []


def steps(path):
    """The handout's steps: commands, their expected blocks and the logs named since."""
    out, block, inside, note, start = [], [], False, None, 0
    for n, line in enumerate(open(path).read().split("\n"), 1):
        if FENCE_RE.match(line):
            if not inside:
                start = n
            else:
                lines = [l.strip() for l in block if l.strip()]
                cmds = [code(l) for l in lines if code(l)]
                if note and note.startswith("output of "):
                    out.append(Step([note[len("output of "):]], start))
                    out[-1].expected.append(lines)
                elif note and note.startswith("not run here:"):
                    out.append(Step(cmds, start, note[len("not run here:"):].strip()))
                elif cmds and all(COMMAND_RE.match(c) for c in cmds):
                    out.append(Step(cmds, start))
                elif out and not note:
                    out[-1].expected.append(lines)
                note = None
            inside, block = not inside, []
        elif inside:
            block.append(line)
        else:
            m = NOTE_RE.search(line)
            if m:
                note = m.group(1)
            elif line.strip():
                note = note if line.strip().startswith("<!--") else None
            if out:
                out[-1].logs.extend(LOG_RE.findall(line))
    return out


def found(want, have, joined):
    """Is the expected line want (normalised) in the output?"""
    if want in have or want in joined:
        return True
    parts = [re.escape(p.strip()) for p in want.split("...")]
    return len(parts) > 1 and re.search(r".*".join(parts), joined) is not None


_ran = {}    # (work tree, command) -> (status, output)
_took = {}
_trees = []  # every work tree made
_local = threading.local()
_lock = threading.Lock()
# A command whose output another step of `make test` already has in a file (REUSE below).
_reused = {}


def workdir():
    """This worker's copy of the tree, where the quoted commands run; made on first use. Each
    worker thread has its own, so the commands of one document see each other's effects
    (`make exercise`, then `make -C exercises/NN grade`) and never another worker's."""
    if getattr(_local, "work", None) is None:
        _local.work = os.path.join(tempfile.mkdtemp(prefix="hvlab-docs-"), "hvlab")
        grade.copy_tree(_local.work)
        with _lock:
            _trees.append(_local.work)
    return _local.work


def run(cmd, cwd=None):
    """(status, output) of one command, once per work tree."""
    if cmd in _reused:
        return _reused[cmd]
    key = (cwd or workdir(), cmd)
    if key not in _ran:
        env = dict(os.environ, COLUMNS="80")
        # A quoted command runs as the reader would type it: nothing inherited from the make
        # that runs check-docs (`make test BACKEND=qemu-tcg TESTS=ve` passes its variables down
        # in MAKEFLAGS, where they would override the command's own).
        for var in ("BACKEND", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL", "HVLAB_DOCS_REUSE"):
            env.pop(var, None)
        if "BACKEND=" not in cmd:
            env["BACKEND"] = "bochs"
        t0 = time.monotonic()
        r = subprocess.run(cmd, shell=True, cwd=key[0], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, errors="replace")
        with _lock:
            _ran[key] = (r.returncode, r.stdout)
            _took[cmd] = _took.get(cmd, 0) + time.monotonic() - t0
    return _ran[key]


def check(path):
    """(expected lines not found or commands failed, notes about what was not run, steps)."""
    rel = os.path.relpath(path, ROOT)
    bad, notes, out = 0, [], []
    host_has_vmx = hvboot.host_vmx()[0]
    quoted = steps(path)
    for st in quoted:
        where = "%s:%d" % (rel, st.line)
        if st.skip:
            notes.append("%s: not run here: %s" % (where, st.skip))
            continue
        if host_has_vmx and any("BACKEND=" in c and "BACKEND=bochs" not in c and "BACKEND=qemu" not in c
                                for c in st.cmds):
            notes.append("%s: not run: it shows the automatic backend of a host without VMX" % where)
            continue
        text = ""
        for c in st.cmds:
            status, output = run(c)
            text += output
            if status and not st.expected:
                out.append("%s: `%s` exited with status %d" % (where, c, status))
                bad += 1
        for log in st.logs:
            p = os.path.join(workdir(), log)
            if os.path.exists(p):
                text += open(p, errors="replace").read()
        have = {norm(l) for l in text.replace("\r", "").split("\n")}
        joined = "\n".join(have)
        for block in st.expected:
            for l in block:
                if l == "..." or found(norm(l), have, joined):
                    continue
                out.append("%s: after `%s`: not found: %s" % (where, " && ".join(st.cmds), l))
                bad += 1
    return bad, notes, len(quoted), out


INLINE_RE = re.compile(r"`(make [^`]*)`")
_known = {}


def known():
    """(targets of the Makefiles, text of the files that read make variables or the environment)."""
    if not _known:
        r = subprocess.run(["make", "-C", ROOT, "-qp"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, universal_newlines=True, errors="replace")
        targets = set()
        for line in r.stdout.split("\n"):
            m = re.match(r"^([^\s:#=%][^:=]*):(?!=)", line)
            if m:
                targets.update(m.group(1).split())
        text = ""
        for f in ["Makefile", "emulator/emulator.mk"] + [os.path.join("tests/host", n) for n in os.listdir(HERE)]:
            if os.path.isfile(os.path.join(ROOT, f)):
                text += open(os.path.join(ROOT, f), errors="replace").read()
        _known.update(targets=targets, text=text)
    return _known["targets"], _known["text"]


REF_RE = re.compile(r"`([\w.-]+(?:/[\w.-]+)+\.(?:c|h|S|py|md|mk|ld|cfg|in|sh|inc))(?::(\w+))?`")


def check_refs(path):
    """Inline `dir/file.c` and `dir/file.c:name` (the code maps): the file exists, the name is in it."""
    bad = 0
    for n, line in enumerate(open(path).read().split("\n"), 1):
        for ref, name in REF_RE.findall(line):
            if ref.startswith(("build/", "exercises/")) or "NN" in ref:  # made by a build or make exercise; a pattern
                continue
            fp = os.path.join(ROOT, ref)
            why = ("no such file" if not os.path.isfile(fp) else
                   "no %s in it" % name if name and not re.search(r"\b%s\b" % name, open(fp, errors="replace").read())
                   else None)
            if why:
                print("%s:%d: `%s%s`: %s" % (os.path.relpath(path, ROOT), n, ref, ":" + name if name else "", why))
                bad += 1
    return bad


def check_inline(path):
    """Inline `make ...` mentions: each target must exist and each VAR= must be read somewhere."""
    targets, text = known()
    bad = check_refs(path)
    for n, line in enumerate(open(path).read().split("\n"), 1):
        for span in INLINE_RE.findall(line):
            words, i = span.split()[1:], 0
            while i < len(words):
                w = words[i]
                i += 1 + (w == "-C")
                if w.startswith("-"):
                    continue
                if "=" in w:
                    var = w.split("=")[0]
                    ok = re.search(r"\$[({]%s[)}]|\b%s\b[\"']?\s*[\]),]|environ\.get\([\"']%s" % (var, var, var), text)
                else:
                    ok = w in targets or w.startswith("build/")
                if not ok:
                    print("%s:%d: `%s`: %s" % (os.path.relpath(path, ROOT), n, span,
                                                "no such variable" if "=" in w else "no such target"))
                    bad += 1
    return bad


def check_one(d):
    """Everything check-docs says about one document: (lines to print, problems, steps)."""
    n, notes, k, out = check(d)
    with _lock:  # check_inline's make -qp runs once
        n += check_inline_quiet(d, out)
    out.append("%-40s %s" % (os.path.relpath(d, ROOT), "%d lines not found or commands failed" % n if n else
                             "ok (%d step%s checked)" % (k - len(notes), "s" * (k - len(notes) != 1))))
    out.extend("  " + note for note in notes)
    return out, n, k


def check_inline_quiet(d, out):
    """check_inline, its findings collected in out rather than printed."""
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        n = check_inline(d)
    out.extend(l for l in buf.getvalue().split("\n") if l)
    return n


def load_reuse():
    """HVLAB_DOCS_REUSE="CMD@FILE": make test has just run CMD (its test-vm step, in this tree,
    with nothing set that the quoted command would not set) and kept its output in FILE; the
    quoted CMD is checked against that output rather than booting the whole matrix again."""
    spec = os.environ.get("HVLAB_DOCS_REUSE", "")
    if "@" in spec:
        cmd, path = spec.rsplit("@", 1)
        if os.path.isfile(path):
            _reused[cmd] = (0, open(path, errors="replace").read())
            print("check-docs: `%s`: its output from %s (make test has just run it)" % (cmd, path))


def main(argv):
    docs = argv or [os.path.join(ROOT, "README.md")] + [
        os.path.join(d, f) for d in (os.path.join(ROOT, "docs"), os.path.join(ROOT, "docs/exercises"))
        for f in sorted(os.listdir(d)) if f.endswith(".md")]
    load_reuse()
    jobs = max(1, int(os.environ.get("HVLAB_DOCS_JOBS", "2")))
    # Documents run on `jobs` workers, each in its own copy of the tree; the longest first
    # (most quoted commands), so that the two workers end together. Printed in document order.
    order = sorted(docs, key=lambda d: -len(steps(d)))
    results, todo = {}, list(order)

    def worker():
        while True:
            with _lock:
                if not todo:
                    return
                d = todo.pop(0)
            results[d] = check_one(d)

    threads = [threading.Thread(target=worker) for _ in range(min(jobs, len(docs)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = nsteps = 0
    for d in docs:
        out, n, k = results[d]
        print("\n".join(out))
        bad += n
        nsteps += k
    slow = sorted(_took.items(), key=lambda kv: -kv[1])[:5]
    print("check-docs: slowest: " + ", ".join("%s %.0f s" % (c, t) for c, t in slow))
    print("check-docs: %d commands run in %.0f s on %d workers, %d quoted steps, %s"
          % (len(_ran), sum(_took.values()), len(threads), nsteps, "FAIL" if bad else "ok"))
    if _trees and bad:
        print("check-docs: the commands ran in %s (kept, with their logs)" % ", ".join(_trees))
    else:
        for w in _trees:
            shutil.rmtree(os.path.dirname(w), ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
