#include "sensors/platform/platform_feed.hpp"

#include <algorithm>
#include <cmath>

namespace kepler {
namespace {

uint64_t microjoules(double watts, int64_t ns) {
  if (!(watts > 0) || ns <= 0) return 0;
  return static_cast<uint64_t>(std::llround(watts * static_cast<double>(ns) / 1e3));
}

std::string seconds_text(int64_t ns) { return std::to_string(ns / 1'000'000'000) + " s"; }

}  // namespace

bmc_fault classify_bmc_error(const error& failure) {
  switch (failure.kind) {
    case errc::connect:
    case errc::io: return bmc_fault::unreachable;
    case errc::tls: return bmc_fault::tls;
    case errc::timeout: return bmc_fault::timeout;
    case errc::auth: return bmc_fault::auth;
    case errc::http_status:
      return failure.status == 429 || failure.status == 503 ? bmc_fault::rate_limited : bmc_fault::http_error;
    case errc::parse:
    case errc::body_too_large: return bmc_fault::bad_response;
    case errc::unavailable: return bmc_fault::no_reading;
    default: return bmc_fault::http_error;
  }
}

void platform_energy::add(const redfish_node_power& node, int64_t mono_ns) {
  if (last_ && mono_ns > last_ns_) {
    const int64_t gap = mono_ns - last_ns_;
    if (node.energy_joules && last_->energy_joules && *node.energy_joules >= *last_->energy_joules)
      settled_uj_ += static_cast<uint64_t>(std::llround((*node.energy_joules - *last_->energy_joules) * 1e6));
    else  // power held forward, as far as the staleness allows
      settled_uj_ += microjoules(last_->watts, std::min(gap, staleness_ns_));
  }
  last_ = node;
  last_ns_ = mono_ns;
}

result<uint64_t> platform_energy::energy_at(int64_t now_ns) {
  if (!last_) return make_error(errc::unavailable, "no reading from the BMC yet");
  const int64_t age = std::max<int64_t>(0, now_ns - last_ns_);
  if (age > staleness_ns_)
    return make_error(errc::unavailable, "the last reading is " + seconds_text(age) + " old (staleness " +
                                             seconds_text(staleness_ns_) + ")");
  reported_uj_ = std::max(reported_uj_, settled_uj_ + microjoules(last_->watts, age));
  return reported_uj_;
}

platform_feed::platform_feed(std::string bmc_id, std::chrono::nanoseconds staleness)
    : bmc_id_(std::move(bmc_id)), staleness_ns_(staleness.count()), energy_(staleness.count()) {
  for (auto kind : enum_texts(bmc_fault{})) errors_[std::string(kind)] = 0;
}

void platform_feed::record_poll(const redfish_poll& poll, int64_t mono_ns) {
  std::lock_guard lock(mutex_);
  last_poll_ = poll;
  last_poll_ns_ = mono_ns;
  if (poll.node) energy_.add(*poll.node, mono_ns);
}

void platform_feed::record_failure(bmc_fault fault) {
  std::lock_guard lock(mutex_);
  ++errors_[std::string(to_string(fault))];
}

result<uint64_t> platform_feed::energy_uj(int64_t now_ns) {
  std::lock_guard lock(mutex_);
  return energy_.energy_at(now_ns);
}

platform_report platform_feed::report(int64_t now_ns) const {
  std::lock_guard lock(mutex_);
  platform_report out;
  out.source = "redfish";
  out.bmc_id = bmc_id_;
  out.errors = errors_;
  if (!last_poll_ns_) return out;
  const int64_t age = std::max<int64_t>(0, now_ns - *last_poll_ns_);
  out.reading_age_seconds = static_cast<double>(age) / 1e9;
  if (age <= staleness_ns_) out.series = last_poll_.series;
  if (last_poll_.node) {
    out.resource = last_poll_.node->resource;
    out.method = last_poll_.node->energy_joules ? "counter" : "integrated_power";
  }
  return out;
}

}  // namespace kepler
