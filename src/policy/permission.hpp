// The DataFast permission vocabulary and sets of permissions. Pure: no JSON, no I/O. The vocabulary
// is generated from schemas/permission.schema.json, its single source of truth.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dfmcp::policy {

class Permission {
public:
  // Exact match only: no case folding, no trimming, no look-alikes.
  static std::optional<Permission> parse(std::string_view text);
  static Permission all(); // "*"

  std::string_view name() const;
  bool is_all() const;
  std::size_t index() const { return index_; }
  friend bool operator==(Permission, Permission) = default;

private:
  explicit Permission(std::uint8_t index) : index_(index) {}
  std::uint8_t index_;
};

// Every permission string, in schema order ("*" last).
std::span<const std::string_view> vocabulary();

// For an unknown string, the vocabulary entry it most likely meant (case, spaces, separators), if any.
std::optional<std::string_view> suggest_permission(std::string_view text);

class PermissionSet {
public:
  PermissionSet() = default;
  static PermissionSet everything();

  void add(Permission p) { bits_.set(p.index()); }
  bool has(Permission p) const { return bits_.test(p.index()); }
  bool is_all() const { return has(Permission::all()); }
  bool empty() const { return bits_.none(); }
  // True when a token holding `p` stays within this set ("*" covers everything).
  bool covers(Permission p) const { return is_all() || has(p); }
  std::vector<Permission> items() const; // in vocabulary order
  std::vector<std::string> names() const;
  // "analytics:read, websites:read", or "any permission (*)".
  std::string describe() const;

private:
  std::bitset<32> bits_;
};

std::string join(const std::vector<std::string> &items, std::string_view separator);

} // namespace dfmcp::policy
