#!/usr/bin/env python3
"""Run the host-side Python tests (tests/host/test_*.py) as three processes at once.

make test-host used to run them in one process, about 95 s on one core of a 2-core machine.
The modules that run make in the source tree (make run, make debug, make gcov-unit) share the
tree's build folder, so they stay together, one after another, in one process. The runner's
tests (test_runner, about 26 s) mostly wait for boots that sleep or time out on purpose, so
they run in a process of their own beside the two that compute; every other module runs in
the third. Exit status: non-zero when any process fails. Standard library only.
"""
import concurrent.futures
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_IN_TREE = ["test_debug", "test_make_run", "test_gcov"]
MOSTLY_WAITS = ["test_runner"]


def run(mods):
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-m", "unittest"] + mods, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


def main():
    mods = sorted(os.path.basename(f)[:-3] for f in glob.glob(os.path.join(HERE, "test_*.py")))
    groups = [[m for m in mods if m in MAKE_IN_TREE], [m for m in mods if m in MOSTLY_WAITS],
              [m for m in mods if m not in MAKE_IN_TREE + MOSTLY_WAITS]]
    groups = [g for g in groups if g]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(groups)) as pool:
        results = list(pool.map(run, groups))
    status = 0
    for mods_, (rc, out) in zip(groups, results):
        print("== %s" % " ".join(mods_))
        print(out, end="")
        status |= rc != 0
    print("host Python tests: %s" % ("FAIL" if status else "ok"))
    return status


if __name__ == "__main__":
    sys.exit(main())
