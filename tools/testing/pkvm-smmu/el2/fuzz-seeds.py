#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# Write the seed corpus of el2/fuzz.c into el2/fuzz-corpus/: hand-made
# scenarios in the fuzzer's input encoding, one file each. The encoders below
# mirror the decoder's pickers (fz_pick_* in el2/fuzz.c); keep them in step.
#
# Usage: el2/fuzz-seeds.py [directory]

import os
import struct
import sys

OPS = ["alloc", "free", "attach", "detach", "map", "unmap", "iova_to_phys",
       "domain_info", "topup", "reclaim", "donate", "undonate", "dma", "pop_event"]
NR_OPS = len(OPS)
FAULT = 0xfe


def op(name, *args, cpu=0):
    return bytes([OPS.index(name) + NR_OPS * cpu]) + b"".join(args)


def b(*v):
    return bytes(v)


def u64(v):
    return struct.pack("<Q", v & (2**64 - 1))


# Pickers.
def dom(i):            # the i-th domain the host holds (in its table)
    return b(i)


IDENTITY = b(0xc0)
LAST_FREED = b(0xd0)


def raw_id(n):         # ids 0..15, whatever they are
    return b(0xe0 + n)


def bad_id(n):         # 1024, 1023, U32_MAX, U64_MAX, 1 << 63, 1 << 32
    return b(0xf0 + n)


def smmu(k):           # 0: range invalidation, 1: without, 2: ATS
    return b(k)


def bad_smmu(n):       # 3 (refused), 4 (free), 15, 16, U64_MAX, 1 << 32
    return b(0xc0 + n)


def sid(j):            # 0x0, 0x1, 0x3f, 0x40, 0x7f, 0x405, 0xffc0, 0xffff
    return b(j)


def span_sid(span, off):
    return b(0xc0 + span, off)


def bad_sid(n):        # 1 << 16, 0x10001, U32_MAX, U64_MAX, 1 << 32, 0x1ffff
    return b(0xe0 + n)


def win(p):            # page p (0..127) of the host's map window
    return b(p)


def hyp_page(region=0):
    return b(0xa0 + region)


DONATED = b(0xb0)
LAST_DMA = b(0xb8)
# MEM_BASE, last page, end of memory, below memory, SMMU 0 MMIO, doorbell, 0,
# 2^52 - 4K, 2^50 - 4K, U64_MAX page, doorbell + 4K, SMMU 1 page 1,
# identity root, memory end - 8K, last window page, top-up window.
def special(n):
    return b(0xc0 + n)


DOORBELL = special(5)


def unaligned_phys(n):
    return b(0xd0 + n)


def raw_phys(v):
    return b(0xf0) + u64(v)


# IOVA slots: 0, 4K, 8K, 1M, 2M-4K, 2M, 1G-4K, 1G, 32G-4K, 0x123456000,
# 2^39-2M, 2^39-4K, 1G+2M-4K, 256M, 32K, 4M-4K.
def slot(j):
    return b(j)


def mapped(r, off):    # page off of the host's range r in that domain
    return b(0x80 + r, off)


def slot_plus(j, pages):
    return b(0xc0 + j, pages)


def as_iova(phys):     # identity style: an address of memory
    return b(0xd0) + phys


def unaligned_iova(j):
    return b(0xe0 + j)


def bad_iova(n):       # 2^39, U64_MAX page, 1 << 63, -4K, 2^40 - 4K, 2^48
    return b(0xf0 + n)


def pages(n):          # 1..8, then 9..40
    return b(n - 1) if n <= 8 else b(0x80 + n - 9)


# 512 pages, 513, 0, 1 byte, 4K+1, 2^39, U64_MAX page, 64, 256, 511, 2M, 1G,
# 2^52, 1024 pages, 3 pages, 33 pages.
def size_special(n):
    return b(0xa0 + n)


RW, R, W = b(0), b(1), b(2)


def bad_prot(n):       # 0, 4, 7, U64_MAX
    return b(4 + n)


# Bit 0: top up and retry on -ENOMEM; bits 2:1: what the host leaves in
# those pages (nothing, bypass STEs, all ones, table descriptors).
AUTO, NOAUTO = b(1), b(0)
AUTO_STES, AUTO_ONES, AUTO_TABLES = b(3), b(5), b(7)


def alloc(auto=True, flags=AUTO):
    return op("alloc", b(0), flags if auto else NOAUTO)


def alloc_type(t):     # 1, 1, 1, 2, 0, 3, U64_MAX, (1 << 32) | 1
    return op("alloc", b(t), AUTO)


def free(d, repeat=True):
    return op("free", d, b(1 if repeat else 0))


def attach(d, k, s, auto=True, flags=AUTO):
    return op("attach", d, k, s, flags if auto else NOAUTO)


def detach(d, k, s):
    return op("detach", b(0x80), d, k, s)


def detach_nth(i):
    return op("detach", b(i))


def map_(d, iova, phys, size, prot=RW, auto=True, flags=AUTO):
    return op("map", d, iova, phys, size, prot, flags if auto else NOAUTO)


def unmap(d, iova, size, how=0, cpu=0):
    # how: bit 0 deferred (a flush queue's), bit 1 then flush, bit 2 a bad flag
    return op("unmap", d, iova, size, cpu=cpu + 2 * how)


def i2p(d, iova):
    return op("iova_to_phys", d, iova)


def info(d, k):
    return op("domain_info", d, k)


def topup(count, start=0, bad=0, head=0, fill=0):
    return op("topup", b(count, start, bad, head, fill))


def reclaim(n):        # 0, 1, 2, 5, 64, 1024, 1025, U64_MAX
    return op("reclaim", b(n))


def donate(phys, n=0):  # 1, 1, 2, 3, 8, 0, U64_MAX, 1 << 36 pages
    return op("donate", phys, b(n))


def undonate(start=0, n=0):
    return op("undonate", b(start, n))


def dma(k, s, iova, write=False, npages=1):
    return op("dma", b(k, (1 if write else 0) | ((npages - 1) << 1)), s, iova)


def pop_event(k):
    return op("pop_event", k)


def fault(k, kind, after=0):  # kind 0/1 reject, 2 stall, 3 ok, 4/5 timeout, 6/7 cmdq err
    return bytes([FAULT, k, kind, after])


def dom0_on(k, s):
    return alloc() + attach(dom(0), smmu(k), sid(s))


SEEDS = {}

# One domain per SMMU kind: map, DMA, unmap (range TLBI, per page, ATS).
for k in range(3):
    SEEDS["map-dma-unmap-smmu%d" % k] = (
        dom0_on(k, 1) + map_(dom(0), slot(3), win(0), pages(4)) +
        dma(k, sid(1), mapped(0, 0), npages=4) +
        dma(k, sid(1), mapped(0, 1), write=True) +
        unmap(dom(0), slot(3), pages(4)) +
        dma(k, sid(1), slot(3), npages=4))

# Large ranges: 512 pages (one call's worth), beyond 32 pages without RIL.
SEEDS["map-512-unmap"] = (
    alloc() + attach(dom(0), smmu(0), sid(0)) + attach(dom(0), smmu(1), sid(0)) +
    map_(dom(0), slot(5), win(0), size_special(0)) +
    dma(0, sid(0), mapped(0, 200), npages=4) +
    dma(1, sid(0), mapped(0, 7), npages=4) +
    unmap(dom(0), slot(5), size_special(1)) +
    dma(1, sid(0), slot(5)))
SEEDS["unmap-33-pages-no-ril"] = (
    dom0_on(1, 3) + map_(dom(0), slot(0), win(10), pages(33)) +
    dma(1, sid(3), slot(0), npages=4) +
    unmap(dom(0), slot(0), pages(33)))
SEEDS["unmap-partial-split"] = (
    dom0_on(0, 2) + map_(dom(0), slot(3), win(0), pages(8)) +
    dma(0, sid(2), mapped(0, 0), npages=4) +
    unmap(dom(0), slot_plus(3, 2), pages(3)) +
    dma(0, sid(2), mapped(0, 0), npages=4) + i2p(dom(0), slot_plus(3, 5)) +
    unmap(dom(0), slot(3), pages(8)))

# A flush queue's unmap: no invalidation, the pages are the host's at once;
# before one leaves the host (a donation, a top-up), or at a flush, every
# SMMU left stale is invalidated. A bad flag is refused.
SEEDS["deferred-unmap-donate"] = (
    alloc() + attach(dom(0), smmu(0), sid(0)) + attach(dom(0), smmu(1), sid(0)) +
    map_(dom(0), slot(3), win(0), pages(4)) +
    dma(0, sid(0), mapped(0, 0), npages=4) + dma(1, sid(0), mapped(0, 1), npages=3) +
    unmap(dom(0), slot(3), pages(4), how=1) + dma(0, sid(0), slot(3), npages=4) +
    donate(win(1)) + dma(1, sid(0), slot(3), npages=4) + undonate())
SEEDS["deferred-unmap-topup"] = (
    dom0_on(1, 2) + map_(dom(0), slot(0), win(20), pages(8)) +
    dma(1, sid(2), mapped(0, 0), npages=8) + unmap(dom(0), slot(0), pages(8), how=1) +
    topup(3, start=10) + dma(1, sid(2), slot(0), npages=8))
SEEDS["deferred-unmap-flush"] = (
    dom0_on(0, 1) + map_(dom(0), slot(4), win(30), pages(4)) +
    dma(0, sid(1), mapped(0, 0), npages=4) + unmap(dom(0), slot(4), pages(2), how=4) +
    unmap(dom(0), slot(4), pages(4), how=3) + dma(0, sid(1), slot(4), npages=4) +
    map_(dom(0), slot(4), win(30), pages(4)) + dma(0, sid(1), mapped(0, 2)))

# The identity domain: DMA to host pages; donating one drops it everywhere.
SEEDS["identity-donate"] = (
    attach(IDENTITY, smmu(0), sid(0)) + attach(IDENTITY, smmu(1), sid(0)) +
    attach(IDENTITY, smmu(2), sid(0)) +
    dma(0, sid(0), as_iova(win(3)), write=True) +
    dma(1, sid(0), as_iova(win(3))) + dma(2, sid(0), as_iova(win(3))) +
    donate(LAST_DMA) + dma(0, sid(0), as_iova(win(3))) +
    undonate() + dma(1, sid(0), as_iova(win(3))))
SEEDS["identity-donate-range"] = (
    attach(IDENTITY, smmu(1), sid(5)) +
    dma(1, sid(5), as_iova(win(40)), npages=4) + donate(win(40), 4) +
    dma(1, sid(5), as_iova(win(40)), npages=4) + undonate(n=7) +
    detach(IDENTITY, smmu(1), sid(5)))
SEEDS["identity-hyp-pages"] = (
    attach(IDENTITY, smmu(2), sid(7)) + dma(2, sid(7), as_iova(hyp_page())) +
    dma(2, sid(7), as_iova(special(12))) +
    dma(2, sid(7), as_iova(DOORBELL), write=True) +
    i2p(IDENTITY, as_iova(win(1))) + i2p(IDENTITY, as_iova(hyp_page())) +
    map_(IDENTITY, slot(0), win(0), pages(1)) + unmap(IDENTITY, slot(0), pages(1)) +
    free(IDENTITY) + alloc_type(3))
SEEDS["identity-topup-reclaim"] = (
    attach(IDENTITY, smmu(0), sid(1)) +
    dma(0, sid(1), as_iova(special(15)), npages=4) + topup(3) +
    dma(0, sid(1), as_iova(special(15)), npages=4) + reclaim(5) +
    dma(0, sid(1), as_iova(special(15)), npages=4))

# A page mapped twice is borrowed twice, and cannot be donated.
SEEDS["two-domains-one-page"] = (
    alloc() + alloc() + attach(dom(0), smmu(0), sid(0)) +
    attach(dom(1), smmu(0), sid(1)) + map_(dom(0), slot(1), win(5), pages(2)) +
    map_(dom(1), slot(7), win(5), pages(2), R) + donate(win(5)) +
    dma(0, sid(1), mapped(0, 0), write=True) +
    unmap(dom(0), slot(1), pages(2)) + donate(win(5)) +
    free(dom(0)) + detach_nth(0) + free(dom(0)))

# Scattered pages: more physical runs than one unmap records (retired leaves).
SEEDS["unmap-scattered-runs"] = (
    dom0_on(0, 0) + attach(dom(0), smmu(1), sid(0)) +
    b"".join(map_(dom(0), slot_plus(3, i), win(2 * i), pages(1)) for i in range(20)) +
    dma(0, sid(0), slot(3), npages=4) + dma(1, sid(0), slot_plus(3, 16), npages=4) +
    unmap(dom(0), slot(3), pages(24)) + dma(0, sid(0), slot(3), npages=4))
SEEDS["fault-unmap-scattered-runs"] = (
    dom0_on(0, 0) +
    b"".join(map_(dom(0), slot_plus(3, i), win(2 * i), pages(1)) for i in range(20)) +
    dma(0, sid(0), slot_plus(3, 17), npages=3) + fault(0, 0) +
    unmap(dom(0), slot(3), pages(24)) + donate(win(36)) + unmap(dom(0), slot(3), pages(24)) +
    dma(0, sid(0), slot_plus(3, 17), npages=3))

# Streams: several on one SMMU, a shared span, re-attach for a fresh VMID.
SEEDS["streams-same-smmu"] = (
    alloc() + attach(dom(0), smmu(0), sid(0)) + attach(dom(0), smmu(0), sid(2)) +
    attach(dom(0), smmu(0), span_sid(0, 9)) + map_(dom(0), slot(3), win(9), pages(1)) +
    dma(0, sid(0), mapped(0, 0)) + dma(0, sid(2), mapped(0, 0)) +
    detach(dom(0), smmu(0), sid(0)) + dma(0, sid(2), mapped(0, 0)) +
    dma(0, sid(0), mapped(0, 0)) + info(dom(0), smmu(0)) +
    detach_nth(0) + detach_nth(0) + info(dom(0), smmu(0)) +
    attach(dom(0), smmu(0), sid(0)) + dma(0, sid(0), mapped(0, 0)))
SEEDS["stream-busy"] = (
    alloc() + alloc() + attach(dom(0), smmu(2), sid(6)) +
    attach(dom(1), smmu(2), sid(6)) + detach(dom(1), smmu(2), sid(6)) +
    attach(dom(0), smmu(2), sid(6)) + attach(IDENTITY, smmu(2), sid(6)) +
    detach(dom(0), smmu(2), sid(6)) + attach(dom(1), smmu(2), sid(6)) +
    map_(dom(1), slot(4), win(2), pages(2)) + dma(2, sid(6), mapped(0, 1)))
SEEDS["all-smmus-one-domain"] = (
    alloc() + attach(dom(0), smmu(0), sid(7)) + attach(dom(0), smmu(1), sid(7)) +
    attach(dom(0), smmu(2), sid(7)) + map_(dom(0), slot(9), win(20), pages(6)) +
    dma(0, sid(7), mapped(0, 0), npages=4) +
    dma(1, sid(7), mapped(0, 2), npages=4) +
    dma(2, sid(7), mapped(0, 1), write=True, npages=4) +
    detach(dom(0), smmu(1), sid(7)) + unmap(dom(0), slot(9), pages(6)) +
    dma(0, sid(7), slot(9), npages=4))

# Freeing: bounded steps over scattered slots; dying domains refuse the rest.
SEEDS["free-bounded"] = (
    alloc() + attach(dom(0), smmu(0), sid(0)) +
    map_(dom(0), slot(0), win(0), pages(1)) + map_(dom(0), slot(7), win(1), pages(1)) +
    map_(dom(0), slot(8), win(2), pages(1)) + map_(dom(0), slot(9), win(3), pages(1)) +
    map_(dom(0), slot(10), win(4), pages(1)) + map_(dom(0), slot(11), win(5), pages(1)) +
    map_(dom(0), slot(13), win(6), pages(1)) + free(dom(0)) +
    detach_nth(0) + free(dom(0), False) + map_(dom(0), slot(1), win(7), pages(1)) +
    unmap(dom(0), slot(0), pages(1)) + attach(dom(0), smmu(0), sid(0)) +
    i2p(dom(0), slot(9)) + info(dom(0), smmu(0)) + free(dom(0), False) +
    free(dom(0)) + free(LAST_FREED))
SEEDS["free-with-mappings"] = (
    alloc() + map_(dom(0), slot(3), win(30), pages(20)) +
    map_(dom(0), slot(12), win(60), size_special(7)) + free(dom(0)) +
    alloc() + free(dom(0), False) + free(dom(0), False))

# Memory: no top-up (-ENOMEM), broken lists, reclaim in the middle.
SEEDS["no-topup"] = (
    alloc(False) + topup(0) + alloc(False) + topup(1) + alloc(False) +
    attach(dom(0), smmu(0), sid(5), False) + topup(1) +
    attach(dom(0), smmu(0), sid(5), False) + topup(2) +
    attach(dom(0), smmu(0), sid(5), False) +
    map_(dom(0), slot(0), win(0), pages(4), auto=False) + reclaim(7) +
    map_(dom(0), slot(0), win(0), pages(4)))
for kind in range(8):
    SEEDS["topup-bad-link-%d" % kind] = (
        topup(5, 3 * kind, 0x80 | (kind << 4) | (kind % 5)) + alloc() +
        attach(dom(0), smmu(kind % 3), sid(kind)) + reclaim(1) +
        topup(0xf0 + (kind & 3), kind) + topup(4, kind, 0, 0xf0 | kind))

# The host fills the pages it gives with hostile contents; all must be zeroed.
for fill, flags in ((1, AUTO_STES), (2, AUTO_ONES), (3, AUTO_TABLES)):
    SEEDS["topup-filled-%d" % fill] = (
        topup(8, 0, 0, 0, fill) + alloc(flags=flags) +
        attach(dom(0), smmu(fill - 1), span_sid(fill, 5), flags=flags) +
        attach(dom(0), smmu(fill % 3), sid(fill + 2), flags=flags) +
        map_(dom(0), slot(6), win(fill), pages(3), flags=flags) +
        map_(dom(0), slot(12), win(fill + 8), pages(1), flags=flags) +
        dma(fill - 1, span_sid(fill, 5), mapped(0, 0), npages=3) +
        dma(fill - 1, span_sid(fill, 4), mapped(0, 0)) +
        dma(fill % 3, sid(fill + 2), mapped(1, 0)) +
        dma(fill % 3, sid(fill + 1), mapped(1, 0)))

# Doorbell: mapped write-only in a paging domain, and by the identity domain.
SEEDS["doorbell"] = (
    dom0_on(0, 4) + map_(dom(0), slot(2), DOORBELL, pages(1), W) +
    map_(dom(0), slot(3), DOORBELL, pages(1), RW) +
    map_(dom(0), slot(4), DOORBELL, pages(2), W) +
    map_(dom(0), slot(5), special(10), pages(1), W) +
    dma(0, sid(4), slot(2), write=True) + dma(0, sid(4), slot(2)) +
    unmap(dom(0), slot(2), pages(1)) + dma(0, sid(4), slot(2), write=True) +
    attach(IDENTITY, smmu(1), sid(4)) +
    dma(1, sid(4), as_iova(DOORBELL), write=True) +
    map_(dom(0), slot(2), DOORBELL, pages(1), W) + free(dom(0)) + detach_nth(1) +
    free(dom(0)))

# Hostile arguments to everything.
SEEDS["hostile-ids"] = b"".join(
    attach(bad_id(n), smmu(0), sid(0)) + detach(bad_id(n), smmu(0), sid(0)) +
    map_(bad_id(n), slot(0), win(0), pages(1)) + unmap(bad_id(n), slot(0), pages(1)) +
    i2p(bad_id(n), slot(0)) + info(bad_id(n), smmu(0)) + free(bad_id(n))
    for n in range(6))
SEEDS["hostile-smmus-sids"] = alloc() + b"".join(
    attach(dom(0), bad_smmu(n), sid(0)) + detach(dom(0), bad_smmu(n), sid(0)) +
    attach(dom(0), smmu(n % 3), bad_sid(n)) + info(dom(0), bad_smmu(n)) +
    pop_event(bad_smmu(n)) + dma(3, bad_sid(n), slot(0))
    for n in range(6)) + pop_event(smmu(0))
SEEDS["hostile-ranges"] = dom0_on(0, 0) + b"".join(
    map_(dom(0), iova, phys, size, prot) for iova, phys, size, prot in [
        (unaligned_iova(1), win(0), pages(1), RW),
        (slot(0), unaligned_phys(1), pages(1), RW),
        (slot(0), win(0), size_special(2), RW),
        (slot(0), win(0), size_special(4), RW),
        (bad_iova(0), win(0), pages(1), RW),
        (bad_iova(3), win(0), pages(2), RW),
        (slot(11), win(0), pages(2), RW),
        (slot(0), raw_phys(2**64 - 4096), pages(2), RW),
        (slot(0), special(7), pages(2), RW),
        (slot(0), win(0), pages(1), bad_prot(0)),
        (slot(0), win(0), pages(1), bad_prot(1)),
        (slot(0), win(0), pages(1), bad_prot(3)),
        (slot(0), hyp_page(), pages(1), RW),
        (slot(0), special(4), pages(1), RW),
        (slot(0), special(1), pages(2), RW),
        (slot(0), special(3), pages(2), RW),
        (slot(0), special(12), pages(1), RW),
        (slot(0), win(0), size_special(6), RW),
    ]) + unmap(dom(0), unaligned_iova(2), pages(1)) + \
    unmap(dom(0), slot(0), size_special(2)) + unmap(dom(0), bad_iova(3), pages(2)) + \
    unmap(dom(0), slot(0), size_special(6)) + i2p(dom(0), bad_iova(0))
SEEDS["hostile-donations"] = (
    donate(hyp_page()) + donate(special(4)) + donate(special(1), 2) +
    donate(special(2)) + donate(raw_phys(2**64 - 4096), 6) +
    donate(win(0), 7) + donate(win(0), 5) + donate(win(8), 4) +
    donate(win(8)) + undonate(0, 2) + undonate())
SEEDS["map-then-donate-unmap-donate"] = (
    dom0_on(2, 0) + map_(dom(0), slot(14), win(50), pages(3)) +
    dma(2, sid(0), mapped(0, 0), npages=3) + donate(win(51)) +
    unmap(dom(0), slot(14), pages(3)) + donate(win(51)) +
    dma(2, sid(0), slot(14), npages=3) + map_(dom(0), slot(14), win(51), pages(1)) +
    undonate() + map_(dom(0), slot(14), win(51), pages(1)))
SEEDS["two-cpus"] = (
    op("alloc", b(0), AUTO, cpu=1) + op("attach", dom(0), smmu(0), sid(0), AUTO, cpu=1) +
    map_(dom(0), slot(3), win(0), pages(2)) +
    op("dma", b(0, 2), sid(0), mapped(0, 0), cpu=1) +
    op("unmap", dom(0), slot(3), pages(2), cpu=1) + detach_nth(0) +
    op("free", dom(0), b(1), cpu=1))

# Faults: the rest of the input runs in a child process.
SEEDS["fault-reject-unmap"] = (
    alloc() + attach(dom(0), smmu(0), sid(0)) + attach(dom(0), smmu(1), sid(0)) +
    map_(dom(0), slot(3), win(0), pages(2)) +
    dma(0, sid(0), mapped(0, 0), npages=2) +
    dma(1, sid(0), mapped(0, 0), npages=2) + fault(0, 0) +
    unmap(dom(0), slot(3), pages(1)) + donate(win(0)) +
    dma(0, sid(0), slot(3)) + unmap(dom(0), slot(3), pages(2)) +
    detach_nth(0) + detach_nth(0) + free(dom(0)))
SEEDS["fault-stall-unmap"] = (
    alloc() + attach(dom(0), smmu(1), sid(0)) + map_(dom(0), slot(3), win(0), pages(2)) +
    dma(1, sid(0), mapped(0, 0), npages=2) + fault(1, 2) +
    unmap(dom(0), slot(3), pages(2)) + fault(1, 3) +
    unmap(dom(0), slot(3), pages(2)) + detach_nth(0) + free(dom(0)))
SEEDS["fault-identity-donate"] = (
    attach(IDENTITY, smmu(0), sid(0)) + attach(IDENTITY, smmu(1), sid(0)) +
    attach(IDENTITY, smmu(2), sid(0)) +
    dma(0, sid(0), as_iova(win(3)), npages=2) +
    dma(2, sid(0), as_iova(win(3))) + fault(2, 2) +
    donate(win(3)) + dma(0, sid(0), as_iova(win(3))) +
    dma(1, sid(0), as_iova(win(4))) + attach(IDENTITY, smmu(0), sid(1)) +
    undonate())
# A detach whose CFGI_STE fails: the STE is cleared but the stream still
# counted; the host tries again, re-attaches, and the domain cannot be freed.
SEEDS["fault-detach-timeout"] = (
    alloc() + attach(dom(0), smmu(0), sid(3)) + map_(dom(0), slot(0), win(0), pages(1)) +
    dma(0, sid(3), slot(0)) + fault(0, 4) + detach(dom(0), smmu(0), sid(3)) +
    detach(dom(0), smmu(0), sid(3)) + attach(dom(0), smmu(0), sid(3)) +
    info(dom(0), smmu(0)) + detach(dom(0), smmu(0), sid(3)) + info(dom(0), smmu(0)) +
    detach(dom(0), smmu(0), sid(3)) + free(dom(0), False) + info(dom(0), smmu(0)))
SEEDS["fault-inject-attach-detach"] = (
    alloc() + fault(0, 6) + attach(dom(0), smmu(0), sid(3)) +
    attach(dom(0), smmu(0), sid(3)) + map_(dom(0), slot(0), win(0), pages(1)) +
    dma(0, sid(3), slot(0)) + fault(0, 4) +
    detach(dom(0), smmu(0), sid(3)) + attach(dom(0), smmu(0), sid(3)) +
    dma(0, sid(3), slot(0)) + unmap(dom(0), slot(0), pages(1)) +
    donate(win(0)) + free(dom(0)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "fuzz-corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        if len(data) > 512:
            sys.exit("seed %s is %d bytes, more than -max_len" % (name, len(data)))
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
