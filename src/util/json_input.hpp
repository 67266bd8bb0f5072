// Parsing untrusted JSON text safely: nesting depth is bounded before nlohmann builds (and later
// recursively copies or dumps) a document, and errors are short messages, never exceptions.
#pragma once

#include "util/expected.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace dfmcp {

using json = nlohmann::json;

inline constexpr std::size_t kMaxJsonDepth = 64;

// Parses `text` as one JSON value; refuses invalid JSON, invalid UTF-8 and nesting deeper than
// `max_depth` with a message such as "invalid JSON at byte 12: unexpected '}'".
Expected<json, std::string> parse_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// Compact, single-line JSON; invalid UTF-8 in strings is replaced with U+FFFD instead of throwing.
std::string dump_json(const json &value);

// `text` as a JSON string literal: byte for byte dump_json(json(text)), without the copy into a
// JSON value and, for ASCII text, several times faster (a tool result's text block is its whole
// structured content, escaped).
std::string quote_json_string(std::string_view text);

// A JSON value's type as users say it: "object", "array", "string", "integer", "number", ...
std::string json_type_name(const json &value);

} // namespace dfmcp
