#pragma once
// Internal to the renderer: one function per group of metric families.

#include <array>
#include <charconv>
#include <string_view>

#include "metrics/exposition.hpp"
#include "metrics/renderer.hpp"

namespace kepler {

inline constexpr double uj_to_joules = 1e-6;

/// An integer rendered without allocation.
struct number_text {
  explicit number_text(int64_t value) {
    length = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value).ptr - buffer.data();
  }
  std::string_view view() const { return {buffer.data(), length}; }
  std::array<char, 24> buffer{};
  std::size_t length = 0;
};

/// Whether the snapshot has a platform zone (physical_zone::platform).
bool has_platform_zone(const snapshot& snap);

void render_containers(exposition_writer& out, const snapshot& snap, const render_context& ctx);
void render_vms(exposition_writer& out, const snapshot& snap, const render_context& ctx);
/// Pods with a known name (kube.enabled); pod = Σ its containers.
void render_pods(exposition_writer& out, const snapshot& snap, const render_context& ctx);
/// Kepler ≤ 0.9's per-zone families (docs/compatibility.md difference #17), when legacy metrics are enabled.
void render_legacy(exposition_writer& out, const snapshot& snap, const render_context& ctx);
void render_health(exposition_writer& out, const snapshot& snap);
/// kepler_platform_* and the node's platform families (docs/platform.md).
void render_platform(exposition_writer& out, const snapshot& snap, const render_context& ctx);
/// The pod source's health (kube.enabled).
void render_kube(exposition_writer& out, const snapshot& snap);
void render_self(exposition_writer& out, const self_stats& self);
/// kepler_bpf_up and, in eBPF mode, the probe's cost, map fill and drops.
void render_bpf(exposition_writer& out, const snapshot& snap);

}  // namespace kepler
