"""Tests of the coverage dump's host side (gcovdump.py) on the stream the hypervisor's own encoder
writes (kernel/gcov_data.c, run on the host by tests/gcov/encode.c, whose .gcda is byte for byte
libgcov's: make gcov-unit) and on damaged copies of it: a bad checksum, a stream cut short at
every byte, a missing object, a boot that never made its final dump, an object without a .gcno
and a .gcno without counters are each an error naming the file or a loss said out loud. gcov
reads the .gcda written from the stream: the function called 3 times has 3, the one never called
0. No boot: the in-VM side is checked by `make coverage` (selftest_gcov)."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import gcovdump  # noqa: E402

UNIT = os.path.join(ROOT, "build", "unit", "gcov")


def frame(kind, name, data):
    """One frame as kernel/gcov_data.c writes it (gcov.h)."""
    body = kind.encode() + struct.pack("<I", len(name)) + name.encode() + struct.pack("<I", len(data)) + data
    return b"HVGC" + body + struct.pack("<I", zlib.crc32(body))


def dump(num, why, objects, final=False, count=None):
    """A whole dump: BEGIN, the objects ({path: gcda}), END (count: what END claims)."""
    head = struct.pack("<6I", num, final, len(objects), 0, 0, 0)
    out = frame("B", why, head) + b"".join(frame("O", p, g) for p, g in objects.items())
    return out + frame("E", why, struct.pack("<2I", num, len(objects) if count is None else count))


def setUpModule():
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL"):
        env.pop(k, None)
    subprocess.run(["make", "--no-print-directory", "-s", "gcov-unit"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


class Stream(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(UNIT, "stream.bin"), "rb") as f:
            self.stream = f.read()
        with open(os.path.join(UNIT, "subject.gcda"), "rb") as f:
            self.libgcov = f.read()
        self.path = os.path.join(UNIT, "subject.gcda")

    def test_whole_stream(self):
        d = gcovdump.parse(self.stream, "boot")
        self.assertEqual(d.final, "exit 0x10")
        self.assertIsNone(d.lost)
        self.assertEqual(list(d.objects), [self.path])
        self.assertEqual(d.objects[self.path], ("O", self.libgcov))  # the encoder's .gcda is libgcov's

    def test_bad_checksum_names_the_object(self):
        at = self.stream.index(self.path.encode()) + len(self.path) + 4 + 20  # inside its .gcda
        bad = self.stream[:at] + bytes([self.stream[at] ^ 1]) + self.stream[at + 1:]
        with self.assertRaisesRegex(gcovdump.DumpError, "bad checksum in the frame of %s" % self.path):
            gcovdump.parse(bad, "boot")

    def test_short_stream_at_every_byte(self):
        data_start = self.stream.index(self.path.encode()) + len(self.path) + 4
        for n in range(1, len(self.stream)):
            with self.assertRaises(gcovdump.DumpError, msg="cut at %d" % n) as e:
                gcovdump.parse(self.stream[:n], "boot")
            if data_start < n < data_start + len(self.libgcov):
                self.assertIn("cut short in %s" % self.path, str(e.exception))

    def test_missing_object(self):
        objs = {"/b/obj/a.c.gcda": self.libgcov, "/b/obj/b.c.gcda": self.libgcov}
        whole = dump(0, "exit 0x10", objs, final=True)
        self.assertEqual(len(gcovdump.parse(whole).objects), 2)
        short = dump(0, "exit 0x10", {"/b/obj/a.c.gcda": self.libgcov}, final=True, count=2)
        with self.assertRaisesRegex(gcovdump.DumpError, "has 1 object frames but its end counts 2"):
            gcovdump.parse(short)

    def test_crashed_boot_says_what_is_lost(self):
        first = dump(0, "suite boot", {self.path: self.libgcov})
        d = gcovdump.parse(first)
        self.assertIn("since the end of the last dump (suite boot) are lost", d.lost)
        self.assertIn("no counters at all", gcovdump.parse(b"").lost)
        self.assertIsNone(gcovdump.parse(first + dump(1, "exit 0x13", {}, final=True)).lost)

    def test_last_frame_of_an_object_wins(self):
        older = self.libgcov[:-4] + b"\0\0\0\0"
        d = gcovdump.parse(dump(0, "suite a", {self.path: older}) + dump(1, "exit 0x10", {self.path: self.libgcov}, True))
        self.assertEqual(d.objects[self.path][1], self.libgcov)
        self.assertEqual([x[0] for x in d.dumps], ["suite a", "exit 0x10"])

    def test_not_a_gcda(self):
        with self.assertRaisesRegex(gcovdump.DumpError, "the data of /b/x.c.gcda is not a whole .gcda"):
            gcovdump.parse(dump(0, "exit 0x10", {"/b/x.c.gcda": b"gcda" * 4}, final=True))


class Files(unittest.TestCase):
    """.gcda files beside the .gcno files of a build folder."""

    def setUp(self):
        self.build = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.build, "obj", "t"))
        shutil.copy(os.path.join(UNIT, "subject.gcno"), os.path.join(self.build, "obj", "t", "subject.gcno"))
        with open(os.path.join(UNIT, "subject.gcda"), "rb") as f:
            self.gcda = f.read()
        self.path = os.path.join(self.build, "obj", "t", "subject.gcda")

    def tearDown(self):
        shutil.rmtree(self.build)

    def test_written_beside_the_gcno_and_gcov_reads_the_counts(self):
        d = gcovdump.parse(dump(0, "exit 0x10", {self.path: self.gcda}, final=True))
        self.assertEqual(gcovdump.write_gcda(d, self.build), [self.path])
        r = subprocess.run(["gcov", "--branch-probabilities", "--stdout", self.path], cwd=self.build,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        self.assertIn("function subject_counted called 3 returned", r.stdout)
        self.assertIn("function subject_never called 0 returned", r.stdout)

    def test_two_boots_added(self):
        """make coverage captures the interactive runs as one test (coverage.py --together): the
        counters of two boots are added; gcov reads 6 calls, and still 0 for the one never made;
        a .gcda of another shape is refused, naming the object."""
        d = gcovdump.parse(dump(0, "exit 0x10", {self.path: self.gcda}, final=True))
        c = gcovdump.combine([("one", d), ("two", d)], "runs")
        gcovdump.write_gcda(c, self.build)
        r = subprocess.run(["gcov", "--branch-probabilities", "--stdout", self.path], cwd=self.build,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        self.assertIn("function subject_counted called 6 returned", r.stdout)
        self.assertIn("function subject_never called 0 returned", r.stdout)
        cut = self.gcda[:-12] + b"\0\0\0\0"
        bad = gcovdump.parse(dump(0, "exit 0x10", {self.path: cut}, final=True))
        with self.assertRaisesRegex(gcovdump.DumpError, "runs: .*subject.gcda"):
            gcovdump.combine([("one", d), ("two", bad)], "runs")
        lost = gcovdump.parse(dump(0, "suite x", {self.path: self.gcda}))
        with self.assertRaisesRegex(gcovdump.DumpError, "runs: two: the boot crashed or hung"):
            gcovdump.combine([("one", d), ("two", lost)], "runs")

    def test_object_without_gcno(self):
        other = os.path.join(self.build, "obj", "t", "other.gcda")
        d = gcovdump.parse(dump(0, "exit 0x10", {self.path: self.gcda, other: self.gcda}, final=True))
        with self.assertRaisesRegex(gcovdump.DumpError, "no %s for the counters of %s" % (other[:-5] + ".gcno", other)):
            gcovdump.write_gcda(d, self.build)

    def test_gcno_without_counters(self):
        shutil.copy(os.path.join(UNIT, "subject.gcno"), os.path.join(self.build, "obj", "t", "lonely.gcno"))
        d = gcovdump.parse(dump(0, "exit 0x10", {self.path: self.gcda}, final=True))
        with self.assertRaisesRegex(gcovdump.DumpError, "no counters for 1 objects, first .*lonely.gcda"):
            gcovdump.write_gcda(d, self.build)

    def test_counters_of_another_build(self):
        other = self.gcda[:8] + bytes([self.gcda[8] ^ 1]) + self.gcda[9:]  # another stamp
        d = gcovdump.parse(dump(0, "exit 0x10", {self.path: other}, final=True))
        with self.assertRaisesRegex(gcovdump.DumpError, "counters of %s are from another build" % self.path):
            gcovdump.write_gcda(d, self.build)

    def test_object_outside_the_build(self):
        d = gcovdump.parse(dump(0, "exit 0x10", {"/elsewhere/x.c.gcda": self.gcda}, final=True))
        with self.assertRaisesRegex(gcovdump.DumpError, "/elsewhere/x.c.gcda is not under the coverage build"):
            gcovdump.write_gcda(d, self.build)


if __name__ == "__main__":
    unittest.main()
