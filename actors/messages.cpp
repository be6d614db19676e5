#include "actors/messages.hpp"

namespace kepler {

std::string to_string(sensor_errc code) {
  switch (code) {
    case sensor_errc::read_failed: return "read_failed";
    case sensor_errc::unavailable: return "unavailable";
    case sensor_errc::busy: return "busy";
  }
  return "unknown";
}

caf::error make_sensor_error(sensor_errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), caf::atom("sensor"),
                    caf::make_message(std::move(message))};
}

std::string describe(const caf::error& err) {
  if (err.category() == caf::atom("sensor")) {
    std::string text = to_string(static_cast<sensor_errc>(err.code()));
    if (err.context().match_elements<std::string>())
      if (const auto& detail = err.context().get_as<std::string>(0); !detail.empty())
        text += ": " + detail;
    return text;
  }
  if (err == caf::sec::request_timeout) return "deadline missed";
  return caf::to_string(err);
}

}  // namespace kepler
