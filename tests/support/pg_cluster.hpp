// A throwaway PostgreSQL cluster for the tests: `initdb` into a fresh directory (as the postgres
// user when run as root: initdb refuses root), `pg_ctl` on a free loopback port, a fresh database
// per test, stopped and removed on destruction. Never skipped: if PostgreSQL cannot start, the
// test fails and says why.
#pragma once

#include "support/process.hpp"

#include <memory>
#include <string>

namespace dfmcp::test {

class PgCluster {
public:
  // Starts a cluster; a failure is a doctest failure (REQUIRE) naming the step and its output.
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster &) = delete;
  PgCluster &operator=(const PgCluster &) = delete;

  // A new, empty database; its postgresql:// URL (with a password, which trust auth ignores, so
  // that tests can check it never shows).
  std::string create_database();
  std::string url(const std::string &database) const;
  int port() const { return port_; }

  // For outage tests: stop (fast) and start again on the same port and data.
  bool stop();
  void start();

private:
  std::string run_as_owner(const std::string &command) const;
  std::string bindir_;
  std::string dir_;
  int port_ = 0;
  int databases_ = 0;
  bool running_ = false;
};

} // namespace dfmcp::test
