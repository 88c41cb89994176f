"""Tests of `make run`'s exit status: the launcher's reading of a console (tests/host/boot) on
canned output, and real `make run SCENARIO=...` boots under Bochs (when HVLAB_BOOT_TESTS is
set, as `make test-host` does): a good scenario exits 0, an unknown one lists the scenarios the
guest knows and exits non-zero, a guest that does not exit by itself fails the run."""
import importlib.machinery
import importlib.util
import os
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
_loader = importlib.machinery.SourceFileLoader("hvlab_boot", os.path.join(HERE, "boot"))
_spec = importlib.util.spec_from_loader("hvlab_boot", _loader)
boot = importlib.util.module_from_spec(_spec)
_loader.exec_module(boot)

PASS_RUN = """hvlab: hypervisor kernel, command line "demo scenario=hello"
hvlab: the guest exited with status 0
hvlab: VMXOFF ok; powering off
# result: PASS
"""


class ConsoleStatus(unittest.TestCase):
    def test_pass_and_skip_exit_zero(self):
        self.assertEqual(boot.console_status(PASS_RUN), (0, None))
        self.assertEqual(boot.console_status(PASS_RUN.replace("PASS", "SKIP"))[0], 0)

    def test_fail_and_error_exit_nonzero(self):
        for r in ("FAIL", "ERROR"):
            status, why = boot.console_status(PASS_RUN.replace("PASS", r))
            self.assertEqual(status, 1)
            self.assertIn(r, why)

    def test_bail_out_exits_nonzero(self):
        text = PASS_RUN.split("# result")[0] + "Bail out! EXCEPTION 13 (#GP) in the hypervisor\n"
        status, why = boot.console_status(text)
        self.assertEqual(status, 1)
        self.assertIn("Bail out! EXCEPTION 13", why)
        self.assertEqual(boot.console_status(text + "# result: PASS\n")[0], 1)

    def test_no_result_line_exits_nonzero(self):
        self.assertEqual(boot.console_status(PASS_RUN.split("# result")[0])[0], 1)
        self.assertEqual(boot.console_status("")[0], 1)


def make_run(scenario):
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL"):
        env.pop(k, None)
    p = subprocess.run(["make", "--no-print-directory", "run", "SCENARIO=" + scenario, "BACKEND=bochs",
                        "CPU=corei7_skylake_x"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                       errors="replace", timeout=300)
    return p.returncode, p.stdout


@unittest.skipUnless(os.environ.get("HVLAB_BOOT_TESTS"), "set HVLAB_BOOT_TESTS=1 (make test-host does)")
class MakeRun(unittest.TestCase):
    def test_good_scenario_exits_zero(self):
        code, out = make_run("hello")
        self.assertEqual(code, 0, out)
        self.assertIn("hvlab: the guest exited with status 0", out)
        self.assertIn("# result: PASS", out)

    def test_unknown_scenario_lists_them_and_fails(self):
        code, out = make_run("bogus")
        self.assertNotEqual(code, 0, out)
        self.assertIn('[guest] unknown scenario "bogus"', out)
        self.assertIn("[guest] known scenarios: hello cpuid", out)
        self.assertIn(" regions_alias", out)  # the last one of guest/main.c's table
        self.assertIn("hvlab: the guest exited with status 2", out)
        self.assertIn("# result: FAIL", out)
        self.assertIn("boot: FAILED: the run ended with FAIL", out)

    def test_guest_that_does_not_exit_fails(self):
        code, out = make_run("triple_fault")
        self.assertNotEqual(code, 0, out)
        self.assertIn("hvlab: the guest did not exit by itself: ", out)
        self.assertIn("# result: FAIL", out)


if __name__ == "__main__":
    unittest.main()
