// The throw-away PostgreSQL the tests of a PostgreSQL journal will run on,
// and the database behaviours that journal is to be built on (issue 16):
// a unique key answering idempotency with SQLSTATE 23505, durability across
// a crash of the server, and a session's advisory lock freed when it dies.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <string>

#include "throwaway_postgres_fixture.h"

namespace loan_gateway::testing {
namespace {

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;

Connection Connect(const std::string& url) {
  return Connection(PQconnectdb(url.c_str()), &PQfinish);
}

// Runs `sql`; returns the SQLSTATE ("" on success) and the first value.
struct Outcome {
  std::string sqlstate;
  std::string value;
};
Outcome Query(PGconn* conn, const std::string& sql) {
  PGresult* result = PQexec(conn, sql.c_str());
  Outcome outcome;
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    outcome.sqlstate = state == nullptr ? "no sqlstate" : state;
  } else if (PQntuples(result) > 0) {
    outcome.value = PQgetvalue(result, 0, 0);
  }
  PQclear(result);
  return outcome;
}

class ThrowawayPostgresTest
    : public ::loan_gateway::testing::WithThrowawayPostgres {
 protected:
};

TEST_F(ThrowawayPostgresTest, AcceptsItsUrlOverTcpWithAPasswordAndNotWithout) {
  Connection good = Connect(pg_->url());
  ASSERT_EQ(PQstatus(good.get()), CONNECTION_OK) << PQerrorMessage(good.get());
  EXPECT_EQ(Query(good.get(), "SELECT current_database()").value,
            "loan_gateway");
  Connection no_password =
      Connect("host=127.0.0.1 port=" + std::to_string(pg_->port()) +
              " user=loan_gateway dbname=loan_gateway password=wrong");
  EXPECT_NE(PQstatus(no_password.get()), CONNECTION_OK);
}

TEST_F(ThrowawayPostgresTest, AConflictingInsertAnswersWithUniqueViolation) {
  Connection conn = Connect(pg_->url());
  ASSERT_EQ(Query(conn.get(), "CREATE TABLE t (request_id TEXT PRIMARY KEY)")
                .sqlstate,
            "");
  EXPECT_EQ(Query(conn.get(), "INSERT INTO t VALUES ('a')").sqlstate, "");
  EXPECT_EQ(Query(conn.get(), "INSERT INTO t VALUES ('a')").sqlstate, "23505");
  // ... and ON CONFLICT DO NOTHING says "not new" by inserting no row.
  EXPECT_EQ(Query(conn.get(),
                  "INSERT INTO t VALUES ('a') ON CONFLICT DO NOTHING "
                  "RETURNING request_id")
                .value,
            "");
}

TEST_F(ThrowawayPostgresTest, ACommittedRowSurvivesTheServerBeingKilled) {
  {
    Connection conn = Connect(pg_->url());
    Query(conn.get(), "CREATE TABLE t (request_id TEXT PRIMARY KEY)");
    ASSERT_EQ(Query(conn.get(), "INSERT INTO t VALUES ('kept')").sqlstate, "");
  }
  ASSERT_TRUE(pg_->Stop(SIGKILL).ok());
  Connection down = Connect(pg_->url());
  EXPECT_NE(PQstatus(down.get()), CONNECTION_OK);
  ASSERT_TRUE(pg_->Restart().ok());
  Connection conn = Connect(pg_->url());
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  EXPECT_EQ(Query(conn.get(), "SELECT count(*) FROM t").value, "1");
}

TEST_F(ThrowawayPostgresTest, AnAdvisoryLockIsFreedWhenItsSessionEnds) {
  Connection holder = Connect(pg_->url());
  Connection other = Connect(pg_->url());
  const std::string lock = "SELECT pg_try_advisory_lock(1001)";
  EXPECT_EQ(Query(holder.get(), lock).value, "t");
  EXPECT_EQ(Query(other.get(), lock).value, "f");
  holder.reset();  // The holder's session ends (as when its replica dies).
  std::string got;
  for (int i = 0; i < 100 && got != "t"; ++i) {
    got = Query(other.get(), lock).value;
    if (got != "t") usleep(20'000);
  }
  EXPECT_EQ(got, "t");
}

}  // namespace
}  // namespace loan_gateway::testing
