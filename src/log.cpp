#include "log.hpp"

#include "secret.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace dfmcp::log {

namespace {

std::atomic<bool> g_json{false};

class ScrubbingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
  void sink_it_(const spdlog::details::log_msg &msg) override {
    std::string line;
    if (g_json) {
      spdlog::memory_buf_t time;
      time_formatter_.format(msg, time);
      spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
      nlohmann::json j{{"time", std::string(time.data(), time.size())},
                       {"level", std::string(level.data(), level.size())},
                       {"logger", "datafast-mcp"},
                       {"message", scrub_secrets(std::string_view(msg.payload.data(), msg.payload.size()))}};
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    } else {
      spdlog::memory_buf_t formatted;
      formatter_->format(msg, formatted);
      line = scrub_secrets(std::string_view(formatted.data(), formatted.size()));
    }
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  }
  spdlog::pattern_formatter time_formatter_{"%Y-%m-%dT%H:%M:%S.%eZ", spdlog::pattern_time_type::utc, ""};
  void flush_() override { std::fflush(stderr); }
};

} // namespace

void init(spdlog::level::level_enum level) {
  auto sink = std::make_shared<ScrubbingStderrSink>();
  sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "%Y-%m-%dT%H:%M:%S.%eZ %-5l datafast-mcp: %v", spdlog::pattern_time_type::utc));
  auto logger = std::make_shared<spdlog::logger>("datafast-mcp", std::move(sink));
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void set_level(spdlog::level::level_enum level) { spdlog::default_logger()->set_level(level); }

void set_json(bool on) { g_json = on; }

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) {
  using spdlog::level::level_enum;
  if (name == "trace") return level_enum::trace;
  if (name == "debug") return level_enum::debug;
  if (name == "info") return level_enum::info;
  if (name == "warn") return level_enum::warn;
  if (name == "error") return level_enum::err;
  if (name == "off") return level_enum::off;
  return std::nullopt;
}

} // namespace dfmcp::log
