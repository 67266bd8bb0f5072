#include "policy/permission.hpp"

#include "dfmcp/permission_vocabulary.hpp"

#include <algorithm>
#include <cctype>

namespace dfmcp::policy {

namespace {
constexpr auto &kNames = generated::kPermissionNames;
static_assert(kNames.size() <= 32, "PermissionSet holds at most 32 permissions");
static_assert(kNames.back() == "*", "'*' must be the last entry of the vocabulary");

std::string fold(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)))
      continue;
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == '_')
      c = '-';
    else if (c == '.' || c == '/')
      c = ':';
    out.push_back(c);
  }
  return out;
}
} // namespace

std::optional<Permission> Permission::parse(std::string_view text) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == text)
      return Permission(static_cast<std::uint8_t>(i));
  return std::nullopt;
}

Permission Permission::all() { return Permission(static_cast<std::uint8_t>(kNames.size() - 1)); }
std::string_view Permission::name() const { return kNames[index_]; }
bool Permission::is_all() const { return index_ == kNames.size() - 1; }

std::span<const std::string_view> vocabulary() { return kNames; }

std::optional<std::string_view> suggest_permission(std::string_view text) {
  std::string folded = fold(text);
  for (std::string_view name : kNames)
    if (fold(name) == folded)
      return name;
  // "analytics" alone, or "analytics:reads": a unique vocabulary entry starting the same way.
  std::optional<std::string_view> found;
  for (std::string_view name : kNames) {
    std::string f = fold(name);
    if (folded.size() >= 3 && (f.starts_with(folded) || folded.starts_with(f))) {
      if (found)
        return std::nullopt;
      found = name;
    }
  }
  return found;
}

PermissionSet PermissionSet::everything() {
  PermissionSet s;
  s.add(Permission::all());
  return s;
}

std::vector<Permission> PermissionSet::items() const {
  std::vector<Permission> out;
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (bits_.test(i))
      out.push_back(*Permission::parse(kNames[i]));
  return out;
}

std::vector<std::string> PermissionSet::names() const {
  std::vector<std::string> out;
  for (Permission p : items())
    out.emplace_back(p.name());
  return out;
}

std::string PermissionSet::describe() const {
  if (is_all())
    return "any permission (*)";
  if (empty())
    return "none";
  return join(names(), ", ");
}

std::string join(const std::vector<std::string> &items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0)
      out.append(separator);
    out.append(items[i]);
  }
  return out;
}

} // namespace dfmcp::policy
