"""`make fuzz CORPUS=DIR`: fuzz.py packs DIR's files into the GRUB module "corpus" (the format
vmm/mutate.c:seed_corpus reads), and, booted under Bochs (HVLAB_BOOT_TESTS, as make test-host
sets), an entry that already reaches tlv's bug crashes in the first executions, where the same
campaign without the folder finds nothing."""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import fuzz  # noqa: E402


def write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


class Pack(unittest.TestCase):
    def test_format_in_name_order_empty_files_left_out(self):
        with tempfile.TemporaryDirectory() as d:
            write(d, "b", b"HVLB")
            write(d, "a", b"\x01\x02")
            write(d, "c-empty", b"")
            os.mkdir(os.path.join(d, "sub"))  # folders are not entries
            blob, notes = fuzz.pack_corpus(d)
        self.assertEqual(blob, b"HVCORP01" + struct.pack("<Q", 2) + struct.pack("<I", 2) + b"\x01\x02" +
                         struct.pack("<I", 4) + b"HVLB")
        self.assertEqual(notes, ["c-empty is empty: not used"])

    def test_long_entry_kept_whole_with_a_note(self):
        with tempfile.TemporaryDirectory() as d:
            write(d, "long", bytes(100))
            blob, notes = fuzz.pack_corpus(d)
        self.assertEqual(len(blob), 16 + 4 + 100)  # the hypervisor uses the first 64 bytes
        self.assertEqual(notes, ["long is 100 bytes: its first 64 are used"])

    def test_no_folder_or_nothing_in_it_is_a_bad_configuration(self):
        with tempfile.TemporaryDirectory() as d:
            for folder in (os.path.join(d, "missing"), d):
                with self.assertRaises(SystemExit) as e:
                    fuzz.pack_corpus(folder)
                self.assertEqual(e.exception.code, 2)


def make_fuzz(*extra):
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL"):
        env.pop(k, None)
    return subprocess.run(["make", "--no-print-directory", "fuzz", "TARGET=tlv", "EXECS=8", "COVERAGE=none",
                           "DIRTY=wp", "SEED=3"] + list(extra), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)


@unittest.skipUnless(os.environ.get("HVLAB_BOOT_TESTS"), "set HVLAB_BOOT_TESTS=1 (make test-host does)")
class Boot(unittest.TestCase):
    def test_corpus_entry_reaching_the_bug_crashes_first(self):
        crashes = os.path.join(ROOT, "build", "fuzz", "tlv", "crashes")
        shutil.rmtree(crashes, ignore_errors=True)
        with tempfile.TemporaryDirectory() as d:
            write(d, "1-magic", b"HVLB")
            write(d, "2-overflow", b"HVLB\x03\x04AAAA")  # an odd type: the off-by-one write
            p = make_fuzz("CORPUS=" + d)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("fuzz: corpus module: 2 entries, run first", p.stdout)
        m = re.search(r"fuzz-unique: panic at rip=0x([0-9a-f]+): \d+ times, first at execution (\d+)", p.stdout)
        self.assertTrue(m, p.stdout)
        self.assertEqual(m.group(2), "2", p.stdout)
        self.assertTrue(os.path.exists(os.path.join(crashes, "panic-%s.bin" % m.group(1))), p.stdout)

    def test_without_the_corpus_the_same_campaign_finds_nothing(self):
        p = make_fuzz()
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("corpus module", p.stdout)
        self.assertIn("crashes=0 unique=0", p.stdout)


if __name__ == "__main__":
    unittest.main()
