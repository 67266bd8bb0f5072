#include "state/postgres.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <regex>

namespace dfmcp::state {

namespace {

// libpq's messages end with a newline and may quote the connection string's parts; the password
// is never among the parts it quotes, but a message is scrubbed of the URL's password all the same.
std::string clean_message(const char *text, const Secret &url) {
  std::string out = text ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  for (auto &c : out)
    if (c == '\n')
      c = ' ';
  std::string redacted = redact_url(url.reveal());
  if (!url.empty() && out.find(url.reveal()) != std::string::npos)
    out.replace(out.find(url.reveal()), url.reveal().size(), redacted);
  // The password alone, if it appears (libpq does not print it; belt and braces).
  std::smatch m;
  static const std::regex password(R"(://[^:/@]*:([^@/]+)@)");
  std::string raw = url.reveal();
  if (std::regex_search(raw, m, password) && m[1].length() >= 4) {
    std::string pw = m[1].str();
    for (std::size_t at; (at = out.find(pw)) != std::string::npos;)
      out.replace(at, pw.size(), "***");
  }
  return out;
}

} // namespace

std::string redact_url(std::string_view url) {
  std::string s(url);
  static const std::regex userinfo(R"((://[^:/@?#]*:)([^@/?#]*)(@))");
  s = std::regex_replace(s, userinfo, "$1***$3");
  static const std::regex param(R"((password=)([^&\s]*))", std::regex::icase);
  s = std::regex_replace(s, param, "$1***");
  return s;
}

bool retryable(const PgError &e) { return e.sqlstate == "40001" || e.sqlstate == "40P01"; }

// --- PgRows -------------------------------------------------------------------------------------

PgRows::PgRows(pg_result *result) : result_(result) {}
PgRows::~PgRows() {
  if (result_)
    PQclear(result_);
}
PgRows::PgRows(PgRows &&other) noexcept : result_(other.result_) { other.result_ = nullptr; }
PgRows &PgRows::operator=(PgRows &&other) noexcept {
  if (this != &other) {
    if (result_)
      PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}
std::size_t PgRows::size() const { return result_ ? static_cast<std::size_t>(PQntuples(result_)) : 0; }
bool PgRows::null(std::size_t row, std::size_t column) const {
  return PQgetisnull(result_, static_cast<int>(row), static_cast<int>(column)) != 0;
}
std::string PgRows::text(std::size_t row, std::size_t column) const {
  return PQgetvalue(result_, static_cast<int>(row), static_cast<int>(column));
}
std::optional<std::string> PgRows::optional(std::size_t row, std::size_t column) const {
  if (null(row, column))
    return std::nullopt;
  return text(row, column);
}
long long PgRows::integer(std::size_t row, std::size_t column) const {
  return std::strtoll(PQgetvalue(result_, static_cast<int>(row), static_cast<int>(column)), nullptr, 10);
}
std::size_t PgRows::affected() const {
  const char *n = result_ ? PQcmdTuples(result_) : "";
  return n && *n ? static_cast<std::size_t>(std::strtoull(n, nullptr, 10)) : 0;
}

// --- PgConnection -------------------------------------------------------------------------------

Expected<std::unique_ptr<PgConnection>, PgError> PgConnection::open(const Secret &url,
                                                                     std::chrono::milliseconds timeout) {
  // connect_timeout is in whole seconds (at least 2: libpq treats 1 as 2).
  long long seconds = std::max<long long>(2, (timeout.count() + 999) / 1000);
  std::string timeout_text = std::to_string(seconds);
  const char *keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char *values[] = {url.reveal().c_str(), timeout_text.c_str(), "datafast-mcp", nullptr};
  pg_conn *conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr)
    return unexpected(PgError{"out of memory", "", true});
  if (PQstatus(conn) != CONNECTION_OK) {
    PgError e{"cannot connect to " + redact_url(url.reveal()) + ": " + clean_message(PQerrorMessage(conn), url), "",
              true};
    PQfinish(conn);
    return unexpected(std::move(e));
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn, url, timeout));
}

PgConnection::PgConnection(pg_conn *conn, Secret url, std::chrono::milliseconds timeout)
    : conn_(conn), url_(std::move(url)), timeout_(timeout) {
  // Notices (e.g. "relation already exists, skipping") are not worth stderr.
  PQsetNoticeProcessor(conn_, [](void *, const char *) {}, nullptr);
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

Expected<Ok, PgError> PgConnection::ensure() {
  if (healthy())
    return Ok{};
  PQreset(conn_);
  if (!healthy())
    return unexpected(PgError{"cannot connect to " + redact_url(url_.reveal()) + ": " +
                                  clean_message(PQerrorMessage(conn_), url_),
                              "", true});
  PQsetNoticeProcessor(conn_, [](void *, const char *) {}, nullptr);
  return Ok{};
}

Expected<PgRows, PgError> PgConnection::exec(const std::string &sql, const std::vector<PgParam> &params) {
  std::vector<const char *> values;
  values.reserve(params.size());
  for (const PgParam &p : params)
    values.push_back(p ? p->c_str() : nullptr);
  pg_result *r = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                              nullptr, nullptr, 0);
  PgRows rows(r);
  ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
    return rows;
  PgError e;
  const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  e.sqlstate = state ? state : "";
  e.connection = !healthy();
  e.message = clean_message(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_), url_);
  if (e.message.empty())
    e.message = clean_message(PQerrorMessage(conn_), url_);
  if (e.connection)
    e.message = "lost the connection to " + redact_url(url_.reveal()) + (e.message.empty() ? "" : ": " + e.message);
  return unexpected(std::move(e));
}

Expected<Ok, PgError> PgConnection::begin() {
  if (auto ok = ensure(); !ok)
    return ok;
  auto r = exec("BEGIN");
  if (!r)
    return unexpected(r.error());
  return Ok{};
}

void PgConnection::rollback() {
  if (healthy() && PQtransactionStatus(conn_) != PQTRANS_IDLE)
    exec("ROLLBACK");
}

} // namespace dfmcp::state
