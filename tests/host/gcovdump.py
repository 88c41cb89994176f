"""gcovdump: read the coverage dump a COVERAGE=1 boot writes on LPT1 and write its .gcda files.

The stream (kernel/gcov.h, kernel/gcov_data.c) is a sequence of frames
    "HVGC" | kind u8 | name length u32 | name | data length u32 | data | CRC-32 u32
(little endian, the CRC over kind..data). A dump is BEGIN (name: why; data: dump number, final,
objects registered, objects the runtime had no room for, guest runs collected, guest runs
dropped), one OBJECT ('O') or guest object ('G') frame per object whose counters changed (name:
its .gcda path, data: the .gcda), END (dump number, object frames). Counters are cumulative
from boot, so each object's last frame wins. Nothing is dropped quietly: a bad checksum, a cut
frame, a dump whose END does not count its frames, an object without a .gcno, or a .gcno without
an object is an error naming the file. Standard library only.
"""
import os
import struct
import zlib

MAGIC = b"HVGC"
GCDA_MAGIC = 0x67636461


class DumpError(Exception):
    """The dump cannot be trusted; the message names the object file and the boot."""


class Dump:
    def __init__(self):
        self.objects = {}      # .gcda path -> (kind 'O' or 'G', .gcda bytes), the last frame of each
        self.dumps = []        # (why, number, final, frames) of every complete dump, in order
        self.final = None      # why of the final dump ("exit 0x10"), None if there was none
        self.registered = 0    # objects the runtime registered (hypervisor and guest copies)
        self.unregistered = 0  # objects it had no room for
        self.guest_runs = 0
        self.guest_dropped = 0
        self.lost = None       # what a boot that ended without a final dump lost, or None


def _frames(data, where):
    """Yield (offset, kind, name, payload); a cut or corrupted frame raises DumpError."""
    pos = 0
    while pos < len(data):
        start = pos
        if data[pos:pos + 4] != MAGIC:
            if len(data) - pos < 4 and MAGIC.startswith(data[pos:]):
                raise DumpError("%s: the stream ends inside a frame header at byte %d" % (where, pos))
            raise DumpError("%s: no frame at byte %d (%r): the stream is corrupted" % (where, pos, data[pos:pos + 8]))
        if len(data) - pos < 9:
            raise DumpError("%s: the stream ends inside a frame header at byte %d" % (where, pos))
        kind = chr(data[pos + 4])
        (nlen,) = struct.unpack_from("<I", data, pos + 5)
        pos += 9
        name = data[pos:pos + nlen].decode("utf-8", "replace")
        if nlen > 4096 or len(data) - pos < nlen + 4:
            raise DumpError("%s: the stream is cut short in the name of frame %r at byte %d" % (where, name, start))
        pos += nlen
        (dlen,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if len(data) - pos < dlen + 4:
            raise DumpError("%s: the stream is cut short in %s: %d of its %d bytes and no checksum"
                            % (where, name, max(0, len(data) - pos), dlen))
        payload = data[pos:pos + dlen]
        pos += dlen
        (crc,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if zlib.crc32(data[start + 4:pos - 4]) != crc:
            raise DumpError("%s: bad checksum in the frame of %s (byte %d): its data is corrupted"
                            % (where, name, start))
        yield start, kind, name, payload


def parse(data, where="dump"):
    """A Dump from the bytes of one boot's stream. A boot that stopped before its final dump is
    not an error here (Dump.lost says what was lost); a damaged stream is."""
    d = Dump()
    cur = None  # the dump being read: [why, number, final, {path: (kind, gcda)}]
    for off, kind, name, payload in _frames(data, where):
        if kind == "B":
            if cur is not None:
                raise DumpError("%s: dump %d (%s) has no end: a new one starts at byte %d" % (where, cur[1], cur[0], off))
            num, final, d.registered, d.unregistered, d.guest_runs, d.guest_dropped = struct.unpack("<6I", payload)
            cur = [name, num, bool(final), {}]
        elif kind in "OG":
            if cur is None:
                raise DumpError("%s: object frame %s outside a dump (byte %d)" % (where, name, off))
            check_gcda(payload, name, where)
            cur[3][name] = (kind, payload)
        elif kind == "E":
            num, count = struct.unpack("<2I", payload)
            if cur is None or num != cur[1]:
                raise DumpError("%s: end of dump %d at byte %d without its beginning" % (where, num, off))
            if count != len(cur[3]):
                raise DumpError("%s: dump %d (%s) has %d object frames but its end counts %d: objects are missing"
                                % (where, num, cur[0], len(cur[3]), count))
            d.objects.update(cur[3])
            d.dumps.append((cur[0], num, cur[2], count))
            if cur[2]:
                d.final = cur[0]
            cur = None
        else:
            raise DumpError("%s: unknown frame kind %r (%s) at byte %d" % (where, kind, name, off))
    if cur is not None:
        raise DumpError("%s: the stream ends inside dump %d (%s), after %d whole object frames"
                        % (where, cur[1], cur[0], len(cur[3])))
    if d.unregistered:
        raise DumpError("%s: the runtime had no room for %d objects: their counters are missing" % (where, d.unregistered))
    if d.final is None:
        d.lost = ("no counters at all: the boot ended before its first dump" if not d.dumps else
                  "the counters since the end of the last dump (%s) are lost: no final dump" % d.dumps[-1][0])
    return d


GCOV_TAG_ARCS = 0x01a10000


def _counters(gcda, name, where):
    """The records of a .gcda after its header (gcc 12: magic, version, stamp, checksum), as
    [(tag, bytes)] with each arc-counter record as (tag, [counts]). gcc 12 writes a record of
    zero counters with a negative length and no data."""
    out, off = [], 16
    while off + 8 <= len(gcda):
        tag, ln = struct.unpack_from("<Ii", gcda, off)
        off += 8
        if tag == 0:
            break
        if tag == GCOV_TAG_ARCS and ln < 0:
            out.append((tag, [0] * (-ln // 8)))
            continue
        if ln < 0 or off + ln > len(gcda):
            raise DumpError("%s: the .gcda of %s has a record past its end" % (where, name))
        out.append((tag, list(struct.unpack_from("<%dQ" % (ln // 8), gcda, off)) if tag == GCOV_TAG_ARCS
                    else gcda[off:off + ln]))
        off += ln
    return out


def add_gcda(a, b, name, where):
    """Two .gcda files of one object of one build, their arc counters added."""
    ra, rb = _counters(a, name, where), _counters(b, name, where)
    if a[:16] != b[:16] or len(ra) != len(rb):
        raise DumpError("%s: the counters of %s do not have the same shape in every boot" % (where, name))
    out = bytearray(a[:16])
    for (ta, da), (tb, db) in zip(ra, rb):
        if ta != tb or (ta == GCOV_TAG_ARCS and len(da) != len(db)) or (ta != GCOV_TAG_ARCS and ta != 0xa1000000 and da != db):
            raise DumpError("%s: the functions of %s differ between boots" % (where, name))
        if ta == GCOV_TAG_ARCS:
            out += struct.pack("<II", ta, 8 * len(da)) + struct.pack("<%dQ" % len(da), *[(x + y) & (2**64 - 1) for x, y in zip(da, db)])
        else:
            out += struct.pack("<II", ta, len(da)) + da
    return bytes(out + b"\0\0\0\0")


def combine(dumps, where):
    """One Dump of several boots of one build: each object's counters added; the first lost
    boot (or a damaged one) is an error naming it."""
    c = Dump()
    for name, d in dumps:
        if d.lost:
            raise DumpError("%s: %s: the boot crashed or hung: %s" % (where, name, d.lost))
        for path, (kind, gcda) in d.objects.items():
            c.objects[path] = (kind, add_gcda(c.objects[path][1], gcda, path, where) if path in c.objects else gcda)
        c.dumps += d.dumps
        c.guest_runs += d.guest_runs
        c.guest_dropped += d.guest_dropped
        c.final = d.final
    return c


def check_gcda(gcda, name, where):
    """The frame's data must be a .gcda: its magic, and nothing cut short at the end (0 word)."""
    if len(gcda) < 16 or struct.unpack_from("<I", gcda)[0] != GCDA_MAGIC or gcda[-4:] != b"\0\0\0\0" or len(gcda) % 4:
        raise DumpError("%s: the data of %s is not a whole .gcda file" % (where, name))


def gcno_path(gcda_path, build):
    """Where the .gcno of an object lies, from the .gcda path the runtime gives (gcc writes the
    absolute path of the object's build folder): beside it, in this build folder."""
    build = os.path.abspath(build)
    if not gcda_path.endswith(".gcda") or not os.path.abspath(gcda_path).startswith(build + os.sep):
        raise DumpError("%s is not under the coverage build folder %s (a stale or moved build?)" % (gcda_path, build))
    return gcda_path[:-len(".gcda")] + ".gcno"


def expected_objects(build):
    """Every .gcno of the coverage build: {path without extension: 'O' hypervisor or 'G' guest}."""
    found = {}
    for sub, kind in (("obj", "O"), ("guest-obj", "G")):
        for root, _, files in os.walk(os.path.join(os.path.abspath(build), sub)):
            for f in files:
                if f.endswith(".gcno"):
                    found[os.path.join(root, f[:-len(".gcno")])] = kind
    return found


def write_gcda(d, build, where="dump", dest=None):
    """Write the dump's .gcda files beside their .gcno files; every hypervisor object must be
    there, and every guest object as soon as the guest ran once. dest: a folder with links to
    the build's .gcno files (mirror()) to write them in instead. Returns the paths written."""
    want = expected_objects(build)
    have = {}
    for path, (kind, gcda) in d.objects.items():
        gcno = gcno_path(path, build)
        if not os.path.exists(gcno):
            raise DumpError("%s: no %s for the counters of %s (a stale build?)" % (where, gcno, path))
        with open(gcno, "rb") as f:
            head = f.read(12)
        if len(head) < 12 or head[8:12] != gcda[8:12]:  # the compilation's stamp, in both headers
            raise DumpError("%s: the counters of %s are from another build of it than %s (a stale dump?)"
                            % (where, path, gcno))
        have[path[:-len(".gcda")]] = kind
    guest = any(k == "G" for k in have.values())
    missing = sorted(p for p, k in want.items() if p not in have and (k == "O" or guest))
    if missing:
        raise DumpError("%s: no counters for %d objects, first %s.gcda" % (where, len(missing), missing[0]))
    written = []
    for path, (kind, gcda) in d.objects.items():
        if dest:
            path = os.path.join(dest, os.path.relpath(path, os.path.abspath(build)))
        with open(path, "wb") as f:
            f.write(gcda)
        written.append(path)
    return sorted(written)


def mirror(build, dest):
    """dest: a tree of links to the build's .gcno files, where one boot's .gcda files can be
    written while another boot's are in theirs."""
    build = os.path.abspath(build)
    for path in expected_objects(build):
        link = os.path.join(dest, os.path.relpath(path, build)) + ".gcno"
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink(path + ".gcno", link)


def remove_gcda(build):
    for path in expected_objects(build):
        if os.path.exists(path + ".gcda"):
            os.unlink(path + ".gcda")
