// keys.delivery "file": a new token's raw key goes to keys.dir/<tokenId>.key (directory 0700,
// file 0600, never overwritten) instead of into the tool result, so it never enters the model's
// context.
#pragma once

#include "secret.hpp"
#include "util/expected.hpp"

#include <string>

namespace dfmcp::safety {

// Creates the directory (0700) if missing; refuses one that group or others can access.
Expected<Ok, std::string> prepare_key_dir(const std::string &dir);

// Writes the key; returns the file's path. Fails (never overwrites) if the file exists.
Expected<std::string, std::string> store_key(const std::string &dir, const std::string &token_id, const Secret &key);

} // namespace dfmcp::safety
