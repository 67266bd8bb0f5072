// The four tools: list_access_tokens, create_access_token, revoke_access_token, get_token_ceiling.
// Each call is judged by the pure policy before any upstream request; a refusal never reaches
// DataFast.
#pragma once

#include "secret.hpp"
#include "tools/registry.hpp"
#include "upstream/account_api.hpp"

namespace dfmcp::tools {

// Registers the tools. `api` must outlive the registry; `parent_token` identifies the token the
// server runs on (matched against DataFast's displayKey), which can never be revoked here.
void register_token_tools(ToolRegistry &registry, upstream::AccountApi &api, Secret parent_token);

// The get_token_ceiling result for a ceiling (also shown by `check`).
json ceiling_view(const policy::Ceiling &ceiling);

} // namespace dfmcp::tools
