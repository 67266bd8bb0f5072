// state::Store for one process, the embedded default when no state.url is set: the mint ledger
// with its leases in mint.ledgerFile (JSON lines; an earlier version's lines read as they are),
// the audit chain in logging.auditFile, quotas, claims and used confirmation states in memory.
// Both files are locked for this process: instances that must share a state use state.url.
#pragma once

#include "state/store.hpp"

#include <memory>
#include <optional>
#include <string>

namespace dfmcp::state {

struct FileStoreOptions {
  std::optional<std::string> ledger_file; // none: the ledger is kept in memory
  std::optional<std::string> audit_file;  // none: no audit chain (append_audit does nothing)
};

// Opens (creating, mode 0600) and locks the files. Tokens bound to a session of an earlier
// process are due at once: their sessions ended with it.
Expected<std::unique_ptr<Store>, StoreError> open_file_store(const FileStoreOptions &options);

} // namespace dfmcp::state
