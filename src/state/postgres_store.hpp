// state::Store on PostgreSQL (state.url): every instance that shares the database shares one
// state. The schema is created and migrated at open (a version table, under an advisory lock, so
// instances starting together migrate once). One transaction per decision.
#pragma once

#include "secret.hpp"
#include "state/store.hpp"

#include <chrono>
#include <memory>

namespace dfmcp::state {

// The schema version this build creates and understands.
inline constexpr int kSchemaVersion = 1;

// Connects, creates or migrates the schema, and returns the store. A database whose schema is
// newer than this build is refused (its error says so).
Expected<std::unique_ptr<Store>, StoreError> open_postgres_store(const Secret &url,
                                                                 std::chrono::milliseconds timeout);

} // namespace dfmcp::state
