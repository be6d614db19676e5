"""Containers and VMs seen by the real daemon (issue 3, "Tests (CI)").

Containers: CPU burners in kubepods-style cgroups the test creates on the host — one on cgroup v2
(containerd, systemd layout), one on the v1 `cpu`/`cpuacct` hierarchies (kubelet's cgroupfs
layout) — attributed by kepler on a driven powercap tree. Checked: container_id, runtime and
pod_id from the cgroup paths; the energy split between the containers follows the CPU time the
cgroups themselves account; container = Σ its processes to the microjoule in every scrape;
killed containers stay exported as `terminated` with their final energy.

VM: a copy of bash at `…/usr/bin/qemu-system-x86_64` with libvirt-style arguments shows up as a
VM whose energy is its process's.

The container tests need root (they create cgroups and move processes into them) and remove
their cgroups afterwards, also when a test fails. Run alone:
KEPLER_BINARY=/path/to/kepler python3 -m unittest -v test_workloads
"""

import dataclasses
import os
import shutil
import time
import unittest
import uuid

import cgroups
import kepler_harness as h
from exposition import close, microjoules
from plumbing import log

INTERVAL_S = 1.0
WARMUP_SNAPSHOTS = 3          # the first refreshes only seed deltas
WINDOW_S = 10.0               # ≥ 8 s asked; longer keeps read skew and tick rounding negligible
MIN_WINDOW_S = 8.0
TERMINATION_TIMEOUT_S = 5 * INTERVAL_S
RETENTION_RECHECK_S = 3.0
TERMINATED_RETENTION = "60s"
VM_SNAPSHOTS = 5
RATIO_TOLERANCE = 0.10
WATTS_REL_TOLERANCE = 1e-9

BURNERS_PER_CONTAINER = 2     # so that "container = Σ its processes" sums something
DUTY_A = 0.8
DUTY_B = 0.3

CONTAINER_ZONE_LABELS = {"container_id", "container_name", "runtime", "state", "zone", "pod_id",
                         "node_name"}
CONTAINER_SECONDS_LABELS = {"container_id", "container_name", "runtime", "state", "pod_id", "node_name"}
VM_ZONE_LABELS = {"vm_id", "vm_name", "hypervisor", "state", "zone", "node_name"}


def skip_unless_root():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root: creates cgroups and moves processes into them")


def random_container_id():
    return uuid.uuid4().hex + uuid.uuid4().hex     # 64 hex digits, as runtimes make them


# --------------------------------------------------------------------------- containers

@dataclasses.dataclass
class PodContainer:
    """A kubepods-style container made by the test: its cgroup, its burner processes, and the
    labels kepler should give it."""
    name: str                 # CONTAINER_NAME in its processes' environment
    container_id: str
    pod_id: str
    runtime: str
    cgroup: cgroups.Cgroup
    burners: list = dataclasses.field(default_factory=list)

    def burner_pids(self):
        return {str(burner.pid) for burner in self.burners}


def containerd_on_cgroup_v2(builder):
    """Expected: runtime containerd, pod_id = the dashed UID that the slice name spells with '_'."""
    pod_uid, container_id = str(uuid.uuid4()), random_container_id()
    cgroup = builder.create_v2(cgroups.kubepods_v2_path("burstable", pod_uid, container_id))
    return PodContainer("ctr-v2", container_id, pod_uid, "containerd", cgroup)


def kubelet_on_cgroup_v1(builder):
    """Expected: runtime kubernetes (the kubepods pattern), pod_id = the UID in `pod<uid>`."""
    pod_uid, container_id = str(uuid.uuid4()), random_container_id()
    cgroup = builder.create_v1(cgroups.kubepods_v1_path("burstable", pod_uid, container_id))
    return PodContainer("ctr-v1", container_id, pod_uid, "kubernetes", cgroup)


def start_burners(bed, container, duty):
    """BURNERS_PER_CONTAINER duty-cycle burners that join the container's cgroup before exec,
    so the daemon never sees them anywhere else. The environment names the container
    (CONTAINER_NAME, no HOSTNAME to take precedence)."""
    environment = {k: v for k, v in os.environ.items() if k != "HOSTNAME"}
    environment["CONTAINER_NAME"] = container.name
    for _ in range(BURNERS_PER_CONTAINER):
        burner = h.duty_cycle_burner(bed.workdir, f"burn-{container.name}", duty,
                                     env=environment, preexec_fn=container.cgroup.join)
        container.burners.append(bed.add_workload(burner))
    log(f"{container.name}: burners {sorted(container.burner_pids())} at {duty:.0%} in "
        f"{', '.join(container.cgroup.directories)}")


# --------------------------------------------------------------------------- observing

@dataclasses.dataclass
class Reading:
    """One snapshot and each container's CPU seconds as its cgroup counts them, read right
    after the snapshot appeared."""
    snapshot: h.Snapshot
    cgroup_cpu_s: dict        # container key -> seconds

    @property
    def metrics(self):
        return self.snapshot.metrics


@dataclasses.dataclass
class ContainerObservation:
    warmup: list = dataclasses.field(default_factory=list)
    window: list = dataclasses.field(default_factory=list)      # the measured window
    after_kill: list = dataclasses.field(default_factory=list)  # until every container is terminated
    retained: list = dataclasses.field(default_factory=list)    # RETENTION_RECHECK_S more
    killed_at: float = 0.0

    @property
    def all_readings(self):
        return self.warmup + self.window + self.after_kill + self.retained


def container_series(metrics, name, container, **labels):
    return metrics.series(name, container_id=container.container_id, **labels)


def is_terminated(metrics, container, zones):
    joules = "kepler_container_cpu_joules_total"
    terminated = container_series(metrics, joules, container, state="terminated")
    return ({s.labels["zone"] for s in terminated} == zones
            and not container_series(metrics, joules, container, state="running"))


def observe_containers(daemon, containers, zones):
    """Warm-up, a measured window of ≥ WINDOW_S, then kill every burner and watch the
    containers turn terminated and stay exported for RETENTION_RECHECK_S."""
    watcher = h.SnapshotWatcher(daemon)

    def read():
        snapshot = watcher.next_snapshot(timeout=4 * INTERVAL_S)
        return Reading(snapshot, {key: c.cgroup.cpu_seconds() for key, c in containers.items()})

    def all_terminated(reading):
        return all(is_terminated(reading.metrics, c, zones) for c in containers.values())

    seen = ContainerObservation()
    seen.warmup = [read() for _ in range(WARMUP_SNAPSHOTS)]
    seen.window.append(read())
    while seen.window[-1].snapshot.seen_at - seen.window[0].snapshot.seen_at < WINDOW_S:
        seen.window.append(read())
    burners = [burner for c in containers.values() for burner in c.burners]
    for burner in burners:
        burner.process.kill()
    for burner in burners:
        burner.stop()
    seen.killed_at = time.monotonic()
    while time.monotonic() - seen.killed_at < TERMINATION_TIMEOUT_S:
        seen.after_kill.append(read())
        if all_terminated(seen.after_kill[-1]):
            break
    if seen.after_kill and all_terminated(seen.after_kill[-1]):
        terminated_at = seen.after_kill[-1].snapshot.seen_at
        while time.monotonic() - terminated_at < RETENTION_RECHECK_S:
            seen.retained.append(read())
    log(f"observed {len(seen.all_readings)} snapshots: window {window_seconds(seen):.2f} s, "
        f"{len(seen.after_kill)} after the kill, {len(seen.retained)} while retained")
    return seen


def window_seconds(seen):
    return seen.window[-1].snapshot.seen_at - seen.window[0].snapshot.seen_at


def process_series_of(metrics, name, container_id, **labels):
    """The process series (running and terminated) whose container_id is `container_id`."""
    return metrics.series(name, container_id=container_id, **labels)


def process_series_of_pid(metrics, pid):
    """Every process series of `pid`: joules and watts per zone, and its CPU seconds."""
    return [s for name in ("kepler_process_cpu_joules_total", "kepler_process_cpu_watts",
                           "kepler_process_cpu_seconds_total")
            for s in metrics.series(name, pid=pid)]


def zones_of(series):
    return {s.labels["zone"] for s in series}


class ContainerWorkloadTest(unittest.TestCase):
    """Container A: cgroup v2, containerd, ~80 % duty; container B: cgroup v1 cpu+cpuacct,
    kubelet cgroupfs layout, ~30 % duty; two burner processes each."""

    @classmethod
    def setUpClass(cls):
        skip_unless_root()
        cls.bed = h.TestBed("kepler-it-workloads-")
        with cls.bed.closed_on_failure():
            builder = cgroups.CgroupBuilder()
            cls.bed.on_close(builder.remove_all)   # runs after the burners are stopped
            cls.driver = cls.bed.start_powercap()
            cls.containers, cls.unavailable = {}, {}
            for key, make, duty in (("A", containerd_on_cgroup_v2, DUTY_A),
                                    ("B", kubelet_on_cgroup_v1, DUTY_B)):
                try:
                    container = make(builder)
                except cgroups.CgroupUnavailable as reason:
                    cls.unavailable[key] = str(reason)
                    log(f"container {key} not made: {reason}")
                    continue
                cls.containers[key] = container
                start_burners(cls.bed, container, duty)
            if not cls.containers:
                raise unittest.SkipTest(f"no cgroup hierarchy to make containers in: {cls.unavailable}")
            cls.daemon = cls.bed.add_daemon(terminated_retention=TERMINATED_RETENTION).start()
            cls.seen = observe_containers(cls.daemon, cls.containers, cls.zones())

    @classmethod
    def tearDownClass(cls):
        cls.bed.stop_daemon_and_close()

    # ------------------------------------------------------------------ helpers

    @classmethod
    def zones(cls):
        return set(cls.driver.watts())

    def container(self, key):
        """Container `key`, or a skip naming why the host could not make it."""
        if key not in self.containers:
            self.skipTest(f"container {key} not made: {self.unavailable[key]}")
        return self.containers[key]

    def for_each_container(self, check):
        """Runs `check(container)` for A and B, each as a subtest (skipped if not made)."""
        for key in ("A", "B"):
            with self.subTest(container=key):
                check(self.container(key))

    def for_each_reading(self, check):
        """Runs `check(metrics)` on every snapshot seen; fails once, naming the first failure."""
        readings = self.seen.all_readings
        failures = []
        for index, reading in enumerate(readings):
            try:
                check(reading.metrics)
            except AssertionError as error:
                failures.append(f"snapshot {index}: {error}")
        if failures:
            self.fail(f"{len(failures)} of {len(readings)} snapshots fail; first: {failures[0]}")

    def last_running(self, container):
        """The last reading in which `container` was running."""
        for reading in reversed(self.seen.window + self.seen.after_kill):
            if container_series(reading.metrics, "kepler_container_cpu_joules_total", container,
                                state="running"):
                return reading
        self.fail(f"{container.name} was never seen running")

    def first_terminated(self, container):
        for reading in self.seen.after_kill + self.seen.retained:
            if is_terminated(reading.metrics, container, self.zones()):
                return reading
        return None

    def assert_container_identity(self, sample, container, state):
        self.assertEqual(sample.labels["runtime"], container.runtime, sample.labels)
        self.assertEqual(sample.labels["pod_id"], container.pod_id, sample.labels)
        self.assertEqual(sample.labels["container_name"], container.name, sample.labels)
        self.assertEqual(sample.labels["state"], state, sample.labels)

    # ------------------------------------------------------------------ identity and labels

    def test_container_energy_series_carry_id_runtime_and_pod(self):
        metrics = self.seen.window[-1].metrics

        def check(container):
            for name in ("kepler_container_cpu_joules_total", "kepler_container_cpu_watts"):
                series = container_series(metrics, name, container)
                self.assertEqual(zones_of(series), self.zones(),
                                 f"{name}{{container_id={container.container_id}}}")
                for sample in series:
                    self.assertEqual(set(sample.labels), CONTAINER_ZONE_LABELS, f"labels of {name}")
                    self.assert_container_identity(sample, container, "running")
        self.for_each_container(check)

    def test_container_cpu_seconds_series(self):
        metrics = self.seen.window[-1].metrics

        def check(container):
            sample = metrics.one("kepler_container_cpu_seconds_total",
                                 container_id=container.container_id)
            self.assertEqual(set(sample.labels), CONTAINER_SECONDS_LABELS)
            self.assert_container_identity(sample, container, "running")
            self.assertGreater(sample.value, 0)
        self.for_each_container(check)

    def test_burner_processes_are_typed_container_with_its_id(self):
        metrics = self.seen.window[-1].metrics

        def check(container):
            claimed_by = {s.labels["pid"] for s in metrics.series("kepler_process_cpu_seconds_total",
                                                                  container_id=container.container_id)}
            self.assertEqual(claimed_by, container.burner_pids(), "processes with its container_id")
            for pid in sorted(container.burner_pids()):
                series = process_series_of_pid(metrics, pid)
                self.assertEqual(len(series), 2 * len(self.zones()) + 1, f"series of pid {pid}")
                for sample in series:
                    self.assertEqual(sample.labels["type"], "container", f"{sample.name}{sample.labels}")
                    self.assertEqual(sample.labels["container_id"], container.container_id,
                                     f"{sample.name}{sample.labels}")
                    self.assertEqual(sample.labels["vm_id"], "", f"{sample.name}{sample.labels}")
        self.for_each_container(check)

    # ------------------------------------------------------------------ energy split

    def test_energy_ratio_follows_cgroup_cpu_time_ratio(self):
        a, b = self.container("A"), self.container("B")
        first, last = self.seen.window[0], self.seen.window[-1]
        self.assertGreaterEqual(last.snapshot.seen_at - first.snapshot.seen_at, MIN_WINDOW_S)

        def package_joules(reading, container):
            return reading.metrics.one("kepler_container_cpu_joules_total", state="running",
                                       zone="package", container_id=container.container_id).value

        energy = {key: package_joules(last, c) - package_joules(first, c)
                  for key, c in (("A", a), ("B", b))}
        cpu = {key: last.cgroup_cpu_s[key] - first.cgroup_cpu_s[key] for key in ("A", "B")}
        log(f"over {window_seconds(self.seen):.2f} s: A {energy['A']:.3f} J / {cpu['A']:.3f} cpu-s, "
            f"B {energy['B']:.3f} J / {cpu['B']:.3f} cpu-s")
        self.assertGreater(energy["B"], 0)
        self.assertGreater(cpu["B"], 0)
        energy_ratio, cpu_ratio = energy["A"] / energy["B"], cpu["A"] / cpu["B"]
        log(f"energy ratio A/B {energy_ratio:.4f}, cgroup CPU-time ratio A/B {cpu_ratio:.4f}")
        self.assertTrue(close(energy_ratio, cpu_ratio, RATIO_TOLERANCE),
                        f"energy ratio A/B {energy_ratio:.4f} vs cgroup CPU-time ratio {cpu_ratio:.4f}")

    # ------------------------------------------------------------------ exact sums

    def test_container_energy_is_sum_of_its_processes_in_every_scrape(self):
        def check(metrics):
            for sample in metrics.series("kepler_container_cpu_joules_total"):
                container_id, zone = sample.labels["container_id"], sample.labels["zone"]
                processes = process_series_of(metrics, "kepler_process_cpu_joules_total",
                                              container_id, zone=zone)   # running + terminated
                processes_uj = sum(microjoules(s.value) for s in processes)
                slack_uj = len(processes) + 1
                self.assertLessEqual(
                    abs(microjoules(sample.value) - processes_uj), slack_uj,
                    f"container {container_id} ({sample.labels['state']}) {zone}: "
                    f"{microjoules(sample.value)} µJ != Σ {len(processes)} process series {processes_uj} µJ")
        self.for_each_reading(check)

    def test_container_watts_is_sum_of_its_running_processes_in_every_scrape(self):
        def check(metrics):
            for sample in metrics.series("kepler_container_cpu_watts"):
                container_id, zone = sample.labels["container_id"], sample.labels["zone"]
                running = process_series_of(metrics, "kepler_process_cpu_watts", container_id,
                                            zone=zone, state="running")
                total = sum(s.value for s in running)
                self.assertTrue(close(sample.value, total, WATTS_REL_TOLERANCE, 1e-12),
                                f"container {container_id} ({sample.labels['state']}) {zone}: "
                                f"{sample.value} W != Σ {len(running)} running processes {total} W")
        self.for_each_reading(check)

    # ------------------------------------------------------------------ terminated containers

    def test_killed_containers_turn_terminated_with_their_last_running_energy(self):
        def check(container):
            reading = self.first_terminated(container)
            self.assertIsNotNone(reading, f"{container.name} not terminated within "
                                          f"{TERMINATION_TIMEOUT_S} s of the kill\n" + self.daemon.log_tail())
            log(f"{container.name}: terminated {reading.snapshot.seen_at - self.seen.killed_at:.2f} s "
                f"after the kill")
            self.assert_terminated_with_final_energy(reading.metrics, container)
        self.for_each_container(check)

    def test_terminated_containers_stay_exported(self):
        def check(container):
            first = self.first_terminated(container)
            self.assertIsNotNone(first, f"{container.name} never terminated")
            later = [r for r in self.seen.retained if r.snapshot.seen_at > first.snapshot.seen_at]
            self.assertTrue(later, "no snapshot after the containers terminated")
            self.assertGreaterEqual(later[-1].snapshot.seen_at - first.snapshot.seen_at,
                                    RETENTION_RECHECK_S - INTERVAL_S)
            for reading in later:
                self.assert_terminated_with_final_energy(reading.metrics, container)
        self.for_each_container(check)

    def assert_terminated_with_final_energy(self, metrics, container):
        self.assertTrue(is_terminated(metrics, container, self.zones()),
                        f"{container.name} not (only) terminated")
        final = self.last_running(container).metrics
        for zone in sorted(self.zones()):
            joules = metrics.one("kepler_container_cpu_joules_total", state="terminated", zone=zone,
                                 container_id=container.container_id)
            self.assertEqual(set(joules.labels), CONTAINER_ZONE_LABELS)
            self.assert_container_identity(joules, container, "terminated")
            last = final.value("kepler_container_cpu_joules_total", state="running", zone=zone,
                               container_id=container.container_id)
            self.assertEqual(microjoules(joules.value), microjoules(last),
                             f"{zone}: terminated {joules.value} J vs last running {last} J")
            watts = metrics.value("kepler_container_cpu_watts", state="terminated", zone=zone,
                                  container_id=container.container_id)
            self.assertEqual(watts, 0, f"{zone}: a terminated container's watts")


# --------------------------------------------------------------------------- virtual machines

def fake_qemu(directory, vm_name, vm_uuid):
    """A copy of bash at `<directory>/usr/bin/qemu-system-x86_64` spinning in a builtin loop;
    the qemu arguments after the script are ignored by bash (they become $0, $1, …)."""
    usr_bin = os.path.join(directory, "usr", "bin")
    os.makedirs(usr_bin)
    path = os.path.join(usr_bin, "qemu-system-x86_64")
    shutil.copy("/bin/bash", path)
    os.chmod(path, 0o755)
    return h.Workload(usr_bin, "qemu-system-x86_64", path,
                      ["-c", "while :; do :; done", "-name", f"guest={vm_name},debug-threads=on",
                       "-uuid", vm_uuid])


class VirtualMachineTest(unittest.TestCase):
    """A qemu command line (libvirt style) burning one CPU: a VM with that id and name."""

    VM_NAME = "vm1"

    @classmethod
    def setUpClass(cls):
        cls.bed = h.TestBed("kepler-it-vm-")
        with cls.bed.closed_on_failure():
            cls.driver = cls.bed.start_powercap()
            cls.vm_id = str(uuid.uuid4())
            cls.qemu = cls.bed.add_workload(fake_qemu(cls.bed.workdir, cls.VM_NAME, cls.vm_id))
            cls.daemon = cls.bed.add_daemon().start()
            watcher = h.SnapshotWatcher(cls.daemon)
            cls.snapshots = [watcher.next_snapshot(timeout=4 * INTERVAL_S) for _ in range(VM_SNAPSHOTS)]

    @classmethod
    def tearDownClass(cls):
        cls.bed.stop_daemon_and_close()

    def zones(self):
        return set(self.driver.watts())

    def test_vm_series_carry_id_name_and_hypervisor(self):
        metrics = self.snapshots[-1].metrics
        for name in ("kepler_vm_cpu_joules_total", "kepler_vm_cpu_watts"):
            series = metrics.series(name, vm_id=self.vm_id)
            self.assertEqual(zones_of(series), self.zones(), f"{name}{{vm_id={self.vm_id}}}")
            for sample in series:
                self.assertEqual(set(sample.labels), VM_ZONE_LABELS, f"labels of {name}")
                self.assertEqual(sample.labels["vm_name"], self.VM_NAME)
                self.assertEqual(sample.labels["hypervisor"], "kvm")
                self.assertEqual(sample.labels["state"], "running")
        package = metrics.value("kepler_vm_cpu_joules_total", vm_id=self.vm_id, zone="package")
        self.assertGreater(package, 0)

    def test_qemu_process_is_typed_vm_with_its_id(self):
        metrics = self.snapshots[-1].metrics
        pid = str(self.qemu.pid)
        series = process_series_of_pid(metrics, pid)
        self.assertEqual(len(series), 2 * len(self.zones()) + 1, f"series of pid {pid}")
        for sample in series:
            self.assertEqual(sample.labels["type"], "vm", f"{sample.name}{sample.labels}")
            self.assertEqual(sample.labels["vm_id"], self.vm_id, f"{sample.name}{sample.labels}")
            self.assertEqual(sample.labels["container_id"], "", f"{sample.name}{sample.labels}")

    def test_vm_energy_is_its_process_energy_in_every_scrape(self):
        pid = str(self.qemu.pid)
        checked = 0
        for index, snapshot in enumerate(self.snapshots):
            metrics = snapshot.metrics
            for zone in sorted(self.zones()):
                vm = metrics.series("kepler_vm_cpu_joules_total", vm_id=self.vm_id, zone=zone)
                if not vm:
                    continue      # not classified yet in the very first refresh
                process = metrics.one("kepler_process_cpu_joules_total", pid=pid, zone=zone)
                self.assertLessEqual(abs(microjoules(vm[0].value) - microjoules(process.value)), 1,
                                     f"snapshot {index} {zone}: VM {vm[0].value} J vs process "
                                     f"{process.value} J")
                vm_watts = metrics.value("kepler_vm_cpu_watts", vm_id=self.vm_id, zone=zone)
                process_watts = metrics.value("kepler_process_cpu_watts", pid=pid, zone=zone)
                self.assertTrue(close(vm_watts, process_watts, WATTS_REL_TOLERANCE, 1e-12),
                                f"snapshot {index} {zone}: VM {vm_watts} W vs process {process_watts} W")
                checked += 1
        self.assertGreaterEqual(checked, len(self.zones()) * (VM_SNAPSHOTS - 1))


if __name__ == "__main__":
    unittest.main(verbosity=2)
