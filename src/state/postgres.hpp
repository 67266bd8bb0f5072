// PostgreSQL through libpq: a connection that reconnects when it was lost, statements with
// parameters only (no SQL is ever built from a value), transactions as a function, errors as
// values. No password ever leaves this file: URLs are shown redacted and libpq's messages are
// scrubbed of the connection string.
#pragma once

#include "secret.hpp"
#include "util/expected.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace dfmcp::state {

// "postgresql://user:secret@host:5432/db?x=y" -> "postgresql://user:***@host:5432/db?x=y"; a
// password=... parameter in the query or a key=value string is hidden the same way.
std::string redact_url(std::string_view url);

struct PgError {
  std::string message;  // what went wrong, for a person (never the password)
  std::string sqlstate; // the SQLSTATE code when the server sent one ("40001", "23505"), else ""
  bool connection = false; // the connection is lost or could not be made (worth a retry later)
};

// The rows of a query; text format. Column access is by index.
class PgRows {
public:
  explicit PgRows(pg_result *result);
  ~PgRows();
  PgRows(PgRows &&other) noexcept;
  PgRows &operator=(PgRows &&other) noexcept;
  PgRows(const PgRows &) = delete;
  PgRows &operator=(const PgRows &) = delete;

  std::size_t size() const;
  bool empty() const { return size() == 0; }
  bool null(std::size_t row, std::size_t column) const;
  std::string text(std::size_t row, std::size_t column) const;
  std::optional<std::string> optional(std::size_t row, std::size_t column) const;
  long long integer(std::size_t row, std::size_t column) const;
  std::size_t affected() const; // for INSERT / UPDATE / DELETE

private:
  pg_result *result_;
};

using PgParam = std::optional<std::string>; // nullopt is SQL NULL

class PgConnection {
public:
  // Connects (within `timeout`); the error never holds the password.
  static Expected<std::unique_ptr<PgConnection>, PgError> open(const Secret &url, std::chrono::milliseconds timeout);
  ~PgConnection();
  PgConnection(const PgConnection &) = delete;
  PgConnection &operator=(const PgConnection &) = delete;

  Expected<PgRows, PgError> exec(const std::string &sql, const std::vector<PgParam> &params = {});
  // Runs `body` between BEGIN and COMMIT (ROLLBACK when it returns an error). A serialization
  // failure or deadlock (40001, 40P01) runs it again, up to 5 times.
  template <typename T>
  Expected<T, PgError> transaction(const std::function<Expected<T, PgError>(PgConnection &)> &body);
  // False once the server is gone (the next use reconnects).
  bool healthy() const;
  // Reconnects when the connection was lost; cheap when it is fine.
  Expected<Ok, PgError> ensure();

private:
  PgConnection(pg_conn *conn, Secret url, std::chrono::milliseconds timeout);
  Expected<Ok, PgError> begin();
  void rollback();
  pg_conn *conn_;
  Secret url_;
  std::chrono::milliseconds timeout_;
};

bool retryable(const PgError &e);

template <typename T>
Expected<T, PgError> PgConnection::transaction(const std::function<Expected<T, PgError>(PgConnection &)> &body) {
  for (int attempt = 1;; ++attempt) {
    if (auto began = begin(); !began)
      return unexpected(began.error());
    auto out = body(*this);
    if (!out) {
      rollback();
      if (retryable(out.error()) && attempt < 5)
        continue;
      return out;
    }
    auto committed = exec("COMMIT");
    if (!committed) {
      rollback();
      if (retryable(committed.error()) && attempt < 5)
        continue;
      return unexpected(committed.error());
    }
    return out;
  }
}

} // namespace dfmcp::state
