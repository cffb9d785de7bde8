/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Promela model of the EL2 grace-period protocol (nvhe/hyp_gp.{c,h}) and of
 * the array publication (nvhe/smmu_invs.h), with TSO store buffers so that
 * the store->load reordering the smp_mb()s exist for is possible.
 *
 * Readers are CPUs: hyp_gp_enter() (load epoch, store slot, smp_mb()), load
 * the published array, use it twice, hyp_gp_quiescent() (store slot). The
 * writer is a CPU holding the domain and gp locks: publish a new array,
 * retire the old one at the current epoch, bump the epoch, reclaim (smp_mb(),
 * read every slot, free what is older than every CPU inside).
 *
 * Checked: no reader uses a freed array (safety), and once every reader is
 * outside EL2 one reclaim frees every retired array (idle CPUs do not block).
 * Build-time switches break one step each; see Makefile.
 */

#define NR_READERS	2
#define NR_ROUNDS	2	/* visits to EL2 per reader */
#define NR_UPDATES	2	/* arrays published after the initial one */
#define NR_OBJS		(NR_UPDATES + 1)

byte ptr;			/* published array, in memory */
byte epoch = 1;			/* hyp_gp.epoch, in memory */
byte state[NR_READERS];		/* hyp_gp_cpu.state: epoch << 1 | in_hyp */
bool freed[NR_OBJS];
bool retired[NR_OBJS];
byte retired_epoch[NR_OBJS];
byte nr_done;

/* Store buffers: the writer's (0: ptr, 1: epoch) and each reader's slot. */
chan wbuf = [4] of { byte, byte };
chan rbuf[NR_READERS] = [2] of { byte };

active proctype flush_writer()
{
	byte var, val;
end:
	do
	:: atomic {
		wbuf ? var, val;
		if
		:: var == 0 -> ptr = val
		:: else -> epoch = val
		fi
	   }
	od
}

proctype flush_reader(byte me)
{
	byte val;
end:
	do
	:: atomic { rbuf[me] ? val; state[me] = val }
	od
}

proctype reader(byte me)
{
	byte e, p, round;

	do
	:: round < NR_ROUNDS ->
#ifdef READ_BEFORE_ENTER
		p = ptr;			/* caller bug: read, then enter */
#endif
		/* hyp_gp_enter() */
		e = epoch;
		rbuf[me] ! (e << 1) | 1;
#ifndef NO_ENTER_MB
		len(rbuf[me]) == 0;		/* smp_mb() */
#endif
#ifndef READ_BEFORE_ENTER
		/* smmu_invs_deref_for_inv(): acquire load */
		p = ptr;
#endif
		/* walk the array, issue commands: other CPUs run meanwhile */
		assert(!freed[p]);
		assert(!freed[p]);
		/* hyp_gp_quiescent() */
#ifdef EXIT_STAYS_IN
		rbuf[me] ! (e << 1) | 1;
#else
		rbuf[me] ! (e << 1);
#endif
		round++
	:: else -> break
	od;
	nr_done++
}

inline reclaim()
{
#ifndef NO_RECLAIM_MB
	len(wbuf) == 0;				/* smp_mb() */
#endif
	oldest = 255;
	i = 0;
	do
	:: i < NR_READERS ->
		st = state[i];
		if
		:: (st & 1) && (st >> 1) < oldest -> oldest = st >> 1
		:: else
		fi;
		i++
	:: else -> break
	od;
	i = 0;
	do
	:: i < NR_OBJS ->
		if
#ifdef FREE_OFF_BY_ONE
		:: retired[i] && !freed[i] && retired_epoch[i] <= oldest ->
#else
		:: retired[i] && !freed[i] && retired_epoch[i] < oldest ->
#endif
			freed[i] = true
		:: else
		fi;
		i++
	:: else -> break
	od
}

active proctype writer()
{
	byte cur, old, ep = 1, u, i, st, oldest;

	do
	:: u < NR_UPDATES ->
		old = cur;
		cur = u + 1;
		wbuf ! 0, cur;			/* smmu_invs_publish() */
		/* hyp_gp_retire_locked() */
		retired_epoch[old] = ep;
		retired[old] = true;
		ep++;
		wbuf ! 1, ep;			/* smp_store_release(epoch) */
		reclaim();
		u++
	:: else -> break
	od;

	/*
	 * Every CPU back in the host, its slot store visible (stores reach
	 * memory eventually): one reclaim frees every retired array.
	 */
	nr_done == NR_READERS;
	i = 0;
	do
	:: i < NR_READERS -> len(rbuf[i]) == 0; i++
	:: else -> break
	od;
	reclaim();
	i = 0;
	do
	:: i < NR_OBJS -> assert(!retired[i] || freed[i]); i++
	:: else -> break
	od
}

init
{
	byte i;

	atomic {
		i = 0;
		do
		:: i < NR_READERS ->
			run flush_reader(i);
			run reader(i);
			i++
		:: else -> break
		od
	}
}
