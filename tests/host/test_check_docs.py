"""Tests of check_docs.py: which fenced blocks are commands, outputs or neither, and matching."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_docs  # noqa: E402

DOC = """# A handout

```
/* code, not a command */
```

Run it:

```
make run SCENARIO=hello   # comment
# a comment-only line
```

Expected, and see `build/run/x.log`:

```
hvlab: guest "hello"
```

<!-- check-docs: not run here: needs an Intel host -->
```
sudo modprobe kvm_intel nested=1
```

```
output of the skipped step
```

<!-- check-docs: output of make test-vm BACKEND= -->
```
tests: 1 passed
```

```
make grade EX=04
```
"""


class Steps(unittest.TestCase):
    def setUp(self):
        fd, self.path = tempfile.mkstemp(suffix=".md")
        with os.fdopen(fd, "w") as f:
            f.write(DOC)

    def tearDown(self):
        os.unlink(self.path)

    def test_blocks_classified(self):
        st = check_docs.steps(self.path)
        self.assertEqual([s.cmds for s in st], [["make run SCENARIO=hello"], ["sudo modprobe kvm_intel nested=1"],
                                                ["make test-vm BACKEND="], ["make grade EX=04"]])
        self.assertEqual(st[0].expected, [['hvlab: guest "hello"']])
        self.assertEqual(st[0].logs, ["build/run/x.log"])
        self.assertEqual(st[1].skip, "needs an Intel host")
        self.assertEqual(st[1].expected, [["output of the skipped step"]])
        self.assertEqual(st[2].expected, [["tests: 1 passed"]])
        self.assertIsNone(st[2].skip)
        self.assertEqual(st[3].expected, [])  # judged by its exit status


class Matching(unittest.TestCase):
    def test_ellipsis_matches_inside_a_line(self):
        have = {"# caps: vmx=1 vendor=V revision=0x2b ept=1 vpid=1"}
        joined = "\n".join(have)
        self.assertTrue(check_docs.found("# caps: vmx=1 vendor=V ...", have, joined))
        self.assertTrue(check_docs.found("# caps: ... ept=1 ...", have, joined))
        self.assertFalse(check_docs.found("# caps: vmx=0 ...", have, joined))
        self.assertFalse(check_docs.found("# caps: ... ept=1 vmfunc=1", have, joined))

    def test_what_varies_is_normalised(self):
        self.assertEqual(check_docs.norm("after 88 exits, 703526 TSC cycles: VMCALL=3"),
                         "after 88 exits, N TSC cycles: VMCALL=3")
        self.assertEqual(check_docs.norm("run: the host CPU has no VMX (an AMD CPU (svm)); Bochs"),
                         check_docs.norm("run: the host CPU has no VMX (no vmx flag in /proc/cpuinfo); Bochs"))
        self.assertNotEqual(check_docs.norm("after 88 exits"), check_docs.norm("after 89 exits"))


class Environment(unittest.TestCase):
    def test_make_variables_of_the_caller_are_not_inherited(self):
        # `make test BACKEND=qemu-tcg` runs check-docs with BACKEND=qemu-tcg in MAKEFLAGS: the
        # handouts' `make run` must still get Bochs, and their own BACKEND= must win.
        fd, mk = tempfile.mkstemp(suffix=".mk")
        with os.fdopen(fd, "w") as f:
            f.write("show:\n\t@echo backend=$(BACKEND) tests=$(TESTS)\n")
        saved = {k: os.environ.get(k) for k in ("MAKEFLAGS", "BACKEND", "MAKELEVEL")}
        os.environ.update(MAKEFLAGS=" -- BACKEND=qemu-tcg TESTS=ve", BACKEND="qemu-tcg", MAKELEVEL="1")
        try:
            tmp = os.path.dirname(mk)
            self.assertEqual(check_docs.run("make -s -f %s show" % mk, tmp), (0, "backend=bochs tests=\n"))
            self.assertEqual(check_docs.run("make -s -f %s show BACKEND=qemu-tcg" % mk, tmp),
                             (0, "backend=qemu-tcg tests=\n"))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            os.unlink(mk)


class Inline(unittest.TestCase):
    def test_targets_and_variables_must_exist(self):
        fd, path = tempfile.mkstemp(suffix=".md")
        with os.fdopen(fd, "w") as f:
            f.write("Use `make run SCENARIO=hello`, `make -C exercises/01 grade EX=01` and `make help`.\n"
                    "Not `make no-such-target` nor `make run NO_SUCH_VAR=1`.\n"
                    "| `kernel/mb2.c:mb2_parse` | `vmm/vmxon.c` | `vmm/vmxon.c:no_such_function` | `vmm/gone.c` |\n")
        try:
            self.assertEqual(check_docs.check_inline(path), 4)
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main()
