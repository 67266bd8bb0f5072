// The files of schemas/, embedded at build time (cmake/gen_embed.cmake).
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace dfmcp::embedded {

struct EmbeddedFile {
  std::string_view path; // relative to schemas/, e.g. "tools/create_access_token.json"
  std::string_view content;
};

std::span<const EmbeddedFile> files();

inline std::optional<std::string_view> find(std::string_view path) {
  for (const EmbeddedFile &f : files())
    if (f.path == path)
      return f.content;
  return std::nullopt;
}

} // namespace dfmcp::embedded
