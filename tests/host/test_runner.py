"""Tests of the host runner (run.py) on canned serial output, and on a real boot of the
KTAP library's self-test suite, which fails on purpose. Run by `make test`."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402

GOOD = """\
noise before the document is ignored
KTAP version 1
# caps: vmx=1 ept=1
1..2
  KTAP version 1
  # Subtest: alpha
  1..2
  ok 1 one
  ok 2 two # SKIP not on this CPU
ok 1 alpha
ok 2 beta # SKIP no VMX
# Totals: pass:1 fail:0 skip:2 error:0 total:3
# result: PASS
"""


def runner(cmd, *extra):
    """Run run.py with the 'cmd' backend; return (exit status, stdout)."""
    out = tempfile.mkdtemp(prefix="hvlab-runner-test.")
    p = subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--backend", "cmd",
                        "--cmd", cmd, "--out", out] + list(extra),
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout


class ParseTests(unittest.TestCase):
    def test_good_document(self):
        rep = run.parse_ktap(GOOD)
        self.assertEqual(rep.errors, [])
        self.assertEqual(rep.counts, {"pass": 1, "fail": 0, "skip": 2, "error": 0})
        self.assertEqual(rep.caps, {"vmx": "1", "ept": "1"})
        self.assertEqual(run.verdict(rep), ("PASS", ""))

    def test_missing_result_line_is_crash(self):
        rep = run.parse_ktap(GOOD.replace("# result: PASS\n", ""))
        self.assertEqual(run.verdict(rep)[0], "CRASH")

    def test_no_output_is_crash(self):
        self.assertEqual(run.verdict(run.parse_ktap(""))[0], "CRASH")

    def test_plan_mismatch_is_error(self):
        rep = run.parse_ktap(GOOD.replace("  1..2", "  1..3"))
        self.assertEqual(run.verdict(rep)[0], "ERROR")
        rep = run.parse_ktap(GOOD.replace("\n1..2", "\n1..5"))
        self.assertEqual(run.verdict(rep)[0], "ERROR")

    def test_bad_numbering_is_error(self):
        rep = run.parse_ktap(GOOD.replace("ok 2 two", "ok 3 two"))
        self.assertEqual(run.verdict(rep)[0], "ERROR")

    def test_not_ok_fails(self):
        doc = GOOD.replace("  ok 1 one", "  not ok 1 one").replace("ok 1 alpha", "not ok 1 alpha")
        rep = run.parse_ktap(doc.replace("# result: PASS", "# result: FAIL"))
        self.assertEqual(rep.counts["fail"], 1)
        self.assertEqual(run.verdict(rep)[0], "FAIL")

    def test_result_line_must_agree(self):
        doc = GOOD.replace("  ok 1 one", "  not ok 1 one").replace("ok 1 alpha", "not ok 1 alpha")
        self.assertEqual(run.verdict(run.parse_ktap(doc))[0], "ERROR")

    def test_error_directive(self):
        doc = GOOD.replace("  ok 1 one", "  not ok 1 one # ERROR no checks")
        rep = run.parse_ktap(doc.replace("ok 1 alpha", "not ok 1 alpha").replace("PASS", "ERROR"))
        self.assertEqual(rep.counts["error"], 1)
        self.assertEqual(run.verdict(rep)[0], "ERROR")

    def test_output_after_result_is_error(self):
        self.assertEqual(run.verdict(run.parse_ktap(GOOD + "ok 3 late\n"))[0], "ERROR")

    def test_all_skipped(self):
        doc = "KTAP version 1\n1..1\nok 1 vmxon # SKIP no VMX\n# result: SKIP\n"
        self.assertEqual(run.verdict(run.parse_ktap(doc)), ("SKIP", ""))

    def test_qemu_exit_status_must_agree(self):
        rep = run.parse_ktap(GOOD)
        self.assertEqual(run.verdict(rep, exit_code=33)[0], "PASS")
        self.assertEqual(run.verdict(rep, exit_code=35)[0], "ERROR")

    def test_caps_expectation(self):
        rep = run.parse_ktap(GOOD)
        self.assertEqual(run.verdict(rep, expect_caps={"vmx": "1"})[0], "PASS")
        self.assertEqual(run.verdict(rep, expect_caps={"vmfunc": "1"})[0], "FAIL")

    def test_timeout_wins(self):
        self.assertEqual(run.verdict(run.parse_ktap(GOOD), timed_out=True)[0], "TIMEOUT")


class RunnerExitTests(unittest.TestCase):
    """The runner's exit status, end to end, through the same code path as a real boot."""

    def write(self, text):
        f = tempfile.NamedTemporaryFile("w", suffix=".ktap", delete=False)
        f.write(text)
        f.close()
        return 'cat %s > "$SERIAL"' % f.name

    def test_pass_exits_zero(self):
        code, out = runner(self.write(GOOD))
        self.assertEqual(code, 0, out)
        self.assertIn("tests: 1 passed, 0 failed, 2 skipped", out)

    def test_fail_exits_nonzero(self):
        doc = GOOD.replace("  ok 1 one", "  not ok 1 one").replace("ok 1 alpha", "not ok 1 alpha")
        code, out = runner(self.write(doc.replace("# result: PASS", "# result: FAIL")))
        self.assertNotEqual(code, 0)
        self.assertIn(" FAIL ", out)

    def test_crash_exits_nonzero(self):
        code, out = runner(self.write(GOOD.replace("# result: PASS\n", "")))
        self.assertNotEqual(code, 0)
        self.assertIn("CRASH", out)

    def test_hang_is_timeout(self):
        code, out = runner("sleep 30", "--timeout", "1")
        self.assertNotEqual(code, 0)
        self.assertIn("TIMEOUT", out)

    def test_result_then_hang_is_not_timeout(self):
        # Bochs idles after a kernel ends with cli;hlt: the runner stops it once the result is out.
        code, out = runner(self.write(GOOD) + "; sleep 30", "--timeout", "20")
        self.assertEqual(code, 0, out)


@unittest.skipUnless(os.environ.get("HVLAB_SELFTEST_ISO"), "set HVLAB_SELFTEST_ISO (make test-host does)")
class InVmSelftest(unittest.TestCase):
    """Boot the selftest_ktap suite under Bochs: its failing case must fail the run."""

    def test_failing_case_fails_the_run(self):
        out = tempfile.mkdtemp(prefix="hvlab-selftest.")
        p = subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--backend", "bochs",
                            "--cpu", "corei7_skylake_x", "--iso", os.environ["HVLAB_SELFTEST_ISO"],
                            "--out", out, "--timeout", "120"], capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn(" FAIL ", p.stdout)
        with open(os.path.join(out, "logs", "bochs-corei7_skylake_x.log")) as f:
            log = f.read()
        self.assertIn("  ok 1 passes", log)
        self.assertIn("  not ok 2 fails", log)
        self.assertIn("  ok 3 skips # SKIP skipped on purpose", log)
        self.assertIn("  not ok 4 checks_nothing # ERROR the case made no check", log)
        self.assertIn("  not ok 5 assert_stops_case", log)
        self.assertIn("# result: FAIL", log)
        self.assertIn("\nok 1 boot\n", log)
        self.assertIn("\nnot ok 2 selftest_ktap\n", log)
        # boot's own cases all pass (their number changes as boot grows); selftest_ktap's do not
        self.assertRegex(log, r"# Totals: pass:\d+ fail:2 skip:1 error:1 total:\d+")


if __name__ == "__main__":
    unittest.main()
