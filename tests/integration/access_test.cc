// Who may call: mutual TLS on the gRPC port, the caller's identity from its
// certificate, certificate rotation without a restart, and plaintext only
// behind --insecure_plaintext. Certificates are made at test time.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway_env.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;
using institutional_loan::v1::InstitutionalLoan;

grpc::Status BorrowOn(
    const std::shared_ptr<grpc::Channel>& channel, const BorrowRequest& request,
    BorrowResponse* response = nullptr,
    std::shared_ptr<const grpc::AuthContext>* peer = nullptr) {
  BorrowResponse ignored;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::Status status = InstitutionalLoan::NewStub(channel)->Borrow(
      &context, request, response != nullptr ? response : &ignored);
  if (peer != nullptr) *peer = context.auth_context();
  return status;
}

// Replaces `path` the way cert-manager and the kubelet do: the new content
// appears at once (a rename), never half written.
void ReplaceFile(const std::string& path, const std::string& text) {
  const std::string next = path + ".next";
  std::ofstream(next, std::ios::binary) << text;
  std::filesystem::rename(next, path);
}

TEST(MutualTlsTest, AnAllowedIdentityBorrowsAndIsRecordedByItsCertificate) {
  GatewayEnv env;
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "12.5"), &response).ok());
  EXPECT_EQ(env.State().borrows.size(), 1u);
  // The borrow line names the certificate's URI SAN, not an address.
  EXPECT_TRUE(absl::StrContains(
      env.GatewayLog(), absl::StrCat("\"caller\":\"", kTestCaller, "\"")))
      << env.GatewayLog();
  EXPECT_FALSE(absl::StrContains(env.GatewayLog(), "\"caller\":\"ipv4:"));
}

TEST(MutualTlsTest, NoCertificateAnotherCaOrAnExpiredOneGetsNoCall) {
  GatewayEnv env;
  TestPki other(env.dir(), "other");
  const CertFiles foreign = other.Issue(
      "foreign", {.common_name = "intruder",
                  .subject_alt_names = "URI:spiffe://lg/ns/treasury/sa/x"});
  const CertFiles expired = env.pki().Issue(
      "expired", {.common_name = "late",
                  .subject_alt_names = std::string("URI:") + kTestCaller,
                  .not_before_s = -7200,
                  .not_after_s = -3600});
  const struct {
    const char* what;
    const CertFiles* cert;
  } refused[] = {{"no client certificate", nullptr},
                 {"a certificate from another CA", &foreign},
                 {"an expired certificate", &expired}};
  for (const auto& c : refused) {
    grpc::Status status =
        BorrowOn(env.ChannelAs(c.cert), MakeBorrow(1001, "1"));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << c.what << ": the handshake is refused, " << status.error_message();
  }
  // Plaintext to the TLS port gets nothing either.
  grpc::Status plain = BorrowOn(
      grpc::CreateChannel(env.target(), grpc::InsecureChannelCredentials()),
      MakeBorrow(1001, "1"));
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(env.State().received_borrow, 0) << "nothing reached Binance";
  BorrowResponse response;
  EXPECT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &response).ok())
      << "the gateway still serves its callers";
}

TEST(MutualTlsTest, ACertificateNamingNobodyIsUnauthenticated) {
  GatewayEnv env;
  const CertFiles nameless = env.pki().Issue("nameless", {});
  grpc::Status status =
      BorrowOn(env.ChannelAs(&nameless), MakeBorrow(1001, "1"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << status.error_message();
  EXPECT_EQ(ReasonAndOutcome(status).first, "CALLER_UNAUTHENTICATED");
  EXPECT_EQ(env.State().received_borrow, 0);
}

// cert-manager rotates the gateway's certificate and the client CA bundle
// by rewriting files: every handshake after the reload uses the new ones,
// the calls of a steady load (each on a new connection) never fail.
TEST(MutualTlsTest, RotatedCertificatesAreUsedWithoutARestartOrAFailedCall) {
  // The load borrows more than the UID weight of a real minute allows.
  GatewayEnv env({.fake_args = {"--uid-weight-limit", "1000000000"},
                  .gateway_args = {"--tls_reload_interval=1s",
                                   "--uid_weight_limit=1000000000"}});
  TestPki next_ca(env.dir(), "next");
  const CertFiles newcomer = next_ca.Issue(
      "newcomer", {.common_name = "newcomer",
                   .subject_alt_names = "URI:spiffe://lg/ns/treasury/sa/new"});
  ASSERT_EQ(
      BorrowOn(env.ChannelAs(&newcomer), MakeBorrow(1001, "1")).error_code(),
      grpc::StatusCode::UNAVAILABLE)
      << "the next CA is not trusted yet";

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 3; ++t) {
    load.emplace_back([&] {
      while (!stop) {
        grpc::Status s =
            BorrowOn(env.ChannelAs(&env.client_cert()), MakeBorrow(1001, "1"));
        (s.ok() ? ok : failed)++;
        if (!s.ok()) ADD_FAILURE() << s.error_message();
        absl::SleepFor(absl::Milliseconds(20));
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(500));
  // The server's own certificate, and a bundle trusting both CAs.
  const std::string old_server_pem = ReadFileText(env.server_cert().cert);
  const CertFiles renewed = env.pki().Issue(
      "gateway-renewed", {.common_name = "loan-gateway",
                          .subject_alt_names = "IP:127.0.0.1,DNS:localhost"});
  // Key and certificate change together: the key first would not match the
  // old certificate; rename both within one reload interval.
  ReplaceFile(env.server_cert().key, ReadFileText(renewed.key));
  ReplaceFile(env.server_cert().cert, ReadFileText(renewed.cert));
  ReplaceFile(env.pki().ca_file(), ReadFileText(env.pki().ca_file()) +
                                       ReadFileText(next_ca.ca_file()));
  grpc::Status newcomer_status;
  const absl::Time end = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(200));
    newcomer_status = BorrowOn(env.ChannelAs(&newcomer), MakeBorrow(1001, "1"));
  } while (newcomer_status.error_code() == grpc::StatusCode::UNAVAILABLE &&
           absl::Now() < end);
  // Its handshake passes now; the policy (which does not list it) decides.
  EXPECT_EQ(ReasonAndOutcome(newcomer_status).first, "CALLER_NOT_ALLOWED")
      << newcomer_status.error_message();
  absl::SleepFor(absl::Milliseconds(500));
  stop = true;
  for (std::thread& t : load) t.join();
  EXPECT_GT(ok.load(), 10);
  EXPECT_EQ(failed.load(), 0);
  // A new connection now sees the renewed server certificate.
  std::shared_ptr<const grpc::AuthContext> peer;
  ASSERT_TRUE(BorrowOn(env.ChannelAs(&env.client_cert()), MakeBorrow(1001, "1"),
                       nullptr, &peer)
                  .ok());
  const auto pem = peer->FindPropertyValues("x509_pem_cert");
  ASSERT_FALSE(pem.empty());
  const std::string served(pem.front().data(), pem.front().size());
  EXPECT_EQ(served, ReadFileText(renewed.cert));
  EXPECT_NE(served, old_server_pem);
}

// Probes have no client certificate: --health_listen answers them, in
// plaintext, and serves nothing else.
TEST(MutualTlsTest, TheHealthPortServesHealthOnly) {
  const std::string port_file =
      absl::StrCat(::testing::TempDir(), "/health_", getpid(), ".port");
  std::remove(port_file.c_str());
  GatewayEnv env({.gateway_args = {"--health_listen=127.0.0.1:0",
                                   "--health_port_file=" + port_file}});
  std::string port;
  for (int i = 0; i < 100 && port.empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    port = ReadFileText(port_file);
  }
  ASSERT_FALSE(port.empty());
  const std::string target = "127.0.0.1:" + port.substr(0, port.find('\n'));
  CommandResult health = RunCommand(
      {LOANCTL_BINARY, "--insecure", "--target", target, "health", "--wait"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");
  grpc::Status borrow =
      BorrowOn(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()),
               MakeBorrow(1001, "1"));
  EXPECT_EQ(borrow.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(env.State().received_borrow, 0);
  std::remove(port_file.c_str());
}

TEST(InsecurePlaintextTest, OnlyByNameWithAWarningAndAddressCallers) {
  GatewayEnv env({.insecure_plaintext = true});
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "3"), &response).ok());
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(), "\"insecure_plaintext\""))
      << env.GatewayLog();
  EXPECT_TRUE(
      absl::StrContains(env.GatewayLog(), "\"caller\":\"insecure:ipv4:"));
}

TEST(InsecurePlaintextTest, WithoutItTheStartNeedsTheTlsFiles) {
  CommandResult start = RunCommand(
      {GATEWAY_BINARY, "--metrics_listen=", "--api_key_file=/dev/null",
       "--private_key_file=/dev/null", "--journal_path=/tmp/none.db"});
  EXPECT_EQ(start.exit_code, 2) << start.out << start.err;
  EXPECT_TRUE(absl::StrContains(start.out, "--tls_cert_file is required"))
      << start.out;
  EXPECT_TRUE(absl::StrContains(start.out, "--insecure_plaintext"));
}

}  // namespace
}  // namespace loan_gateway::testing

namespace loan_gateway::testing {
namespace {

constexpr char kLimitedPolicy[] = R"pb(
  callers {
    identity: "spiffe://lg/ns/treasury/sa/rebalancer"
    methods: [ "Borrow", "GetBorrow" ]
    group_ids: [ 1001 ]
    assets: [ ASSET_USDT ]
    max_amount_per_call: "100"
    caps {
      asset: ASSET_USDT
      window { seconds: 3600 }
      max_amount: "250"
    }
  }
  callers { identity: "spiffe://lg/ns/ops/sa/reader" methods: "GetBorrow" }
)pb";

// Each refusal: its code and reason, and nothing reached Binance.
TEST(AccessPolicyTest, OutsideThePolicyNothingIsJournaledOrSent) {
  GatewayEnv env({.policy = kLimitedPolicy});
  const CertFiles stranger = env.pki().Issue(
      "stranger", {.subject_alt_names = "URI:spiffe://lg/ns/x/sa/stranger"});
  const CertFiles reader = env.pki().Issue(
      "reader", {.subject_alt_names = "URI:spiffe://lg/ns/ops/sa/reader"});
  const struct {
    const char* what;
    std::shared_ptr<grpc::Channel> channel;
    BorrowRequest request;
    grpc::StatusCode code;
    const char* reason;
  } refused[] = {
      {"a caller not in the policy", env.ChannelAs(&stranger),
       MakeBorrow(1001, "1"), grpc::StatusCode::PERMISSION_DENIED,
       "CALLER_NOT_ALLOWED"},
      {"a method not allowed", env.ChannelAs(&reader), MakeBorrow(1001, "1"),
       grpc::StatusCode::PERMISSION_DENIED, "METHOD_NOT_ALLOWED"},
      {"a risk unit not allowed", env.channel(), MakeBorrow(1002, "1"),
       grpc::StatusCode::PERMISSION_DENIED, "RISK_UNIT_NOT_ALLOWED"},
      {"an asset not allowed", env.channel(),
       MakeBorrow(1001, "1", institutional_loan::v1::ASSET_USDC),
       grpc::StatusCode::PERMISSION_DENIED, "ASSET_NOT_ALLOWED"},
      {"an amount above the caller's limit", env.channel(),
       MakeBorrow(1001, "100.00000001"), grpc::StatusCode::PERMISSION_DENIED,
       "AMOUNT_ABOVE_CALLER_LIMIT"},
  };
  for (const auto& c : refused) {
    grpc::Status status = BorrowOn(c.channel, c.request);
    EXPECT_EQ(status.error_code(), c.code) << c.what;
    EXPECT_EQ(ReasonAndOutcome(status).first, c.reason) << c.what;
  }
  EXPECT_EQ(env.State().received_borrow, 0) << "nothing was signed or sent";
  EXPECT_TRUE(env.State().borrows.empty());
  // The reader may look a borrow up (and finds none).
  institutional_loan::v1::GetBorrowRequest get;
  get.set_request_id("00000000-0000-4000-8000-000000000001");
  institutional_loan::v1::GetBorrowResponse record;
  grpc::ClientContext context;
  EXPECT_EQ(InstitutionalLoan::NewStub(env.ChannelAs(&reader))
                ->GetBorrow(&context, get, &record)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  BorrowResponse response;
  EXPECT_TRUE(env.Borrow(MakeBorrow(1001, "100"), &response).ok());
  // Per caller: the identities the policy admits, every other one counted
  // together (a stranger cannot add series).
  const std::string metrics = env.ScrapeMetrics();
  for (const std::string& line :
       {std::string(
            "loan_gateway_caller_borrow_calls_total{caller=\"not_admitted\","
            "outcome=\"REJECTED\"} 2\n"),
        absl::StrCat("loan_gateway_caller_borrow_calls_total{caller=\"",
                     kTestCaller, "\",outcome=\"REJECTED\"} 3\n"),
        absl::StrCat("loan_gateway_caller_borrow_calls_total{caller=\"",
                     kTestCaller, "\",outcome=\"SUCCEEDED\"} 1\n")}) {
    EXPECT_TRUE(absl::StrContains(metrics, line)) << line << metrics;
  }
  EXPECT_FALSE(absl::StrContains(metrics, "stranger"));
}

// 20 calls of 100 at once against a cap of 250 an hour: exactly two fit,
// whatever the interleaving; the fake's ledger agrees; a SIGKILL and a restart
// do not reset what was borrowed.
TEST(AccessPolicyTest, ARollingCapHoldsUnderConcurrencyAndAcrossARestart) {
  GatewayEnv env({.fake_args = {"--uid-weight-limit", "1000000000"},
                  .gateway_args = {"--uid_weight_limit=1000000000"},
                  .policy = kLimitedPolicy});
  std::vector<std::thread> threads;
  std::vector<grpc::Status> statuses(20);
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      BorrowResponse response;
      statuses[i] = env.Borrow(MakeBorrow(1001, "100"), &response);
    });
  }
  for (std::thread& t : threads) t.join();
  int ok = 0;
  for (const grpc::Status& s : statuses) {
    if (s.ok()) {
      ++ok;
      continue;
    }
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << s.error_message();
    EXPECT_EQ(ReasonAndOutcome(s).first, "CALLER_CAP_REACHED");
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(env.State().borrows.size(), 2u) << "the fake's ledger agrees";
  EXPECT_EQ(env.State().received_borrow, 2);
  env.RestartGateway();  // SIGKILL, then the same journal.
  BorrowResponse response;
  grpc::Status after = env.Borrow(MakeBorrow(1001, "50.00000001"), &response);
  EXPECT_EQ(ReasonAndOutcome(after).first, "CALLER_CAP_REACHED")
      << after.error_message();
  EXPECT_TRUE(env.Borrow(MakeBorrow(1001, "50"), &response).ok())
      << "what is left of the cap still fits";
  EXPECT_EQ(env.State().borrows.size(), 3u);
}

// A changed policy file is in force within the reload interval; a broken
// one is refused with a log line and the last good one stays.
TEST(AccessPolicyTest, TheFileIsReloadedAndABrokenOneIsRefused) {
  GatewayEnv env({.gateway_args = {"--policy_reload_interval=1s"},
                  .policy = kLimitedPolicy});
  BorrowResponse response;
  ASSERT_EQ(
      ReasonAndOutcome(env.Borrow(MakeBorrow(1002, "1"), &response)).first,
      "RISK_UNIT_NOT_ALLOWED");
  ReplaceFile(env.policy_file(), kAllowAllPolicy);
  grpc::Status allowed;
  for (int i = 0; i < 40; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    allowed = env.Borrow(MakeBorrow(1002, "1"), &response);
    if (allowed.ok()) break;
  }
  EXPECT_TRUE(allowed.ok()) << allowed.error_message();
  ReplaceFile(env.policy_file(), "callers { identiti: \"x\" }\n");
  for (int i = 0;
       i < 40 && !absl::StrContains(env.GatewayLog(), "policy_reload_refused");
       ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(), "policy_reload_refused"));
  EXPECT_TRUE(absl::StrContains(
      env.ScrapeMetrics(), "\nloan_gateway_policy_reload_failures_total 1\n"));
  EXPECT_TRUE(env.Borrow(MakeBorrow(1002, "1"), &response).ok())
      << "the last good policy stays in force";
  // SIGHUP reads it again at once: a good file then applies.
  ReplaceFile(env.policy_file(), kLimitedPolicy);
  env.SignalGateway(SIGHUP);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(
      ReasonAndOutcome(env.Borrow(MakeBorrow(1002, "1"), &response)).first,
      "RISK_UNIT_NOT_ALLOWED");
}

// A caller sees its own borrows; another caller's is NOT_FOUND (it cannot
// even learn it exists); an auditor (read_all_borrows) sees every one.
TEST(AccessPolicyTest, GetBorrowShowsACallerOnlyItsOwnBorrows) {
  GatewayEnv env({.policy = absl::StrCat(kAllowAllPolicy, R"pb(
                    callers {
                      identity: "spiffe://lg/ns/desk/sa/other"
                      methods: [ "Borrow", "GetBorrow" ]
                    }
                    callers {
                      identity: "spiffe://lg/ns/ops/sa/auditor"
                      methods: "GetBorrow"
                      read_all_borrows: true
                    }
                  )pb")});
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "5"), &response).ok());
  auto look_up = [&](const CertFiles* as) {
    institutional_loan::v1::GetBorrowRequest get;
    get.set_request_id(response.request_id());
    institutional_loan::v1::GetBorrowResponse record;
    grpc::ClientContext context;
    return InstitutionalLoan::NewStub(env.ChannelAs(as))
        ->GetBorrow(&context, get, &record);
  };
  const CertFiles other = env.pki().Issue(
      "other", {.subject_alt_names = "URI:spiffe://lg/ns/desk/sa/other"});
  const CertFiles auditor = env.pki().Issue(
      "auditor", {.subject_alt_names = "URI:spiffe://lg/ns/ops/sa/auditor"});
  EXPECT_TRUE(look_up(&env.client_cert()).ok());
  const grpc::Status hidden = look_up(&other);
  EXPECT_EQ(hidden.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonAndOutcome(hidden).first, "BORROW_NOT_FOUND");
  EXPECT_TRUE(look_up(&auditor).ok());
}

// A request_id is its caller's. Another caller repeating it learns nothing
// of that borrow (no answer, no details) and cannot try its rejection again
// under the first caller's name; the first caller's own repeat of a rejection
// is a new borrow, within its rolling cap like any other.
TEST(AccessPolicyTest, ARequestIdIsItsCallersAndATryAgainCountsAgainstTheCap) {
  GatewayEnv env({.policy = absl::StrCat(kLimitedPolicy, R"pb(
                    callers {
                      identity: "spiffe://lg/ns/desk/sa/other"
                      methods: [ "Borrow", "GetBorrow" ]
                      group_ids: [ 1001 ]
                      assets: [ ASSET_USDT ]
                      max_amount_per_call: "100"
                    }
                  )pb")});
  const CertFiles other = env.pki().Issue(
      "other", {.subject_alt_names = "URI:spiffe://lg/ns/desk/sa/other"});
  BorrowRequest borrowed = MakeBorrow(1001, "100");
  borrowed.set_request_id("00000000-0000-4000-8000-000000000001");
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(borrowed, &response).ok());
  BorrowResponse theirs;
  const grpc::Status taken = BorrowOn(env.ChannelAs(&other), borrowed, &theirs);
  EXPECT_EQ(taken.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ReasonAndOutcome(taken).first, "REQUEST_ID_CONFLICT");
  EXPECT_TRUE(theirs.transaction_id().empty());
  EXPECT_FALSE(
      absl::StrContains(taken.error_message(), response.transaction_id()));
  EXPECT_FALSE(ErrorInfoOf(taken).metadata().contains("existing_amount"));
  BorrowRequest dry_run = borrowed;
  dry_run.set_validate_only(true);
  EXPECT_EQ(ReasonAndOutcome(BorrowOn(env.ChannelAs(&other), dry_run)).first,
            "REQUEST_ID_CONFLICT");
  // Nor does it follow the owner's call in flight.
  env.InjectFault(R"({"delay_ms":700})");
  BorrowRequest slow = MakeBorrow(1001, "10");
  slow.set_request_id("00000000-0000-4000-8000-000000000003");
  grpc::Status owners;
  std::thread owner([&] { owners = env.Borrow(slow, &response); });
  absl::SleepFor(absl::Milliseconds(250));
  const grpc::Status meanwhile = BorrowOn(env.ChannelAs(&other), slow, &theirs);
  owner.join();
  EXPECT_TRUE(owners.ok()) << owners.error_message();
  EXPECT_EQ(ReasonAndOutcome(meanwhile).first, "REQUEST_ID_CONFLICT");
  EXPECT_TRUE(theirs.transaction_id().empty());

  // Binance refuses the next one, nothing executed, "try again" (-27025).
  env.InjectFault(R"({"status":400,"code":-27025})");
  BorrowRequest refused = MakeBorrow(1001, "100");
  refused.set_request_id("00000000-0000-4000-8000-000000000002");
  ASSERT_EQ(ReasonAndOutcome(env.Borrow(refused, &response)).first,
            "PREVIOUS_TRANSACTION_PENDING");
  EXPECT_EQ(ReasonAndOutcome(BorrowOn(env.ChannelAs(&other), refused)).first,
            "REQUEST_ID_CONFLICT")
      << "not tried again under the first caller's name";
  EXPECT_EQ(env.State().received_borrow, 3);

  // 210 of the caller's 250 an hour, then its repeat of the refused 100.
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "100"), &response).ok());
  const grpc::Status over = env.Borrow(refused, &response);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << over.error_message();
  EXPECT_EQ(ReasonAndOutcome(over).first, "CALLER_CAP_REACHED");
  EXPECT_EQ(env.State().received_borrow, 4) << "the repeat was not sent";
  EXPECT_EQ(env.State().borrows.size(), 3u);
  institutional_loan::v1::GetBorrowResponse record;
  ASSERT_TRUE(env.GetBorrow(refused.request_id(), &record).ok());
  EXPECT_EQ(record.state(), institutional_loan::v1::BORROW_STATE_REJECTED);
}

}  // namespace
}  // namespace loan_gateway::testing
