"""A student's tree is never lost: in a scratch copy of this tree, `make exercise EX=04` writes
exercises/04, the "student" changes a file and adds one, and then everything `make test` does
that could reach it (check-exercises, check-docs running a handout's `make exercise` and
`make -C exercises/04 grade`), `make clean` and a second `make exercise EX=04` run; the student
tree must stay byte for byte what it was (its own build/ aside), and still grade. Real builds
and Bochs boots: only when HVLAB_BOOT_TESTS is set (make test-host sets it)."""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import grade  # noqa: E402

HANDOUT = """# A handout quoting the student-tree commands

```
make exercise EX=04
make -C exercises/04 grade EX=04
```
"""


def snapshot(tree):
    """{relative path: sha256} of every file under tree, its build/ folder aside."""
    out = {}
    for d, dirs, files in os.walk(tree):
        if d == tree and "build" in dirs:
            dirs.remove("build")
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, tree)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def sh(cmd, cwd):
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL"):
        env.pop(k, None)
    r = subprocess.run(cmd, shell=True, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True, errors="replace", timeout=900)
    return r.returncode, r.stdout


@unittest.skipUnless(os.environ.get("HVLAB_BOOT_TESTS"), "set HVLAB_BOOT_TESTS=1 (make test-host does)")
class StudentTreeKept(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hvlab-student-")
        self.root = os.path.join(self.tmp, "hvlab")
        grade.copy_tree(self.root)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_make_test_clean_and_exercise_leave_it_intact(self):
        root, student = self.root, os.path.join(self.root, "exercises", "04")
        code, out = sh("make exercise EX=04", root)
        self.assertEqual(code, 0, out)
        with open(os.path.join(student, "vmm", "exit.c"), "a") as f:
            f.write("/* the student's work */\n")
        with open(os.path.join(student, "notes.txt"), "w") as f:
            f.write("my notes\n")
        before = snapshot(student)
        self.assertIn("notes.txt", before)

        code, out = sh("python3 tests/host/grade.py --check 04", root)  # make check-exercises
        self.assertEqual(code, 0, out)
        self.assertEqual(snapshot(student), before, "check-exercises changed the student tree")

        doc = os.path.join(self.tmp, "handout.md")
        with open(doc, "w") as f:
            f.write(HANDOUT)
        code, out = sh("python3 tests/host/check_docs.py %s" % doc, root)  # make check-docs
        self.assertEqual(code, 0, out)
        self.assertEqual(snapshot(student), before, "check-docs changed the student tree")

        code, out = sh("make clean", root)
        self.assertEqual(code, 0, out)
        self.assertFalse(os.path.exists(os.path.join(root, "build")))
        self.assertEqual(snapshot(student), before, "make clean changed the student tree")

        code, out = sh("make exercise EX=04", root)
        self.assertNotEqual(code, 0, out)
        self.assertIn("exercises/04 already exists", out)
        self.assertIn("to start over, move it away first: mv exercises/04 exercises/04.old && make exercise EX=04",
                      out)
        self.assertEqual(snapshot(student), before, "a second make exercise changed the student tree")

        code, out = sh("make -C exercises/04 grade EX=04", root)  # and it still grades, as before
        self.assertEqual(code, 0, out)
        self.assertIn("Score: 2/3", out)
        self.assertEqual(snapshot(student), before, "grading changed the student's sources")


if __name__ == "__main__":
    unittest.main()
