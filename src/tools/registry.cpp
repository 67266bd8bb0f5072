#include "tools/registry.hpp"

#include "tools/schemas.hpp"

#include <algorithm>
#include <stdexcept>

namespace dfmcp::tools {

ToolResult ToolResult::success(json structured) {
  ToolResult r;
  r.text = dump_json(structured);
  return r;
}

ToolResult ToolResult::failure(std::string message) {
  ToolResult r;
  r.is_error = true;
  r.text = std::move(message);
  return r;
}

json ToolResult::to_json() const {
  if (input_required) {
    json out = *input_required;
    out["resultType"] = "input_required";
    return out;
  }
  json out{{"content", json::array({json{{"type", "text"}, {"text", text}}})}, {"isError", is_error}};
  if (!is_error)
    out["structuredContent"] = json::parse(text);
  return out;
}

void ToolRegistry::add(Tool tool) {
  std::string name = tool.name;
  if (!tools_.emplace(name, std::move(tool)).second)
    throw std::logic_error("tool registered twice: " + name);
}

const json &ToolRegistry::list_result() const {
  std::call_once(list_once_, [this] {
    json list = json::array();
    for (const auto &[name, tool] : tools_) { // std::map: deterministic order by name
      json definition = tool_definition(name);
      if (definition.value("name", "") != name)
        throw std::logic_error("tool " + name + ": its definition names '" + definition.value("name", "") + "'");
      list.push_back(std::move(definition));
    }
    list_result_ = json{{"tools", std::move(list)}};
  });
  return list_result_;
}

void ToolRegistry::retain(const std::vector<std::string> &names) {
  std::erase_if(tools_, [&](const auto &entry) {
    return std::find(names.begin(), names.end(), entry.first) == names.end();
  });
}

const Tool *ToolRegistry::find(std::string_view name) const {
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : &it->second;
}

std::vector<std::string> ToolRegistry::names() const {
  std::vector<std::string> out;
  for (const auto &[n, t] : tools_)
    out.push_back(n);
  return out;
}

} // namespace dfmcp::tools
