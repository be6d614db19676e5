#include "sensors/proc/container_identity.hpp"

#include <cstddef>

// Hand-written equivalents of Kepler's container regexes (docs/compatibility.md §4.4). This runs for every new
// process, so it scans each path once without allocating and only the winner is copied out.
//
// Decisions beyond the regexes:
// * A 64-hex id must be exactly 64 lowercase hex digits, delimited: where Kepler's unanchored
//   `[0-9a-f]{64}` would take the first 64 digits of a longer hex run (any case), we take
//   nothing, since such a run is some other token, not a container id.
// * `/system.slice/cri-containerd-<id>.scope` (containerd's CRI plugin with the systemd driver
//   placing a container outside kubepods, e.g. under a custom cgroup parent) IS a containerd
//   container with no pod uid: Kepler's `[:/]cri-containerd[-:]` row matches it, the id is
//   a real container id, and calling its processes host processes would move their energy
//   to the node.
// * Relative paths (`/../..`, seen when the reader sits in a cgroup namespace) have lost the
//   `/kubepods/` prefix on cgroupfs nodes: there `pod<uid>/<64hex>` right after a `..` or QoS
//   segment is taken as a kubepods container too (Kepler finds nothing). Systemd-driver
//   scopes keep their runtime prefix and need nothing extra.
// * The pod uid is our addition (Kepler gets it from the API server only); it is taken from
//   the deepest kubepods pod segment that lies before the container id, so a kind node's own
//   id never inherits the uid of a pod nested inside it.

namespace kepler {
namespace {

constexpr std::size_t id_len = 64;
constexpr std::size_t npos = std::string_view::npos;

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_any_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

bool has_at(std::string_view s, std::size_t pos, std::string_view lit) {
  return pos <= s.size() && s.substr(pos).starts_with(lit);
}

/// Whether s[pos, pos+64) is a container id: 64 lowercase hex digits, not followed by more hex.
bool id64_at(std::string_view s, std::size_t pos) {
  if (pos > s.size() || s.size() - pos < id_len) return false;
  unsigned bad = 0;  // no early exit, so the compiler can check all 64 bytes in vector registers
  for (std::size_t i = 0; i < id_len; ++i) bad |= !is_lower_hex(s[pos + i]);
  if (bad != 0) return false;
  return pos + id_len == s.size() || !is_any_hex(s[pos + id_len]);
}

/// Length of the run of characters satisfying `pred` from `pos`.
template <typename Pred>
std::size_t run_of(std::string_view s, std::size_t pos, Pred pred) {
  std::size_t n = 0;
  while (pos + n < s.size() && pred(s[pos + n])) ++n;
  return n;
}

/// The deepest match in one path: `start` is where Kepler's regex match begins.
struct path_match {
  std::size_t start = npos;
  std::size_t id_pos = npos;
  std::string_view id;
  std::string_view runtime;

  bool found() const { return start != npos; }
};

void consider(path_match& best, std::size_t start, std::size_t id_pos, std::string_view id, std::string_view runtime) {
  if (!best.found() || start > best.start) best = {start, id_pos, id, runtime};
}

/// `pod<uid>/<64hex>` at pos (the tail of the kubepods rule); returns the id position or npos.
std::size_t kubepods_tail(std::string_view s, std::size_t pos) {
  if (!has_at(s, pos, "pod")) return npos;
  const auto uid_len = run_of(s, pos + 3, [](char c) { return is_lower_hex(c) || c == '-'; });
  const auto slash = pos + 3 + uid_len;
  if (uid_len == 0 || slash >= s.size() || s[slash] != '/') return npos;
  return id64_at(s, slash + 1) ? slash + 1 : npos;
}

/// `/kubepods/(<qos>/)?pod<uid>/<64hex>` with `/kubepods/` at pos; returns the id position.
std::size_t kubepods_at(std::string_view s, std::size_t pos) {
  const auto body = pos + 10;  // past "/kubepods/"
  const auto qos_end = s.find('/', body);
  if (qos_end != npos && qos_end > body) {
    if (const auto id = kubepods_tail(s, qos_end + 1); id != npos) return id;
  }
  return kubepods_tail(s, body);
}

/// Whether a path is relative to the reader's cgroup namespace (starts with `/..`).
bool is_relative(std::string_view s) { return s == "/.." || s.starts_with("/../"); }

/// Segments after which a relative path's `pod<uid>` is a kubepods pod (the prefix was cut).
bool pod_parent_in_relative(std::string_view seg) { return seg == ".." || seg == "besteffort" || seg == "burstable"; }

/// `cri-containerd[-:]<64hex>` right after a `/` or `:` at i (the systemd colon form uses `:`).
void cri_containerd_at(path_match& best, std::string_view s, std::size_t i) {
  if (has_at(s, i + 1, "cri-containerd") && i + 15 < s.size() && (s[i + 15] == '-' || s[i + 15] == ':') &&
      id64_at(s, i + 16))
    consider(best, i, i + 16, s.substr(i + 16, id_len), "containerd");
}

/// Every rule of docs/compatibility.md §4.4 over one path; the match starting last wins. Every rule but libpod's
/// starts at a `/` or `:`, so only those bytes (and `l`) lead to any comparison.
path_match match_container(std::string_view s) {
  path_match best;
  const bool relative = is_relative(s);
  std::size_t kubepods_resume = 0;  // RE2 FindAll resumes after a match; so do we
  std::size_t prev_slash = npos;
  bool libpod_seen = false;
  // One pass over the bytes: paths are short, so a plain loop beats repeated memchr/memmem.
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == 'l' && !libpod_seen && has_at(s, i, "libpod-") && id64_at(s, i + 7)) {
      // `libpod-(<64hex>).*` needs no delimiter before it, and its `.*` swallows the rest of
      // the path, so only its first match counts.
      consider(best, i, i + 7, s.substr(i + 7, id_len), "podman");
      libpod_seen = true;
    }
    if (c == ':') cri_containerd_at(best, s, i);
    if (c != '/') continue;
    const auto prev_seg = prev_slash == npos ? std::string_view{} : s.substr(prev_slash + 1, i - prev_slash - 1);
    prev_slash = i;
    switch (i + 1 < s.size() ? s[i + 1] : '\0') {
      case 'd':
        if (has_at(s, i + 1, "docker") && i + 7 < s.size() && (s[i + 7] == '-' || s[i + 7] == '/') && id64_at(s, i + 8))
          consider(best, i, i + 8, s.substr(i + 8, id_len), "docker");
        break;
      case 'c':
        if (has_at(s, i + 1, "containerd") && i + 11 < s.size() && (s[i + 11] == '-' || s[i + 11] == '/') &&
            id64_at(s, i + 12))
          consider(best, i, i + 12, s.substr(i + 12, id_len), "containerd");
        else if (has_at(s, i + 1, "crio-") && id64_at(s, i + 6))
          consider(best, i, i + 6, s.substr(i + 6, id_len), "crio");
        else cri_containerd_at(best, s, i);
        break;
      case 'l':
        if (has_at(s, i + 1, "libpod-payload-")) {
          const auto n = run_of(s, i + 16, is_lower_hex);
          if (n > 0) consider(best, i, i + 16, s.substr(i + 16, n), "podman");
        }
        break;
      case 'k':
        if (i >= kubepods_resume && has_at(s, i + 1, "kubepods/")) {
          if (const auto id = kubepods_at(s, i); id != npos) {
            consider(best, i, id, s.substr(id, id_len), "kubernetes");
            kubepods_resume = id + id_len;
          }
        }
        break;
      case 'p':
        if (relative && pod_parent_in_relative(prev_seg)) {
          if (const auto id = kubepods_tail(s, i + 1); id != npos)
            consider(best, i, id, s.substr(id, id_len), "kubernetes");
        }
        break;
      default: break;
    }
  }
  return best;
}

/// Whether a normalised pod uid has the dashed 8-4-4-4-12 form or the 32-hex static-pod form.
bool valid_pod_uid(std::string_view raw) {
  const auto dash_at = [](std::size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; };
  if (raw.size() == 36) {
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const bool ok = dash_at(i) ? (raw[i] == '-' || raw[i] == '_') : is_lower_hex(raw[i]);
      if (!ok) return false;
    }
    return true;
  }
  return raw.size() == 32 && run_of(raw, 0, is_lower_hex) == 32;
}

/// The pod uid a systemd slice segment names: `[<prefix>-]kubepods[-<qos>]-pod<uid>.slice…`.
std::string_view systemd_pod_token(std::string_view seg) {
  auto p = seg.find("kubepods-");
  if (p == npos) return {};
  p += 9;
  if (has_at(seg, p, "besteffort-")) p += 11;
  else if (has_at(seg, p, "burstable-")) p += 10;
  if (!has_at(seg, p, "pod")) return {};
  const auto end = seg.find(".slice", p + 3);
  return end == npos ? std::string_view{} : seg.substr(p + 3, end - p - 3);
}

/// The deepest kubepods pod segment starting before `limit`, raw (systemd `_` kept).
std::string_view find_pod_token(std::string_view s, std::size_t limit) {
  const bool relative = is_relative(s);
  std::string_view found, prev, prev2;
  std::size_t seg_start = 0;
  while (seg_start < s.size() && seg_start < limit) {
    auto seg_end = seg_start;
    while (seg_end < s.size() && s[seg_end] != '/') ++seg_end;
    const auto seg = s.substr(seg_start, seg_end - seg_start);
    std::string_view token;
    // cgroupfs: /kubepods/(<qos>/)?pod<uid>, the same shape as Kepler's kubepods rule.
    if (seg.starts_with("pod") &&
        (prev == "kubepods" || prev2 == "kubepods" || (relative && pod_parent_in_relative(prev))))
      token = seg.substr(3);
    else if (seg.size() > 15) token = systemd_pod_token(seg);
    if (!token.empty() && valid_pod_uid(token)) found = token;
    prev2 = prev;
    prev = seg;
    seg_start = seg_end + 1;
  }
  return found;
}

container_identity materialise(std::string_view path, const path_match& m) {
  container_identity out;
  const auto pod = find_pod_token(path, m.found() ? m.id_pos : path.size());
  out.pod_uid.assign(pod);
  for (auto& c : out.pod_uid)
    if (c == '_') c = '-';
  if (m.found()) {
    out.id.assign(m.id);
    out.runtime.assign(m.runtime);
  }
  return out;
}

}  // namespace

container_identity parse_cgroup_path(std::string_view path) { return materialise(path, match_container(path)); }

container_identity parse_cgroup_file(std::string_view content) {
  path_match best;
  std::string_view best_path, first_pod_path, prev_path;
  std::size_t line_start = 0;
  while (line_start < content.size()) {
    auto line_end = content.find('\n', line_start);
    if (line_end == npos) line_end = content.size();
    const auto line = content.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    // `hierarchy-id:controllers:path`; the path itself may hold colons (systemd colon form).
    const auto c1 = line.find(':');
    const auto c2 = c1 == npos ? npos : line.find(':', c1 + 1);
    if (c2 == npos) continue;  // not a cgroup line; Kepler would fail, we skip it
    const auto path = line.substr(c2 + 1);
    // v1 files repeat one path on many controllers; a repeat cannot beat the first (ties keep it).
    if (path == prev_path) continue;
    prev_path = path;
    const auto m = match_container(path);
    if (m.found() && (!best.found() || m.start > best.start)) {
      best = m;
      best_path = path;
    }
    if (!best.found() && first_pod_path.empty() && !find_pod_token(path, path.size()).empty()) first_pod_path = path;
  }
  if (best.found()) return materialise(best_path, best);
  return materialise(first_pod_path, best);
}

}  // namespace kepler
