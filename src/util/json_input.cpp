#include "util/json_input.hpp"

namespace dfmcp {

namespace {

// A SAX pass that tracks depth and records the first error; it stops at the first level past the
// limit, so a 100 000-deep document costs microseconds. Used to explain a refusal.
class DepthCheck : public nlohmann::json_sax<json> {
public:
  explicit DepthCheck(std::size_t max_depth) : max_(max_depth) {}
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return enter(); }
  bool key(string_t &) override { return true; }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool parse_error(std::size_t position, const std::string &, const nlohmann::detail::exception &e) override {
    error_ = "invalid JSON at byte " + std::to_string(position) + ": " + clean(e.what());
    return false;
  }
  const std::string &error() const { return error_; }
  bool too_deep() const { return too_deep_; }

private:
  bool enter() {
    if (++depth_ > max_) {
      too_deep_ = true;
      error_ = "JSON nested deeper than " + std::to_string(max_) + " levels";
      return false;
    }
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }
  static std::string clean(std::string_view what) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..." ->
    // "syntax error ..."
    if (auto colon = what.find(": "); colon != std::string_view::npos)
      what = what.substr(colon + 2);
    if (what.size() > 200)
      what = what.substr(0, 200);
    return std::string(what);
  }
  std::size_t max_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
  std::string error_;
};

// The deepest nesting of '[' and '{' outside strings, counting only up to `max`: a few
// instructions per byte and no allocation. For text the parser accepts, this is exactly the depth
// of what it builds; for text it rejects, the parser stops at the first error, and the valid
// prefix before it (where strings and brackets read the same) nests no deeper than counted here.
bool nests_deeper_than(std::string_view text, std::size_t max) {
  std::size_t depth = 0;
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    switch (text[i]) {
    case '"':
      for (++i; i < n && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i; // the escaped character, whatever it is
      break;
    case '[':
    case '{':
      if (++depth > max)
        return true;
      break;
    case ']':
    case '}':
      if (depth > 0)
        --depth;
      break;
    default:
      break;
    }
  }
  return false;
}

} // namespace

Expected<json, std::string> parse_json(std::string_view text, std::size_t max_depth) {
  // One pass for what is valid and shallow enough, which is nearly everything; the error paths
  // run the SAX check, which names the first problem (the depth, or where the text went wrong).
  if (!nests_deeper_than(text, max_depth)) {
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded())
      return value;
  }
  DepthCheck check(max_depth);
  if (!json::sax_parse(text, &check) || !check.error().empty())
    return unexpected(check.error().empty() ? std::string("invalid JSON") : check.error());
  return unexpected(std::string("invalid JSON"));
}

std::string dump_json(const json &value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string quote_json_string(std::string_view text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) // UTF-8 (and its checks): nlohmann's own way
      return dump_json(json(std::string(text)));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 2);
  out += '"';
  std::size_t copied = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(text.substr(copied, i - copied));
    copied = i + 1;
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\t': out += "\\t"; break;
    case '\n': out += "\\n"; break;
    case '\f': out += "\\f"; break;
    case '\r': out += "\\r"; break;
    default:
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  out.append(text.substr(copied));
  out += '"';
  return out;
}

std::string json_type_name(const json &value) {
  switch (value.type()) {
  case json::value_t::null: return "null";
  case json::value_t::boolean: return "boolean";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned: return "integer";
  case json::value_t::number_float: return "number";
  case json::value_t::string: return "string";
  case json::value_t::array: return "array";
  case json::value_t::object: return "object";
  default: return "value";
  }
}

} // namespace dfmcp
