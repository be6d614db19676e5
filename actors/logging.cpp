#include "actors/logging.hpp"

#include <memory>
#include <random>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace kepler {
namespace {

/// Appends `text` as a JSON string body (without quotes).
void append_json_escaped(spdlog::memory_buf_t& out, spdlog::string_view_t text) {
  for (char c : text) {
    switch (c) {
      case '"': out.append(std::string_view("\\\"")); break;
      case '\\': out.append(std::string_view("\\\\")); break;
      case '\n': out.append(std::string_view("\\n")); break;
      case '\t': out.append(std::string_view("\\t")); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
        } else {
          out.push_back(c);
        }
    }
  }
}

/// `%*`: the message, escaped for a JSON string.
class json_message_flag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    append_json_escaped(dest, msg.payload);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

spdlog::level::level_enum spdlog_level(log_level level) {
  switch (level) {
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warn: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void setup_logging(log_level level, log_format format, std::FILE* out) {
  std::shared_ptr<spdlog::logger> logger;
  if (out == stderr) {
    logger = std::make_shared<spdlog::logger>("kepler", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    logger = std::make_shared<spdlog::logger>("kepler", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (format == log_format::json) {
    formatter->add_flag<json_message_flag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%*"})");
  } else {
    formatter->set_pattern("time=%Y-%m-%dT%H:%M:%S.%e%z level=%l msg=%v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog_level(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void write_log(const log_note& note) {
  if (note.warning) spdlog::warn("{}", note.text);
  else spdlog::info("{}", note.text);
}

void write_log(const std::optional<log_note>& note) {
  if (note) write_log(*note);
}

double real_random() {
  thread_local std::mt19937 generator{std::random_device{}()};
  return std::uniform_real_distribution<>(0, 1)(generator);
}

}  // namespace kepler
