#include "state/postgres_store.hpp"

#include "audit/audit_log.hpp"
#include "state/postgres.hpp"
#include "util/random.hpp"

#include <ctime>
#include <mutex>
#include <vector>

namespace dfmcp::state {

namespace {

// Advisory lock keys: two numbers of our own.
constexpr const char *kMigrateLock = "7306010101";
constexpr const char *kAuditLock = "7306010102";

// Times are stored as milliseconds since the Unix epoch (bigint): no time zone to get wrong.
std::string ms(Clock::time_point t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}
Clock::time_point from_ms(long long v) { return Clock::time_point(std::chrono::milliseconds(v)); }

std::string iso_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Each migration takes the schema from version i to i + 1.
const std::vector<std::vector<std::string>> kMigrations = {
    {
        R"(CREATE TABLE dfmcp_minted (
             token_id text PRIMARY KEY,
             client text NOT NULL,
             display_key text NOT NULL,
             name text NOT NULL,
             created_ms bigint NOT NULL,
             expires_ms bigint,
             session_id text,
             revoked_ms bigint,
             due_ms bigint,
             claimed_until_ms bigint,
             attempts integer NOT NULL DEFAULT 0,
             last_error text,
             instance_id text NOT NULL))",
        "CREATE INDEX dfmcp_minted_live ON dfmcp_minted (client) WHERE revoked_ms IS NULL",
        "CREATE INDEX dfmcp_minted_due ON dfmcp_minted (due_ms) WHERE revoked_ms IS NULL AND due_ms IS NOT NULL",
        "CREATE INDEX dfmcp_minted_session ON dfmcp_minted (session_id) WHERE revoked_ms IS NULL AND session_id IS NOT NULL",
        R"(CREATE TABLE dfmcp_create_slots (
             id bigserial PRIMARY KEY,
             client text NOT NULL,
             at_ms bigint NOT NULL,
             state text NOT NULL CHECK (state IN ('pending', 'minted', 'released')),
             held_until_ms bigint NOT NULL))",
        "CREATE INDEX dfmcp_create_slots_client ON dfmcp_create_slots (client, at_ms)",
        "CREATE TABLE dfmcp_used_states (nonce text PRIMARY KEY, expires_ms bigint NOT NULL)",
        "CREATE TABLE dfmcp_audit (seq bigint PRIMARY KEY, line text NOT NULL, hash text NOT NULL)",
        "CREATE TABLE dfmcp_settings (name text PRIMARY KEY, value text NOT NULL)",
        "CREATE TABLE dfmcp_instances (id text PRIMARY KEY, heartbeat_ms bigint NOT NULL)",
    },
};

// A pending slot whose instance died still counts as live for this long (then only in the hour).
constexpr std::chrono::minutes kSlotHold{10};

StoreError store_error(const PgError &e) { return {e.message, e.connection}; }

class PostgresStore final : public Store {
public:
  PostgresStore(Secret url, std::chrono::milliseconds timeout)
      : url_(std::move(url)), timeout_(timeout), shown_(redact_url(url_.reveal())), instance_(random_hex(16)) {}

  std::string describe() const override { return "PostgreSQL " + shown_; }

  Expected<Ok, StoreError> ping() override {
    return run<Ok>([](PgConnection &c) -> Expected<Ok, PgError> {
      auto r = c.exec("SELECT 1");
      if (!r)
        return unexpected(r.error());
      return Ok{};
    });
  }

  Expected<Ok, StoreError> migrate() {
    return run<Ok>([](PgConnection &c) {
      return c.transaction<Ok>([](PgConnection &t) -> Expected<Ok, PgError> {
        if (auto r = t.exec(std::string("SELECT pg_advisory_xact_lock(") + kMigrateLock + ")"); !r)
          return unexpected(r.error());
        if (auto r = t.exec("CREATE TABLE IF NOT EXISTS dfmcp_schema_version (version integer NOT NULL)"); !r)
          return unexpected(r.error());
        auto v = t.exec("SELECT max(version) FROM dfmcp_schema_version");
        if (!v)
          return unexpected(v.error());
        int version = v->null(0, 0) ? 0 : static_cast<int>(v->integer(0, 0));
        if (version > kSchemaVersion)
          return unexpected(PgError{"the database's datafast-mcp schema is version " + std::to_string(version) +
                                        "; this build knows up to version " + std::to_string(kSchemaVersion) +
                                        ": run the newer datafast-mcp, or another database",
                                    "", false});
        for (int i = version; i < kSchemaVersion; ++i) {
          for (const std::string &sql : kMigrations[static_cast<std::size_t>(i)])
            if (auto r = t.exec(sql); !r)
              return unexpected(r.error());
          if (auto r = t.exec("INSERT INTO dfmcp_schema_version (version) VALUES ($1)", {std::to_string(i + 1)}); !r)
            return unexpected(r.error());
        }
        return Ok{};
      });
    });
  }

  Expected<std::variant<Slot, QuotaRefusal>, StoreError> reserve_create(const std::string &client,
                                                                       const Limits &limits,
                                                                       Clock::time_point now) override {
    using Out = std::variant<Slot, QuotaRefusal>;
    return run<Out>([&](PgConnection &c) {
      return c.transaction<Out>([&](PgConnection &t) -> Expected<Out, PgError> {
        // One decision per client at a time, across every instance.
        if (auto r = t.exec("SELECT pg_advisory_xact_lock(hashtextextended('dfmcp-quota:' || $1, 0))", {client}); !r)
          return unexpected(r.error());
        if (limits.creates_per_hour) {
          auto r = t.exec("SELECT count(*), min(at_ms) FROM dfmcp_create_slots WHERE client = $1 AND at_ms > $2 "
                          "AND state <> 'released'",
                          {client, ms(now - std::chrono::hours(1))});
          if (!r)
            return unexpected(r.error());
          int used = static_cast<int>(r->integer(0, 0));
          if (used >= *limits.creates_per_hour) {
            QuotaRefusal q{QuotaRefusal::Which::CreatesPerHour, *limits.creates_per_hour, used, std::nullopt};
            if (!r->null(0, 1))
              q.retry_at = from_ms(r->integer(0, 1)) + std::chrono::hours(1);
            return Out{q};
          }
        }
        if (limits.live_minted) {
          auto r = t.exec("SELECT (SELECT count(*) FROM dfmcp_minted WHERE client = $1 AND revoked_ms IS NULL) + "
                          "(SELECT count(*) FROM dfmcp_create_slots WHERE client = $1 AND state = 'pending' "
                          "AND held_until_ms > $2)",
                          {client, ms(now)});
          if (!r)
            return unexpected(r.error());
          int used = static_cast<int>(r->integer(0, 0));
          if (used >= *limits.live_minted)
            return Out{QuotaRefusal{QuotaRefusal::Which::LiveMinted, *limits.live_minted, used, std::nullopt}};
        }
        auto r = t.exec("INSERT INTO dfmcp_create_slots (client, at_ms, state, held_until_ms) "
                        "VALUES ($1, $2, 'pending', $3) RETURNING id",
                        {client, ms(now), ms(now + kSlotHold)});
        if (!r)
          return unexpected(r.error());
        return Out{Slot{r->integer(0, 0)}};
      });
    });
  }

  Expected<Ok, StoreError> finish_create(const Slot &slot, const std::optional<MintedToken> &minted) override {
    return run<Ok>([&](PgConnection &c) {
      return c.transaction<Ok>([&](PgConnection &t) -> Expected<Ok, PgError> {
        if (auto r = t.exec("UPDATE dfmcp_create_slots SET state = $2 WHERE id = $1",
                            {std::to_string(slot.id), minted ? "minted" : "released"});
            !r)
          return unexpected(r.error());
        if (!minted)
          return Ok{};
        const MintedToken &m = *minted;
        PgParam expires = m.expires_at ? PgParam(ms(*m.expires_at)) : std::nullopt;
        auto r = t.exec("INSERT INTO dfmcp_minted (token_id, client, display_key, name, created_ms, expires_ms, "
                        "session_id, due_ms, instance_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8) "
                        "ON CONFLICT (token_id) DO NOTHING",
                        {m.id, m.client, m.display_key, m.name, ms(m.created_at), expires, m.session, instance_});
        if (!r)
          return unexpected(r.error());
        return Ok{};
      });
    });
  }

  Expected<std::optional<MintedToken>, StoreError> find_minted(const std::string &token_id) override {
    auto rows = query(std::string(kSelectMinted) + " WHERE token_id = $1", {token_id});
    if (!rows)
      return unexpected(rows.error());
    if (rows->empty())
      return std::optional<MintedToken>();
    return std::optional<MintedToken>(std::move(rows->front()));
  }

  Expected<std::vector<MintedToken>, StoreError> live_minted(const std::string &client) override {
    if (client.empty())
      return query(std::string(kSelectMinted) + " WHERE revoked_ms IS NULL ORDER BY created_ms", {});
    return query(std::string(kSelectMinted) + " WHERE revoked_ms IS NULL AND client = $1 ORDER BY created_ms", {client});
  }

  Expected<Ok, StoreError> mark_revoked(const std::string &token_id, Clock::time_point now) override {
    return run<Ok>([&](PgConnection &c) -> Expected<Ok, PgError> {
      auto r = c.exec("UPDATE dfmcp_minted SET revoked_ms = $2, due_ms = NULL, claimed_until_ms = NULL "
                      "WHERE token_id = $1 AND revoked_ms IS NULL",
                      {token_id, ms(now)});
      if (!r)
        return unexpected(r.error());
      return Ok{};
    });
  }

  Expected<std::size_t, StoreError> end_session(const std::string &session, Clock::time_point now) override {
    return run<std::size_t>([&](PgConnection &c) -> Expected<std::size_t, PgError> {
      auto r = c.exec("UPDATE dfmcp_minted SET due_ms = LEAST(COALESCE(due_ms, $2), $2) "
                      "WHERE session_id = $1 AND revoked_ms IS NULL",
                      {session, ms(now)});
      if (!r)
        return unexpected(r.error());
      return r->affected();
    });
  }

  Expected<std::vector<DueLease>, StoreError> claim_due(Clock::time_point now, std::chrono::seconds claim_for,
                                                        std::size_t max, std::chrono::seconds stale_after) override {
    return run<std::vector<DueLease>>([&](PgConnection &c) -> Expected<std::vector<DueLease>, PgError> {
      // SKIP LOCKED: two instances claiming at once never block on, nor take, the same rows.
      auto r = c.exec("UPDATE dfmcp_minted SET claimed_until_ms = $2 WHERE token_id IN ("
                      "  SELECT m.token_id FROM dfmcp_minted m WHERE m.revoked_ms IS NULL "
                      "  AND (m.due_ms <= $1 OR (m.session_id IS NOT NULL AND NOT EXISTS ("
                      "    SELECT 1 FROM dfmcp_instances i WHERE i.id = m.instance_id AND i.heartbeat_ms > $4))) "
                      "  AND (m.claimed_until_ms IS NULL OR m.claimed_until_ms <= $1) "
                      "  ORDER BY m.due_ms NULLS FIRST LIMIT $3 FOR UPDATE SKIP LOCKED) "
                      "RETURNING token_id, client, attempts",
                      {ms(now), ms(now + claim_for), std::to_string(max), ms(now - stale_after)});
      if (!r)
        return unexpected(r.error());
      std::vector<DueLease> out;
      for (std::size_t i = 0; i < r->size(); ++i)
        out.push_back({r->text(i, 0), r->text(i, 1), static_cast<int>(r->integer(i, 2))});
      return out;
    });
  }

  Expected<Ok, StoreError> heartbeat(Clock::time_point now) override {
    return run<Ok>([&](PgConnection &c) -> Expected<Ok, PgError> {
      auto r = c.exec("INSERT INTO dfmcp_instances (id, heartbeat_ms) VALUES ($1, $2) "
                      "ON CONFLICT (id) DO UPDATE SET heartbeat_ms = EXCLUDED.heartbeat_ms",
                      {instance_, ms(now)});
      if (!r)
        return unexpected(r.error());
      return Ok{};
    });
  }

  Expected<Ok, StoreError> lease_failed(const std::string &token_id, Clock::time_point retry_at,
                                        const std::string &why) override {
    return run<Ok>([&](PgConnection &c) -> Expected<Ok, PgError> {
      auto r = c.exec("UPDATE dfmcp_minted SET attempts = attempts + 1, due_ms = $2, claimed_until_ms = NULL, "
                      "last_error = $3 WHERE token_id = $1 AND revoked_ms IS NULL",
                      {token_id, ms(retry_at), why});
      if (!r)
        return unexpected(r.error());
      return Ok{};
    });
  }

  Expected<std::optional<Clock::time_point>, StoreError> next_due() override {
    using Out = std::optional<Clock::time_point>;
    return run<Out>([&](PgConnection &c) -> Expected<Out, PgError> {
      auto r = c.exec("SELECT min(GREATEST(due_ms, COALESCE(claimed_until_ms, 0))) FROM dfmcp_minted "
                      "WHERE revoked_ms IS NULL AND due_ms IS NOT NULL");
      if (!r)
        return unexpected(r.error());
      if (r->null(0, 0))
        return Out();
      return Out(from_ms(r->integer(0, 0)));
    });
  }

  Expected<std::string, StoreError> sealing_key() override {
    return run<std::string>([&](PgConnection &c) -> Expected<std::string, PgError> {
      auto r = c.exec("INSERT INTO dfmcp_settings (name, value) VALUES ('sealing-key', $1) "
                      "ON CONFLICT (name) DO NOTHING",
                      {random_hex(32)});
      if (!r)
        return unexpected(r.error());
      auto k = c.exec("SELECT value FROM dfmcp_settings WHERE name = 'sealing-key'");
      if (!k)
        return unexpected(k.error());
      return k->text(0, 0);
    });
  }

  Expected<bool, StoreError> use_state(const std::string &nonce, Clock::time_point expires,
                                       Clock::time_point now) override {
    return run<bool>([&](PgConnection &c) -> Expected<bool, PgError> {
      if (auto r = c.exec("DELETE FROM dfmcp_used_states WHERE expires_ms < $1", {ms(now)}); !r)
        return unexpected(r.error());
      auto r = c.exec("INSERT INTO dfmcp_used_states (nonce, expires_ms) VALUES ($1, $2) "
                      "ON CONFLICT (nonce) DO NOTHING",
                      {nonce, ms(expires)});
      if (!r)
        return unexpected(r.error());
      return r->affected() == 1;
    });
  }

  Expected<std::string, StoreError> append_audit(json line) override {
    return run<std::string>([&](PgConnection &c) {
      return c.transaction<std::string>([&](PgConnection &t) -> Expected<std::string, PgError> {
        // One chain: appends from every instance take turns.
        if (auto r = t.exec(std::string("SELECT pg_advisory_xact_lock(") + kAuditLock + ")"); !r)
          return unexpected(r.error());
        auto last = t.exec("SELECT seq, hash FROM dfmcp_audit ORDER BY seq DESC LIMIT 1");
        if (!last)
          return unexpected(last.error());
        long long seq = last->empty() ? 0 : last->integer(0, 0);
        json out = line;
        out["seq"] = seq + 1;
        out["time"] = iso_now();
        out["prev"] = last->empty() ? std::string(audit::kGenesis) : last->text(0, 1);
        std::string text = dump_json(out);
        std::string hash = audit::sha256_hex(text);
        if (auto r = t.exec("INSERT INTO dfmcp_audit (seq, line, hash) VALUES ($1, $2, $3)",
                            {std::to_string(seq + 1), text, hash});
            !r)
          return unexpected(r.error());
        return hash;
      });
    });
  }

  Expected<std::vector<std::string>, StoreError> audit_lines() override {
    return run<std::vector<std::string>>([&](PgConnection &c) -> Expected<std::vector<std::string>, PgError> {
      auto r = c.exec("SELECT line FROM dfmcp_audit ORDER BY seq");
      if (!r)
        return unexpected(r.error());
      std::vector<std::string> out;
      out.reserve(r->size());
      for (std::size_t i = 0; i < r->size(); ++i)
        out.push_back(r->text(i, 0));
      return out;
    });
  }

private:
  static constexpr const char *kSelectMinted =
      "SELECT token_id, client, display_key, name, created_ms, expires_ms, session_id FROM dfmcp_minted";

  Expected<std::vector<MintedToken>, StoreError> query(const std::string &sql, const std::vector<PgParam> &params) {
    return run<std::vector<MintedToken>>([&](PgConnection &c) -> Expected<std::vector<MintedToken>, PgError> {
      auto r = c.exec(sql, params);
      if (!r)
        return unexpected(r.error());
      std::vector<MintedToken> out;
      for (std::size_t i = 0; i < r->size(); ++i) {
        MintedToken m;
        m.id = r->text(i, 0);
        m.client = r->text(i, 1);
        m.display_key = r->text(i, 2);
        m.name = r->text(i, 3);
        m.created_at = from_ms(r->integer(i, 4));
        if (!r->null(i, 5))
          m.expires_at = from_ms(r->integer(i, 5));
        m.session = r->optional(i, 6);
        out.push_back(std::move(m));
      }
      return out;
    });
  }

  // Runs `body` on a pooled connection (made or remade as needed); a lost connection is dropped,
  // so the next call connects again: the store recovers by itself when the database returns.
  template <typename T> Expected<T, StoreError> run(const std::function<Expected<T, PgError>(PgConnection &)> &body) {
    std::unique_ptr<PgConnection> conn;
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (conn) {
      if (auto ok = conn->ensure(); !ok)
        return unexpected(store_error(ok.error()));
    } else {
      auto opened = PgConnection::open(url_, timeout_);
      if (!opened)
        return unexpected(store_error(opened.error()));
      conn = std::move(*opened);
    }
    auto out = body(*conn);
    if (conn->healthy()) {
      std::lock_guard lock(mutex_);
      idle_.push_back(std::move(conn));
    }
    if (!out)
      return unexpected(store_error(out.error()));
    return std::move(*out);
  }

  Secret url_;
  std::chrono::milliseconds timeout_;
  std::string shown_;
  std::string instance_; // this process, for the tokens bound to its sessions
  std::mutex mutex_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
};

} // namespace

Expected<std::unique_ptr<Store>, StoreError> open_postgres_store(const Secret &url, std::chrono::milliseconds timeout) {
  auto store = std::make_unique<PostgresStore>(url, timeout);
  if (auto migrated = store->migrate(); !migrated)
    return unexpected(migrated.error());
  if (auto beat = store->heartbeat(Clock::now()); !beat)
    return unexpected(beat.error());
  return std::unique_ptr<Store>(std::move(store));
}

} // namespace dfmcp::state
