#include "sensors/proc/vm_detect.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <sstream>

using namespace kepler;

namespace {

/// A command line written with single spaces between arguments (none of these contain one).
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> argv;
  std::istringstream in(line);
  for (std::string arg; in >> arg;) argv.push_back(arg);
  return argv;
}

// What libvirt 10 starts for a q35 domain named vm1.
const std::string libvirt_line =
    "/usr/bin/qemu-system-x86_64 -name guest=vm1,debug-threads=on -S -object "
    "{\"qom-type\":\"secret\",\"id\":\"masterKey0\",\"format\":\"raw\",\"file\":\"/var/lib/"
    "libvirt/qemu/domain-1-vm1/master-key.aes\"} -machine "
    "pc-q35-8.2,usb=off,vmport=off,dump-guest-core=off,memory-backend=pc.ram,hpet=off,acpi=on "
    "-accel kvm -cpu host,migratable=on -m size=2097152k -overcommit mem-lock=off -smp "
    "2,sockets=2,cores=1,threads=1 -uuid 0b3e6a5c-8f1d-4c2a-9e7b-3d5f1a2b4c6d -no-user-config "
    "-nodefaults -chardev socket,id=charmonitor,fd=32,server=on,wait=off -mon "
    "chardev=charmonitor,id=monitor,mode=control -rtc base=utc,driftfix=slew -no-shutdown "
    "-boot strict=on -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny "
    "-msg timestamp=on";

}  // namespace

TEST_CASE("a libvirt qemu process is a kvm VM with libvirt's uuid and guest name", "[vm]") {
  const auto vm = detect_vm(words(libvirt_line));
  REQUIRE(vm);
  CHECK(vm->hypervisor == "kvm");
  CHECK(vm->id == "0b3e6a5c-8f1d-4c2a-9e7b-3d5f1a2b4c6d");
  CHECK(vm->name == "vm1");
}

TEST_CASE("a RHEL qemu-kvm process is a kvm VM", "[vm]") {
  const auto vm =
      detect_vm(words("/usr/libexec/qemu-kvm -name guest=rhel9-web,debug-threads=on -S -machine "
                      "pc-q35-rhel9.4.0,usb=off -accel kvm -m size=4194304k -uuid "
                      "6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f -no-user-config -nodefaults"));
  REQUIRE(vm);
  CHECK(vm->hypervisor == "kvm");
  CHECK(vm->id == "6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f");
  CHECK(vm->name == "rhel9-web");
}

TEST_CASE("a Proxmox kvm process is named by its -name and, lacking -uuid, identified by it", "[vm]") {
  const auto vm =
      detect_vm(words("/usr/bin/kvm -id 100 -name ubuntu-22,debug-threads=on -no-shutdown -chardev "
                      "socket,id=qmp,path=/var/run/qemu-server/100.qmp,server=on,wait=off -mon "
                      "chardev=qmp,mode=control -pidfile /var/run/qemu-server/100.pid -daemonize -smbios "
                      "type=1,uuid=2f0b5a3c-1d2e-4f5a-8b9c-0d1e2f3a4b5c -smp 2,sockets=1,cores=2,maxcpus=2 "
                      "-m 2048 -machine type=pc-i440fx-8.1+pve0"));
  REQUIRE(vm);
  CHECK(vm->hypervisor == "kvm");
  CHECK(vm->name == "ubuntu-22");  // QEMU's implied `guest`; v0.11 kept ",debug-threads=on"
  CHECK(vm->id == "ubuntu-22");
}

TEST_CASE("qemu -name accepts every spelling QEMU and v0.11 do", "[vm]") {
  const auto name_of = [](std::vector<std::string> argv) {
    const auto vm = detect_vm(argv);
    REQUIRE(vm);
    return vm->name;
  };
  const std::string qemu = "/usr/bin/qemu-system-aarch64";
  CHECK(name_of({qemu, "-name", "plain"}) == "plain");
  CHECK(name_of({qemu, "-name=eq"}) == "eq");
  CHECK(name_of({qemu, "--name", "dashes"}) == "dashes");
  CHECK(name_of({qemu, "-name", "debug-threads=on,guest=late"}) == "late");
  CHECK(name_of({qemu, "-name", "guest=a,,b,debug-threads=on"}) == "a,b");  // libvirt's escape
  CHECK(name_of({qemu, "-name", "with space,process=qemu-x"}) == "with space");
  CHECK(name_of({qemu, "-names", "x", "-name", "real"}) == "real");
  // No guest name among the options: the fallback.
  CHECK(name_of({qemu, "-uuid", "0b3e6a5c-8f1d", "-name", "process=qemu-x"}) == "kvm-0b3e6a5c");
}

TEST_CASE("qemu ids come from -uuid, then the name, then the command-line hash", "[vm]") {
  const std::string qemu = "/usr/bin/qemu-system-x86_64";
  SECTION("-uuid in its other spellings") {
    CHECK(detect_vm({qemu, "--uuid", "u-1", "-name", "n"})->id == "u-1");
    CHECK(detect_vm({qemu, "-uuid=u-2", "-name", "n"})->id == "u-2");
  }
  SECTION("an empty or missing -uuid value counts as absent") {
    CHECK(detect_vm({qemu, "-name", "n", "-uuid", ""})->id == "n");
    CHECK(detect_vm({qemu, "-name", "n", "-uuid"})->id == "n");
  }
  SECTION("neither uuid nor name: the hash, and a name made from it") {
    const std::vector<std::string> argv{qemu, "-m", "2048"};
    const auto vm = detect_vm(argv);
    REQUIRE(vm);
    CHECK(vm->id == "40ba886239da2841");  // FNV-1a 64 of the cmdline bytes, computed apart
    CHECK(vm->id == generated_vm_id(argv));
    CHECK(vm->name == "kvm-40ba8862");
  }
}

TEST_CASE("ids shorter than eight characters give a whole-id name and no crash", "[vm]") {
  const auto vm = detect_vm({"/usr/bin/qemu-system-x86_64", "-uuid", "ab"});
  REQUIRE(vm);
  CHECK(vm->id == "ab");
  CHECK(vm->name == "kvm-ab");
}

TEST_CASE("a qemu with -xen-domid is a Xen guest identified by its domain id", "[vm]") {
  SECTION("a libxl HVM device model") {
    const auto vm =
        detect_vm(words("/usr/lib/xen/bin/qemu-system-i386 -xen-domid 3 -chardev "
                        "socket,id=libxl-cmd,path=/var/run/xen/qmp-libxl-3,server=on,wait=off -no-shutdown "
                        "-mon chardev=libxl-cmd,mode=control -nodefaults -no-user-config -name debian-hvm "
                        "-vnc 127.0.0.1:0,to=99 -machine xenfv -m 1016 -uuid 9a8b7c6d-5e4f-3a2b-1c0d-ffeeddccbbaa"));
    REQUIRE(vm);
    CHECK(vm->hypervisor == "xen");
    CHECK(vm->id == "3");
    CHECK(vm->name == "debian-hvm");
  }
  SECTION("without a name the one-digit id makes the name") {
    const auto vm = detect_vm(words("/usr/lib/xen/bin/qemu-system-i386 -xen-domid 7 -xen-attach -nographic -M xenpv"));
    REQUIRE(vm);
    CHECK(vm->hypervisor == "xen");
    CHECK(vm->id == "7");
    CHECK(vm->name == "xen-7");
  }
  SECTION("a -xen-domid without a value leaves it a kvm guest") {
    const auto vm = detect_vm({"/usr/bin/qemu-system-x86_64", "-name", "n", "-xen-domid"});
    REQUIRE(vm);
    CHECK(vm->hypervisor == "kvm");
  }
}

TEST_CASE("VirtualBox VM processes take their id from --startvm and name from --comment", "[vm]") {
  SECTION("VBoxHeadless as VBoxSVC starts it") {
    const auto vm = detect_vm({"/usr/lib/virtualbox/VBoxHeadless", "--comment", "win10", "--startvm",
                               "8b3e2f1a-0c4d-4e5f-9a6b-7c8d9e0f1a2b", "--vrde", "config"});
    REQUIRE(vm);
    CHECK(vm->hypervisor == "virtualbox");
    CHECK(vm->id == "8b3e2f1a-0c4d-4e5f-9a6b-7c8d9e0f1a2b");
    CHECK(vm->name == "win10");
  }
  SECTION("VirtualBoxVM with a spaced name") {
    const auto vm = detect_vm({"/usr/lib64/virtualbox/VirtualBoxVM", "--comment", "Ubuntu 22.04", "--startvm",
                               "1a2b3c4d-0000-4000-8000-123456789abc", "--no-startvm-errormsgbox"});
    REQUIRE(vm);
    CHECK(vm->id == "1a2b3c4d-0000-4000-8000-123456789abc");
    CHECK(vm->name == "Ubuntu 22.04");
  }
  SECTION("Oracle's /opt/VirtualBox install, single-dash option, no comment") {
    const auto vm = detect_vm({"/opt/VirtualBox/VBoxSDL", "-startvm", "devbox"});
    REQUIRE(vm);
    CHECK(vm->hypervisor == "virtualbox");
    CHECK(vm->id == "devbox");
    CHECK(vm->name == "virtualbox-devbox");
  }
  SECTION("the manager and the service are not VMs") {
    CHECK_FALSE(detect_vm({"/usr/lib/virtualbox/VirtualBox"}));
    CHECK_FALSE(detect_vm({"/usr/lib/virtualbox/VBoxSVC", "--auto-shutdown"}));
    CHECK_FALSE(detect_vm({"/usr/bin/VBoxHeadless", "--startvm", "x"}));  // the /usr/bin wrapper
  }
}

TEST_CASE("VMware VM processes are named and identified by their .vmx file", "[vm]") {
  SECTION("Workstation's vmware-vmx") {
    const auto vm = detect_vm({"/usr/lib/vmware/bin/vmware-vmx", "-s", "vmx.stdio.keep=TRUE", "-#",
                               "product=1;name=VMware Workstation;version=17.5.0;buildnumber=22583795;", "-@",
                               "duplex=3;msgs=ui", "/home/alice/vmware/Ubuntu 64-bit/Ubuntu 64-bit.vmx"});
    REQUIRE(vm);
    CHECK(vm->hypervisor == "vmware");
    CHECK(vm->id == "Ubuntu 64-bit");
    CHECK(vm->name == "Ubuntu 64-bit");
  }
  SECTION("no .vmx argument: the hash") {
    const std::vector<std::string> argv{"/usr/lib/vmware/bin/vmware-vmx-debug", "-s", "x=y"};
    const auto vm = detect_vm(argv);
    REQUIRE(vm);
    CHECK(vm->id == generated_vm_id(argv));
    CHECK(vm->name == "vmware-" + vm->id.substr(0, 8));
  }
  SECTION("the Workstation UI is not a VM") {
    CHECK_FALSE(detect_vm({"/usr/bin/vmware", "/home/alice/vmware/a/a.vmx"}));
  }
}

TEST_CASE("a bare qemu-system name, as started through PATH, is not a VM (as in v0.11)", "[vm]") {
  CHECK_FALSE(detect_vm({"qemu-system-x86_64", "-name", "x", "-uuid", "u"}));
  CHECK_FALSE(detect_vm({"./qemu-system-x86_64", "-name", "x"}));
  CHECK(detect_vm({"bin/qemu-system-x86_64", "-name", "x"}));  // v0.11's regex matched this
}

TEST_CASE("only argv[0] is matched: wrappers and tools mentioning a hypervisor are not VMs", "[vm]") {
  CHECK_FALSE(detect_vm(words("sudo /usr/bin/qemu-system-x86_64 -name guest=vm1 -uuid u")));
  CHECK_FALSE(detect_vm(words("/usr/bin/strace -f /usr/libexec/qemu-kvm -name vm1")));
  CHECK_FALSE(detect_vm(words("ls -l /usr/bin/kvm")));
  CHECK_FALSE(detect_vm(words("/bin/bash -c /usr/bin/qemu-system-x86_64")));
}

TEST_CASE("the hypervisor binary must be argv[0]'s last path component", "[vm]") {
  CHECK(detect_vm({"/usr/bin/qemu-system-x86_64-microvm"}));  // Debian's microvm build
  CHECK(detect_vm({"/usr/sbin/qemu-system-ppc64le"}));
  CHECK_FALSE(detect_vm({"/home/u/bin/qemu-system-x86_64/bin/python3"}));
  CHECK_FALSE(detect_vm({"/usr/share/qemu/bin/helper"}));
  CHECK_FALSE(detect_vm({"/usr/bin/qemu-system-"}));  // needs a word character after the dash
  CHECK_FALSE(detect_vm({"/usr/bin/qemu-system--x"}));
  CHECK_FALSE(detect_vm({"/usr/bin/qemu-img", "convert", "a.raw", "b.qcow2"}));
  CHECK_FALSE(detect_vm({"/usr/libexec/qemu-bridge-helper"}));
  CHECK_FALSE(detect_vm({"/usr/bin/qemu-kvm"}));        // neither v0.11 pattern covers bin/qemu-kvm
  CHECK_FALSE(detect_vm({"/usr/bin/kvm_stat", "-1"}));  // `bin/kvm` as a prefix would match
  CHECK_FALSE(detect_vm({"/usr/sbin/kvm-ok"}));
}

TEST_CASE("ordinary processes and garbage are not VMs", "[vm]") {
  CHECK_FALSE(detect_vm({}));
  CHECK_FALSE(detect_vm({""}));
  CHECK_FALSE(detect_vm({"", "-name", "x"}));
  CHECK_FALSE(detect_vm({"/bin/bash"}));
  CHECK_FALSE(detect_vm(words("/usr/bin/python3 /usr/lib/qemu/run.py -uuid x -name y")));
  CHECK_FALSE(detect_vm({"/"}));
  CHECK_FALSE(detect_vm({"bin/"}));
  CHECK_FALSE(detect_vm({"/usr/bin/"}));
  CHECK_FALSE(detect_vm({std::string("/usr/bin/\xff\x00qemu", 15)}));
  CHECK_FALSE(detect_vm({"[kworker/0:1]"}));
}

TEST_CASE("generated ids are FNV-1a 64 of the cmdline bytes, stable and distinct", "[vm]") {
  SECTION("known values, computed apart") {
    CHECK(generated_vm_id({}) == "cbf29ce484222325");  // the offset basis: nothing hashed
    CHECK(generated_vm_id({"/usr/bin/qemu-system-x86_64"}) == "efd505676c9176ad");
  }
  SECTION("the same command line always gives the same id") {
    const auto argv = words(libvirt_line);
    CHECK(generated_vm_id(argv) == generated_vm_id(words(libvirt_line)));
  }
  SECTION("argument boundaries count") {
    CHECK(generated_vm_id({"-m 1"}) != generated_vm_id({"-m", "1"}));
    CHECK(generated_vm_id({"a", ""}) != generated_vm_id({"a"}));
  }
  SECTION("command lines sharing their first bytes differ (v0.11 used the first 8 bytes)") {
    std::set<std::string> ids;
    for (int i = 0; i < 10000; ++i)
      ids.insert(generated_vm_id({"/usr/bin/qemu-system-x86_64", "-m", std::to_string(i)}));
    CHECK(ids.size() == 10000);
  }
}
