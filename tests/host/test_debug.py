"""`make debug`, driven as a user would (HVLAB_BOOT_TESTS, as make test-host sets): under Bochs
the debugger has both symbol tables, so a breakpoint on the exit dispatcher by name stops in the
hypervisor and one on a guest function stops in the guest (linked at 2 MiB, apart), and setting
vmcs_dump_all prints the VMCS by field name at the next exits; under QEMU TCG gdb stops in kmain
at its source line, and `make debug` ends with status 0 when the machine has run to its end."""
import os
import subprocess
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def clean_env():
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL"):
        env.pop(k, None)
    return env


def listening(port):
    """Is a TCP socket listening on port (without connecting to it: QEMU's stub takes one client)?"""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                for line in f.read().split("\n")[1:]:
                    cols = line.split()
                    if len(cols) > 3 and cols[3] == "0A" and cols[1].endswith(":%04X" % port):
                        return True
        except OSError:
            pass
    return False


def symbol(elf, name):
    nm = subprocess.run(["nm", os.path.join(ROOT, elf)], capture_output=True, text=True).stdout
    return next(int(l.split()[0], 16) for l in nm.splitlines() if l.endswith(" " + name))


@unittest.skipUnless(os.environ.get("HVLAB_BOOT_TESTS"), "set HVLAB_BOOT_TESTS=1 (make test-host does)")
class Debug(unittest.TestCase):
    def test_bochs_breaks_by_name_in_hypervisor_and_guest(self):
        subprocess.run(["make", "--no-print-directory", "build/hvlab.iso"], cwd=ROOT, env=clean_env(),
                       stdout=subprocess.DEVNULL, check=True)
        dump = symbol("build/hvlab.elf", "vmcs_dump_all")
        cmds = ['lb "scen_ve"', "c", "sreg", "setpmem 0x%x 1 1" % dump, 'lb "exit_handle"', "c", "r", "q"]
        p = subprocess.run(["make", "--no-print-directory", "debug", "BACKEND=bochs"], cwd=ROOT, env=clean_env(),
                           input="\n".join(cmds) + "\n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, errors="replace", timeout=300)
        out = p.stdout
        self.assertEqual(p.returncode, 0, out[-3000:])
        self.assertIn("(scen_ve+0)", out)  # the guest's symbol, at the guest's own address
        self.assertIn("0008:%016x (scen_ve+0)" % symbol("build/guest.elf", "scen_ve"), out)
        self.assertIn("(exit_handle+0)", out)  # the hypervisor's dispatcher, by name
        self.assertRegex(out, r"rsi: 00000000_000000[0-9a-f]{2}")  # the exit reason
        with open(os.path.join(ROOT, "build/debug/serial.log"), errors="replace") as f:
            serial = f.read()
        self.assertRegex(serial, r"# vmcs: VM exit \d+ \(\w+\)")
        self.assertIn("GUEST_RIP=0x2", serial)  # the guest runs at 2 MiB and up

    def test_qemu_gdb_source_level_and_a_clean_end(self):
        gdbinit = os.path.join(ROOT, "build", "gdbinit")
        if os.path.exists(gdbinit):
            os.unlink(gdbinit)
        proc = subprocess.Popen(["make", "--no-print-directory", "debug", "BACKEND=qemu-tcg"], cwd=ROOT,
                                env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, universal_newlines=True, errors="replace")
        try:
            t0 = time.monotonic()
            while time.monotonic() - t0 < 120 and not listening(1234):  # QEMU's gdb stub is up
                time.sleep(0.5)
            self.assertTrue(os.path.exists(gdbinit))
            g = subprocess.run(["gdb", "-batch", "-x", gdbinit, "-ex", "next", "-ex", "bt"], cwd=ROOT,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, errors="replace", timeout=120)
            self.assertRegex(g.stdout, r"Breakpoint 1, kmain \(.*\) at kernel/main\.c:\d+")
            self.assertRegex(g.stdout, r"#0  kmain .* at kernel/main\.c:\d+")
            out, _ = proc.communicate(timeout=120)  # gdb detached: the machine runs on and powers off
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn("debug: QEMU exited with status 37 (SKIP)", out)


if __name__ == "__main__":
    unittest.main()
