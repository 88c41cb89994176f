#!/usr/bin/env python3
"""check_docs.py: run the commands the exercise handouts quote and compare the expected output.

In docs/exercises/*.md a fenced block whose lines all start with "make " is a command block; the
fenced blocks after it (up to the next command block) are its expected output. Each command
runs from the top of the tree (stdin closed, BACKEND=bochs unless it names one); every line of an expected block must then appear
in the commands' output or in a build/...log file named in the text since the command block.
What legitimately varies (TSC cycles, seconds, the host's CPU vendor, the address of the
kernel's first free page) is normalised on both sides; "..." lines are skipped.
Exit status 0 when every expected line was found. Standard library only.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FENCE_RE = re.compile(r"^\s*```")
LOG_RE = re.compile(r"`(build/[^`\s]+\.log)`")
VARIES = [(re.compile(r"\d+ TSC cycles"), "N TSC cycles"),
          (re.compile(r"\d+(\.\d+)? s\b"), "N s"),
          (re.compile(r"\d+ cycles each"), "N cycles each"),
          (re.compile(r"vendor=\w+"), "vendor=V"),
          (re.compile(r"page 0x[0-9a-f]+"), "page 0xN"),
          (re.compile(r"at 0x[0-9a-f]+-0x[0-9a-f]+"), "at 0xN-0xN"),
          (re.compile(r"native \d+ cycles, emulated \d+"), "native N cycles, emulated N")]


def norm(line):
    for rx, rep in VARIES:
        line = rx.sub(rep, line)
    return " ".join(line.split())


def steps(path):
    """[(commands, [(expected lines)], [log paths])] of one handout."""
    out, prose, block, inside = [], [], [], False
    for line in open(path).read().split("\n"):
        if FENCE_RE.match(line):
            if inside:
                lines = [l.strip() for l in block if l.strip()]
                if lines and all(l.startswith("make ") for l in lines):
                    out.append((lines, [], []))
                elif out:
                    out[-1][1].append(lines)
                    out[-1][2].extend(LOG_RE.findall(" ".join(prose)))
                prose = []
            inside, block = not inside, []
        elif inside:
            block.append(line)
        else:
            prose.append(line)
            if out:
                out[-1][2].extend(LOG_RE.findall(line))
    return out


def check(path):
    bad = 0
    for cmds, expected, logs in steps(path):
        text = ""
        for c in cmds:
            # The handouts show Bochs output: BACKEND=bochs unless the command names another.
            r = subprocess.run(c, shell=True, cwd=ROOT, env=dict(os.environ, BACKEND="bochs"),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, errors="replace")
            text += r.stdout
        for log in logs:
            p = os.path.join(ROOT, log)
            if os.path.exists(p):
                text += open(p, errors="replace").read()
        have = {norm(l) for l in text.replace("\r", "").split("\n")}
        joined = "\n".join(have)
        for block in expected:
            for l in block:
                if l == "..." or norm(l) in have or norm(l) in joined:
                    continue
                print("%s: after `%s`: not found: %s" % (os.path.relpath(path, ROOT), " && ".join(cmds), l))
                bad += 1
    return bad


def main(argv):
    docs = argv or sorted(os.path.join(ROOT, "docs/exercises", f)
                          for f in os.listdir(os.path.join(ROOT, "docs/exercises")) if f.endswith(".md"))
    bad = 0
    for d in docs:
        n = check(d)
        print("%-40s %s" % (os.path.relpath(d, ROOT), "ok" if not n else "%d expected lines not found" % n))
        bad += n
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
