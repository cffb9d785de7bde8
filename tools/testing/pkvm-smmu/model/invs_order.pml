/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Promela model of the unmap path against attach and detach (invariants 5 and
 * 7 of design.md), with per-address store buffers (stores to different
 * addresses may become visible out of order, as on arm64; a CPU's loads may
 * pass its buffered stores).
 *
 * SMMU X is being attached (its tag is fresh: empty TLB); SMMU Y is being
 * detached (its TLB may hold the translation). One CPU unmaps the page:
 * clear the PTE, smp_mb(), load the array, invalidate every live entry
 * (dsb + TLBI + CMD_SYNC), return. Each SMMU translates through its STE:
 * TLB hit, or a walk that reads the PTE and fills the TLB.
 *
 * Checked: once unmap has returned, no SMMU translates the page.
 * Build-time switches break one step each; see Makefile.
 */

/* memory */
bit pte = 1;
bit ptr;			/* 0: {Y}, 1: {X, Y} */
bit ste_x;
bit ste_y = 1;
bit users_y0 = 1;		/* Y's users count in array 0 */
bit users_y1 = 1;		/* Y's users count in array 1 */
bit tlb_x;
bit tlb_y = 1;
bit done;

/* store buffers: one pending store per address */
bit pend_pte, pend_ptr, pend_ste_x, pend_ste_y, pend_uy;
bit val_ptr, val_ste_x, val_ste_y;

active proctype flusher()
{
end:
	do
	:: atomic { pend_pte -> pte = 0; pend_pte = 0 }
	:: atomic { pend_ptr -> ptr = val_ptr; pend_ptr = 0 }
	:: atomic { pend_ste_x -> ste_x = val_ste_x; pend_ste_x = 0 }
	:: atomic { pend_ste_y -> ste_y = val_ste_y; pend_ste_y = 0 }
	:: atomic {
		pend_uy ->
		if
		:: ptr == 0 -> users_y0 = 0
		:: else -> users_y1 = 0
		fi;
		pend_uy = 0
	   }
	od
}

#define WRITER_MB	(!pend_ptr && !pend_ste_x && !pend_ste_y && !pend_uy)

inline store(pend, v, x)
{
	atomic { !pend -> v = x; pend = 1 }
}

/* Attach X then detach Y, serialised by the domain lock. */
active proctype writer()
{
	/* attach X: tag fresh (tlb_x = 0); merge builds array 1 */
#ifdef STE_BEFORE_PUBLISH
	store(pend_ste_x, val_ste_x, 1);
	WRITER_MB;
	store(pend_ptr, val_ptr, 1);
#else
	store(pend_ptr, val_ptr, 1);		/* smmu_invs_publish() */
#ifndef NO_ATTACH_MB
	WRITER_MB;				/* dsb in the STE write path */
#endif
	store(pend_ste_x, val_ste_x, 1);	/* install the STE */
#endif
	WRITER_MB;				/* CFGI_STE + CMD_SYNC */

	/* detach Y */
#ifdef UNREF_BEFORE_STE_CLEAR
	atomic { !pend_uy -> pend_uy = 1 }	/* smmu_invs_unref() */
	store(pend_ste_y, val_ste_y, 0);
	WRITER_MB;
#else
	store(pend_ste_y, val_ste_y, 0);	/* clear the STE */
	WRITER_MB;				/* CFGI_STE + CMD_SYNC */
	atomic { !pend_uy -> pend_uy = 1 }	/* smmu_invs_unref() */
#endif
	WRITER_MB;
	tlb_y = 0				/* whole-tag TLBI + CMD_SYNC */
}

active proctype unmap()
{
	bit arr, has_x, live_y;

	pend_pte = 1;				/* clear the PTE */
#ifndef NO_UNMAP_MB
	!pend_pte;				/* smmu_invs_deref_for_inv(): smp_mb() */
#endif
	arr = ptr;				/* acquire load */
	has_x = arr;
	if
	:: arr == 0 -> live_y = users_y0
	:: else -> live_y = users_y1
	fi;
	!pend_pte;				/* dsb before the command queue */
	if
	:: has_x -> tlb_x = 0			/* TLBI + CMD_SYNC */
	:: else
	fi;
	if
	:: live_y -> tlb_y = 0
	:: else
	fi;
	done = 1
}

/* A device DMAs through an SMMU; walks and TLB fills are atomic with TLBI. */
active proctype smmu_x()
{
end:
	do
	:: atomic { ste_x && (tlb_x || pte) -> tlb_x = 1; assert(!done) }
	od
}

active proctype smmu_y()
{
end:
	do
	:: atomic { ste_y && (tlb_y || pte) -> tlb_y = 1; assert(!done) }
	od
}
