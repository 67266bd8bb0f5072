// Logging: every line goes to stderr (stdout belongs to the protocol in stdio mode), and the sink
// scrubs anything shaped like a DataFast key as a second line of defence behind the Secret type.
#pragma once

#include <spdlog/common.h>

#include <optional>
#include <string_view>

namespace dfmcp::log {

// Installs the stderr logger as spdlog's default. Call first thing in main.
void init(spdlog::level::level_enum level = spdlog::level::info);
void set_level(spdlog::level::level_enum level);
// One JSON object per line ({"time","level","logger","message"}) instead of text.
void set_json(bool on);
std::optional<spdlog::level::level_enum> parse_level(std::string_view name);

} // namespace dfmcp::log
