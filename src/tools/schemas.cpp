#include "tools/schemas.hpp"

#include "tools/embedded.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>

namespace dfmcp::tools {

namespace {

json parse_embedded(std::string_view path) {
  auto text = embedded::find(path);
  if (!text)
    throw std::logic_error("no embedded schema file " + std::string(path));
  auto parsed = parse_json(*text);
  if (!parsed)
    throw std::logic_error("embedded schema " + std::string(path) + ": " + parsed.error());
  return *parsed;
}

// Replaces {"$ref": "<file>", ...siblings} with the referenced file's schema (its $schema, title
// and description dropped) merged with the siblings: `properties` and `required` are combined,
// other siblings win. In 2020-12, $ref beside other keywords means both apply; the referenced
// schemas here set no additionalProperties, so merging is equivalent and easier to read.
void inline_refs(json &node, int depth) {
  if (depth > 16)
    throw std::logic_error("schema references nest too deeply");
  if (node.is_array()) {
    for (json &item : node)
      inline_refs(item, depth + 1);
    return;
  }
  if (!node.is_object())
    return;
  if (auto ref = node.find("$ref"); ref != node.end() && ref->is_string() &&
                                    !ref->get<std::string>().starts_with("#")) {
    json target = parse_embedded(ref->get<std::string>());
    inline_refs(target, depth + 1);
    for (const char *key : {"$schema", "$id", "title", "description"})
      target.erase(key);
    json siblings = node;
    siblings.erase("$ref");
    for (auto &[key, value] : siblings.items()) {
      if (key == "properties" && target.contains("properties"))
        target["properties"].update(value);
      else if (key == "required" && target.contains("required"))
        for (const json &r : value)
          target["required"].push_back(r);
      else
        target[key] = value;
    }
    node = std::move(target);
  }
  for (auto &[key, value] : node.items())
    inline_refs(value, depth + 1);
}

} // namespace

json schema_file(std::string_view path) {
  json doc = parse_embedded(path);
  inline_refs(doc, 0);
  return doc;
}

json tool_definition(std::string_view name) {
  // Parsed once per process: the definitions are fixed at build time.
  static std::mutex mutex;
  static std::map<std::string, json, std::less<>> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(name); it != cache.end())
    return it->second;
  json definition = schema_file("tools/" + std::string(name) + ".json");
  cache.emplace(std::string(name), definition);
  return definition;
}

std::vector<std::string> defined_tool_names() {
  std::vector<std::string> out;
  for (const embedded::EmbeddedFile &f : embedded::files()) {
    std::string_view p = f.path;
    if (p.starts_with("tools/") && p.ends_with(".json"))
      out.emplace_back(p.substr(6, p.size() - 6 - 5));
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace dfmcp::tools
