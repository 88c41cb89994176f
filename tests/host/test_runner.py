"""Tests of the host runner (run.py) on canned serial output, and on a real boot of the
KTAP library's self-test suite, which fails on purpose. Run by `make test`."""
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hvboot  # noqa: E402
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


# The runner's tests boot nothing: they take slots of their own, never the machine's.
SLOTS = tempfile.mkdtemp(prefix="hvlab-runner-slots.")


def tearDownModule():
    shutil.rmtree(SLOTS, ignore_errors=True)


def runner(cmd, *extra, slots=None):
    """Run run.py with the 'cmd' backend; return (exit status, stdout)."""
    out = tempfile.mkdtemp(prefix="hvlab-runner-test.")
    env = dict(os.environ, HVLAB_BOOT_SLOT_DIR=SLOTS)
    if slots is not None:
        env["HVLAB_BOOT_SLOTS"] = str(slots)
    p = subprocess.run([sys.executable, os.path.join(HERE, "run.py"), "--backend", "cmd",
                        "--cmd", cmd, "--out", out] + list(extra),
                       capture_output=True, text=True, timeout=120, env=env)
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
        self.assertEqual(run.verdict(run.parse_ktap(doc)), ("SKIP", "no VMX"))

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

    def test_bail_out_is_crash_with_its_text(self):
        # An unexpected hypervisor exception or a panic: 'Bail out!' and no result line.
        cut = GOOD.split("ok 1 alpha")[0]
        rep = run.parse_ktap(cut + "Bail out! EXCEPTION 13 (#GP) at RIP ffffffff80101234 in ept_leaf\n")
        self.assertEqual(run.verdict(rep), ("CRASH", "Bail out! EXCEPTION 13 (#GP) at RIP ffffffff80101234 in ept_leaf"))
        # Even a result line after it does not make the run good, nor does a timeout hide it.
        rep = run.parse_ktap(cut + "Bail out! panic: out of memory\n# result: ERROR\n")
        self.assertEqual(run.verdict(rep, timed_out=True), ("CRASH", "Bail out! panic: out of memory"))

    def test_hypervisor_exception_dump_is_crash(self):
        cut = GOOD.split("ok 1 alpha")[0]
        dump = ("# EXCEPTION 13 (#GP general protection) error_code=0x0\n"
                "# RIP=0000000000103050 CS=0008 RFLAGS=0000000000010046\n# result: ERROR\n")
        self.assertEqual(run.verdict(run.parse_ktap(cut + dump)),
                         ("CRASH", "the hypervisor stopped: EXCEPTION 13 (#GP general protection) "
                                   "error_code=0x0, RIP=0000000000103050"))
        rep = run.parse_ktap(cut + "# PANIC: out of pages\n# result: ERROR\n")
        self.assertEqual(run.verdict(rep), ("CRASH", "the hypervisor stopped: PANIC: out of pages"))
        # A guest's exception is a diagnostic inside a case, not the hypervisor's.
        rep = run.parse_ktap(GOOD.replace("  ok 1 one", "    # guest: EXCEPTION 14\n    # PANIC: no\n  ok 1 one"))
        self.assertEqual(run.verdict(rep)[0], "PASS")

    # A kernel on a CPU without long mode: no suites, a plan that skips them all.
    NO_LONG_MODE = ("KTAP version 1\n# hvlab: this CPU has no long mode (CPUID.80000001h:EDX.LM=0)\n"
                    "1..0 # SKIP this CPU has no long mode\n# result: SKIP\n")

    def test_no_long_mode_is_skip_with_reason(self):
        rep = run.parse_ktap(self.NO_LONG_MODE)
        self.assertEqual(rep.errors, [])
        self.assertEqual(run.verdict(rep), ("SKIP", "this CPU has no long mode"))
        self.assertEqual(run.verdict(rep, exit_code=37), ("SKIP", "this CPU has no long mode"))
        self.assertEqual(run.verdict(rep, exit_code=33)[0], "ERROR")

    def test_empty_plan_needs_a_skip_reason(self):
        for doc in (self.NO_LONG_MODE.replace(" # SKIP this CPU has no long mode", ""),
                    self.NO_LONG_MODE.replace("# result: SKIP", "# result: PASS")):
            self.assertEqual(run.verdict(run.parse_ktap(doc))[0], "ERROR", doc)

    def test_error_gives_its_reason(self):
        doc = GOOD.replace("  ok 1 one", "  not ok 1 one # ERROR cannot create a VM")
        doc = doc.replace("ok 1 alpha", "not ok 1 alpha").replace("PASS", "ERROR")
        self.assertEqual(run.verdict(run.parse_ktap(doc)), ("ERROR", "cannot create a VM"))
        doc = ('KTAP version 1\n# caps: vmx=1\n# vmx_mask: unknown capability "x"; known: ve\n'
               "1..0\n# result: ERROR\n")
        self.assertEqual(run.verdict(run.parse_ktap(doc)), ("ERROR", 'vmx_mask: unknown capability "x"; known: ve'))

    def test_command_line_words_must_be_there(self):
        doc = GOOD.replace("# caps:", '# hvlab tests, cmdline "tests=all vmx_mask=ve"\n# caps:')
        self.assertEqual(run.verdict(run.parse_ktap(doc), cmdline="vmx_mask=ve")[0], "PASS")
        self.assertEqual(run.verdict(run.parse_ktap(doc.replace(" vmx_mask=ve", "")), cmdline="vmx_mask=ve")[0],
                         "ERROR")

    def test_profile_caps(self):
        row = run.Row("bochs", "tigerlake-nkvm")
        self.assertEqual((row.name, row.cmdline), ("bochs-tigerlake-nkvm", "vmx_mask=ve"))
        self.assertEqual(row.expect_caps["ept_violation_ve"], "0")
        self.assertEqual(row.expect_caps["vmx_mask"], "ve")
        self.assertIsNone(run.Row("bochs", "tigerlake").expect_caps["vmx_mask"])
        self.assertEqual(run.Row("bochs", "corei7_skylake_x", 32).name, "bochs-corei7_skylake_x-32M")
        self.assertEqual(run.Row("qemu-tcg", None, 8192).name, "qemu-tcg-8G")
        rep = run.parse_ktap(GOOD.replace("ept=1", "ept=1 vmx_mask=ve"))
        self.assertEqual(run.verdict(rep, expect_caps={"vmx_mask": None})[0], "FAIL")


class Matrix(unittest.TestCase):
    def test_bochs_cpu_list_parsed(self):
        text = ("00000000000i[      ] LTDL_LIBRARY_PATH not set.\nSupported CPU models:\n\nbx_generic\n"
                "pentium\ncorei7_skylake_x\ntigerlake\n\n00000000000i[SIM   ] quit_sim called\n")
        self.assertEqual(run.hvboot.parse_cpu_help(text), ["bx_generic", "pentium", "corei7_skylake_x", "tigerlake"])

    def test_variant_iso(self):
        self.assertEqual(run.hvboot.variant_iso("build/hvlab-test.iso", "tigerlake-nkvm"), "build/hvlab-test-nkvm.iso")
        self.assertEqual(run.hvboot.variant_iso("build/hvlab-test.iso", "tigerlake"), "build/hvlab-test.iso")
        self.assertEqual(run.hvboot.variant_iso("build/hvlab-test.iso", "tigerlake-x4"), "build/hvlab-test-smp.iso")
        self.assertEqual(run.hvboot.variant_iso("build/hvlab-test.iso", "tigerlake-x4", False), "build/hvlab-test.iso")

    def test_cpu_count_suffix(self):
        self.assertEqual(run.hvboot.split_count("tigerlake-x4"), ("tigerlake", 4))
        self.assertEqual(run.hvboot.split_count("tigerlake-nkvm"), ("tigerlake-nkvm", 1))
        self.assertEqual(run.hvboot.bochs_model("tigerlake-nkvm-x2"), "tigerlake")
        argv, _ = run.hvboot.bochs_command("x.iso", self.tmp, "serial", "tigerlake-x2")
        with open(argv[argv.index("-f") + 1]) as f:
            self.assertIn("cpu: model=tigerlake, count=2,", f.read())
        argv, _ = run.hvboot.bochs_command("x.iso", self.tmp, "serial", "tigerlake")
        with open(argv[argv.index("-f") + 1]) as f:
            self.assertNotIn("count=", f.read())

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_default_matrix(self):
        args = run.argparse.Namespace(backend="bochs", cpu=None, megs=None, cmd=None)
        self.assertEqual([r.name for r in run.plan_boots(args)],
                         ["bochs-corei7_skylake_x", "bochs-corei7_skylake_x-fuzz", "bochs-tigerlake",
                          "bochs-corei7_ivy_bridge_3770k", "bochs-tigerlake-nkvm", "bochs-core2_penryn_t9600",
                          "bochs-corei7_skylake_x-x2", "bochs-tigerlake-x2"])
        args = run.argparse.Namespace(backend="bochs", cpu=None, megs=None, cmd=None, tests="boot")
        self.assertEqual([r.name for r in run.plan_boots(args)],
                         ["bochs-corei7_skylake_x", "bochs-tigerlake", "bochs-corei7_ivy_bridge_3770k",
                          "bochs-tigerlake-nkvm", "bochs-core2_penryn_t9600"])
        args.tests = "boot,fuzz,smp"  # each variant row has work again
        self.assertEqual(len(run.plan_boots(args)), 8)
        args = run.argparse.Namespace(backend="bochs", cpu=["corei7_skylake_x"], megs=[32, 48], cmd=None)
        self.assertEqual([r.megs for r in run.plan_boots(args)], [32, 48])


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

    def test_bail_out_then_hang_is_crash(self):
        t0 = time.monotonic()
        code, out = runner(self.write(GOOD.split("ok 1 alpha")[0] + "Bail out! PANIC: on purpose\n") + "; sleep 30",
                           "--timeout", "20")
        self.assertNotEqual(code, 0)
        self.assertIn("CRASH", out)
        self.assertIn("(Bail out! PANIC: on purpose)", out)
        self.assertLess(time.monotonic() - t0, 15)

    def test_no_long_mode_skip_exits_zero(self):
        code, out = runner(self.write(ParseTests.NO_LONG_MODE))
        self.assertEqual(code, 0, out)
        self.assertIn("SKIP", out)
        self.assertIn("(this CPU has no long mode)", out)

    def test_two_at_a_time_in_matrix_order(self):
        # The first boot is slow: with --jobs 2 both run at once, and the first still prints first.
        t0 = time.monotonic()
        slow = "sleep 3; " + self.write(GOOD)
        code, out = runner(slow, "--cmd", self.write(GOOD.replace("PASS", "FAIL")), "--jobs", "2")
        took = time.monotonic() - t0
        lines = [l.split()[0] for l in out.split("\n") if l.startswith("cmd")]
        self.assertEqual(lines, ["cmd", "cmd-2"], out)
        self.assertLess(took, 5.5)
        self.assertNotEqual(code, 0)  # cmd-2's result line disagrees with its results: ERROR
        code, out = runner(slow, "--cmd", self.write(GOOD), "--jobs", "1")
        self.assertEqual(code, 0, out)
        self.assertGreater(time.monotonic() - t0 - took, 3)

    def test_boot_slots_are_shared_by_runners(self):
        # Two runners at once, one boot each: with one slot on the machine the boots take turns
        # (and neither's time counts the wait); with two they overlap.
        for slots, overlap in ((1, False), (2, True)):
            spans = os.path.join(SLOTS, "spans-%d" % slots)
            boot = "echo $(date +%%s.%%N) >>%s; sleep 1.5; echo $(date +%%s.%%N) >>%s; %s" % (
                spans, spans, self.write(GOOD))
            env = dict(os.environ, HVLAB_BOOT_SLOT_DIR=SLOTS, HVLAB_BOOT_SLOTS=str(slots))
            procs = [subprocess.Popen([sys.executable, os.path.join(HERE, "run.py"), "--backend", "cmd", "--cmd",
                                       boot, "--out", tempfile.mkdtemp(prefix="hvlab-runner-test.")],
                                      stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
            outs = [p.communicate(timeout=60)[0] for p in procs]
            self.assertEqual([p.returncode for p in procs], [0, 0], outs)
            t = sorted(float(x) for x in open(spans).read().split())
            # sorted stamps: start start end end when they overlap, start end start end when not
            self.assertEqual(t[1] < t[2] - 0.5, overlap, (slots, t))
            for out in outs:
                secs = float(re.search(r"errors +([\d.]+) s", out).group(1))
                self.assertLess(secs, 2.5, out)  # the wait for a slot is not the boot's time

    def test_slot_of_a_killed_holder_is_free(self):
        env = dict(os.environ, HVLAB_BOOT_SLOT_DIR=SLOTS, HVLAB_BOOT_SLOTS="1")
        holder = subprocess.Popen([sys.executable, "-c", "import sys, time; sys.path.insert(0, %r); import hvboot\n"
                                   "with hvboot.boot_slot() as i:\n print(i, flush=True); time.sleep(60)" % HERE],
                                  stdout=subprocess.PIPE, text=True, env=env)
        self.assertEqual(holder.stdout.readline().strip(), "0")
        fd = os.open(os.path.join(SLOTS, "0"), os.O_RDWR)
        with self.assertRaises(OSError):  # held
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
        with mock.patch.dict(os.environ, HVLAB_BOOT_SLOT_DIR=SLOTS, HVLAB_BOOT_SLOTS="1"):
            holder.kill()
            holder.wait()
            t0 = time.monotonic()
            with hvboot.boot_slot() as i:
                self.assertEqual(i, 0)
            self.assertLess(time.monotonic() - t0, 2)

    def test_accept(self):
        err = GOOD.replace("  ok 1 one", "  not ok 1 one # ERROR no RAM").replace("ok 1 alpha", "not ok 1 alpha")
        err = err.replace("PASS", "ERROR")
        code, out = runner(self.write(err))
        self.assertNotEqual(code, 0, out)
        code, out = runner(self.write(err), "--accept", "PASS,SKIP,ERROR")
        self.assertEqual(code, 0, out)
        self.assertIn("(no RAM)", out)
        code, out = runner(self.write(GOOD.replace("# result: PASS\n", "")), "--accept", "PASS,SKIP,ERROR")
        self.assertNotEqual(code, 0, out)  # a CRASH is never accepted by test-edges


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
