#include "service/page_token.h"

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

using institutional_loan::v1::ListOperationsRequest;

TEST(PageTokenTest, RoundTripsAndRefusesWhatItDidNotMake) {
  const PageToken token{.created = absl::FromUnixMillis(1700000000123),
                        .request_id = "8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f",
                        .filters = 0xdeadbeefcafe};
  absl::StatusOr<PageToken> back = DecodePageToken(EncodePageToken(token));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->created, token.created);
  EXPECT_EQ(back->request_id, token.request_id);
  EXPECT_EQ(back->filters, token.filters);
  for (const char* bad : {"", "x", "MTox", "!!!", "Mjo1OjY6aWQ"}) {
    EXPECT_EQ(DecodePageToken(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(PageTokenTest, TheFilterHashIgnoresPagingAndSeesEveryFilter) {
  ListOperationsRequest a;
  a.set_group_id(1001);
  ListOperationsRequest b = a;
  b.set_page_size(7);
  b.set_page_token("anything");
  EXPECT_EQ(ListFilterHash(a), ListFilterHash(b));
  b.set_caller("someone");
  EXPECT_NE(ListFilterHash(a), ListFilterHash(b));
}

}  // namespace
}  // namespace loan_gateway
