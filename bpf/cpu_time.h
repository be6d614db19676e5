/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/* The ABI shared by cpu_time.bpf.c and the C++ reader: plain C, fixed sizes, explicit padding. */
#ifndef KEPLER_BPF_CPU_TIME_H
#define KEPLER_BPF_CPU_TIME_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CPU_TIME_COMM_LEN 16
#define CPU_TIME_DEFAULT_MAX_PROCESSES 32768
#define CPU_TIME_DEFAULT_MAX_CGROUPS 8192
#define CPU_TIME_DEFAULT_EXIT_RING_BYTES (256 * 1024)

/* A process: its tgid plus the group leader's start time, so pid reuse never mixes two. */
struct cpu_time_process_key {
  __u32 tgid;
  __u32 pad;
  __u64 start_ns; /* group leader start_boottime, ns since boot (CLOCK_BOOTTIME) */
};

/* Written when a process is first seen; updated when it execs or moves to another cgroup. */
struct cpu_time_process_meta {
  char comm[CPU_TIME_COMM_LEN]; /* comm of the group leader (after its last exec) */
  __u64 cgroup_id;              /* cgroup v2 id (= directory inode) of the process */
};

/* Emitted into the ring buffer when the last thread of a thread group exits. */
struct cpu_time_exit_event {
  __u32 tgid;
  __u32 pad;
  __u64 start_ns;
};

/* Per-CPU scheduler state: one lookup on the hot path serves both fields. */
struct cpu_time_cpu_state {
  __u64 last_switch_ns; /* bpf_ktime_get_ns() at the last sched_switch on this CPU, 0 = none yet */
  __u64 idle_ns;        /* time this CPU's idle task (pid 0) was on the CPU */
};

/* Indices of the per-CPU drop counters: every entry or event that could not be stored. */
#define CPU_TIME_DROP_PROCESS 0   /* cpu_ns_by_process full (the slice is lost for that process) */
#define CPU_TIME_DROP_CGROUP 1    /* cpu_ns_by_cgroup full */
#define CPU_TIME_DROP_META 2      /* process_meta full (comm / cgroup unknown) */
#define CPU_TIME_DROP_EXIT 3      /* process_exits ring buffer full (exit event lost) */
#define CPU_TIME_DROP_KINDS 4

#endif /* KEPLER_BPF_CPU_TIME_H */
