"""Tests of `make run`'s exit status: the launcher's reading of a console (tests/host/boot) on
canned output, and real `make run SCENARIO=...` boots under Bochs (when HVLAB_BOOT_TESTS is
set, as `make test-host` does): a good scenario exits 0, an unknown one lists the scenarios the
guest knows and exits non-zero, a guest that does not exit by itself fails the run. And GRUB's
menu: in a terminal (a pty) it shows and takes arrow keys and Enter, under Bochs and QEMU; with
no terminal its default entry boots at once."""
import importlib.machinery
import importlib.util
import os
import pty
import re
import select
import subprocess
import time
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


def clean_env():
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL"):
        env.pop(k, None)
    return env


def make_run_in_terminal(backend, keys):
    """`make run` in a pseudo-terminal: once GRUB's menu is up, type keys; (exit status, the
    terminal's text without escape sequences)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        os.execvpe("make", ["make", "--no-print-directory", "run", "BACKEND=" + backend], clean_env())
    out, typed, t0 = b"", False, time.monotonic()
    while time.monotonic() - t0 < 240:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
        if not typed and b"before booting or" in out:
            for k in keys:
                time.sleep(0.3)
                os.write(fd, k)
            typed = True
    _, st = os.waitpid(pid, 0)
    os.close(fd)
    return os.WEXITSTATUS(st), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode("utf-8", "replace"))


@unittest.skipUnless(os.environ.get("HVLAB_BOOT_TESTS"), "set HVLAB_BOOT_TESTS=1 (make test-host does)")
class Menu(unittest.TestCase):
    def check_second_entry_chosen(self, backend):
        code, text = make_run_in_terminal(backend, [b"\x1b[B", b"\n"])  # arrow down, Enter
        self.assertIn("GNU GRUB", text)
        self.assertIn("03 the VMCS and the first VM entry (scenario hello)", text)  # the menu was shown
        self.assertIn('# hvlab tests, cmdline "tests=boot"', text)  # entry 01 booted
        self.assertIn("ok 1 boot", text)
        self.assertEqual(code, 0, text[-2000:])

    def test_arrow_and_enter_under_bochs(self):
        self.check_second_entry_chosen("bochs")

    def test_arrow_and_enter_under_qemu(self):
        self.check_second_entry_chosen("qemu-tcg")

    def test_no_terminal_boots_the_default_at_once(self):
        t0 = time.monotonic()
        p = subprocess.run(["make", "--no-print-directory", "run", "BACKEND=qemu-tcg"], cwd=ROOT, env=clean_env(),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, errors="replace", timeout=300)
        self.assertIn("run: no terminal: booting the menu's default entry", p.stdout)
        self.assertIn('hvlab: hypervisor kernel, command line "demo scenario=ve"', p.stdout)
        self.assertNotIn("GNU GRUB", p.stdout)  # the menu's screen is not in a pipe's output
        self.assertNotIn("\x1b", p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertLess(time.monotonic() - t0, 60)


if __name__ == "__main__":
    unittest.main()
