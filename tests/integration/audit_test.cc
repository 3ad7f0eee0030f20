// The audit trail (--audit_log) of a real gateway: every decision on a hash
// chain that `loan-gateway --verify_audit` checks, tampering detected, and a
// log that cannot be written stops all signing (fail closed).
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gateway_env.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowResponse;

// One audit line's record, the fields a test reads.
struct Audited {
  std::string kind, caller, method, decision, rule, reason, request_id,
      transaction_id, outcome;
  int64_t seq = 0;
};

std::vector<Audited> ReadAudit(const std::string& text) {
  std::vector<Audited> out;
  simdjson::dom::parser parser;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    simdjson::dom::element doc;
    if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS) {
      ADD_FAILURE() << "not JSON: " << line;
      continue;
    }
    simdjson::dom::object record = doc["record"].get_object();
    auto text_of = [&](const char* key) {
      std::string_view value;
      return record[key].get(value) == simdjson::SUCCESS ? std::string(value)
                                                         : "";
    };
    Audited a{.kind = text_of("kind"),
              .caller = text_of("caller"),
              .method = text_of("method"),
              .decision = text_of("decision"),
              .rule = text_of("rule"),
              .reason = text_of("reason"),
              .request_id = text_of("request_id"),
              .transaction_id = text_of("transaction_id"),
              .outcome = text_of("outcome")};
    // protobuf's JSON writes a uint64 as a string.
    a.seq = std::stoll(text_of("seq"));
    out.push_back(a);
  }
  return out;
}

CommandResult Verify(const std::string& path) {
  return RunCommand({GATEWAY_BINARY, "--verify_audit", path});
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

void WriteLines(const std::string& path,
                const std::vector<std::string>& lines) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      << absl::StrJoin(lines, "\n") << "\n";
}

constexpr char kAuditPolicy[] = R"pb(
  callers {
    identity: "spiffe://lg/ns/treasury/sa/rebalancer"
    methods: [ "Borrow", "GetBorrow" ]
    group_ids: [ 1001, 1002 ]
    assets: [ ASSET_USDT ]
  }
)pb";

// A real run: a borrow, a -27009, a refused stranger and a lookup are each
// on the chain, with who, the rule that decided, and what came of it; in the
// file beside the journal, and as rows of the journal (--audit_in_journal).
class AuditTrailPlaceTest : public ::testing::TestWithParam<bool> {};

TEST_P(AuditTrailPlaceTest, EveryDecisionIsRecordedAndTheChainVerifies) {
  GatewayEnv env({.policy = kAuditPolicy, .audit_in_journal = GetParam()});
  BorrowResponse borrowed;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "10"), &borrowed).ok());
  BorrowResponse ignored;
  ASSERT_EQ(env.Borrow(MakeBorrow(1002, "100.00000001"), &ignored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  const CertFiles stranger = env.pki().Issue(
      "stranger", {.subject_alt_names = "URI:spiffe://lg/ns/x/sa/stranger"});
  {
    grpc::ClientContext context;
    ASSERT_EQ(institutional_loan::v1::InstitutionalLoan::NewStub(
                  env.ChannelAs(&stranger))
                  ->Borrow(&context, MakeBorrow(1001, "1"), &ignored)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  institutional_loan::v1::GetBorrowResponse record;
  ASSERT_TRUE(env.GetBorrow(borrowed.request_id(), &record).ok());

  const std::vector<Audited> audit = ReadAudit(env.audit_log());
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.front().kind, "AUDIT_OPENED");
  for (size_t i = 0; i < audit.size(); ++i) EXPECT_EQ(audit[i].seq, i + 1);
  auto find = [&](auto predicate) {
    return std::find_if(audit.begin(), audit.end(), predicate);
  };
  auto signed_it = find([&](const Audited& a) {
    return a.kind == "REQUEST_SIGNED" && a.request_id == borrowed.request_id();
  });
  auto answered_it = find([&](const Audited& a) {
    return a.kind == "CALL_ANSWERED" && a.request_id == borrowed.request_id() &&
           a.method == "Borrow";
  });
  ASSERT_NE(signed_it, audit.end());
  ASSERT_NE(answered_it, audit.end());
  EXPECT_LT(signed_it->seq, answered_it->seq) << "recorded before it was sent";
  EXPECT_EQ(answered_it->caller, kTestCaller);
  EXPECT_EQ(answered_it->decision, "ALLOWED");
  EXPECT_EQ(answered_it->rule, absl::StrCat("callers[", kTestCaller, "]"));
  EXPECT_EQ(answered_it->reason, "SUCCEEDED");
  EXPECT_EQ(answered_it->transaction_id, borrowed.transaction_id());
  EXPECT_NE(find([](const Audited& a) {
              return a.reason == "BORROW_LIMIT_EXCEEDED" &&
                     a.outcome == "REJECTED";
            }),
            audit.end());
  auto denied = find([](const Audited& a) { return a.decision == "DENIED"; });
  ASSERT_NE(denied, audit.end());
  EXPECT_EQ(denied->caller, "spiffe://lg/ns/x/sa/stranger");
  EXPECT_EQ(denied->reason, "CALLER_NOT_ALLOWED");
  EXPECT_EQ(denied->rule, "default: deny");
  EXPECT_NE(find([&](const Audited& a) {
              return a.method == "GetBorrow" &&
                     a.request_id == borrowed.request_id();
            }),
            audit.end());

  const CommandResult verified = Verify(env.audit_log_path());
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_TRUE(absl::StrContains(verified.out, "intact")) << verified.out;
  // A restart continues the same chain.
  env.RestartGateway();
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &ignored).ok());
  EXPECT_EQ(Verify(env.audit_log_path()).exit_code, 0);
  EXPECT_EQ(ReadAudit(env.audit_log()).size(), audit.size() + 5)
      << "AUDIT_OPENED, POLICY_LOADED, KEY_LOADED, REQUEST_SIGNED, "
         "CALL_ANSWERED";
  // One place only; in the journal, an edited row is named by its seq.
  EXPECT_EQ(std::filesystem::exists(env.dir() + "/audit.jsonl"), !GetParam());
  if (!GetParam()) return;
  env.StopGateway();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(env.audit_log_path().c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db,
                         "UPDATE audit_log SET line = replace(line, "
                         "'\"amount\":\"10\"', '\"amount\":\"90\"')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_GT(sqlite3_changes(db), 0);
  sqlite3_close(db);
  const CommandResult tampered = Verify(env.audit_log_path());
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out << tampered.err;
  EXPECT_TRUE(absl::StrContains(tampered.err,
                                absl::StrCat("line ", signed_it->seq, " ")))
      << tampered.err;
}

INSTANTIATE_TEST_SUITE_P(FileOrJournal, AuditTrailPlaceTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "InTheJournal" : "InAFile";
                         });

// Edited, removed, reordered, inserted: `--verify_audit` names the line.
TEST(AuditTrailTest, EveryKindOfTamperingIsDetected) {
  GatewayEnv env({.audit_in_journal = false});
  BorrowResponse response;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &response).ok());
  }
  const std::vector<std::string> lines = Lines(env.audit_log());
  ASSERT_GE(lines.size(), 8u);
  const std::string copy = env.dir() + "/tampered.jsonl";
  struct Tampering {
    const char* what;
    std::vector<std::string> lines;
    const char* names;  // The line the verifier must name.
  };
  std::vector<Tampering> cases;
  {
    std::vector<std::string> edited = lines;
    const size_t at = edited[4].find("\"amount\":\"1\"");
    ASSERT_NE(at, std::string::npos) << edited[4];
    edited[4].replace(at, 12, "\"amount\":\"9\"");
    cases.push_back({"an edited amount", edited, "line 5"});
  }
  {
    std::vector<std::string> removed = lines;
    removed.erase(removed.begin() + 3);
    cases.push_back({"a removed line", removed, "line 4"});
  }
  {
    std::vector<std::string> swapped = lines;
    std::swap(swapped[2], swapped[3]);
    cases.push_back({"two lines swapped", swapped, "line 3"});
  }
  {
    std::vector<std::string> inserted = lines;
    inserted.insert(inserted.begin() + 5, lines[4]);
    cases.push_back({"a line repeated", inserted, "line 6"});
  }
  {
    std::vector<std::string> first_gone(lines.begin() + 1, lines.end());
    cases.push_back({"the first line removed", first_gone, "line 1"});
  }
  for (const Tampering& t : cases) {
    WriteLines(copy, t.lines);
    const CommandResult verified = Verify(copy);
    EXPECT_EQ(verified.exit_code, 1) << t.what << ": " << verified.out;
    EXPECT_TRUE(absl::StrContains(verified.err, t.names))
        << t.what << ": " << verified.err;
  }
  // The gateway itself refuses to continue a broken chain.
  env.StopGateway();
  WriteLines(env.audit_log_path(), cases[0].lines);
  CommandResult restart = RunCommand(
      {GATEWAY_BINARY, "--insecure_plaintext", "--key_type=ed25519",
       "--metrics_listen=", "--api_key_file=" + env.dir() + "/api_key",
       "--private_key_file=" + env.dir() + "/private_key",
       "--journal_path=" + env.dir() + "/journal.db",
       "--upstream_base_urls=" + env.fake_url()});
  EXPECT_EQ(restart.exit_code, 2) << restart.out << restart.err;
  EXPECT_TRUE(absl::StrContains(restart.out, "audit_log")) << restart.out;
  EXPECT_TRUE(absl::StrContains(restart.out, "line 5")) << restart.out;
  WriteLines(env.audit_log_path(), lines);  // For the destructor's scan.
}

// A reader at the other end of a pipe (a log shipper) that goes away: the
// next write fails, nothing is signed from then on, and the fake's counter
// shows it. A device that refuses every write stops the gateway at start.
TEST(AuditTrailTest, AnUnwritableAuditLogSignsNothing) {
  char dir_template[] = "/tmp/lg-audit-fifo-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string fifo = std::string(dir_template) + "/audit.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  std::atomic<bool> stop_reading{false};
  std::string shipped;
  std::thread shipper([&] {
    char buffer[4096];
    while (!stop_reading) {
      const ssize_t n = ::read(reader, buffer, sizeof buffer);
      if (n > 0) shipped.append(buffer, static_cast<size_t>(n));
      if (n <= 0) absl::SleepFor(absl::Milliseconds(5));
    }
  });
  GatewayEnv env({.gateway_args = {"--audit_log=" + fifo}});
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &response).ok());
  absl::SleepFor(absl::Milliseconds(100));
  stop_reading = true;
  shipper.join();
  ::close(reader);  // The shipper is gone: writes now fail (EPIPE).
  EXPECT_TRUE(absl::StrContains(shipped, response.transaction_id()));
  const int64_t sent_before = env.State().received_borrow;

  grpc::Status refused = env.Borrow(MakeBorrow(1001, "2"), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused.error_message();
  EXPECT_EQ(ReasonAndOutcome(refused).first, "AUDIT_UNAVAILABLE");
  refused = env.Borrow(MakeBorrow(1001, "3"), &response);
  EXPECT_EQ(ReasonAndOutcome(refused).first, "AUDIT_UNAVAILABLE");
  EXPECT_EQ(env.State().received_borrow, sent_before) << "nothing was signed";
  institutional_loan::v1::GetBorrowResponse record;
  grpc::Status read = env.GetBorrow(response.request_id(), &record);
  EXPECT_EQ(read.error_code(), grpc::StatusCode::UNAVAILABLE)
      << "reads fail closed too";
  EXPECT_EQ(ReasonAndOutcome(read).first, "AUDIT_UNAVAILABLE");
  EXPECT_TRUE(absl::StrContains(env.ScrapeMetrics(),
                                "loan_gateway_audit_write_failures_total"));
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(), "audit_write_failed"))
      << env.GatewayLog();
  env.StopGateway();
  std::filesystem::remove_all(dir_template);

  CommandResult full = RunCommand(
      {GATEWAY_BINARY, "--insecure_plaintext", "--key_type=ed25519",
       "--metrics_listen=", "--api_key_file=" + env.dir() + "/api_key",
       "--private_key_file=" + env.dir() + "/private_key",
       "--journal_path=" + env.dir() + "/journal.db", "--audit_log=/dev/full",
       "--upstream_base_urls=" + env.fake_url()});
  EXPECT_EQ(full.exit_code, 2) << full.out << full.err;
  EXPECT_TRUE(absl::StrContains(full.out, "audit_log")) << full.out;
}

}  // namespace
}  // namespace loan_gateway::testing
