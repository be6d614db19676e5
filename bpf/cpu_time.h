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
#define CPU_TIME_DEFAULT_META_RING_BYTES (256 * 1024)

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
  __u32 slot;                   /* its counters in process_cpu_ns: one per CPU, see below */
  __u32 pad;
};

/* process_cpu_ns is a plain array that user space maps into memory (BPF_F_MMAPABLE) and reads
 * without a system call: CPU c's counter for slot s is element c * max_processes + s, so each
 * CPU writes its own region and a process costs one __u64 per CPU. A slot is taken when a
 * process is first seen (recycled slots from free_slots first, then fresh ones) and given back
 * by user space, counters zeroed, once the process has been reported gone. */
/* Emitted into meta_changes whenever an entry of processes is written (first sight, exec,
 * cgroup move), so user space keeps its own copy without re-reading the whole map each time. */
struct cpu_time_meta_change {
  struct cpu_time_process_key key;
  struct cpu_time_process_meta meta;
};

/* Emitted into the ring buffer at the last switch of the last thread of a thread group: every
 * slice of the process is charged by then. */
struct cpu_time_exit_event {
  __u32 tgid;
  __u32 pad;
  __u64 start_ns;
};

/* A process that ran on this CPU lately and its slot: charging it needs no hash lookup. */
struct cpu_time_cached_process {
  struct cpu_time_process_key key;
  __u32 slot;
  __u32 pad;
};

/* Per-CPU state, one lookup on the hot path. The two processes that ran last on this CPU are
 * cached with their slots, and the slices of the two cgroups that ran last gather here and
 * reach the cgroup map only when they are evicted (least recently used first) or a read
 * flushes the CPU: a CPU alternating between one task and idle, or between two tasks, touches
 * no hash map. */
#define CPU_TIME_GATHER_SLOTS 2
struct cpu_time_cpu_state {
  __u64 idle_since_ns;         /* when the idle task got this CPU (or the last flush), on bpf_ktime_get_ns()'s clock */
  __u64 idle_ns;               /* time this CPU's idle task (pid 0) was on the CPU */
  __u64 charged_since_idle_ns; /* task time charged on this CPU since idle_since_ns */
  __u64 sched_clock_offset_ns; /* bpf_ktime_get_ns() − the scheduler's clock (rq_clock_task) */
  __u64 sched_clock_offset_at; /* the scheduler's clock when that offset was taken */
  /* The task on this CPU and its se.sum_exec_runtime when last charged: a task is charged the
   * growth of the kernel's own runtime counter (what cgroups and /proc account), not the wall
   * time between switches, which also holds interrupts and the scheduler's own work. */
  __u64 running_task;       /* task_struct address as of the last switch seen, 0 before the first */
  __u64 running_charged_ns; /* its sum_exec_runtime already charged */
  struct cpu_time_cached_process process[CPU_TIME_GATHER_SLOTS];
  __u64 cgroup_id[CPU_TIME_GATHER_SLOTS];
  __u64 cgroup_ns[CPU_TIME_GATHER_SLOTS];
  __u32 process_recent; /* slot used last; the other one is evicted next */
  __u32 cgroup_recent;
};

/* Indices of the per-CPU drop counters: every entry or event that could not be stored. */
#define CPU_TIME_DROP_PROCESS 0     /* no slot left for a new process (its time is lost) */
#define CPU_TIME_DROP_CGROUP 1      /* cpu_ns_by_cgroup full */
#define CPU_TIME_DROP_EXIT 2        /* process_exits ring buffer full (exit event lost) */
#define CPU_TIME_DROP_META_CHANGE 3 /* meta_changes full (user space re-reads processes) */
#define CPU_TIME_DROP_KINDS 4

#endif /* KEPLER_BPF_CPU_TIME_H */
