#pragma once
// CPU names and microarchitectures for the estimate meter (docs/estimate.md): a key that makes a
// /proc/cpuinfo model name and a SPECpower CPU name of the same processor equal, and the
// microarchitecture of a processor from its name or its CPUID numbers.

#include <string>
#include <string_view>

namespace kepler {

struct node_facts;

/// Lower-case model tokens without vendor names, trademarks, frequencies, core counts and
/// bracketed notes: `Intel(R) Xeon(R) Platinum 8176 CPU @ 2.10GHz` and
/// `Intel Xeon Platinum 8176 CPU 2.10 GHz (Intel Turbo Boost Technology up to 2.80 GHz)` both
/// give `xeon platinum 8176`; `AMD EPYC 7742 64-Core Processor` gives `epyc 7742`.
std::string cpu_model_key(std::string_view name);

/// The microarchitecture of a processor from its key (cpu_model_key), in the SPECpower
/// table's words (sandybridge, skylake, cascadelake, icelake, epyc-gen2, …); empty when the
/// name does not say (e.g. GCE's `Intel(R) Xeon(R) CPU @ 2.20GHz`).
std::string microarchitecture_from_key(std::string_view key);

/// The same from CPUID (Intel family 6 and AMD families 23, 25, 26 by model and stepping) or
/// Arm's implementer and part (neoverse-n1, -v1, -n2, -v2); empty when unknown.
std::string microarchitecture_from_cpuid(const node_facts& facts);

/// The node's microarchitecture: from its model name, else from CPUID.
std::string node_microarchitecture(const node_facts& facts);

/// CCF's name of a microarchitecture ("Skylake", "AMD EPYC 2nd Gen", "AWS Graviton2" for
/// neoverse-n1); empty when CCF has no such processor type.
std::string ccf_microarchitecture(std::string_view architecture);

}  // namespace kepler
