// ListOperations against the real gateway: filters, AIP-158 pages, and each
// caller seeing only its own operations (an auditor every caller's).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "gateway_env.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowResponse;
using institutional_loan::v1::InstitutionalLoan;
using institutional_loan::v1::ListOperationsRequest;
using institutional_loan::v1::ListOperationsResponse;

grpc::Status List(const std::shared_ptr<grpc::Channel>& channel,
                  const ListOperationsRequest& request,
                  ListOperationsResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return InstitutionalLoan::NewStub(channel)->ListOperations(&context, request,
                                                             response);
}

TEST(ListOperationsTest, FiltersPagesAndShowsACallerItsOwn) {
  GatewayEnv env({.policy = absl::StrCat(R"pb(
                    callers {
                      identity: "spiffe://lg/ns/treasury/sa/rebalancer"
                      methods: [ "Borrow", "GetBorrow", "ListOperations" ]
                      group_ids: [ 1001, 1002 ]
                      assets: [ ASSET_USDT, ASSET_USDC ]
                    }
                    callers {
                      identity: "spiffe://lg/ns/desk/sa/other"
                      methods: [ "Borrow", "ListOperations" ]
                      group_ids: [ 1001 ]
                      assets: [ ASSET_USDT ]
                    }
                    callers {
                      identity: "spiffe://lg/ns/ops/sa/auditor"
                      methods: "ListOperations"
                      read_all_borrows: true
                    }
                  )pb")});
  const CertFiles other = env.pki().Issue(
      "other", {.subject_alt_names = "URI:spiffe://lg/ns/desk/sa/other"});
  const CertFiles auditor = env.pki().Issue(
      "auditor", {.subject_alt_names = "URI:spiffe://lg/ns/ops/sa/auditor"});
  std::vector<std::string> mine;  // Newest last.
  BorrowResponse response;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        env.Borrow(MakeBorrow(1001, absl::StrCat(i + 1)), &response).ok());
    mine.push_back(response.request_id());
  }
  // A -27009 (1002 may borrow 100): a REJECTED record.
  ASSERT_FALSE(env.Borrow(MakeBorrow(1002, "500"), &response).ok());
  {
    grpc::ClientContext context;
    ASSERT_TRUE(InstitutionalLoan::NewStub(env.ChannelAs(&other))
                    ->Borrow(&context, MakeBorrow(1001, "9"), &response)
                    .ok());
  }

  // Pages of 2, newest first, each of the caller's 6 once.
  ListOperationsRequest request;
  request.set_page_size(2);
  std::vector<std::string> seen;
  int pages = 0;
  do {
    ListOperationsResponse page;
    grpc::Status status = List(env.channel(), request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ++pages;
    for (const auto& op : page.operations()) {
      EXPECT_EQ(op.caller(), kTestCaller);
      EXPECT_EQ(op.kind(), institutional_loan::v1::OPERATION_KIND_BORROW);
      seen.push_back(op.record().request_id());
    }
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(seen.begin() + 1, seen.end()),
            std::vector<std::string>(mine.rbegin(), mine.rend()))
      << "newest first";

  // Filters.
  ListOperationsRequest rejected;
  rejected.set_state(institutional_loan::v1::BORROW_STATE_REJECTED);
  ListOperationsResponse page;
  ASSERT_TRUE(List(env.channel(), rejected, &page).ok());
  ASSERT_EQ(page.operations_size(), 1);
  EXPECT_EQ(page.operations(0).record().group_id(), 1002);
  EXPECT_EQ(page.operations(0).record().error().code(),
            static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));

  // Another caller sees only its own; asking for someone else's, nothing.
  ASSERT_TRUE(List(env.ChannelAs(&other), {}, &page).ok());
  ASSERT_EQ(page.operations_size(), 1);
  EXPECT_EQ(page.operations(0).caller(), "spiffe://lg/ns/desk/sa/other");
  ListOperationsRequest theirs;
  theirs.set_caller(kTestCaller);
  ASSERT_TRUE(List(env.ChannelAs(&other), theirs, &page).ok());
  EXPECT_EQ(page.operations_size(), 0);
  // The auditor sees all 7, and may filter by caller.
  ASSERT_TRUE(List(env.ChannelAs(&auditor), {}, &page).ok());
  EXPECT_EQ(page.operations_size(), 7);
  ASSERT_TRUE(List(env.ChannelAs(&auditor), theirs, &page).ok());
  EXPECT_EQ(page.operations_size(), 6);

  // A token is for the filters it was made with.
  request.set_page_token("");
  ListOperationsResponse first;
  ASSERT_TRUE(List(env.channel(), request, &first).ok());
  ListOperationsRequest changed = request;
  changed.set_page_token(first.next_page_token());
  changed.set_group_id(1002);
  grpc::Status refused = List(env.channel(), changed, &page);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonAndOutcome(refused).first, "INVALID_REQUEST");
  changed.set_page_token("garbage");
  EXPECT_EQ(List(env.channel(), changed, &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // loanctl list follows every page.
  CommandResult listed = RunCommand(env.Loanctl(
      {"list", "--all", "--page-size", "4", "--state", "succeeded"}));
  env.ScanAlso(listed.out + listed.err);
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 5)
      << listed.out;
  EXPECT_NE(listed.out.find(mine.back()), std::string::npos) << listed.out;
}

}  // namespace
}  // namespace loan_gateway::testing
