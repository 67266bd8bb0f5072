// Rules for token names. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dfmcp::policy {

inline constexpr std::size_t kMaxNameLength = 100; // in Unicode code points

// Why `name` is not acceptable as a token name, or nullopt when it is: 1-100 code points of valid
// UTF-8, not blank, without control characters (C0, DEL, C1, line/paragraph separators, bidi controls).
std::optional<std::string> name_problem(std::string_view name);

} // namespace dfmcp::policy
