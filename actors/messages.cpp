#include "actors/messages.hpp"

namespace kepler {

namespace {
const caf::atom_value kepler_category = caf::atom("kepler");
// CAF reads code 0 as "no error", and errc's first kind is 0.
constexpr uint8_t code_offset = 1;
}  // namespace

caf::error to_caf_error(const error& failure) {
  return caf::error{static_cast<uint8_t>(static_cast<uint8_t>(failure.kind) + code_offset), kepler_category,
                    caf::make_message(failure.message)};
}

std::string describe(const caf::error& err) {
  if (!err) return "no error";
  if (err.category() == kepler_category) {
    const auto kind = static_cast<errc>(err.code() - code_offset);
    std::string detail;
    if (err.context().match_elements<std::string>()) detail = err.context().get_as<std::string>(0);
    if (kind == errc::failed) return detail.empty() ? "failed" : detail;  // the message says it all
    return std::string(to_string(kind)) + (detail.empty() ? "" : ": " + detail);
  }
  if (err == caf::sec::request_timeout) return "deadline missed";
  return caf::to_string(err);
}

}  // namespace kepler
