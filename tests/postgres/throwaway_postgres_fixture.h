#ifndef LOAN_GATEWAY_TESTS_POSTGRES_THROWAWAY_POSTGRES_FIXTURE_H_
#define LOAN_GATEWAY_TESTS_POSTGRES_THROWAWAY_POSTGRES_FIXTURE_H_

#include <memory>

#include "gtest/gtest.h"
#include "throwaway_postgres.h"

namespace loan_gateway::testing {

// A test with a PostgreSQL server of its own, started before each test and
// gone after it. A fixture that adds to SetUp calls this one first.
class WithThrowawayPostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> started =
        ThrowawayPostgres::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    pg_ = *std::move(started);
  }
  std::unique_ptr<ThrowawayPostgres> pg_;
};

}  // namespace loan_gateway::testing

#endif  // LOAN_GATEWAY_TESTS_POSTGRES_THROWAWAY_POSTGRES_FIXTURE_H_
