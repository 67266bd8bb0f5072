// `datafast-mcp check`: the effective configuration, each value with where it came from, and
// the ceiling in words.
#pragma once

#include "config.hpp"

#include <string>

namespace dfmcp {

std::string render_check(const config::Config &config);

} // namespace dfmcp
